"""Conversions between records and PostgreSQL rows (tracks, text, command tags)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.store.rows import TRACK_COLUMNS
from recommender.features import FEATURE_NAMES
from recommender.track import Track

_FEATURES_AT = TRACK_COLUMNS.index(FEATURE_NAMES[0])
_FEATURES_END = _FEATURES_AT + len(FEATURE_NAMES)

# PostgreSQL type of each TRACK_COLUMNS entry when passed as a column array to
# unnest(); artists travel as JSON text (unnest flattens arrays of arrays).
_ARRAY_TYPES: dict[str, str] = {
    "popularity": "smallint[]",
    "duration_ms": "bigint[]",
    **{name: "double precision[]" for name in FEATURE_NAMES},
}


def track_select(alias: str = "t") -> str:
    """The ``SELECT`` list of a track row, e.g. ``t."id", t."name", ...``."""
    return ", ".join(f'{alias}."{column}"' for column in TRACK_COLUMNS)


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` if it is timezone-aware (as the SQLite store, refuse naive times:
    the server would read them in its own time zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (use datetime.now(UTC))")
    return value


def clean_text(value: str) -> str:
    """``value`` without U+0000, which PostgreSQL text cannot hold (U+FFFD instead).

    Applied to free text from outside (names, albums, artists, playlist names), so
    a hostile upload cannot make a write fail; identifiers are validated upstream.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def unnest_tracks(first_param: int, columns: Sequence[str] = TRACK_COLUMNS) -> tuple[str, str]:
    """``(from_clause, select_list)`` reading ``columns`` from parameter arrays.

    The arrays are parameters ``$first_param`` onwards, in ``columns`` order, as
    built by :func:`track_arrays`.
    """
    casts = ", ".join(
        f"${first_param + i}::{_ARRAY_TYPES.get(column, 'text[]')}"
        for i, column in enumerate(columns)
    )
    names = ", ".join(f'"{column}"' for column in columns)
    select = ", ".join(
        "ARRAY(SELECT jsonb_array_elements_text(u.artists::jsonb))"
        if column == "artists"
        else f'u."{column}"'
        for column in columns
    )
    return f"unnest({casts}) AS u({names})", select


def track_arrays(tracks: Sequence[Track]) -> list[list[Any]]:
    """One list per :data:`TRACK_COLUMNS` entry (column-major) for :func:`unnest_tracks`."""
    rows = [_track_values(track) for track in tracks]
    return (
        [list(column) for column in zip(*rows, strict=True)]
        if rows
        else [[] for _ in TRACK_COLUMNS]
    )


def _track_values(track: Track) -> tuple[Any, ...]:
    features = track.features or {}
    return (
        track.id,
        clean_text(track.name),
        json.dumps([clean_text(a) for a in track.artists], ensure_ascii=False),
        clean_text(track.album),
        _optional_text(track.release_date),
        track.release_date_precision,
        track.popularity,
        track.duration_ms,
        *(features.get(name) for name in FEATURE_NAMES),
        _optional_text(track.feature_source),
        _optional_text(track.popularity_source),
    )


def record_to_track(row: Sequence[Any], start: int = 0) -> Track:
    """Build a :class:`Track` from :data:`TRACK_COLUMNS` found at ``row[start:]``."""
    values = [row[start + i] for i in range(_FEATURES_AT, _FEATURES_END)]
    features: dict[str, float] | None
    if None not in values:  # the common case: all eleven known
        features = dict(zip(FEATURE_NAMES, values, strict=True))
    else:
        features = {n: v for n, v in zip(FEATURE_NAMES, values, strict=True) if v is not None}
        features = features or None
    return Track(
        row[start],
        row[start + 1],
        tuple(row[start + 2]),
        row[start + 3],
        row[start + 4],
        row[start + 5],
        row[start + 6],
        row[start + 7],
        features,
        row[start + _FEATURES_END],
        row[start + _FEATURES_END + 1],
    )


def records_to_tracks(rows: Iterable[Sequence[Any]]) -> dict[str, Track]:
    """Decode many track rows, by id (CPU-bound; see ``bot.store.rows.decode_off_loop``)."""
    return {row[0]: record_to_track(row) for row in rows}


def affected(status: str) -> int:
    """Rows a command touched, from its tag (``"DELETE 3"`` -> 3)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
