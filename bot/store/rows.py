"""Conversions between records and SQLite rows (timestamps, tracks)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import json.scanner
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from recommender.features import FEATURE_NAMES
from recommender.track import RECORD_FIELDS, Track

# Column order of the ``tracks`` table as read and written by the store. Feature
# columns are named after FEATURE_NAMES; ``key`` and ``mode`` are SQL keywords,
# hence the quoting.
TRACK_COLUMNS: tuple[str, ...] = ("id", *RECORD_FIELDS)
_FEATURES_AT = TRACK_COLUMNS.index(FEATURE_NAMES[0])
_FEATURES_END = _FEATURES_AT + len(FEATURE_NAMES)

T = TypeVar("T")
DECODE_IN_THREAD_ABOVE = 2000


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


# The C scanner behind json.loads, without its per-call Python wrappers: decoding
# the artists is a third of the cost of building 100k tracks otherwise.
_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_N_FEATURES = len(FEATURE_NAMES)


def row_to_track(row: Sequence[Any], start: int = 0) -> Track:
    """Build a :class:`Track` from :data:`TRACK_COLUMNS` found at ``row[start:]``."""
    if start:
        row = row[start:]
    values = row[_FEATURES_AT:_FEATURES_END]
    features: dict[str, float] | None
    if None not in values:  # the common case: all eleven known
        features = dict(zip(FEATURE_NAMES, values, strict=True))
    else:
        features = {n: v for n, v in zip(FEATURE_NAMES, values, strict=True) if v is not None}
        features = features or None
    return Track(
        row[0],
        row[1],
        tuple(_scan_json(row[2], 0)[0]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        features,
        row[_FEATURES_END],
        row[_FEATURES_END + 1],
    )


def rows_to_tracks(rows: Iterable[Sequence[Any]]) -> dict[str, Track]:
    """Decode many track rows, by id (CPU-bound; see :func:`decode_off_loop`)."""
    return {row[0]: row_to_track(row) for row in rows}


async def decode_off_loop(rows: list[Any], decode: Callable[[list[Any]], T]) -> T:
    """Run ``decode(rows)`` in a worker thread when there are many rows.

    Decoding holds the GIL, so this is not faster, but the event loop keeps getting
    its turn (Python switches threads every few milliseconds) instead of freezing
    for the half second 100k tracks take; small results stay on the loop.
    """
    if len(rows) < DECODE_IN_THREAD_ABOVE:
        return decode(rows)
    return await asyncio.to_thread(_decode_and_release, decode, rows)


def _decode_and_release(decode: Callable[[list[Any]], T], rows: list[Any]) -> T:
    result = decode(rows)
    release_in_slices(rows)
    return result


RELEASE_SLICE = 2000


def release_in_slices(items: list[Any]) -> None:
    """Empty a big list a slice at a time (in a worker thread).

    Freeing 243k rows of 26 values is one C call that holds the GIL for seconds:
    dropped on the event loop, or cleared in one go anywhere, it stops every
    guild's interactions for that long. Slice by slice, other threads get their
    turn in between.
    """
    while items:
        del items[-RELEASE_SLICE:]


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]
