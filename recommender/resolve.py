"""Find the track a person means: by Spotify id, URI or link, else by name.

Names are matched after normalisation (case, accents, punctuation) and after
dropping the decorations that differ between releases of the same song: "feat."/
"with" credits and "Remastered" suffixes. "name - artist" and "name by artist"
narrow by artist. Fuzzy matching (rapidfuzz) handles typos. When several different
songs fit equally well, the answer is a list of candidates, never a silent guess.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from recommender.catalogue import Catalogue, clean_title, normalise_text
from recommender.ids import looks_like_spotify_reference, parse_spotify_id

FUZZY_ACCEPT = 90.0  # a fuzzy match this good, and clearly ahead, resolves on its own
FUZZY_MARGIN = 5.0
FUZZY_CANDIDATE = 60.0


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving a text.

    ``row`` is set when one song was found. Otherwise ``candidates`` lists the closest
    rows (best first), and ``spotify_id`` is set when the text was a track reference
    to a track the catalogue does not hold (the caller may fetch it).
    """

    query: str
    row: int | None = None
    candidates: list[int] = field(default_factory=list)
    spotify_id: str | None = None
    problem: str | None = None

    @property
    def resolved(self) -> bool:
        """Whether exactly one song was found."""
        return self.row is not None


class SongResolver:
    """Name and id lookup over one catalogue (built once, queried many times)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self._titles = [clean_title(name) for name in catalogue.names]
        self._artists = [normalise_text(", ".join(a)) for a in catalogue.artists]
        self._keys = [f"{t} {a}".strip() for t, a in zip(self._titles, self._artists, strict=True)]
        self._by_title: dict[str, list[int]] = {}
        for row, title in enumerate(self._titles):
            self._by_title.setdefault(title, []).append(row)
        words: dict[str, set[int]] = {}
        for row, key in enumerate(self._keys):
            for word in key.split():
                words.setdefault(word, set()).add(row)
        self._vocabulary = sorted(words)
        best: dict[str, int] = {}
        for row in np.argsort(-np.nan_to_num(catalogue.popularity, nan=-1.0), kind="stable"):
            best.setdefault(self._titles[int(row)], int(row))
        self._title_best_row = best
        self._distinct_titles = list(best)
        title_order = sorted(range(len(self._titles)), key=self._titles.__getitem__)
        self._sorted_titles = [self._titles[r] for r in title_order]
        self._sorted_title_rows = np.array(title_order, dtype=np.int64)
        self._postings = [np.fromiter(sorted(words[w]), dtype=np.int64) for w in self._vocabulary]
        popularity = np.nan_to_num(catalogue.popularity, nan=-1.0)
        self._popularity = popularity
        self._by_popularity = np.argsort(-popularity, kind="stable")

    # -- resolve -----------------------------------------------------------------------

    def resolve(self, text: str, limit: int = 5) -> Resolution:
        """Resolve ``text`` to one row, or explain with candidates."""
        text = text.strip()
        if not text:
            return Resolution(text, problem="empty")
        track_id = parse_spotify_id(text, "track")
        if track_id is not None:
            row = self.catalogue.row_of(track_id)
            if row is not None:
                return Resolution(text, row=row)
            return Resolution(text, spotify_id=track_id, problem="not in catalogue")
        if looks_like_spotify_reference(text):
            return Resolution(text, problem="not a track link")
        rows = self._exact(text)
        if rows:
            return self._decide(text, rows, limit)
        words = self._word_prefix_matches(normalise_text(text).split())
        if words is not None and words.shape[0]:
            return self._decide(text, [int(r) for r in words], limit)
        return self._fuzzy(text, limit)

    def _exact(self, text: str) -> list[int]:
        rows = self._by_title.get(clean_title(text), [])
        if rows:
            return rows
        for title, artist in _title_artist_splits(text):
            matches = [
                row
                for row in self._by_title.get(clean_title(title), [])
                if fuzz.partial_ratio(normalise_text(artist), self._artists[row]) >= 85
            ]
            if matches:
                return matches
        return []

    def _decide(self, text: str, rows: list[int], limit: int) -> Resolution:
        """One distinct song among ``rows`` resolves (its most popular release)."""
        rows = sorted(rows, key=lambda r: (-self._popularity[r], r))
        distinct: list[int] = []
        seen: set[str] = set()
        for row in rows:
            if self._keys[row] not in seen:
                seen.add(self._keys[row])
                distinct.append(row)
        if len(distinct) == 1:
            return Resolution(text, row=distinct[0])
        return Resolution(text, candidates=distinct[:limit], problem="ambiguous")

    def _fuzzy(self, text: str, limit: int) -> Resolution:
        query = normalise_text(text)
        if not query:
            return Resolution(text, problem="not found")
        matches = process.extract(
            query,
            self._keys,
            scorer=fuzz.WRatio,
            limit=limit * 4,
            score_cutoff=FUZZY_CANDIDATE,
        )
        # One entry per song: releases with the same cleaned title and artists merge.
        best: dict[str, tuple[float, int]] = {}
        for _, score, row in matches:
            group = self._keys[row]
            current = best.get(group)
            key = (score, self._popularity[row])
            if current is None or key > (current[0], self._popularity[current[1]]):
                best[group] = (score, row)
        ranked = sorted(best.values(), key=lambda sr: (-sr[0], -self._popularity[sr[1]], sr[1]))
        if not ranked:
            return Resolution(text, problem="not found")
        top_score, top_row = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if top_score >= FUZZY_ACCEPT and top_score - runner_up >= FUZZY_MARGIN:
            return Resolution(text, row=top_row)
        return Resolution(text, candidates=[r for _, r in ranked[:limit]], problem="ambiguous")

    def closest(self, text: str, limit: int = 3) -> list[int]:
        """The ``limit`` nearest names, however far (for "did you mean")."""
        matches = process.extract(normalise_text(text), self._keys, scorer=fuzz.WRatio, limit=limit)
        return [row for _, _, row in matches]

    # -- autocomplete ------------------------------------------------------------------

    def suggest(self, text: str, limit: int = 25) -> list[int]:
        """Rows to offer while someone types, best first.

        Titles starting with the text come first (most popular first), then tracks
        where every typed word starts a word of the title or artists. If that finds too few, a cheap
        whole-title fuzzy match (typos) fills up. An empty text offers the most
        popular tracks. Fast enough for Discord autocomplete at 100k tracks.
        """
        query = normalise_text(text)
        if not query:
            return [int(r) for r in self._by_popularity[:limit]]
        starting = self._title_prefix_rows(query)
        candidates = [int(r) for r in self._most_popular(starting, limit)]
        rows = self._word_prefix_matches(query.split())
        if rows is not None and rows.shape[0] and len(candidates) < limit:
            candidates += [int(r) for r in self._most_popular(rows, limit * 2)]
        if len(candidates) < limit and len(query) >= 3:
            # Typos: fuzzy over the distinct titles (far fewer than the tracks), each
            # standing for its most popular release.
            candidates += [
                self._title_best_row[title]
                for title, _, _ in process.extract(
                    query, self._distinct_titles, scorer=fuzz.QRatio, limit=limit, score_cutoff=70
                )
            ]
        # One entry per song: the same title and artists under several ids show once.
        found: list[int] = []
        keys: set[str] = set()
        for row in candidates:
            if self._keys[row] not in keys:
                keys.add(self._keys[row])
                found.append(row)
                if len(found) == limit:
                    break
        return found

    def _title_prefix_rows(self, query: str) -> np.ndarray:
        """Rows whose cleaned title starts with ``query`` (a range of the sorted titles)."""
        start = bisect.bisect_left(self._sorted_titles, query)
        end = bisect.bisect_left(self._sorted_titles, query + "\uffff")
        return self._sorted_title_rows[start:end]

    def _most_popular(self, rows: np.ndarray, limit: int) -> np.ndarray:
        """Up to ``limit`` of ``rows``, most popular first (ties by row)."""
        if rows.shape[0] > limit:
            rows = rows[np.argpartition(-self._popularity[rows], limit - 1)[:limit]]
        return rows[np.lexsort((rows, -self._popularity[rows]))]

    def _word_prefix_matches(self, words: list[str]) -> np.ndarray | None:
        """Rows where every word prefixes some word of the title or artists."""
        result: np.ndarray | None = None
        for word in sorted(set(words), key=len, reverse=True):  # rarest (longest) first
            start = bisect.bisect_left(self._vocabulary, word)
            end = bisect.bisect_right(self._vocabulary, word + "\uffff")
            if start == end:
                return np.empty(0, dtype=np.int64)
            postings = np.unique(np.concatenate(self._postings[start:end]))
            result = postings if result is None else np.intersect1d(result, postings, True)
            if result.shape[0] == 0:
                break
        return result


def _title_artist_splits(text: str) -> list[tuple[str, str]]:
    """Ways to read ``text`` as a title and an artist ("Song - Artist", "Song by Artist")."""
    splits: list[tuple[str, str]] = []
    for separator in (" - ", " – ", " — ", " by "):
        if separator in text:
            head, _, tail = text.rpartition(separator)
            splits.append((head, tail))
            first, _, rest = text.partition(separator)
            if (first, rest) != (head, tail):
                splits.append((first, rest))
            # "Artist - Song" is common too.
            splits.append((tail, head))
    return splits
