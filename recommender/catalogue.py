"""A catalogue: the tracks a recommender chooses from, stored column by column.

Columns (not a list of objects) because the engine works on whole columns at once
(the feature matrix, the popularity vector) and a million ``Track`` objects would
cost more memory than the index itself. ``Catalogue.track(row)`` builds a
:class:`~recommender.track.Track` on demand.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from recommender.features import FEATURE_NAMES, clean_features
from recommender.track import DatePrecision, Track


def normalise_text(text: str) -> str:
    """Case-fold, strip accents and collapse punctuation and spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", " ", without_marks.casefold()).strip()


_DECORATIONS = [
    # (feat. X), [with X], (ft X)
    re.compile(r"\s*[\(\[](?:feat\.?|ft\.?|featuring|with)\s[^\)\]]*[\)\]]", re.IGNORECASE),
    # (Remastered 2011), [2009 Remaster]
    re.compile(r"\s*[\(\[][^\)\]]*remaster[^\)\]]*[\)\]]", re.IGNORECASE),
    # " - Remastered 2011", " - 2011 Remaster", " - Remastered Version"
    re.compile(r"\s+-\s+[^-]*remaster[^-]*$", re.IGNORECASE),
    # trailing "feat. X" without brackets
    re.compile(r"\s+(?:feat\.?|ft\.)\s.*$", re.IGNORECASE),
]


def clean_title(name: str) -> str:
    """Normalised title without credits and remaster suffixes."""
    for pattern in _DECORATIONS:
        name = pattern.sub("", name)
    return normalise_text(name)


@dataclass(frozen=True, slots=True)
class Playlist:
    """A playlist the catalogue knows the membership of (from a dataset or a source)."""

    id: str
    name: str = ""
    genre: str = ""


@dataclass
class Catalogue:
    """Tracks by row, with their raw audio features as an ``(n, 11)`` float64 matrix.

    A row of ``features`` is all-NaN for a featureless track. ``popularity`` holds
    0-100 values with NaN for unknown. ``memberships`` maps a playlist id to the
    sorted rows of its tracks.
    """

    ids: list[str]
    names: list[str]
    artists: list[tuple[str, ...]]
    albums: list[str]
    release_dates: list[str | None]
    release_date_precisions: list[DatePrecision | None]
    popularity: np.ndarray
    duration_ms: list[int | None]
    features: np.ndarray
    feature_sources: list[str | None]
    popularity_sources: list[str | None]
    playlists: dict[str, Playlist] = field(default_factory=dict)
    memberships: dict[str, np.ndarray] = field(default_factory=dict)
    _row_of: dict[str, int] = field(init=False, repr=False)
    _duplicate_groups: np.ndarray | None = field(init=False, repr=False, default=None)
    _has_features: np.ndarray | None = field(init=False, repr=False, default=None)
    _group_of_song: dict[tuple[str, str], int] = field(init=False, repr=False, default_factory=dict)
    _duplicate_members: dict[int, np.ndarray] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.features.shape != (n, len(FEATURE_NAMES)):
            raise ValueError(f"features must have shape ({n}, {len(FEATURE_NAMES)})")
        if self.popularity.shape != (n,):
            raise ValueError(f"popularity must have shape ({n},)")
        self._row_of = {track_id: row for row, track_id in enumerate(self.ids)}
        if len(self._row_of) != n:
            raise ValueError("track ids must be unique within a catalogue")

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_tracks(
        cls,
        tracks: Iterable[Track],
        *,
        playlists: Mapping[str, Playlist] | None = None,
        memberships: Mapping[str, Sequence[str]] | None = None,
    ) -> Catalogue:
        """Build a catalogue from track records; later duplicates of an id are dropped.

        ``memberships`` maps a playlist id to the track ids it contains.
        """
        unique: dict[str, Track] = {}
        for track in tracks:
            unique.setdefault(track.id, track)
        rows = list(unique.values())
        features = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
        for row, track in enumerate(rows):
            cleaned = clean_features(track.features)
            if cleaned is not None:
                features[row] = [cleaned[name] for name in FEATURE_NAMES]
        # Strings are interned: every catalogue holding a track (a bot keeps one per
        # server, and servers share playlists) points at one copy of its id, name,
        # artists and album, and repeated values (sources, dates) are kept once; so is
        # each artist credit (an artist has many tracks).
        credits: dict[tuple[str, ...], tuple[str, ...]] = {}
        catalogue = cls(
            ids=[_intern(t.id) for t in rows],
            names=[_intern(t.name) for t in rows],
            artists=[_shared_credit(credits, t.artists) for t in rows],
            albums=[_intern(t.album) for t in rows],
            release_dates=[_intern_optional(t.release_date) for t in rows],
            release_date_precisions=[t.release_date_precision for t in rows],
            popularity=np.array(
                [np.nan if t.popularity is None else float(t.popularity) for t in rows]
            ),
            duration_ms=[t.duration_ms for t in rows],
            features=features,
            feature_sources=[_intern_optional(t.feature_source) for t in rows],
            popularity_sources=[_intern_optional(t.popularity_source) for t in rows],
            playlists=dict(playlists or {}),
        )
        for playlist_id, track_ids in (memberships or {}).items():
            catalogue.memberships[playlist_id] = np.array(
                sorted({catalogue._row_of[t] for t in track_ids if t in catalogue._row_of}),
                dtype=np.int64,
            )
        return catalogue

    # -- access ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._row_of

    def row_of(self, track_id: str) -> int | None:
        """Row of a track id, or ``None`` if the catalogue does not hold it."""
        return self._row_of.get(track_id)

    def track(self, row: int) -> Track:
        """The full record of one row."""
        features = None
        if self.has_features[row]:  # features are never edited after construction
            features = dict(zip(FEATURE_NAMES, self.features[row].tolist(), strict=True))
        popularity = self.popularity[row]
        return Track(
            id=self.ids[row],
            name=self.names[row],
            artists=self.artists[row],
            album=self.albums[row],
            release_date=self.release_dates[row],
            release_date_precision=self.release_date_precisions[row],
            popularity=None if np.isnan(popularity) else int(popularity),
            duration_ms=self.duration_ms[row],
            features=features,
            feature_source=self.feature_sources[row],
            popularity_source=self.popularity_sources[row],
        )

    def tracks(self) -> list[Track]:
        """All records, in row order."""
        return [self.track(row) for row in range(len(self))]

    @property
    def has_features(self) -> np.ndarray:
        """Boolean mask of rows with a full feature vector (read-only)."""
        if self._has_features is None:
            mask = ~np.isnan(self.features).any(axis=1)
            mask.flags.writeable = False
            self._has_features = mask
        return self._has_features

    def playlists_of(self, row: int) -> list[str]:
        """Ids of the playlists containing a row (linear in the number of playlists)."""
        return [pid for pid, rows in self.memberships.items() if _sorted_contains(rows, row)]

    @property
    def duplicate_groups(self) -> np.ndarray:
        """Group number per row; rows with the same cleaned title and artists share one.

        The same song is often released under several ids (single, album, remaster,
        a version "with" a guest); recommending one of them for another is useless.
        """
        if self._duplicate_groups is None:
            self._build_song_index()
        assert self._duplicate_groups is not None
        return self._duplicate_groups

    def _build_song_index(self) -> None:
        """Group rows that are the same song (see :attr:`duplicate_groups`)."""
        keys: dict[tuple[str, str], int] = {}
        groups = np.empty(len(self), dtype=np.int64)
        for row, (name, artists) in enumerate(zip(self.names, self.artists, strict=True)):
            groups[row] = keys.setdefault(_song_key(name, artists), row)
        # Group numbers are the group's first row, so a lone row is its own group.
        self._group_of_song = keys
        self._duplicate_groups = groups
        # Only groups with several members need a lookup table.
        counts = np.bincount(groups)
        shared = np.flatnonzero(counts[groups] > 1)
        order = shared[np.argsort(groups[shared], kind="stable")]
        boundaries = np.flatnonzero(np.diff(groups[order])) + 1
        self._duplicate_members = {
            int(groups[members[0]]): members
            for members in np.split(order, boundaries)
            if members.shape[0]  # np.split of an empty array yields one empty part
        }

    def rows_matching(self, name: str, artists: Sequence[str]) -> np.ndarray:
        """Rows that are the same song as a track named ``name`` by ``artists``."""
        if self._duplicate_groups is None:
            self._build_song_index()
        group = self._group_of_song.get(_song_key(name, artists))
        if group is None:
            return np.empty(0, dtype=np.int64)
        return self._duplicate_members.get(group, np.array([group], dtype=np.int64))

    def duplicates_of(self, row: int) -> np.ndarray:
        """Rows that are the same song as ``row`` (including ``row`` itself)."""
        group = int(self.duplicate_groups[row])
        return self._duplicate_members.get(group, np.array([row], dtype=np.int64))


def _intern(text: str) -> str:
    """One shared copy of ``text`` (interned strings free themselves when unused)."""
    return sys.intern(text) if type(text) is str else text


def _shared_credit(
    seen: dict[tuple[str, ...], tuple[str, ...]], artists: Sequence[str]
) -> tuple[str, ...]:
    credit = tuple(map(_intern, artists))
    return seen.setdefault(credit, credit)


def _intern_optional(text: str | None) -> str | None:
    return None if text is None else _intern(text)


def _song_key(name: str, artists: Sequence[str]) -> tuple[str, str]:
    """What makes two releases the same song: cleaned title and normalised artists."""
    return clean_title(name), normalise_text(", ".join(artists))


def _sorted_contains(sorted_rows: np.ndarray, row: int) -> bool:
    position = int(np.searchsorted(sorted_rows, row))
    return position < len(sorted_rows) and int(sorted_rows[position]) == row
