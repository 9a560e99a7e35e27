"""Spotify's own ``/audio-features`` (apps with the full API only)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from recommender.features import clean_features
from recommender.progress import BatchProgress, ProgressCallback, Stage
from recommender.spotify.client import SpotifyClient

BATCH = 100  # documented maximum of GET /audio-features?ids=


class SpotifyAudioFeatures:
    """Features from ``GET /audio-features?ids=``, 100 ids a call.

    A 403 means the app may not call it (Spotify's November 2024 restriction):
    it is not retried, and the process remembers it, so later ingests skip
    straight to the next provider.
    """

    name = "spotify"

    def __init__(self, client: SpotifyClient) -> None:
        self.client = client
        # Concurrent lookups (an ingest completes chunks while it reads) probe once.
        self._probe = asyncio.Lock()

    async def features(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> dict[str, dict[str, float]]:
        ids = list(dict.fromkeys(track_ids))
        counter = BatchProgress(progress, Stage.FEATURES, self.name, len(ids))
        caps = self.client.capabilities
        if caps.audio_features is False or not ids:
            return {}
        batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
        found: dict[str, dict[str, float]] = {}
        if caps.audio_features is None:
            async with self._probe:
                if caps.audio_features is None:
                    # Probe with one batch so a refused endpoint costs one request, not 100.
                    first = await self._batch(batches.pop(0), counter, patience)
                    if first is None:
                        return {}
                    found.update(first)
        if caps.audio_features is False:
            return found
        for result in await asyncio.gather(*(self._batch(b, counter, patience) for b in batches)):
            found.update(result or {})
        return found

    async def _batch(
        self, ids: list[str], counter: BatchProgress, patience: float | None
    ) -> dict[str, dict[str, float]] | None:
        response = await self.client.get(
            "audio-features",
            {"ids": ",".join(ids)},
            what="audio features",
            allow=(403,),
            patience=patience,
        )
        if response.status == 403:
            self.client.capabilities.audio_features = False
            return None
        self.client.capabilities.audio_features = True
        body = response.body if isinstance(response.body, dict) else {}
        found: dict[str, dict[str, float]] = {}
        for item in body.get("audio_features") or ():  # null for tracks without features
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                cleaned = clean_features(item)
                if cleaned is not None:
                    found[item["id"]] = cleaned
        await counter.add(len(ids))
        return found
