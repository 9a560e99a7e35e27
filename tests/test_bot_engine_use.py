"""The bot uses the engine through its one call, and keeps heavy work off the event loop."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import numpy as np
import pytest

from bot.render import charts
from bot.services import insights
from recommender.catalogue import Catalogue
from recommender.track import Track
from tests import fixtures as fx

BOT = Path(__file__).resolve().parents[1] / "bot"
# What only the engine may touch: index internals, score arrays, hand-made answers.
ENGINE_INTERNALS = re.compile(
    r"\.index\.|unit_vectors|\bBonus\b|\.scaler\b|TasteProfile|CoOccurrence|"
    r"Recommendation\(|\.prior\b"
)


@pytest.mark.parametrize("path", sorted(BOT.rglob("*.py")), ids=lambda p: p.name)
def test_the_bot_never_reaches_into_the_engine(path: Path) -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if ENGINE_INTERNALS.search(line)
    ]
    assert not found, "\n".join(found)


def _catalogue(n: int = 300) -> Catalogue:
    tracks = fx.synthetic_tracks(n, seed=11)
    records = [Track(t.id, t.name, t.artists, features=t.features) for t in tracks]
    # Loud and quiet outliers: the chart clips them, so the mean must clip them too.
    records[0] = Track("L" * 22, "Loud", features={**tracks[0].features, "loudness": 4.0})  # type: ignore[dict-item]
    records[1] = Track("Q" * 22, "Quiet", features={**tracks[1].features, "loudness": -59.0})  # type: ignore[dict-item]
    records.append(Track("N" * 22, "No features"))
    return Catalogue.from_tracks(records)


def test_the_server_baseline_is_the_mean_the_chart_would_draw_from_every_track() -> None:
    catalogue = _catalogue()
    every_track = [t.features for t in catalogue.tracks() if t.features]
    mean = insights.catalogue_mean(catalogue)
    assert mean is not None
    np.testing.assert_allclose(
        charts.mean_profile([mean]), charts.mean_profile(every_track), atol=1e-9
    )
    empty = Catalogue.from_tracks([Track("N" * 22, "No features")])
    assert insights.catalogue_mean(empty) is None


def test_the_baseline_is_computed_once_per_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = insights.catalogue_mean

    def counted(catalogue: Catalogue) -> dict[str, float] | None:
        calls.append(len(catalogue))
        return real(catalogue)

    monkeypatch.setattr(insights, "catalogue_mean", counted)
    service = insights.InsightService(store=None, catalogues=None)  # type: ignore[arg-type]
    first, second = _catalogue(100), _catalogue(120)

    async def main() -> None:
        a = await service._baseline(1, first)
        assert await service._baseline(1, first) == a
        assert await service._baseline(1, second) != a  # a rebuilt catalogue: new mean

    asyncio.run(main())
    assert calls == [101, 121]
