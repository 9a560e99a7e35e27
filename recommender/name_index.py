"""Fast candidate lookup for song resolution: names by typo, by prefix, by words.

Each index answers "which songs might this text mean" in well under a millisecond at
100k tracks, generously; :mod:`recommender.resolve` then scores the few it returns.
Songs are ints (positions in the resolver's song table); ``prominence`` is a float per
song used to keep the best-known ones when a lookup matches too many.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
from rapidfuzz import fuzz, process

SHORTLIST = 300  # strings ranked by edit distance after the trigram shortlist
SHORTLIST_DICE = 0.2  # trigram overlap a string needs to be shortlisted at all


def _csr(lists: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and values of a list of int lists (compressed rows)."""
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=offsets[1:])
    values = np.fromiter(chain.from_iterable(lists), dtype=np.int32, count=int(offsets[-1]))
    return offsets, values


def _best_of(prominence: np.ndarray, offsets: np.ndarray, songs: np.ndarray) -> np.ndarray:
    """Per row of a (non-empty rows) CSR of songs: the highest prominence among them."""
    if songs.shape[0] == 0:
        return np.zeros(offsets.shape[0] - 1)
    return np.maximum.reduceat(prominence[songs], offsets[:-1])


def _trigrams(text: str) -> set[str]:
    padded = f" {text} "
    # Interned: a bot holds an index per server, and they all share one copy of each
    # trigram (a few tens of thousands exist) instead of 50 bytes per name and server.
    return {sys.intern(padded[i : i + 3]) for i in range(len(padded) - 2)}


def _top(candidates: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """The ``limit`` candidates with the highest scores (unordered)."""
    if candidates.shape[0] > limit:
        candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
    return candidates


class NameIndex:
    """Distinct names (titles or artists) and the songs that carry each."""

    def __init__(self, owners: Mapping[str, Sequence[int]], prominence: np.ndarray) -> None:
        self.strings = sorted(owners)
        self._song_offsets, self._songs = _csr([list(owners[s]) for s in self.strings])
        self._best = _best_of(prominence, self._song_offsets, self._songs)
        grams: dict[str, list[int]] = {}
        sizes = np.zeros(len(self.strings), dtype=np.float32)
        for index, text in enumerate(self.strings):
            own = _trigrams(text)
            sizes[index] = len(own)
            for gram in own:
                grams.setdefault(gram, []).append(index)
        self._sizes = sizes
        self._gram_ids = {gram: i for i, gram in enumerate(grams)}
        self._gram_offsets, self._gram_names = _csr(list(grams.values()))

    def __len__(self) -> int:
        return len(self.strings)

    def songs(self, index: int) -> np.ndarray:
        """The songs carrying name ``index``."""
        return self._songs[self._song_offsets[index] : self._song_offsets[index + 1]]

    def fuzzy(self, query: str, cutoff: float, limit: int) -> list[tuple[int, float]]:
        """(name index, ratio) of up to ``limit`` names closest to ``query``, at least ``cutoff``.

        Names sharing too few letter trigrams with ``query`` (Dice below
        ``SHORTLIST_DICE``) cannot be close; the rest are shortlisted by overlap and
        ranked by rapidfuzz's ratio.
        """
        own = _trigrams(query)
        ids = [self._gram_ids[g] for g in own if g in self._gram_ids]
        if not ids:
            return []
        hits = np.concatenate(
            [self._gram_names[self._gram_offsets[g] : self._gram_offsets[g + 1]] for g in ids]
        )
        counts = np.bincount(hits, minlength=len(self.strings)).astype(np.float32)
        dice = 2 * counts / (len(own) + self._sizes)
        shortlist = _top(np.flatnonzero(dice >= SHORTLIST_DICE), dice, SHORTLIST)
        found = process.extract(
            query,
            [self.strings[i] for i in shortlist],
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            limit=limit,
        )
        return [(int(shortlist[index]), score) for _, score, index in found]

    def prefixed(self, prefix: str, limit: int) -> list[int]:
        """Up to ``limit`` names starting with ``prefix``, those of the best-known songs."""
        start = bisect.bisect_left(self.strings, prefix)
        end = bisect.bisect_left(self.strings, prefix + "\uffff", lo=start)
        return [int(i) for i in _top(np.arange(start, end), self._best, limit)]


class WordIndex:
    """Songs by the words of their titles and artists (typing: the last word a prefix)."""

    def __init__(self, words_of_song: Sequence[Sequence[str]], prominence: np.ndarray) -> None:
        owners: dict[str, list[int]] = {}
        # Each posting best-known first: the top songs of a word are its first ones.
        for song in np.argsort(-prominence, kind="stable").tolist():
            for word in set(words_of_song[song]):
                owners.setdefault(word, []).append(song)
        self._vocabulary = [sys.intern(word) for word in sorted(owners)]  # shared by servers
        word_id = {word: i for i, word in enumerate(self._vocabulary)}
        self._offsets, self._songs = _csr([owners[w] for w in self._vocabulary])
        self._word_offsets, self._word_ids = _csr(
            [[word_id[w] for w in set(words)] for words in words_of_song]
        )
        self._prominence = prominence
        self._best = _best_of(prominence, self._offsets, self._songs)

    def _posting(self, index: int) -> np.ndarray:
        return self._songs[self._offsets[index] : self._offsets[index + 1]]

    def matching(self, words: Sequence[str], prefix: str, limit: int) -> np.ndarray:
        """Up to ``limit`` best-known songs having every word in ``words`` and a word
        starting with ``prefix`` (when not empty)."""
        result: np.ndarray | None = None
        for word in sorted(set(words), key=len, reverse=True):  # rarest (longest) first
            index = bisect.bisect_left(self._vocabulary, word)
            if index == len(self._vocabulary) or self._vocabulary[index] != word:
                return np.empty(0, dtype=np.int32)
            posting = self._posting(index)
            result = posting if result is None else np.intersect1d(result, posting, True)
            if result.shape[0] == 0:
                return result
        if prefix:
            start = bisect.bisect_left(self._vocabulary, prefix)
            end = bisect.bisect_left(self._vocabulary, prefix + "\uffff", lo=start)
            if start == end:
                return np.empty(0, dtype=np.int32)
            result = self._with_prefix(result, start, end, limit)
        if result is None:
            return np.empty(0, dtype=np.int32)
        return _top(result, self._prominence, limit)

    def _with_prefix(
        self, songs: np.ndarray | None, start: int, end: int, limit: int
    ) -> np.ndarray:
        """``songs`` having a word in vocabulary[start:end]; all such songs when ``None``."""
        if songs is None:
            # The best-known songs of the best-known words: a short prefix ("t") can
            # start thousands of words, and only the top few songs are wanted.
            words = _top(np.arange(start, end), self._best, limit)
            return np.unique(np.concatenate([self._posting(int(w))[:limit] for w in words]))
        # Look at the words of each song (vectorised): songs are few once a whole word matched.
        lengths = self._word_offsets[songs + 1] - self._word_offsets[songs]
        total = int(lengths.sum())
        if total == 0:
            return songs[:0]
        run_starts = np.repeat(self._word_offsets[songs] - np.cumsum(lengths) + lengths, lengths)
        ids = self._word_ids[run_starts + np.arange(total)]
        inside = ((ids >= start) & (ids < end)).astype(np.int64)
        owner = np.repeat(np.arange(songs.shape[0]), lengths)
        keep = np.bincount(owner, weights=inside, minlength=songs.shape[0]) > 0
        return songs[keep]
