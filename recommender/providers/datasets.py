"""Local datasets (CSV files keyed by Spotify track id) as a feature and popularity source."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from recommender.catalogue import Catalogue
from recommender.features import FEATURE_NAMES
from recommender.loaders import load_catalogue_with_report
from recommender.progress import BatchProgress, ProgressCallback, Stage

log = logging.getLogger(__name__)


class DatasetProvider:
    """Features and popularity from one CSV file in any schema the engine loads.

    The file is read once, on first use, off the event loop, through the same
    range checks as an upload (impossible values are logged once and never
    served). Values are recorded with the source ``dataset:<file name>``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"dataset:{self.path.name}"
        self._catalogue: Catalogue | None = None
        self._lock = asyncio.Lock()

    async def catalogue(self) -> Catalogue:
        """The loaded file (loaded on the first call)."""
        async with self._lock:
            if self._catalogue is None:
                loaded, report = await asyncio.to_thread(load_catalogue_with_report, self.path)
                self._catalogue = loaded
                log.info("loaded %d tracks from %s", len(loaded), self.path.name)
                if report.dropped:
                    # The file's own flaws, said once to the operator: an ingest that
                    # later asks this file for a track is not told about other rows.
                    log.warning("%s: %s", self.path.name, report.dropped_line())
            return self._catalogue

    async def features(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,  # a local file: nothing to wait for
    ) -> dict[str, dict[str, float]]:
        catalogue = await self.catalogue()
        has_features = catalogue.has_features
        found: dict[str, dict[str, float]] = {}
        for track_id in track_ids:
            row = catalogue.row_of(track_id)
            if row is not None and has_features[row]:
                values = catalogue.features[row].tolist()
                found[track_id] = dict(zip(FEATURE_NAMES, values, strict=True))
        await BatchProgress(progress, Stage.FEATURES, self.name, len(track_ids)).add(len(track_ids))
        return found

    async def popularity(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,  # a local file: nothing to wait for
    ) -> dict[str, int]:
        catalogue = await self.catalogue()
        found: dict[str, int] = {}
        for track_id in track_ids:
            row = catalogue.row_of(track_id)
            if row is not None and catalogue.popularity[row] == catalogue.popularity[row]:
                found[track_id] = int(catalogue.popularity[row])  # NaN != NaN: skipped above
        await BatchProgress(progress, Stage.POPULARITY, self.name, len(track_ids)).add(
            len(track_ids)
        )
        return found
