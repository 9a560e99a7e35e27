"""Recognise Spotify ids, URIs and ``open.spotify.com`` links."""

from __future__ import annotations

import re
from typing import Literal

SpotifyKind = Literal["track", "playlist", "album", "artist"]

_ID = r"[0-9A-Za-z]{22}"
_BARE_ID_RE = re.compile(rf"^{_ID}$")
_URI_RE = re.compile(rf"^spotify:(track|playlist|album|artist):({_ID})$")
# open.spotify.com/track/ID, with optional intl-xx/ prefix, embed/ and ?si= query.
_LINK_RE = re.compile(
    rf"^(?:https?://)?open\.spotify\.com/(?:intl-[a-zA-Z_-]+/)?(?:embed/)?"
    rf"(track|playlist|album|artist)/({_ID})(?:[/?#].*)?$"
)


def parse_spotify_id(text: str, kind: SpotifyKind) -> str | None:
    """Return the 22-character id if ``text`` is an id, URI or link of ``kind``.

    >>> parse_spotify_id("open.spotify.com/intl-de/track/6f807x0ima9a1j3VPbc7VN?si=x", "track")
    '6f807x0ima9a1j3VPbc7VN'
    >>> parse_spotify_id("spotify:playlist:37i9dQZF1DXcZDD7cfEKhW", "track") is None
    True
    """
    text = text.strip().strip("<>")  # Discord wraps suppressed links in <...>
    if _BARE_ID_RE.match(text):
        return text
    for pattern in (_URI_RE, _LINK_RE):
        match = pattern.match(text)
        if match:
            return match.group(2) if match.group(1) == kind else None
    return None


def looks_like_spotify_reference(text: str) -> bool:
    """True for anything shaped like a Spotify URI or link, whatever its kind."""
    text = text.strip()
    return text.startswith("spotify:") or "open.spotify.com/" in text
