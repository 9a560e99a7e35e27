"""The one place that says which numbers about a track are plausible.

Every source (CSV uploads, Spotify, ReccoBeats, feature datasets) passes its
numbers through these ranges at the boundary. A value outside its range (NaN,
infinity, ``1e30``, a negative duration, a key of 12, a string where a number
belongs) is *dropped*: it becomes "unknown", the track is kept where it can be,
and the drop is counted so the import summary can say how many values were
refused. Nothing out of range reaches the store (SQLite's INTEGER is 64-bit:
a duration of ``1e20`` would fail the whole write) or the engine.

=====================  ==============================  =====================================
field                  accepted                        why
=====================  ==============================  =====================================
``duration_ms``        whole ms, 1 to 86,400,000       a day; Spotify's longest items are hours
``popularity``         0 to 100                        Spotify's documented scale
``danceability``,      0.0 to 1.0                      documented as a confidence / measure
``energy``,                                            on [0, 1]
``speechiness``,
``acousticness``,
``instrumentalness``,
``liveness``,
``valence``
``loudness``           -60.0 to 5.0 dB                 documented typical range -60..0; a few
                                                       masters peak slightly above 0
``tempo``              1.0 to 300.0 BPM                0 means "no beat found": unknown
``key``                whole number -1 to 11           pitch class; -1 means "no key found"
``mode``               0 or 1                          minor / major
=====================  ==============================  =====================================

Counting uses a context variable, like the request counters: an ingest opens
:func:`counting_dropped` and every validation inside it (including in tasks it
starts) adds to the same counter. Outside such a block nothing is counted.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections import Counter
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Range:
    """The plausible values of one numeric field (bounds included)."""

    low: float
    high: float
    whole: bool = False  # only whole numbers (key, mode, duration)

    def accepts(self, value: float) -> bool:
        """True when ``value`` is finite, within the bounds and whole if it must be."""
        try:
            if not (math.isfinite(value) and self.low <= value <= self.high):
                return False
        except OverflowError:  # an int too large for a float (JSON allows 1 followed by 400 0s)
            return False
        return not self.whole or value == int(value)


MAX_DURATION_MS = 24 * 60 * 60 * 1000

RANGES: dict[str, Range] = {
    "duration_ms": Range(1, MAX_DURATION_MS, whole=True),
    "popularity": Range(0, 100),
    "danceability": Range(0.0, 1.0),
    "energy": Range(0.0, 1.0),
    "key": Range(-1, 11, whole=True),
    "loudness": Range(-60.0, 5.0),
    "mode": Range(0, 1, whole=True),
    "speechiness": Range(0.0, 1.0),
    "acousticness": Range(0.0, 1.0),
    "instrumentalness": Range(0.0, 1.0),
    "liveness": Range(0.0, 1.0),
    "valence": Range(0.0, 1.0),
    "tempo": Range(1.0, 300.0),
}
"""Every numeric field of a track with its documented range (see the module table)."""


_dropped: ContextVar[Counter[str] | None] = ContextVar("recommender_dropped", default=None)


@contextlib.contextmanager
def counting_dropped() -> Iterator[Counter[str]]:
    """Count the values dropped inside the block, by field name."""
    counts: Counter[str] = Counter()
    token = _dropped.set(counts)
    try:
        yield counts
    finally:
        _dropped.reset(token)


def record_dropped(field: str, count: int = 1) -> None:
    """Note that ``count`` values of ``field`` were refused (no-op outside a counting block)."""
    counts = _dropped.get()
    if counts is not None and count:
        counts[field] += count


def as_number(value: object) -> float | None:
    """``value`` as a float: a real number (numpy's included) or numeric text; else ``None``.

    Booleans are not numbers here (``True`` is not a duration of 1 ms).
    """
    kind = type(value)
    if kind is float:  # the common case first: 11 values per track, 10,000s of tracks
        return value  # type: ignore[return-value]
    if kind is bool:
        return None
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range: certainly out of every range
            return math.inf
    if isinstance(value, str) and len(value) <= 64:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def checked(field: str, value: object) -> float | None:
    """``value`` if it is a plausible number for ``field``; else ``None``.

    ``None`` stays ``None`` silently (unknown is not wrong); anything else that is
    not an in-range number is dropped and counted.
    """
    if value is None:
        return None
    number = as_number(value)
    if number is None or not RANGES[field].accepts(number):
        record_dropped(field)
        return None
    return number


def checked_int(field: str, value: object) -> int | None:
    """Like :func:`checked`, as an ``int`` (popularity 45.7 -> 45, as the loaders do)."""
    number = checked(field, value)
    return None if number is None else int(number)


# Words for a reader (no underscores for Discord's markdown to mangle).
_LABELS = {"duration_ms": "duration"}


def describe_dropped(counts: Mapping[str, int]) -> str | None:
    """One summary line, e.g. ``"2 impossible values dropped: duration 1, tempo 1"``.

    Each dropped value is unknown now; a feature dropped leaves its track without a
    feature vector (still listed, not used for similarity).
    """
    total = sum(counts.values())
    if not total:
        return None
    parts = ", ".join(
        f"{_LABELS.get(name, name)} {n}"
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    noun = "value" if total == 1 else "values"
    return f"{total} impossible {noun} dropped: {parts}"
