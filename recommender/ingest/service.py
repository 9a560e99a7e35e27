"""Build the whole ingestion stack from settings, sharing one HTTP session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from recommender.cache import MemoryTrackCache, TrackCache
from recommender.closing import AsyncClosing
from recommender.ingest.pipeline import IngestResult, fetch_track, ingest_playlist
from recommender.progress import ProgressCallback
from recommender.providers.base import FeatureProvider, PopularityProvider
from recommender.providers.chain import ProviderChain
from recommender.providers.datasets import DatasetProvider
from recommender.providers.reccobeats import ReccoBeats
from recommender.providers.spotify_features import SpotifyAudioFeatures
from recommender.spotify.capabilities import Capabilities
from recommender.spotify.client import SpotifyClient, new_session
from recommender.spotify.settings import SpotifySettings
from recommender.track import Track


def build_chain(settings: SpotifySettings, spotify: SpotifyClient) -> ProviderChain:
    """Spotify audio-features -> ReccoBeats -> each FEATURE_DATASETS file, as configured."""
    features: list[FeatureProvider] = []
    popularity: list[PopularityProvider] = []
    if spotify.auth is not None:
        features.append(SpotifyAudioFeatures(spotify))
    if settings.reccobeats_url:
        recco = ReccoBeats(spotify.session, settings, stats=spotify.stats)
        features.append(recco)
        popularity.append(recco)
    for path in settings.feature_datasets:
        dataset = DatasetProvider(path)
        features.append(dataset)
        popularity.append(dataset)
    return ProviderChain(features, popularity)


class Ingestion(AsyncClosing):
    """The Spotify client, the provider chain and a track cache, ready to use.

    ``async with Ingestion(settings, cache=store) as ingestion:`` then
    ``await ingestion.playlist(link, progress=cb)`` or ``await ingestion.track(link)``.
    One instance per process: it holds one aiohttp session, the learned rate limit and
    what the app may call (its client's :class:`~recommender.spotify.capabilities.Capabilities`).
    """

    def __init__(
        self,
        settings: SpotifySettings,
        *,
        cache: TrackCache | None = None,
        on_new_refresh_token: Callable[[str], Awaitable[None] | None] | None = None,
        capabilities: Capabilities | None = None,
    ) -> None:
        """``capabilities``: what the app may call, if already known (else learned by
        this instance's client and kept for its later ingests)."""
        self.settings = settings
        self.cache: TrackCache = cache if cache is not None else MemoryTrackCache()
        self.session = new_session(settings)
        self.spotify = SpotifyClient(
            settings,
            session=self.session,
            capabilities=capabilities,
            on_new_refresh_token=on_new_refresh_token,
        )
        self.chain = build_chain(settings, self.spotify)

    async def close(self) -> None:
        """Close the HTTP session."""
        if not self.session.closed:
            await self.session.close()

    async def playlist(
        self,
        reference: str,
        *,
        progress: ProgressCallback | None = None,
        max_wait: float | None = None,
        deadline: float | Literal["settings"] | None = "settings",
    ) -> IngestResult:
        """See :func:`recommender.ingest.pipeline.ingest_playlist`."""
        return await ingest_playlist(
            self.spotify,
            reference,
            chain=self.chain,
            cache=self.cache,
            progress=progress,
            max_wait=max_wait,
            deadline=deadline,
        )

    async def track(self, reference: str) -> Track:
        """See :func:`recommender.ingest.pipeline.fetch_track`."""
        return await fetch_track(self.spotify, reference, chain=self.chain, cache=self.cache)
