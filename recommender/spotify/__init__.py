"""Async Spotify Web API client for the 2026 API: settings, tokens, typed errors."""

from recommender.spotify.capabilities import Capabilities
from recommender.spotify.client import SpotifyClient
from recommender.spotify.errors import (
    AppRestricted,
    BadReference,
    IngestTimedOut,
    NotAllowedForApp,
    PlaylistKeepsChanging,
    PlaylistNotFound,
    PlaylistNotReadable,
    PlaylistRunaway,
    QuotaExceeded,
    RateLimited,
    SpotifyAuthError,
    SpotifyConfigError,
    SpotifyError,
    SpotifyUnavailable,
    TrackNotFound,
    UnexpectedResponse,
    UnsafeLink,
)
from recommender.spotify.playlists import PlaylistContents, PlaylistInfo, read_playlist
from recommender.spotify.settings import SettingsError, SpotifySettings
from recommender.spotify.tracks import get_tracks

__all__ = [
    "AppRestricted",
    "BadReference",
    "Capabilities",
    "IngestTimedOut",
    "NotAllowedForApp",
    "PlaylistContents",
    "PlaylistInfo",
    "PlaylistKeepsChanging",
    "PlaylistNotFound",
    "PlaylistNotReadable",
    "PlaylistRunaway",
    "QuotaExceeded",
    "RateLimited",
    "SettingsError",
    "SpotifyAuthError",
    "SpotifyClient",
    "SpotifyConfigError",
    "SpotifyError",
    "SpotifySettings",
    "SpotifyUnavailable",
    "TrackNotFound",
    "UnexpectedResponse",
    "UnsafeLink",
    "get_tracks",
    "read_playlist",
]
