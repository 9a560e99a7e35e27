"""Async Spotify Web API client for the 2026 API: settings, tokens, typed errors."""

from recommender.spotify.capabilities import Capabilities
from recommender.spotify.client import SpotifyClient
from recommender.spotify.errors import (
    AppRestricted,
    BadReference,
    NotAllowedForApp,
    PlaylistNotFound,
    PlaylistNotReadable,
    QuotaExceeded,
    RateLimited,
    SpotifyAuthError,
    SpotifyConfigError,
    SpotifyError,
    SpotifyUnavailable,
    TrackNotFound,
    UnexpectedResponse,
)
from recommender.spotify.playlists import PlaylistContents, PlaylistInfo, read_playlist
from recommender.spotify.settings import SettingsError, SpotifySettings
from recommender.spotify.tracks import get_tracks
from recommender.spotify.transport import waiting_up_to

__all__ = [
    "AppRestricted",
    "BadReference",
    "Capabilities",
    "NotAllowedForApp",
    "PlaylistContents",
    "PlaylistInfo",
    "PlaylistNotFound",
    "PlaylistNotReadable",
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
    "get_tracks",
    "read_playlist",
    "waiting_up_to",
]
