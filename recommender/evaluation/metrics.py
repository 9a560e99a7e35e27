"""Ranking metrics with binary relevance.

Every function takes a ranked list of catalogue rows (best first) and a set-like
array of relevant rows. Definitions follow the RecSys Challenge 2018 where it
defines them (R-precision, NDCG, clicks); see docs/quality.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

CLICKS_NOT_FOUND = 51
"""RecSys 2018: the clicks value of a list holding no relevant track."""


Ranked = Sequence[int] | np.ndarray
"""Track rows, best first."""


def _hits(ranked: Ranked, relevant: np.ndarray | set[int]) -> np.ndarray:
    """Boolean per position: is the ranked row relevant?"""
    ranked_arr = np.asarray(ranked, dtype=np.int64)
    if isinstance(relevant, set):
        return np.array([int(r) in relevant for r in ranked_arr], dtype=bool)
    return np.isin(ranked_arr, np.asarray(relevant, dtype=np.int64))


def precision_at(ranked: Ranked, relevant: np.ndarray | set[int], k: int) -> float:
    """Share of the first ``k`` positions holding a relevant track (divides by ``k``)."""
    return float(_hits(list(ranked)[:k], relevant).sum()) / k


def hit_rate_at(ranked: Ranked, relevant: np.ndarray | set[int], k: int) -> float:
    """1.0 if any of the first ``k`` is relevant, else 0.0."""
    return float(_hits(list(ranked)[:k], relevant).any())


def ndcg_at(ranked: Ranked, relevant: np.ndarray | set[int], k: int) -> float:
    """Binary NDCG@k: ``sum(rel_i / log2(i + 1))`` over ranks ``i = 1..k``, divided by
    the same sum for an ideal list (``min(|relevant|, k)`` hits first). 0 when nothing
    is relevant."""
    n_relevant = len(relevant)
    if n_relevant == 0:
        return 0.0
    hits = _hits(list(ranked)[:k], relevant)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(discounts[: hits.shape[0]][hits].sum())
    idcg = float(discounts[: min(n_relevant, k)].sum())
    return dcg / idcg


def r_precision(ranked: Ranked, relevant: np.ndarray | set[int]) -> float:
    """RecSys 2018 R-precision (track level): relevant tracks among the first
    ``|relevant|`` recommended, divided by ``|relevant|``."""
    n_relevant = len(relevant)
    if n_relevant == 0:
        return 0.0
    return float(_hits(list(ranked)[:n_relevant], relevant).sum()) / n_relevant


def clicks(ranked: Ranked, relevant: np.ndarray | set[int]) -> int:
    """RecSys 2018 "recommended songs clicks": ``floor((rank of the first relevant
    track - 1) / 10)`` with ranks from 1 (pages of ten a listener skips), or 51 when
    the list holds no relevant track."""
    hits = np.flatnonzero(_hits(ranked, relevant))
    if hits.shape[0] == 0:
        return CLICKS_NOT_FOUND
    return int(hits[0]) // 10


def genre_hit_at(
    ranked: Ranked, genre: str, genres_of_row: Mapping[int, frozenset[str]], k: int
) -> float:
    """Share of the first ``k`` recommendations that sit in at least one playlist of
    ``genre`` (the seed playlist's ``playlist_genre``); divides by ``k``."""
    top = list(ranked)[:k]
    return sum(genre in genres_of_row.get(int(r), frozenset()) for r in top) / k


def artist_diversity(ranked: Ranked, artists: Sequence[tuple[str, ...]], k: int) -> float:
    """Distinct artist credits among the first ``k`` recommendations, divided by ``k``."""
    top = list(ranked)[:k]
    return len({artists[int(r)] for r in top}) / k


def coverage(lists: Iterable[Ranked], n_tracks: int, k: int | None = None) -> float:
    """Share of the catalogue recommended at least once (in the first ``k`` of a list)."""
    seen: set[int] = set()
    for ranked in lists:
        seen.update(int(r) for r in list(ranked)[:k])
    return len(seen) / n_tracks if n_tracks else 0.0
