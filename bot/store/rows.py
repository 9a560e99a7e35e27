"""Conversions between records and SQLite rows (timestamps, tracks)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from recommender.features import FEATURE_NAMES
from recommender.track import Track

# Column order of the ``tracks`` table as read and written by the store. Feature
# columns are named after FEATURE_NAMES; ``key`` and ``mode`` are SQL keywords,
# hence the quoting.
TRACK_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "artists",
    "album",
    "release_date",
    "release_date_precision",
    "popularity",
    "duration_ms",
    *FEATURE_NAMES,
    "feature_source",
    "popularity_source",
)
_FEATURES_AT = TRACK_COLUMNS.index(FEATURE_NAMES[0])
_FEATURES_END = _FEATURES_AT + len(FEATURE_NAMES)


def track_select(alias: str = "t") -> str:
    """The ``SELECT`` list of a track row, e.g. ``t."id", t."name", ...``."""
    return ", ".join(f'{alias}."{column}"' for column in TRACK_COLUMNS)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


def to_db_time(value: dt.datetime) -> str:
    """Encode an aware datetime as fixed-width ISO-8601 UTC text.

    Fixed width (always microseconds, always ``+00:00``) so text order is time
    order and ``ORDER BY``/``<`` on the column are correct.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (use datetime.now(UTC))")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> dt.datetime:
    """Decode a timestamp written by :func:`to_db_time`."""
    return dt.datetime.fromisoformat(text)


def optional_time(text: str | None) -> dt.datetime | None:
    """Decode a nullable timestamp column."""
    return None if text is None else dt.datetime.fromisoformat(text)


def track_to_row(track: Track, fetched_at: str) -> tuple[Any, ...]:
    """Parameters for one ``tracks`` row: :data:`TRACK_COLUMNS` then ``fetched_at``.

    Each of the eleven features gets its own column; a name missing from the
    track's dict is stored as NULL (and is absent again when read back). Keys other
    than the eleven are not stored.
    """
    features = track.features or {}
    return (
        track.id,
        track.name,
        json.dumps(list(track.artists), ensure_ascii=False),
        track.album,
        track.release_date,
        track.release_date_precision,
        track.popularity,
        track.duration_ms,
        *(features.get(name) for name in FEATURE_NAMES),
        track.feature_source,
        track.popularity_source,
        fetched_at,
    )


def row_to_track(row: Sequence[Any], start: int = 0) -> Track:
    """Build a :class:`Track` from :data:`TRACK_COLUMNS` found at ``row[start:]``."""
    values = row[start + _FEATURES_AT : start + _FEATURES_END]
    features = {n: float(v) for n, v in zip(FEATURE_NAMES, values, strict=True) if v is not None}
    return Track(
        id=row[start],
        name=row[start + 1],
        artists=tuple(json.loads(row[start + 2])),
        album=row[start + 3],
        release_date=row[start + 4],
        release_date_precision=row[start + 5],
        popularity=row[start + 6],
        duration_ms=row[start + 7],
        features=features or None,
        feature_source=row[start + _FEATURES_END],
        popularity_source=row[start + _FEATURES_END + 1],
    )


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]
