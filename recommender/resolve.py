"""Find the song a person means: by Spotify id, URI or link, else by what they typed.

People type songs with typos, missing words and apostrophes, only the start of a
long title, or the title and the artist run together ("bad guy billie eilish").
Every song (the releases of one title by one artist) is scored on how well the text
matches its title, or how well a title part and an artist part of the text match its
title and artists (:mod:`recommender.song_match`). The song's prominence (popularity
and how many playlists hold it) breaks ties: of two songs with the same title the
well-known one is what people mean, unless both are about as well known, and then
the answer asks. A clear favourite resolves, with the runners-up as alternatives.

Autocomplete ranks with the same scores, so what is offered first while typing is
what resolving the finished text picks.
"""

from __future__ import annotations

import bisect
import math
import threading
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from recommender.catalogue import Catalogue
from recommender.ids import looks_like_spotify_reference, parse_spotify_id
from recommender.name_index import NameIndex, WordIndex
from recommender.song_match import Split, artist_forms, fold, name_score, splits, title_forms

ACCEPT = 72.0  # a text score below this never resolves on its own (a weak "did you mean")
CANDIDATE = 55.0  # a song scoring below this is not offered at all
ARTIST_MATCH = 70.0  # an artist part must match this well for a title/artist reading
# A text naming only an artist scores at most this share: never a pick on its own, but
# while typing an artist's name is a fine start ("eminem" offers Eminem's songs).
ARTIST_ONLY = 0.7
ARTIST_ONLY_TYPING = 0.9
ALTERNATIVE_GAP = 15.0  # alternatives: songs whose text score is this close to the pick's
# Prominence (0-1) is worth up to PROMINENCE_WEIGHT text points. Two songs are truly
# close when their final scores differ by less than CLOSE: for two songs with the same
# title, a popularity gap under about 14 points (0.7 * 0.14 * 10 = 1).
PROMINENCE_WEIGHT = 10.0
CLOSE = 1.0
POPULARITY_SHARE = 0.7  # of prominence, when both popularity and playlists are known
PLAYLISTS_FULL = 10  # a song in this many playlists gets the full playlist share
MAX_QUERY_CHARS = 200
FUZZY_TITLES = 30
PREFIX_TITLES = 25
WORD_MATCHES = 30
ARTISTS_PER_PART = 5
SONGS_PER_ARTIST = 10


class Problem(StrEnum):
    """Why a text did not resolve to exactly one song."""

    EMPTY = "empty"
    NOT_IN_CATALOGUE = "not in catalogue"  # a track reference the catalogue lacks
    NOT_A_TRACK_LINK = "not a track link"  # a Spotify link to a playlist, album, ...
    AMBIGUOUS = "ambiguous"  # several songs fit about equally well: ask
    NOT_FOUND = "not found"  # nothing fits well enough; ``candidates`` are the closest


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving a text.

    ``row`` is the song found (its best-known release), or ``None``. ``candidates``
    lists plausible songs best first, one row per song: when ``row`` is set it comes
    first and the rest are :attr:`alternatives` to offer alongside; otherwise they
    are the choices to ask about (``AMBIGUOUS``) or the closest names (``NOT_FOUND``).
    ``spotify_id`` is set when the text was a track reference to a track the
    catalogue does not hold (the caller may fetch it).
    """

    query: str
    row: int | None = None
    candidates: list[int] = field(default_factory=list)
    spotify_id: str | None = None
    problem: Problem | None = None

    @property
    def resolved(self) -> bool:
        """Whether exactly one song was found."""
        return self.row is not None

    @property
    def alternatives(self) -> list[int]:
        """The other plausible songs besides ``row``, best first."""
        return [r for r in self.candidates if r != self.row]


@dataclass(frozen=True, slots=True)
class Match:
    """One song's score for a text: ``text`` from the words alone, ``final`` with prominence."""

    song: int
    row: int  # the song's best-known release
    text: float
    final: float

    @property
    def exact(self) -> bool:
        """Whether the text is the song's title (or title and artist) letter for letter."""
        return self.text >= 100


@dataclass(frozen=True, slots=True)
class _Reading:
    """A title/artist split of the text and the artist names its artist part may mean."""

    split: Split
    artists: frozenset[str]


class SongResolver:
    """Name and id lookup over one catalogue (built once, queried many times).

    A track id or link is looked up in the catalogue directly. The name indexes that
    lookups by name and autocomplete need are built on the first such lookup, or by
    :meth:`prepare`: most of a bot's catalogues are only ever asked by id (which is what
    autocomplete sends), and the indexes were about 70% of building a big one
    (docs/benchmarks.md, "Cluster"). Safe to share between threads.
    """

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._lock = threading.Lock()
        self._ready = False

    @property
    def ready(self) -> bool:
        """Whether the name indexes are built (lookups by name cost no build)."""
        return self._ready

    def prepare(self) -> None:
        """Build the name indexes now, once; a caller that must not wait on a build (an
        event loop) calls this in a worker thread before looking up a name."""
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self._build_indexes()
                self._ready = True

    def _build_indexes(self) -> None:
        self._build_songs()
        titles: dict[str, list[int]] = {}
        artists: dict[str, list[int]] = {}
        for song, (forms, names) in enumerate(zip(self._titles, self._artists, strict=True)):
            for title in forms:
                titles.setdefault(title, []).append(song)
            for artist in names:
                artists.setdefault(artist, []).append(song)
        self._title_index = NameIndex(titles, self._prominence)
        self._artist_index = NameIndex(artists, self._prominence)
        self._word_index = WordIndex(
            [" ".join((*f, *a)).split() for f, a in zip(self._titles, self._artists, strict=True)],
            self._prominence,
        )
        self._by_prominence = np.argsort(-self._prominence, kind="stable")

    def _build_songs(self) -> None:
        """Group releases into songs (title as people know it + artists); skip untitled rows."""
        catalogue = self.catalogue
        n = len(catalogue)
        groups: dict[tuple[str, str], int] = {}
        song_of_row = np.full(n, -1, dtype=np.int64)
        self._titles: list[tuple[str, ...]] = []
        self._artists: list[tuple[str, ...]] = []
        artist_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
        for row in range(n):
            forms = title_forms(catalogue.names[row])
            if not forms:
                continue  # no title: never offered
            credited = catalogue.artists[row]
            names = artist_cache.get(credited)
            if names is None:
                names = artist_cache[credited] = artist_forms(credited)
            key = (forms[0], names[0] if names else "")
            song = groups.setdefault(key, len(self._titles))
            if song == len(self._titles):
                self._titles.append(forms)
                self._artists.append(names)
            elif forms[-1] not in self._titles[song]:
                self._titles[song] = (*self._titles[song], forms[-1])
            song_of_row[row] = song
        self._prominence, self._best_row = _prominence(catalogue, song_of_row, len(self._titles))

    # -- resolve -----------------------------------------------------------------------

    def resolve(self, text: str, limit: int = 5) -> Resolution:
        """Resolve ``text`` to one song's row, with alternatives; or say why not."""
        text = text.strip()
        if not text:
            return Resolution(text, problem=Problem.EMPTY)
        track_id = parse_spotify_id(text, "track")
        if track_id is not None:
            row = self.catalogue.row_of(track_id)
            if row is not None:
                return Resolution(text, row=row, candidates=[row])
            return Resolution(text, spotify_id=track_id, problem=Problem.NOT_IN_CATALOGUE)
        if looks_like_spotify_reference(text):
            return Resolution(text, problem=Problem.NOT_A_TRACK_LINK)
        ranked = [m for m in self.rank(text) if m.text >= CANDIDATE]
        if not ranked or ranked[0].text < ACCEPT:
            rows = [m.row for m in ranked[:limit]]
            return Resolution(text, candidates=rows, problem=Problem.NOT_FOUND)
        top = ranked[0]
        close = [
            m
            for m in ranked[1:]
            if m.text >= ACCEPT and m.exact == top.exact and top.final - m.final < CLOSE
        ]
        if close:
            rows = [m.row for m in [top, *close]][:limit]
            return Resolution(text, candidates=rows, problem=Problem.AMBIGUOUS)
        others = [m for m in ranked[1:] if m.text >= top.text - ALTERNATIVE_GAP]
        rows = [m.row for m in [top, *others]][:limit]
        return Resolution(text, row=top.row, candidates=rows)

    def closest(self, text: str, limit: int = 3) -> list[int]:
        """The ``limit`` nearest songs, however far (for "did you mean")."""
        return [m.row for m in self.rank(text)[:limit]]

    def suggest(self, text: str, limit: int = 25) -> list[int]:
        """Rows to offer while someone types, best first, one per song.

        The ranking of :meth:`resolve`, with the last word allowed to be unfinished; an
        empty text offers the best-known songs. Fast enough for Discord autocomplete
        at 100k tracks (docs/lookup.md), once the name indexes are built.
        """
        self.prepare()
        if not fold(text[:MAX_QUERY_CHARS]):
            return [int(self._best_row[s]) for s in self._by_prominence[:limit]]
        return [m.row for m in self.rank(text, typing=True)[:limit]]

    def quick_suggest(self, text: str, limit: int = 25) -> list[int]:
        """Rows to offer while the name indexes are not built yet, without building them.

        The best-known releases whose title contains ``text`` (case ignored), one per
        title and first artist: no typo tolerance, no artists, but at 100k tracks a
        scan in well under a second, for the moments before :meth:`prepare` is done
        (an autocomplete must answer within 3 s).
        """
        needle = " ".join(text[:MAX_QUERY_CHARS].casefold().split())
        catalogue = self.catalogue
        popularity = np.nan_to_num(catalogue.popularity, nan=-1.0)
        rows: list[int] = []
        seen: set[tuple[str, str]] = set()
        for row in np.argsort(-popularity, kind="stable").tolist():
            name = catalogue.names[row].casefold()
            if not name.strip() or needle not in name:
                continue
            artists = catalogue.artists[row]
            key = (name, artists[0].casefold() if artists else "")
            if key not in seen:
                seen.add(key)
                rows.append(row)
                if len(rows) == limit:
                    break
        return rows

    def rank(self, text: str, *, typing: bool = False) -> list[Match]:
        """Plausible songs for ``text``, best first, one :class:`Match` per song.

        ``typing`` (autocomplete): the last word may be unfinished.
        """
        self.prepare()
        query = fold(text[:MAX_QUERY_CHARS])
        if not query:
            return []
        readings = self._readings(query, typing)
        matches = []
        for song in self._retrieve(query, readings, typing):
            score = self._text_score(query, readings, song, typing)
            final = score + PROMINENCE_WEIGHT * float(self._prominence[song])
            matches.append(Match(song, int(self._best_row[song]), score, final))
        # The exact title (or title and artist) first: prominence breaks ties, it does
        # not overrule what was typed letter for letter.
        matches.sort(key=lambda m: (not m.exact, -m.final, -m.text, m.song))
        return matches

    # -- scoring -----------------------------------------------------------------------

    def _readings(self, query: str, typing: bool) -> list[_Reading]:
        """The title/artist splits whose artist part is close to (or starts) some artist."""
        readings = []
        index = self._artist_index
        for split in splits(query):
            names = {
                index.strings[i]
                for i, _ in index.fuzzy(split.artist, ARTIST_MATCH, ARTISTS_PER_PART)
            }
            if typing and query.endswith(split.artist) and len(split.artist) >= 3:
                names.update(
                    index.strings[i] for i in index.prefixed(split.artist, ARTISTS_PER_PART)
                )
            if names:
                readings.append(_Reading(split, frozenset(names)))
        return readings

    def _text_score(self, query: str, readings: list[_Reading], song: int, typing: bool) -> float:
        """How well ``query`` names ``song`` (0-100), from the words alone."""
        titles, artists = self._titles[song], self._artists[song]
        best = 0.0
        for title in titles:
            best = max(best, name_score(query, title, best, typing=typing))
        share = ARTIST_ONLY_TYPING if typing else ARTIST_ONLY
        if best < share * 100:
            for artist in artists:
                best = max(best, share * name_score(query, artist, best / share, typing=typing))
        for reading in readings:
            if not reading.artists.isdisjoint(artists):
                best = max(best, self._reading_score(reading.split, song, best, typing))
        return best

    def _reading_score(self, split: Split, song: int, floor: float, typing: bool) -> float:
        """The score of ``song`` for one title/artist reading (0 if it cannot beat ``floor``)."""
        artist_score = 0.0
        for artist in self._artists[song]:
            score = name_score(
                split.artist, artist, artist_score, typing=typing and not split.title_last
            )
            artist_score = max(artist_score, score)
        if artist_score < ARTIST_MATCH:
            return 0.0
        weight_t, weight_a = len(split.title), len(split.artist)
        # What the title part must reach for the reading to beat ``floor``.
        needed = (floor * (weight_t + weight_a) - weight_a * artist_score) / weight_t
        title_score = 0.0
        for title in self._titles[song]:
            score = name_score(
                split.title, title, max(needed, title_score), typing=typing and split.title_last
            )
            title_score = max(title_score, score)
        return (weight_t * title_score + weight_a * artist_score) / (weight_t + weight_a)

    # -- retrieval ---------------------------------------------------------------------

    def _retrieve(self, query: str, readings: list[_Reading], typing: bool) -> set[int]:
        """Songs worth scoring: from title typos and prefixes, words, and artists."""
        titles = self._title_index
        songs: set[int] = set()
        for index, _ in titles.fuzzy(query, CANDIDATE, FUZZY_TITLES):
            songs.update(titles.songs(index).tolist())
        for index in titles.prefixed(query, PREFIX_TITLES):
            songs.update(titles.songs(index).tolist())
        words = query.split()
        complete, prefix = (words[:-1], words[-1]) if typing else (words, "")
        songs.update(self._word_index.matching(complete, prefix, WORD_MATCHES).tolist())
        artists = self._artist_index
        for reading in readings:
            for name in reading.artists:
                index = _position(artists.strings, name)
                own = artists.songs(index)
                if own.shape[0] > SONGS_PER_ARTIST:
                    own = self._closest_titles(reading.split.title, own)
                songs.update(own.tolist())
        return songs

    def _closest_titles(self, title: str, songs: np.ndarray) -> np.ndarray:
        """Of one artist's ``songs``, those whose titles are closest to ``title``."""
        scores = np.array([name_score(title, self._titles[s][0]) for s in songs.tolist()])
        return songs[np.argsort(-scores, kind="stable")[:SONGS_PER_ARTIST]]


def _position(strings: list[str], name: str) -> int:
    return bisect.bisect_left(strings, name)


def _prominence(
    catalogue: Catalogue, song_of_row: np.ndarray, songs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per song: how well known it is (0-1), and its best-known release's row."""
    popularity = np.asarray(catalogue.popularity, dtype=np.float64)
    in_playlists = np.zeros(len(catalogue), dtype=np.float64)
    for rows in catalogue.memberships.values():
        in_playlists[rows] += 1
    titled = np.flatnonzero(song_of_row >= 0)
    owner = song_of_row[titled]
    known = np.where(np.isnan(popularity[titled]), -1.0, popularity[titled])
    # Best release: most popular, then in most playlists, then the first row.
    order = np.lexsort((titled, -in_playlists[titled], -known, owner))
    first = np.unique(owner[order], return_index=True)[1]
    best_row = titled[order[first]]
    top = np.full(songs, -1.0)
    np.maximum.at(top, owner, known)
    playlists = np.bincount(owner, weights=in_playlists[titled], minlength=songs)
    share = np.minimum(1.0, np.log1p(playlists) / math.log1p(PLAYLISTS_FULL))
    pop = np.clip(top, 0.0, None) / 100.0
    has_popularity = bool((known >= 0).any())
    if has_popularity and catalogue.memberships:
        prominence = POPULARITY_SHARE * pop + (1 - POPULARITY_SHARE) * share
    elif has_popularity:
        prominence = pop
    else:
        prominence = share  # all zero without playlists: text alone decides
    return prominence, best_row
