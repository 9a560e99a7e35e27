"""The track record every part of the product passes around."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from recommender.features import FEATURE_NAMES

DatePrecision = Literal["year", "month", "day"]

RECORD_FIELDS: tuple[str, ...] = (
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
"""A track's fields after its id, as flat columns (CSV exports, the bot's store)."""

_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


def parse_release_date(
    text: object, precision: str | None = None
) -> tuple[dt.date | None, DatePrecision | None]:
    """Parse a Spotify release date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).

    Returns the date (the middle of the period it names, so a year-only date is not
    treated as 1 January) and its precision. ``0000``, empty and malformed values
    give ``(None, None)``: the caller treats the date as unknown.
    """
    if not isinstance(text, str):
        return None, None
    match = _DATE_RE.match(text)
    if not match:
        return None, None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    if year < 1000:
        return None, None
    found: DatePrecision = "day" if day else "month" if month else "year"
    if precision in ("year", "month") and found != "year":
        # An explicit precision coarser than the text wins (Spotify sends 1990-01-01
        # with precision "year" for some albums).
        found = precision  # type: ignore[assignment]
    try:
        if found == "day" and month and day:
            return dt.date(year, month, day), "day"
        if found in ("day", "month") and month:
            return dt.date(year, month, 15), "month"
        return dt.date(year, 7, 1), "year"
    except ValueError:
        return None, None


@dataclass(frozen=True, slots=True)
class Track:
    """One Spotify track with what the recommender knows about it.

    ``features`` is ``None`` for a featureless track: it stays in the catalogue
    (for popularity, ratings and display) but takes no part in similarity.
    ``popularity`` is Spotify's 0-100 value or ``None`` when unknown. The
    ``*_source`` fields say where a value came from (``"spotify"``,
    ``"reccobeats"``, ``"dataset"``, a file name, ...).
    """

    id: str
    name: str
    artists: tuple[str, ...] = ()
    album: str = ""
    release_date: str | None = None
    release_date_precision: DatePrecision | None = None
    popularity: int | None = None
    duration_ms: int | None = None
    features: dict[str, float] | None = field(default=None, compare=False)
    feature_source: str | None = None
    popularity_source: str | None = None

    @property
    def artist_line(self) -> str:
        """Artists joined for display, e.g. ``"Ed Sheeran, Justin Bieber"``."""
        return ", ".join(self.artists)

    @property
    def year(self) -> int | None:
        """Release year, or ``None`` when the date is unknown."""
        date, _ = parse_release_date(self.release_date, self.release_date_precision)
        return date.year if date else None

    @property
    def url(self) -> str:
        """The track's ``open.spotify.com`` link."""
        return f"https://open.spotify.com/track/{self.id}"
