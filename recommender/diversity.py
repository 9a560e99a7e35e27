"""Re-ranking for variety: maximal marginal relevance and a cap per artist.

A list of ten near-identical tracks by one artist is accurate and useless. MMR
(Carbonell & Goldstein, 1998) builds the list greedily, each time taking the
candidate with the best

    (1 - diversity) * relevance - diversity * max similarity to the tracks already chosen

where relevance is the hybrid score rescaled to [0, 1] over the candidate pool and
similarity is the cosine of the unit feature vectors mapped to [0, 1]. ``diversity``
0 keeps the ranking; 1 maximises spread. The artist cap is a hard filter applied
in the same pass: a candidate whose (first) artist already has ``max_per_artist``
tracks in the list is skipped, unless nothing else is left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def diversify(
    rows: np.ndarray,
    scores: np.ndarray,
    unit_vectors: np.ndarray,
    k: int,
    *,
    diversity: float = 0.0,
    max_per_artist: int = 0,
    artists: Sequence[tuple[str, ...]] | None = None,
) -> np.ndarray:
    """Positions (into ``rows``) of the ``k`` tracks to show, in order.

    ``rows`` and ``scores`` are the candidate pool, best first. ``max_per_artist`` 0
    means no cap.
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError("diversity must be between 0 and 1")
    n = rows.shape[0]
    if n == 0 or k <= 0:
        return np.empty(0, dtype=np.int64)
    spread = float(scores.max() - scores.min())
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones(n)
    vectors = np.asarray(unit_vectors[rows], dtype=np.float32)
    closest = np.zeros(n)  # max similarity of each candidate to the chosen ones
    chosen: list[int] = []
    per_artist: dict[str, int] = {}
    available = np.ones(n, dtype=bool)
    while len(chosen) < min(k, n):
        value = (1.0 - diversity) * relevance - diversity * closest
        value[~available] = -np.inf
        capped = _capped(rows, available, per_artist, max_per_artist, artists)
        if capped.any() and (available & ~capped).any():
            value[capped] = -np.inf
        pick = int(np.argmax(value))
        chosen.append(pick)
        available[pick] = False
        if artists is not None:
            artist = _main_artist(artists[int(rows[pick])])
            per_artist[artist] = per_artist.get(artist, 0) + 1
        if diversity > 0:
            similarity = (vectors @ vectors[pick] + 1.0) / 2.0
            if not np.any(vectors[pick]):
                similarity[:] = 0.0  # a featureless pick says nothing about the others
            np.maximum(closest, similarity, out=closest)
    return np.asarray(chosen, dtype=np.int64)


def _main_artist(artists: tuple[str, ...]) -> str:
    return artists[0].casefold() if artists else ""


def _capped(
    rows: np.ndarray,
    available: np.ndarray,
    per_artist: dict[str, int],
    max_per_artist: int,
    artists: Sequence[tuple[str, ...]] | None,
) -> np.ndarray:
    capped = np.zeros(rows.shape[0], dtype=bool)
    if max_per_artist <= 0 or artists is None or not per_artist:
        return capped
    full = {a for a, count in per_artist.items() if count >= max_per_artist}
    if not full:
        return capped
    for i in np.flatnonzero(available):
        capped[i] = _main_artist(artists[int(rows[i])]) in full
    return capped
