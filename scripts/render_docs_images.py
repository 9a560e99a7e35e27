"""Render the PNGs under docs/images/ with the bot's real chart and embed code.

    python scripts/render_docs_images.py [--out docs/images]

The catalogue is generated (made-up titles, random but plausible audio features,
fixed seed), ranked by the real engine. The charts are exactly what the bot
attaches. Discord itself cannot be screenshotted here, so the other pictures are
*drawings* in Discord's dark colours of what the real code produces: the embeds
(``bot.render.rendering.recommendation_embed``, steering made by ``bot.render.steering_choices``),
the /recommend options as the cog declares them (names, descriptions, choices) and
the message command's name. The text is the bot's, the layout an approximation,
and emoji are written as their position (``[1]`` like, ``[A]`` dislike) because
the bundled font has no emoji glyphs.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.render import charts, rating_scheme, rendering
from bot.render.steering_choices import Picks
from bot.services.recommending import RecommendOutcome
from cogs.recommend import LIKE_THIS, RecommendCog
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
    text = text.replace("**", "").replace("`", "").replace("-# ", "   ")
    for i, (like, dislike) in enumerate(
        zip(rating_scheme.LIKE_EMOJIS, rating_scheme.DISLIKE_EMOJIS, strict=True)
    ):
        text = text.replace(like, f"[{i + 1}]").replace(dislike, f"[{chr(65 + i)}]")
    return text.replace("–", "-").replace("—", "-")


def embed_png(embed: dict[str, Any], chart: bytes | None) -> bytes:
    """A drawing of an embed dict in Discord's dark colours (see the module docstring)."""
    from matplotlib.figure import Figure
    from matplotlib.image import imread
    from matplotlib.patches import Rectangle

    # (text, colour, size, bold, inches of height), top to bottom.
    rows: list[tuple[str, str, float, bool, float]] = [
        (_plain(str(embed.get("title", ""))), "#00a8fc", 13, True, 0.45)
    ]
    rows += _markdown_rows(str(embed.get("description", "")))
    for field in embed.get("fields") or []:
        rows.append((_plain(field["name"]), charts.TEXT, 10, True, 0.32))
        rows += _markdown_rows(field["value"])
    footer = _plain(str((embed.get("footer") or {}).get("text", "")))
    rows += [(text, charts.MUTED, 7.5, False, 0.2) for text in _wrap(footer, 120)]
    chart_inches = 5.6 if chart else 0.0
    height = 0.5 + sum(r[4] for r in rows) + chart_inches
    figure = Figure(figsize=(8, height), dpi=100, facecolor=charts.BACKGROUND)
    figure.patches.append(
        Rectangle((0.03, 0.02), 0.006, 0.96, transform=figure.transFigure, color=charts.SEED_COLOUR)
    )
    y = height - 0.3  # inches from the bottom
    footer_rows = len(_wrap(footer, 120))
    for index, (text, colour, size, bold, step) in enumerate(rows):
        if chart and index == len(rows) - footer_rows:
            axes = figure.add_axes((0.06, (y - chart_inches) / height, 0.88, chart_inches / height))
            axes.imshow(imread(io.BytesIO(chart), format="png"))
            axes.axis("off")
            y -= chart_inches
        weight = "bold" if bold else "normal"
        figure.text(0.06, y / height, text, color=colour, fontsize=size, weight=weight, va="top")
        y -= step
    return _png(figure)


def _markdown_rows(markdown: str) -> list[tuple[str, str, float, bool, float]]:
    """Embed markdown as drawn rows: subtext ("-# ") small and muted, long lines wrapped."""
    rows = []
    for text in _plain(markdown).splitlines():
        if text.startswith("   "):
            rows += [(part, charts.MUTED, 8, False, 0.22) for part in _wrap(text.strip(), 118)]
        else:
            rows += [(part, charts.TEXT, 10, False, 0.3) for part in _wrap(text, 95)]
    return rows


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=charts.BACKGROUND)
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    return [part for line in text.splitlines() for part in textwrap.wrap(line, width) or [""]]


def options_png() -> bytes:
    """The /recommend options as the cog declares them, drawn like Discord's option list."""
    from matplotlib.figure import Figure

    command = RecommendCog.recommend
    rows: list[tuple[str, str, str]] = []
    for parameter in command.parameters:
        choices = ", ".join(c.name for c in parameter.choices)
        rows.append((parameter.display_name, parameter.description, choices))
    height = 0.9 + 0.55 * len(rows)
    figure = Figure(figsize=(8, height), dpi=100, facecolor=charts.BACKGROUND)
    y = 1 - 0.35 / height
    figure.text(0.04, y, f"/{command.name}  {command.description}", color=charts.TEXT,
                fontsize=12, weight="bold", va="top")  # fmt: skip
    y -= 0.5 / height
    for name, description, choices in rows:
        figure.text(0.05, y, name, color="#00a8fc", fontsize=10, weight="bold", va="top")
        figure.text(0.2, y, "\n".join(_wrap(description, 88)), color=charts.TEXT, fontsize=9,
                    va="top", linespacing=1.1)  # fmt: skip
        if choices:
            figure.text(0.2, y - 0.22 / height, f"choices: {choices}"[:112],
                        color=charts.MUTED, fontsize=7.5, va="top")  # fmt: skip
        y -= 0.55 / height
    return _png(figure)


def menu_png(message: str, author: str) -> bytes:
    """A member's message with Discord's message menu open at Apps > the bot's command."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    figure = Figure(figsize=(8, 2.6), dpi=100, facecolor=charts.BACKGROUND)
    figure.text(0.04, 0.9, author, color=charts.TEXT, fontsize=10, weight="bold", va="top")
    figure.text(0.04, 0.78, message, color=charts.TEXT, fontsize=9.5, va="top")
    menu = [("Add Reaction", False), ("Reply", False), ("Apps  >", True)]
    figure.patches.append(
        FancyBboxPatch(
            (0.45, 0.08),
            0.22,
            0.52,
            boxstyle="round,pad=0.01",
            transform=figure.transFigure,
            color="#111214",
        )
    )
    for i, (label, open_) in enumerate(menu):
        figure.text(0.47, 0.53 - i * 0.15, label, color=charts.TEXT, fontsize=9, va="top",
                    weight="bold" if open_ else "normal")  # fmt: skip
    figure.patches.append(
        FancyBboxPatch(
            (0.69, 0.2),
            0.28,
            0.12,
            boxstyle="round,pad=0.01",
            transform=figure.transFigure,
            color="#5865f2",
        )
    )
    figure.text(0.705, 0.29, LIKE_THIS, color="white", fontsize=9, va="top")
    return _png(figure)


def steered_outcome(tracks: list[Track], recommender: Recommender) -> RecommendOutcome:
    """Three seeds, steered to high energy and adventurous, ranked by the real engine."""
    picks = Picks(energy="high", explore="adventurous")
    seeds = (tracks[1], tracks[4], tracks[10])
    answer = recommender.recommend(
        Seeds([t.id for t in seeds]), k=5, alpha=0.7, explain=True, steer=picks.steering()
    )
    return RecommendOutcome(
        mode="song",
        seeds=seeds,
        suggestions=list(answer),
        alpha=0.7,
        catalogue_size=len(tracks),
        steering=answer.steering,
        asked=picks.describe(),
    )


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
    steered = rendering.recommendation_embed(steered_outcome(tracks, recommender)).to_dict()
    link = f"https://open.spotify.com/track/{seed.id}"
    images = {
        "recommend-chart.png": radar,
        "recommend-embed.png": embed_png(rendering.recommendation_embed(outcome).to_dict(), radar),
        "recommend-steered.png": embed_png(steered, None),
        "recommend-options.png": options_png(),
        "like-this-menu.png": menu_png(f"this one is so good {link}", "bob"),
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
