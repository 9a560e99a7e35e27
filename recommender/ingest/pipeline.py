"""Ingest a playlist or one track: Spotify metadata and the provider chain, via the cache."""

from __future__ import annotations

import asyncio
from typing import Literal, NamedTuple

from recommender.cache import TrackCache
from recommender.ids import parse_spotify_id
from recommender.ingest.streaming import StreamingCompletion, merge_cached
from recommender.ingest.summary import IngestSummary
from recommender.progress import IngestProgress, ProgressCallback, Stage, notify
from recommender.providers.chain import ChainReport, ProviderChain
from recommender.spotify.client import SpotifyClient
from recommender.spotify.errors import BadReference, IngestTimedOut, TrackNotFound
from recommender.spotify.playlists import PlaylistContents, read_playlist
from recommender.spotify.stats import counting_requests
from recommender.spotify.tracks import get_tracks
from recommender.track import Track
from recommender.validation import counting_dropped


class IngestResult(NamedTuple):
    """The playlist's tracks (unique, in playlist order) and what the ingest did."""

    tracks: list[Track]
    summary: IngestSummary


async def ingest_playlist(
    client: SpotifyClient,
    reference: str,
    *,
    chain: ProviderChain,
    cache: TrackCache | None = None,
    progress: ProgressCallback | None = None,
    max_wait: float | None = None,
    deadline: float | Literal["settings"] | None = "settings",
) -> IngestResult:
    """Fetch a playlist's tracks with features and popularity.

    ``reference`` is a playlist link, URI or id. The cache is consulted before
    any provider and receives every completed track. ``progress`` receives an
    :class:`IngestProgress` per page and per provider batch (sync or async).
    ``max_wait`` lets this (deferred, long) job sleep through a ``Retry-After``
    of up to that many seconds instead of the client's short default.
    ``deadline`` bounds the whole fetch in seconds, waits included (default:
    the ``INGEST_DEADLINE`` setting; ``None``: no bound).

    Raises :class:`~recommender.spotify.errors.BadReference`,
    :class:`~recommender.spotify.errors.PlaylistNotFound`,
    :class:`~recommender.spotify.errors.PlaylistNotReadable`,
    :class:`~recommender.spotify.errors.RateLimited` (or ``QuotaExceeded``),
    :class:`~recommender.spotify.errors.IngestTimedOut` and other
    :class:`~recommender.spotify.errors.SpotifyError` subclasses. Provider
    failures do not raise: they become ``summary.warnings``.
    """
    limit = client.settings.ingest_deadline if deadline == "settings" else deadline
    with counting_requests() as stats, counting_dropped() as dropped:
        try:
            async with asyncio.timeout(limit) as scope:
                contents, from_cache, tracks, report = await _fetch(
                    client, reference, chain, cache, progress, max_wait
                )
        except TimeoutError:
            if scope.expired():
                raise IngestTimedOut(limit or 0.0) from None
            raise
        # Outside the deadline: a local write is bounded, and cancelling one halfway
        # would gain nothing.
        if cache is not None:
            await cache.put_tracks(tracks)
        await notify(progress, IngestProgress(Stage.DONE, len(tracks), len(tracks)))

    summary = IngestSummary(
        playlist=contents.info,
        tracks=len(tracks),
        from_cache=from_cache,
        skipped_local=contents.skipped_local,
        skipped_episodes=contents.skipped_episodes,
        skipped_unavailable=contents.skipped_unavailable,
        duplicates=contents.duplicates,
        features_by_source=dict(report.features_by_source),
        popularity_by_source=dict(report.popularity_by_source),
        requests=stats.requests,
        retries=stats.retries,
        rate_limited=stats.rate_limited,
        peak_concurrency=stats.peak_in_flight,
        spotify_mode=client.capabilities.mode,
        endpoint=contents.endpoint,
        warnings=report.warnings,
        dropped_values=dict(dropped),
    )
    return IngestResult(tracks, summary)


async def _fetch(
    client: SpotifyClient,
    reference: str,
    chain: ProviderChain,
    cache: TrackCache | None,
    progress: ProgressCallback | None,
    patience: float | None,
) -> tuple[PlaylistContents, int, list[Track], ChainReport]:
    """The playlist from Spotify, completed from the cache and the provider chain.

    Providers start on the first pages while later ones are still on their way
    (:class:`~recommender.ingest.streaming.StreamingCompletion`).
    """

    async with StreamingCompletion(chain, cache, progress, patience) as streaming:
        contents = await read_playlist(
            client, reference, progress=progress, on_tracks=streaming.add, patience=patience
        )
        tracks, report, from_cache = await streaming.finish(contents.tracks)
    return contents, from_cache, tracks, report


async def fetch_track(
    client: SpotifyClient,
    reference: str,
    *,
    chain: ProviderChain,
    cache: TrackCache | None = None,
) -> Track:
    """One track by link, URI or id, with features and popularity where available.

    A cached record with features is returned without any request (the bot calls
    this inside Discord's 3-second window). Raises ``BadReference``,
    ``TrackNotFound`` or a transport error.
    """
    track_id = parse_spotify_id(reference, "track")
    if track_id is None:
        raise BadReference(reference, "track")
    cached = (await cache.get_tracks([track_id])).get(track_id) if cache is not None else None
    if cached is not None and cached.features is not None:
        return cached
    found = (await get_tracks(client, [track_id])).get(track_id)
    if found is None:
        if cached is not None:
            return cached
        raise TrackNotFound(track_id)
    (track,), _ = await chain.complete([merge_cached(found, cached)])
    if cache is not None:
        await cache.put_tracks([track])
    return track
