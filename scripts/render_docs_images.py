"""Render the PNGs under docs/images/ with the bot's real chart and embed code.

    python scripts/render_docs_images.py [--out docs/images]

The catalogue is generated (made-up titles, random but plausible audio features,
fixed seed), ranked by the real engine. The charts are exactly what the bot
attaches. Discord itself cannot be screenshotted here, so ``recommend-embed.png``
is a *drawing* of the real embed dict (``bot.rendering.recommendation_embed``)
in Discord's dark colours: the text is the bot's, the layout an approximation,
and emoji are written as their position (``[1]`` like, ``[A]`` dislike) because
the bundled font has no emoji glyphs.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import charts, rating_scheme, rendering
from bot.recommending import RecommendOutcome
from recommender.catalogue import Catalogue
from recommender.engine import Recommender, Seeds
from recommender.track import Track

WORDS = [
    "Midnight",
    "Golden",
    "Paper",
    "Neon",
    "Ocean",
    "Velvet",
    "Electric",
    "Northern",
    "Silver",
    "Paper",
]
NOUNS = ("Drive", "Hour", "Planes", "Lights", "Eyes", "Sky", "Love", "Dream", "Rain")
BANDS = ("The Fallen Roses", "Kite Harbour", "Nova Lane", "Blue Static", "Echo Park Trio")


def fixture_tracks(count: int = 120, seed: int = 7) -> list[Track]:
    """A made-up catalogue: every field the bot shows, features for most tracks."""
    rng = random.Random(seed)
    tracks = []
    for i in range(count):
        features = {
            "danceability": rng.random(), "energy": rng.random(), "key": float(rng.randint(0, 11)),
            "loudness": rng.uniform(-20, -3), "mode": float(rng.randint(0, 1)),
            "speechiness": rng.random() * 0.3, "acousticness": rng.random(),
            "instrumentalness": rng.random() * 0.4, "liveness": rng.random() * 0.4,
            "valence": rng.random(), "tempo": rng.uniform(70, 180),
        }  # fmt: skip
        tracks.append(
            Track(
                id=f"{i:022d}",
                name=f"{rng.choice(WORDS)} {rng.choice(NOUNS)}",
                artists=(rng.choice(BANDS),),
                release_date=str(rng.randint(1975, 2024)),
                release_date_precision="year",
                popularity=rng.randint(10, 90),
                features=None if i % 9 == 0 else features,
                feature_source="spotify" if i % 3 else "reccobeats",
            )
        )
    return tracks


def _plain(text: str) -> str:
    """Embed markdown as a member reads it (links as their text, emoji as positions)."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = text.replace("**", "").replace("-# ", "   ")
    for i, (like, dislike) in enumerate(
        zip(rating_scheme.LIKE_EMOJIS, rating_scheme.DISLIKE_EMOJIS, strict=True)
    ):
        text = text.replace(like, f"[{i + 1}]").replace(dislike, f"[{chr(65 + i)}]")
    return text.replace("–", "-").replace("—", "-")


def embed_png(embed: dict[str, object], chart: bytes | None) -> bytes:
    """A drawing of an embed dict in Discord's dark colours (see the module docstring)."""
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    figure = Figure(figsize=(8, 9), dpi=100, facecolor=charts.BACKGROUND)
    figure.patches.append(
        __import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
            (0.03, 0.02), 0.006, 0.96, transform=figure.transFigure, color=charts.SEED_COLOUR
        )
    )
    y = 0.96
    figure.text(0.06, y, _plain(str(embed.get("title", ""))), color="#00a8fc", fontsize=13,
                weight="bold", va="top")  # fmt: skip
    y -= 0.045
    for line in _plain(str(embed.get("description", ""))).splitlines():
        small = line.startswith("   ")
        figure.text(0.06, y, line.strip()[:95], color=charts.MUTED if small else charts.TEXT,
                    fontsize=8 if small else 10, va="top")  # fmt: skip
        y -= 0.025 if small else 0.03
    if chart:
        axes = figure.add_axes((0.06, 0.1, 0.88, max(0.1, y - 0.12)))
        axes.imshow(imread(io.BytesIO(chart), format="png"))
        axes.axis("off")
    footer = embed.get("footer") or {}
    for i, line in enumerate(_plain(str(footer.get("text", ""))).splitlines()):  # type: ignore[union-attr]
        figure.text(0.06, 0.07 - i * 0.022, line[:110], color=charts.MUTED, fontsize=7.5, va="top")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=charts.BACKGROUND)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the images; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    tracks = fixture_tracks()
    recommender = Recommender(Catalogue.from_tracks(tracks))
    seed = tracks[1]
    # The same reasons the bot shows: the engine's own (explain=True), not made-up text.
    suggestions = list(recommender.recommend(Seeds([seed.id]), k=5, alpha=0.7, explain=True))
    outcome = RecommendOutcome(
        mode="song",
        seeds=(seed,),
        suggestions=suggestions,
        alpha=0.7,
        catalogue_size=len(tracks),
    )
    label = rendering.track_label
    radar = charts.recommendation_chart(
        label(seed), seed.features, [(label(s.track), s.track.features) for s in suggestions]
    )
    liked = [t.features for t in tracks[:40:4] if t.features]
    disliked = [t.features for t in tracks[50:70:5] if t.features]
    images = {
        "recommend-chart.png": radar,
        "recommend-embed.png": embed_png(rendering.recommendation_embed(outcome).to_dict(), radar),
        "profile-chart.png": charts.profile_chart(
            liked, disliked, [t.features for t in tracks if t.features]
        ),
        "stats-chart.png": charts.stats_chart(
            charts.CatalogueStats(
                tracks_by_source=[("Club Classics", 80), ("friday-night.csv", 40)],
                feature_sources={"spotify": 71, "reccobeats": 36},
                featureless=13,
                decades={1970: 4, 1980: 21, 1990: 24, 2000: 25, 2010: 26, 2020: 20},
                top_liked=[(t.name, 6 - i) for i, t in enumerate(tracks[:5])],
                total_tracks=len(tracks),
            )
        ),
    }
    for name, data in images.items():
        assert data is not None
        (args.out / name).write_bytes(data)
        print(f"{args.out / name}: {len(data) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
