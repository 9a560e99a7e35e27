"""Every embed and text the bot builds fits Discord's limits, whatever the names are."""

from __future__ import annotations

import datetime as dt

from bot.errors import csv_problem, upstream_message
from bot.render import insight_embeds, rendering
from bot.render.charts import CatalogueStats, _short
from bot.render.untrusted_text import inline
from bot.services.insights import MemberProfile
from bot.services.privacy import ratings_csv
from bot.store.models import PlaylistSource, RatedTrack, Rating
from recommender.track import Track
from tests.discord_payloads import hostile_problems

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOSTILE = [
    "Free Nitro](https://evil.example/claim) [x" * 100,
    "@everyone <@111111111111111111>" * 150,
    "x" * 5000,
    "",
    "\u202e\u200b\n",
]


def track(i: int) -> Track:
    name = HOSTILE[i % len(HOSTILE)]
    return Track(id=f"{i:022d}", name=name, artists=(name, name), album=name, release_date="2001")


def rated(i: int) -> RatedTrack:
    return RatedTrack(Rating(1, 2, f"{i:022d}", 1 if i % 3 else -1, NOW), track(i))


def source(i: int) -> PlaylistSource:
    return PlaylistSource(
        guild_id=1, key=f"csv:{i:016d}", kind="csv", display_name=HOSTILE[i % len(HOSTILE)],
        added_by=7, added_at=NOW, track_count=10,
    )  # fmt: skip


def payload(embed: object) -> dict[str, object]:
    return {"embeds": [embed.to_dict()]}  # type: ignore[attr-defined]


def test_list_embeds_fit_with_hostile_names() -> None:
    ratings = [rated(i) for i in range(25)]
    embeds = [
        rendering.ratings_embed(ratings, 400),
        rendering.sources_embed([source(i) for i in range(10)], 10),
        insight_embeds.profile_embed(MemberProfile(ratings, []), HOSTILE[1]),
        insight_embeds.stats_embed(
            CatalogueStats(
                tracks_by_source=[(HOSTILE[i % 5], 10) for i in range(10)],
                feature_sources={HOSTILE[0]: 5, "reccobeats": 4},
                featureless=1,
                decades={1990: 3, 2000: 7},
                top_liked=[(HOSTILE[i % 5], 3) for i in range(5)],
                total_tracks=100,
                raters=[(7, 3)],
            )
        ),
    ]
    problems = hostile_problems([payload(e) for e in embeds], {"<@7>"})
    assert problems == []


def test_long_lists_end_with_how_many_were_left_out() -> None:
    lines = [f"line {i} " + "x" * 300 for i in range(40)]
    text = rendering.fit_lines(lines, 4096)
    assert len(text) <= 4096
    shown = text.count("\n")
    assert text.endswith(f"… and {40 - shown} more")


def test_texts_fit_one_message() -> None:
    # Lines arrive rendered (bot.sources renders each through untrusted_text).
    summary = rendering.source_added_text(source(0), [inline(HOSTILE[1], 300)] * 50)
    texts = [
        summary,
        rendering.source_removed_text(source(1)),
        csv_problem(HOSTILE[0], "missing required column(s): id; found: a, b", HOSTILE * 600),
        csv_problem(HOSTILE[1], "cannot read it: " + HOSTILE[1], None),
        "I couldn't fetch that track from Spotify: " + upstream_message(HOSTILE[0] * 10),
    ]
    assert hostile_problems([{"content": t} for t in texts]) == []
    assert summary.endswith("more")


def test_choices_are_never_empty_and_fit() -> None:
    choices = rendering.song_choices([track(i) for i in range(40)])
    sources = rendering.playlist_choices([source(i) for i in range(10)], "")
    data = {"choices": [{"name": c.name, "value": c.value} for c in choices + sources]}
    assert len(choices) == 25
    assert hostile_problems([{"choices": data["choices"][:25]}]) == []
    assert hostile_problems([{"choices": data["choices"][25:]}]) == []


def test_chart_labels_are_one_clean_line() -> None:
    label = _short("a\nb\u202e$x$" + "y" * 100)
    assert label == r"a b\$x\$" + "y" * 25 + "…"  # 32 characters, then "$" escaped


def test_the_export_stays_under_the_upload_limit() -> None:
    export = ratings_csv([rated(i) for i in range(200)], max_bytes=50_000)
    assert len(export.data) <= 50_000
    assert 0 < export.rows < export.total == 200
