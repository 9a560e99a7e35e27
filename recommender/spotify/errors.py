"""Typed errors of the Spotify client, each with a message an admin can act on.

Messages never contain a secret (client secret, access or refresh token): they are
shown to Discord admins and written to logs.
"""

from __future__ import annotations

import math
import re

# Upstream text (an error body's message, an OAuth error code) is shown to admins
# inside our own sentence: it is clamped so a hostile or broken server cannot make
# the message huge (Discord refuses replies over 2,000 characters).
UPSTREAM_DETAIL_CHARS = 200
MAX_MESSAGE_CHARS = 1_000

_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+")


def clamp_upstream(text: object, limit: int = UPSTREAM_DETAIL_CHARS) -> str:
    """Upstream text on one line, without control or invisible characters, at most ``limit``."""
    flat = _SPACE.sub(" ", str(text)[: limit * 4]).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class SpotifyError(Exception):
    """Base class: something went wrong talking to Spotify or a feature provider."""

    def __init__(self, message: str) -> None:
        if len(message) > MAX_MESSAGE_CHARS:  # a last guard; details are clamped earlier
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
        super().__init__(message)
        self.message = message


class SpotifyConfigError(SpotifyError):
    """The settings do not allow the requested call (e.g. no credentials)."""


class BadReference(SpotifyError):
    """The text is not a Spotify id, URI or link of the expected kind."""

    def __init__(self, text: str, kind: str) -> None:
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(
            f"{shown!r} is not a Spotify {kind}: give a link (open.spotify.com/{kind}/...), "
            f"a spotify:{kind}: URI or a 22-character id."
        )
        self.text = text
        self.kind = kind


class SpotifyAuthError(SpotifyError):
    """Spotify refused the credentials or the refresh token."""


class AppRestricted(SpotifyError):
    """Spotify refuses every call for this app (e.g. the owner's Premium lapsed)."""


class PlaylistNotFound(SpotifyError):
    """The playlist does not exist, is private, or is Spotify-owned (404)."""

    def __init__(self, playlist_id: str) -> None:
        super().__init__(
            f"Spotify has no playlist {playlist_id} that this app can see. Check the link; "
            "private playlists need the owner's login, and Spotify-owned or algorithmic "
            "playlists (ids starting 37i9dQZF1) are not available to new apps."
        )
        self.playlist_id = playlist_id


class PlaylistNotReadable(SpotifyError):
    """The playlist exists but this app may not read its tracks (403)."""

    def __init__(self, playlist_id: str, name: str | None = None, *, user_login: bool) -> None:
        label = f'"{name}" ({playlist_id})' if name else playlist_id
        if user_login:
            hint = (
                "the Spotify account logged in with `python -m recommender spotify-login` "
                "must own the playlist or collaborate on it"
            )
        else:
            hint = (
                "log in as the playlist's owner or a collaborator with "
                "`python -m recommender spotify-login` and set SPOTIFY_REFRESH_TOKEN"
            )
        super().__init__(
            f"Spotify shows playlist {label} but not its tracks to this app. In Spotify's "
            f"development mode {hint} (or the app needs extended quota); otherwise export "
            "the playlist to CSV and add that file instead."
        )
        self.playlist_id = playlist_id
        self.name = name


class TrackNotFound(SpotifyError):
    """No track with this id."""

    def __init__(self, track_id: str) -> None:
        super().__init__(f"Spotify has no track {track_id}; check the link.")
        self.track_id = track_id


class NotAllowedForApp(SpotifyError):
    """A 403 on an endpoint this app may not call (audio-features, batch lookups).

    Not retried and remembered for the rest of the process.
    """

    def __init__(self, capability: str) -> None:
        super().__init__(
            f"Spotify does not allow this app to use {capability} (development mode "
            "apps created after November 2024 lack it)."
        )
        self.capability = capability


def _describe_wait(seconds: float) -> str:
    seconds = max(0, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{math.ceil(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class RateLimited(SpotifyError):
    """A 429 whose ``Retry-After`` is longer than the client will wait."""

    def __init__(self, retry_after: float, service: str = "Spotify") -> None:
        super().__init__(
            f"{service} is rate limiting this app; try again in {_describe_wait(retry_after)}."
        )
        self.retry_after = retry_after
        self.service = service


class QuotaExceeded(RateLimited):
    """The daily quota is used up (429 with ``reason: QUOTA_EXCEEDED``)."""

    def __init__(self, retry_after: float, service: str = "Spotify") -> None:
        SpotifyError.__init__(
            self,
            f"This app's {service} request quota is used up; it renews in about "
            f"{_describe_wait(retry_after)}. Until then only stored tracks can be used.",
        )
        self.retry_after = retry_after
        self.service = service


class SpotifyUnavailable(SpotifyError):
    """Server errors or timeouts persisted through every retry."""

    def __init__(self, detail: str, service: str = "Spotify") -> None:
        super().__init__(f"{service} is not answering properly ({detail}); try again later.")
        self.service = service


class UnexpectedResponse(SpotifyError):
    """A status the client has no specific meaning for (e.g. a 400)."""

    def __init__(self, status: int, what: str, detail: str = "", service: str = "Spotify") -> None:
        detail = clamp_upstream(detail) if detail else ""
        extra = f": {detail}" if detail else ""
        super().__init__(f"{service} answered {status} to {what}{extra}")
        self.status = status


class UnsafeLink(SpotifyError):
    """An answer pointed somewhere the client must not go (another host or resource).

    The client never sends its token outside ``SPOTIFY_API_URL``'s origin.
    """

    def __init__(self, what: str) -> None:
        super().__init__(
            f"Spotify's answer for {what} linked outside the Spotify API address this bot "
            "uses (SPOTIFY_API_URL), so the read was stopped and nothing was stored. If a "
            "proxy sits in front of Spotify, check that it rewrites links; otherwise try "
            "again later."
        )


class PlaylistRunaway(SpotifyError):
    """The pages of a playlist never end (or announce more than the client reads)."""

    def __init__(self, playlist_id: str, detail: str) -> None:
        super().__init__(
            f"Spotify kept answering for playlist {playlist_id} beyond what it announced "
            f"({detail}), so the read was stopped and nothing was stored. Try again later."
        )
        self.playlist_id = playlist_id


class PlaylistKeepsChanging(SpotifyError):
    """The playlist changed while it was read, and again on the second reading."""

    def __init__(self, playlist_id: str, name: str | None = None) -> None:
        label = f'"{clamp_upstream(name, 100)}" ({playlist_id})' if name else playlist_id
        super().__init__(
            f"Playlist {label} changed while I was reading it, twice in a row, so nothing "
            "was stored (a mix of the old and new versions would be wrong). Try again when "
            "nobody is editing it."
        )
        self.playlist_id = playlist_id


class IngestTimedOut(SpotifyError):
    """An ingest passed its overall deadline (``INGEST_DEADLINE``)."""

    def __init__(self, deadline: float, what: str = "this playlist") -> None:
        super().__init__(
            f"Reading {what} took longer than the {_describe_wait(deadline)} one import may "
            "take (INGEST_DEADLINE), so it was stopped and nothing was stored. Spotify or a "
            "feature provider may be slow or rate limiting this app; try again later."
        )
        self.deadline = deadline
