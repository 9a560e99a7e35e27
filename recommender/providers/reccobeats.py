"""ReccoBeats: free audio features and popularity keyed by Spotify track id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from recommender.features import clean_features
from recommender.ids import parse_spotify_id
from recommender.progress import BatchProgress, ProgressCallback, Stage
from recommender.spotify.errors import UnexpectedResponse
from recommender.spotify.parse import parse_popularity
from recommender.spotify.settings import SpotifySettings
from recommender.spotify.stats import RequestStats
from recommender.spotify.transport import Transport

log = logging.getLogger(__name__)

BATCH = 40  # the most ids ReccoBeats answers in one call
# One operator and unpublished limits: stay gentle whatever the Spotify setting is.
MAX_CONCURRENCY = 4


class ReccoBeats:
    """Client of ``/audio-features?ids=`` and ``/track?ids=``, 40 ids a call.

    Answers list only the tracks ReccoBeats knows, identified by its own UUID;
    the Spotify id is recovered from each entry's ``href``
    (``https://open.spotify.com/track/<id>``).
    """

    name = "reccobeats"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: SpotifySettings,
        *,
        stats: RequestStats | None = None,
    ) -> None:
        if not settings.reccobeats_url:
            raise ValueError("ReccoBeats is disabled (RECCOBEATS_API_URL is off)")
        self.base_url = settings.reccobeats_url.rstrip("/")
        self.transport = Transport(
            session,
            service="ReccoBeats",
            max_concurrency=min(MAX_CONCURRENCY, settings.max_concurrency),
            timeout=settings.request_timeout,
            max_retry_after=settings.max_retry_after,
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            rate_window=settings.rate_window,
            stats=stats,
        )

    async def features(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> dict[str, dict[str, float]]:
        """Audio features of the ids ReccoBeats knows."""
        found: dict[str, dict[str, float]] = {}
        counter = BatchProgress(progress, Stage.FEATURES, self.name, len(set(track_ids)))
        for entry in await self._lookup("audio-features", track_ids, counter, patience):
            spotify_id = _spotify_id(entry)
            cleaned = clean_features(entry)
            if spotify_id and cleaned is not None:
                found[spotify_id] = cleaned
        return found

    async def popularity(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> dict[str, int]:
        """Popularity (0-100) of the ids ReccoBeats knows."""
        found: dict[str, int] = {}
        counter = BatchProgress(progress, Stage.POPULARITY, self.name, len(set(track_ids)))
        for entry in await self._lookup("track", track_ids, counter, patience):
            spotify_id = _spotify_id(entry)
            value = parse_popularity(entry.get("popularity"))
            if spotify_id and value is not None:
                found[spotify_id] = value
        return found

    async def _lookup(
        self,
        path: str,
        track_ids: Sequence[str],
        counter: BatchProgress,
        patience: float | None,
    ) -> list[dict[str, Any]]:
        ids = list(dict.fromkeys(track_ids))
        batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
        results = await asyncio.gather(*(self._batch(path, b, counter, patience) for b in batches))
        return [entry for batch in results for entry in batch]

    async def _batch(
        self, path: str, ids: list[str], counter: BatchProgress, patience: float | None
    ) -> list[dict[str, Any]]:
        response = await self.transport.request(
            "GET", f"{self.base_url}/{path}", params={"ids": ",".join(ids)}, patience=patience
        )
        if not response.ok:
            raise UnexpectedResponse(
                response.status, f"a {path} lookup of {len(ids)} ids", service="ReccoBeats"
            )
        body = response.body if isinstance(response.body, dict) else {}
        await counter.add(len(ids))
        return [e for e in body.get("content") or () if isinstance(e, dict)]


def _spotify_id(entry: dict[str, Any]) -> str | None:
    href = entry.get("href")
    return parse_spotify_id(href, "track") if isinstance(href, str) else None
