"""Complete tracks with the provider chain while the playlist is still being read.

Reading a playlist and asking providers for its features used to be two stages,
one after the other. Each stage then paid for its slowest request on its own: a
page refused with a 429 (``Retry-After: 1``) held back every feature lookup for
a second. Here tracks go to the chain in chunks as soon as enough pages have
arrived, so a straggling page delays only the tracks on it.

Chunks are a multiple of every provider's batch (Spotify 100 ids, ReccoBeats
40), so streaming costs no extra requests.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections import Counter
from collections.abc import Sequence
from typing import Any

from recommender.cache import TrackCache
from recommender.progress import IngestProgress, ProgressCallback, Stage, notify
from recommender.providers.chain import ChainReport, ProviderChain
from recommender.track import Track

CHUNK = 200


def merge_cached(fresh: Track, cached: Track | None) -> Track:
    """Fresh metadata from the playlist, with the values the cache already had."""
    if cached is None:
        return fresh
    changes: dict[str, Any] = {}
    if fresh.features is None and cached.features is not None:
        changes.update(features=cached.features, feature_source=cached.feature_source)
    if fresh.popularity is None and cached.popularity is not None:
        changes.update(popularity=cached.popularity, popularity_source=cached.popularity_source)
    return dataclasses.replace(fresh, **changes) if changes else fresh


class StreamingCompletion:
    """Collects tracks as pages arrive and completes them in chunks, concurrently.

    ``add`` is called with each page's tracks (repeats and tracks of a reading
    that is later thrown away are fine: each id is completed once); ``finish``
    completes the rest and returns the final tracks in the given order. Use as
    an async context manager so unfinished work is cancelled on any error.
    """

    def __init__(
        self,
        chain: ProviderChain,
        cache: TrackCache | None,
        progress: ProgressCallback | None,
        patience: float | None = None,
    ) -> None:
        self._chain = chain
        self._cache = cache
        self._progress = progress
        self._patience = patience
        # Tasks run in the ingest's context (request and dropped-value counters),
        # whichever reading of the playlist happened to submit them.
        self._context = contextvars.copy_context()
        self._submitted: set[str] = set()
        self._pending: list[Track] = []
        self._tasks: list[asyncio.Task[tuple[list[Track], ChainReport]]] = []
        self._from_cache: set[str] = set()
        # (chunk, stage, provider) -> (done, of): one event per stage and provider
        # sums the chunks, which each provider answers separately.
        self._asked: dict[tuple[int, Stage, str | None], tuple[int, int]] = {}

    async def __aenter__(self) -> StreamingCompletion:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def add(self, tracks: Sequence[Track]) -> None:
        """New tracks from a page; a full chunk is sent to the providers at once."""
        for track in tracks:
            if track.id not in self._submitted:
                self._submitted.add(track.id)
                self._pending.append(track)
        while len(self._pending) >= CHUNK:
            self._submit(self._pending[:CHUNK])
            del self._pending[:CHUNK]

    def _submit(self, chunk: list[Track]) -> None:
        number = len(self._tasks)
        coroutine = self._complete(number, chunk)
        self._tasks.append(asyncio.create_task(coroutine, context=self._context))

    async def _complete(self, number: int, chunk: list[Track]) -> tuple[list[Track], ChainReport]:
        cache = self._cache
        cached = await cache.get_tracks([t.id for t in chunk]) if cache is not None else {}
        merged = [merge_cached(t, cached.get(t.id)) for t in chunk]
        self._from_cache.update(t.id for t in merged if t.features is not None)

        async def on_progress(step: IngestProgress) -> None:
            key = (step.stage, step.source)
            self._asked[(number, *key)] = (step.done, step.total)
            mine = [value for (_, *other), value in self._asked.items() if tuple(other) == key]
            done_all = sum(done for done, _ in mine)
            total_all = sum(total for _, total in mine)
            await notify(
                self._progress, IngestProgress(step.stage, done_all, total_all, step.source)
            )

        return await self._chain.complete(merged, progress=on_progress, patience=self._patience)

    async def finish(self, tracks: Sequence[Track]) -> tuple[list[Track], ChainReport, int]:
        """``tracks`` (the final reading, in order) completed; the report; how many were cached.

        Each track keeps the metadata of the final reading and takes the features
        and popularity its chunk found.
        """
        self.add(tracks)
        if self._pending:
            self._submit(self._pending)
            self._pending = []
        results = await asyncio.gather(*self._tasks)
        completed = {t.id: t for done, _ in results for t in done}
        final: list[Track] = []
        report = ChainReport()
        for fresh in tracks:
            found = completed[fresh.id]
            track = dataclasses.replace(
                fresh,
                features=found.features,
                feature_source=found.feature_source,
                popularity=found.popularity,
                popularity_source=found.popularity_source,
            )
            final.append(track)
            if track.feature_source:
                report.features_by_source[track.feature_source] += 1
            if track.popularity_source:
                report.popularity_by_source[track.popularity_source] += 1
        # A provider that failed for several chunks is one warning, not one per chunk.
        warnings: Counter[str] = Counter(w for _, chunk in results for w in chunk.warnings)
        report.warnings = list(warnings)
        from_cache = sum(1 for t in tracks if t.id in self._from_cache)
        return final, report, from_cache
