"""Load a catalogue from CSV files in the common Spotify export schemas.

Recognised (column names match case-insensitively, ignoring spaces and punctuation):

* the TidyTuesday / Kaggle "30000 Spotify Songs" schema (``track_id``, ``track_name``,
  ``track_artist``, ``track_popularity``, ``track_album_release_date``, one row per
  track *and playlist*, ``playlist_id``/``playlist_name``/``playlist_genre``);
* the Spotify Hit Predictor schema (``uri``, ``track``, ``artist``; no popularity or date);
* Exportify-style exports (``Track URI``, ``Track Name``, ``Artist Name(s)``,
  ``Album Release Date``, ``Popularity``, ``Danceability``, ...);
* this project's own ``fetch`` output (``track_id``, ``name``, ``artists``, ...).

Rows whose features are missing or out of range stay in the catalogue as featureless.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.catalogue import Catalogue, Playlist
from recommender.features import FEATURE_NAMES
from recommender.ids import parse_spotify_id
from recommender.track import parse_release_date
from recommender.validation import RANGES, describe_dropped

# Canonical field -> accepted column names, already normalised by _normalise_column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("trackid", "trackuri", "uri", "spotifyid", "id"),
    "name": ("trackname", "name", "track", "title", "song", "songname"),
    "artists": ("trackartist", "artistnames", "artists", "artist", "artistname"),
    "album": ("trackalbumname", "albumname", "album"),
    "release_date": ("trackalbumreleasedate", "albumreleasedate", "releasedate"),
    "release_date_precision": ("releasedateprecision", "albumreleasedateprecision"),
    "popularity": ("trackpopularity", "popularity"),
    "duration_ms": ("durationms", "duration"),
    "playlist_id": ("playlistid",),
    "playlist_name": ("playlistname",),
    "playlist_genre": ("playlistgenre", "genre"),
    "feature_source": ("featuresource",),
    "popularity_source": ("popularitysource",),
    **{feature: (feature,) for feature in FEATURE_NAMES},
}
REQUIRED_FIELDS: tuple[str, ...] = ("id", "name", "artists")
ARTIST_SEPARATOR = ", "


class CatalogueFormatError(ValueError):
    """The file cannot be read as a catalogue; the message says why and what was found."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading skipped, for a summary line.

    ``dropped`` counts, by field, the cells that held something other than a
    plausible number (NaN, inf, ``1e30``, a negative duration, text...): each
    became an unknown value (see :mod:`recommender.validation`).
    """

    rows_read: int
    tracks: int
    featureless: int
    skipped_bad_id: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def dropped_values(self) -> int:
        """How many values were refused as impossible, all fields together."""
        return sum(self.dropped.values())

    def dropped_line(self) -> str | None:
        """The summary line for refused values, or ``None`` when there were none."""
        return describe_dropped(self.dropped)


def _normalise_column(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def map_columns(columns: list[str]) -> dict[str, str]:
    """Map canonical fields to the file's column names; raise if a required one is missing."""
    by_normalised: dict[str, str] = {}
    for column in columns:
        by_normalised.setdefault(_normalise_column(column), column)
    mapping: dict[str, str] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in by_normalised:
                mapping[canonical] = by_normalised[alias]
                break
    missing = [f for f in REQUIRED_FIELDS if f not in mapping]
    if missing:
        wanted = ", ".join(f"{f} (e.g. {'/'.join(COLUMN_ALIASES[f][:3])})" for f in missing)
        raise CatalogueFormatError(
            f"missing required column(s): {wanted}; found: {_describe_columns(columns)}"
        )
    return mapping


SHOWN_COLUMNS = 12
SHOWN_COLUMN_CHARS = 40


def _describe_columns(columns: list[str]) -> str:
    """The file's header, short enough for an error message whatever the file holds."""
    if not columns:
        return "no columns"

    def short(name: str) -> str:
        name = " ".join(name.split())  # newlines and tabs in a header name
        return name if len(name) <= SHOWN_COLUMN_CHARS else name[: SHOWN_COLUMN_CHARS - 1] + "…"

    shown = ", ".join(short(c) for c in columns[:SHOWN_COLUMNS])
    more = len(columns) - SHOWN_COLUMNS
    return shown + (f" ... and {more} more" if more > 0 else "")


def read_catalogue_frame(path: str | Path) -> pd.DataFrame:
    """Read a CSV (gzip, bz2, zip and xz by extension) as strings, failing clearly."""
    path = Path(path)
    if not path.is_file():
        raise CatalogueFormatError(f"no such file: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA"])
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as e:
        raise CatalogueFormatError(f"cannot read {path.name} as CSV: {e}") from None


def read_catalogue_bytes(data: bytes, name: str) -> pd.DataFrame:
    """Read an uploaded CSV file's bytes (UTF-8, optionally with a BOM) as strings."""
    try:
        return pd.read_csv(
            io.BytesIO(data),
            dtype=str,
            keep_default_na=False,
            na_values=["", "NA"],
            encoding="utf-8-sig",
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise CatalogueFormatError(f"cannot read {name} as a UTF-8 CSV file: {e}") from None


def load_catalogue(path: str | Path) -> Catalogue:
    """Load a catalogue file; see the module docstring for the accepted schemas."""
    catalogue, _ = load_catalogue_with_report(path)
    return catalogue


def load_catalogue_with_report(path: str | Path) -> tuple[Catalogue, LoadReport]:
    """Like :func:`load_catalogue`, also returning what was skipped."""
    frame = read_catalogue_frame(path)
    return catalogue_from_frame(frame, source=Path(path).name)


def catalogue_from_frame(frame: pd.DataFrame, source: str) -> tuple[Catalogue, LoadReport]:
    """Build a catalogue from a frame of strings in one of the accepted schemas."""
    columns = map_columns([str(c) for c in frame.columns])
    rows_read = len(frame)
    ids = frame[columns["id"]].fillna("").map(lambda v: parse_spotify_id(v, "track"))
    valid = ids.notna()
    frame = frame.loc[valid].assign(_id=ids[valid])
    membership = _memberships(frame, columns)
    frame = frame.drop_duplicates("_id", keep="first").reset_index(drop=True)

    dropped: Counter[str] = Counter()
    features = _feature_matrix(frame, columns, dropped)
    popularity = _checked_column(frame, columns.get("popularity"), "popularity", dropped)
    durations = _checked_column(frame, columns.get("duration_ms"), "duration_ms", dropped)
    dates, precisions = _release_dates(frame, columns)

    def text(name: str, default: str = "") -> list[str]:
        column = columns.get(name)
        if column is None:
            return [default] * len(frame)
        return frame[column].fillna(default).astype(str).tolist()

    has_features = ~np.isnan(features).any(axis=1)
    given_feature_sources = text("feature_source")
    given_popularity_sources = text("popularity_source")
    catalogue = Catalogue(
        ids=frame["_id"].tolist(),
        names=text("name"),
        artists=[tuple(a.split(ARTIST_SEPARATOR)) if a else () for a in text("artists")],
        albums=text("album"),
        release_dates=dates,
        release_date_precisions=precisions,
        popularity=popularity,
        duration_ms=[None if np.isnan(d) else int(d) for d in durations],  # finite: checked
        features=features,
        feature_sources=[
            (given or source) if ok else None
            for given, ok in zip(given_feature_sources, has_features, strict=True)
        ],
        popularity_sources=[
            (given or source) if not np.isnan(p) else None
            for given, p in zip(given_popularity_sources, popularity, strict=True)
        ],
    )
    playlists, members = membership
    catalogue.playlists = playlists
    for playlist_id, track_ids in members.items():
        rows = {catalogue.row_of(t) for t in track_ids}
        catalogue.memberships[playlist_id] = np.array(sorted(r for r in rows if r is not None))
    report = LoadReport(
        rows_read=rows_read,
        tracks=len(catalogue),
        featureless=int((~has_features).sum()),
        skipped_bad_id=int((~valid).sum()),
        dropped=dict(dropped),
    )
    return catalogue, report


def _checked_column(
    frame: pd.DataFrame, column: str | None, field_name: str, dropped: Counter[str]
) -> np.ndarray:
    """A column as float64 with every implausible value NaN; counts the non-empty ones dropped.

    Empty cells are unknown, not wrong, so they are not counted. Text, NaN, inf,
    ``1e30`` or a value outside the field's range (:data:`~recommender.validation.RANGES`)
    is, because someone wrote it there.
    """
    if column is None:
        return np.full(len(frame), np.nan)
    raw = frame[column]
    if isinstance(raw, pd.DataFrame):  # duplicate header names: the first one counts
        raw = raw.iloc[:, 0]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    rule = RANGES[field_name]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (values >= rule.low) & (values <= rule.high)
        if rule.whole:
            ok &= values == np.round(values)
    present = raw.notna().to_numpy()
    refused = present & ~ok
    if refused.any():
        dropped[field_name] += int(refused.sum())
    values[~ok] = np.nan
    return values


def _feature_matrix(
    frame: pd.DataFrame, columns: Mapping[str, str], dropped: Counter[str]
) -> np.ndarray:
    matrix = np.full((len(frame), len(FEATURE_NAMES)), np.nan)
    for j, name in enumerate(FEATURE_NAMES):
        matrix[:, j] = _checked_column(frame, columns.get(name), name, dropped)
    # One missing value makes the whole row featureless (see features.clean_features).
    matrix[np.isnan(matrix).any(axis=1)] = np.nan
    return matrix


def _release_dates(
    frame: pd.DataFrame, columns: Mapping[str, str]
) -> tuple[list[str | None], list]:
    column = columns.get("release_date")
    if column is None:
        return [None] * len(frame), [None] * len(frame)
    given_precision = (
        frame[columns["release_date_precision"]].tolist()
        if "release_date_precision" in columns
        else [None] * len(frame)
    )
    dates: list[str | None] = []
    precisions: list = []
    for text, precision in zip(frame[column].tolist(), given_precision, strict=True):
        date, found = parse_release_date(text, precision if isinstance(precision, str) else None)
        dates.append(text.strip() if date is not None else None)
        precisions.append(found)
    return dates, precisions


def _memberships(
    frame: pd.DataFrame, columns: Mapping[str, str]
) -> tuple[dict[str, Playlist], dict[str, set[str]]]:
    if "playlist_id" not in columns:
        return {}, {}
    pid_col = columns["playlist_id"]
    name_col = columns.get("playlist_name")
    genre_col = columns.get("playlist_genre")
    playlists: dict[str, Playlist] = {}
    members: dict[str, set[str]] = {}
    subset = frame[[c for c in (pid_col, name_col, genre_col) if c] + ["_id"]]
    for record in subset.itertuples(index=False):
        playlist_id = record[0]
        if not isinstance(playlist_id, str) or not playlist_id:
            continue
        if playlist_id not in playlists:
            name = getattr(record, name_col, "") if name_col else ""
            genre = getattr(record, genre_col, "") if genre_col else ""
            playlists[playlist_id] = Playlist(
                playlist_id,
                name if isinstance(name, str) else "",
                genre if isinstance(genre, str) else "",
            )
        members.setdefault(playlist_id, set()).add(record[-1])
    return playlists, members
