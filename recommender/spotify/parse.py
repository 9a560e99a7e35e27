"""Turn Spotify payloads (TrackObject, PlaylistTrackObject) into :class:`Track` records."""

from __future__ import annotations

from typing import Any, Literal

from recommender.track import Track, parse_release_date
from recommender.validation import checked_int

EntryKind = Literal["track", "local", "episode", "unavailable"]


def parse_popularity(value: Any) -> int | None:
    """Spotify's 0-100 popularity, or ``None`` (absent for 2026 development-mode apps).

    A present but impossible value is dropped and counted (:mod:`recommender.validation`).
    """
    return checked_int("popularity", value)


def parse_track(obj: Any) -> Track | None:
    """A :class:`Track` from a TrackObject; ``None`` for episodes, local or id-less items."""
    if not isinstance(obj, dict) or obj.get("type", "track") != "track":
        return None
    track_id = obj.get("id")
    if obj.get("is_local") or not isinstance(track_id, str) or not track_id:
        return None
    raw_album = obj.get("album")
    album: dict[str, Any] = raw_album if isinstance(raw_album, dict) else {}
    date_text = album.get("release_date")
    date, precision = parse_release_date(date_text, album.get("release_date_precision"))
    artists = tuple(
        str(a["name"]) for a in obj.get("artists") or () if isinstance(a, dict) and a.get("name")
    )
    duration = obj.get("duration_ms")  # 1e20 here once failed a whole playlist's write
    popularity = parse_popularity(obj.get("popularity"))
    return Track(
        id=track_id,
        name=str(obj.get("name") or ""),
        artists=artists,
        album=str(album.get("name") or ""),
        release_date=date_text.strip() if date is not None and isinstance(date_text, str) else None,
        release_date_precision=precision,
        popularity=popularity,
        duration_ms=checked_int("duration_ms", duration),
        popularity_source="spotify" if popularity is not None else None,
    )


def classify_entry(entry: Any) -> tuple[EntryKind, Track | None]:
    """What a playlist entry is, and its track when it is a usable one.

    Reads ``item`` (2026 name) and falls back to ``track`` (deprecated name, still
    sent during the transition). Null items are tracks no longer available.
    """
    if not isinstance(entry, dict):
        return "unavailable", None
    item = entry.get("item")
    if item is None:
        item = entry.get("track")
    if not isinstance(item, dict):
        return "unavailable", None
    if entry.get("is_local") or item.get("is_local"):
        return "local", None
    # Without additional_types=episode, episodes come back track-shaped but typed.
    if item.get("type") == "episode" or item.get("episode") is True:
        return "episode", None
    track = parse_track(item)
    return ("track", track) if track is not None else ("unavailable", None)
