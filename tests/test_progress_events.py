"""One progress event type (recommender.progress) and the line the bot shows for it."""

from __future__ import annotations

import pytest

from bot.render.rendering import progress_text
from recommender.progress import BatchProgress, IngestProgress, Stage, notify


def test_each_stage_has_its_words() -> None:
    assert progress_text(IngestProgress(Stage.PLAYLIST, 50, 200)) == (
        "Reading the playlist: 50/200…"
    )
    assert progress_text(IngestProgress(Stage.FEATURES, 40, 80, "reccobeats")) == (
        "Looking up audio features (reccobeats): 40/80…"
    )
    assert progress_text(IngestProgress(Stage.POPULARITY, 0, 0, "dataset:a.csv")) == (
        "Looking up popularity (dataset:a.csv)…"
    )
    assert progress_text(IngestProgress(Stage.DONE, 3, 3)) == "Finishing: 3/3…"


def test_a_playlists_name_is_untrusted_text() -> None:
    hostile = "@everyone [Free Nitro](https://evil.example) " + "x" * 300
    line = progress_text(IngestProgress(Stage.SOURCE, 2, 3, hostile))
    assert line.startswith("Refreshing 2/3: ")
    assert "@everyone" not in line and "](https://" not in line
    assert len(line) < 150


async def test_batches_count_up_to_the_total_in_any_order() -> None:
    seen: list[IngestProgress] = []
    counter = BatchProgress(seen.append, Stage.FEATURES, "reccobeats", 90)
    for count in (40, 40, 40):  # the last batch is short in reality; never past 90
        await counter.add(count)
    assert [p.done for p in seen] == [40, 80, 90]
    assert {(p.stage, p.source, p.total) for p in seen} == {(Stage.FEATURES, "reccobeats", 90)}
    assert seen[-1].fraction == 1.0


async def test_a_failing_display_never_fails_the_work(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: IngestProgress) -> None:
        raise RuntimeError("edit refused")

    await notify(broken, IngestProgress(Stage.PLAYLIST, 1, 2))
    assert "progress callback failed at playlist" in caplog.text
