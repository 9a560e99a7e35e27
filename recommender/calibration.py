"""Calibrated similarity: turn a raw cosine into a number that can be blended.

Raw cosines cannot be blended with a popularity on [0, 1]: the useful neighbours of
any track sit in a narrow band near 1 (on the shared dataset the 10th neighbour of
a typical track is at cosine 0.93), so in a linear blend popularity decides
everything (the seed tutorial's blend at alpha = 0.5 keeps 0.5% of the catalogue
reachable). The calibrated similarity stretches that band over [0, 1]:

    similarity = clip((cosine - floor) / (1 - floor), 0, 1)

where ``floor`` is the cosine that only ``1 - floor_quantile`` of random track
pairs exceed: only a track's closest neighbours (about 300, i.e. the closest 1% of
a 28k-track catalogue) count as similar at all, and an identical sound is 1.

It is linear above the floor, which is what lets the index rank the blend in one
matrix-vector product (see index.py); the floor quantile was chosen on the shared
dataset against a non-linear, percentile-based alternative that scored the same
(docs/engine.md has the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_NEIGHBOURHOOD = 300
"""About how many of a track's neighbours count as similar at all (see ``fit``)."""
MIN_FLOOR_QUANTILE = 0.5
MAX_FLOOR_QUANTILE = 0.99


def _all_pair_cosines(vectors: np.ndarray) -> np.ndarray:
    """The cosine of every distinct pair of (unit) rows."""
    upper = np.triu_indices(vectors.shape[0], k=1)
    return (vectors @ vectors.T)[upper]


@dataclass(frozen=True, slots=True)
class SimilarityCalibration:
    """A fitted cosine-to-similarity map (see the module docstring)."""

    floor: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor < 1.0:
            raise ValueError("the similarity floor must be in [0, 1)")

    @classmethod
    def fit(
        cls,
        unit_vectors: np.ndarray,
        *,
        floor_quantile: float | None = None,
        neighbourhood: int = DEFAULT_NEIGHBOURHOOD,
        samples: int = 200_000,
        seed: int = 0,
    ) -> SimilarityCalibration:
        """Fit the floor on pairs of rows with features (zero rows are skipped).

        A catalogue with no more distinct pairs than ``samples`` (up to 632 tracks, most
        servers) uses every pair: exact, and at 178 tracks 0.5 ms instead of the 16 ms
        that drawing 200,000 random pairs took, most of what building a small
        catalogue cost (docs/benchmarks.md, "Cluster"). Bigger ones use ``samples``
        random pairs.

        By default the quantile follows the catalogue's size so that about
        ``neighbourhood`` tracks lie above the floor for a typical query:
        ``1 - neighbourhood / n``, kept within [0.5, 0.99] (0.99 for the 28k-track
        reference; the median for a server's 200-track playlist, where a fixed 1%
        would leave two "similar" tracks and let popularity rank the rest).
        """
        rows = np.flatnonzero(np.abs(unit_vectors).sum(axis=1) > 0)
        if rows.shape[0] < 2:
            return cls(0.0)
        if floor_quantile is None:
            floor_quantile = float(
                np.clip(1.0 - neighbourhood / rows.shape[0], MIN_FLOOR_QUANTILE, MAX_FLOOR_QUANTILE)
            )
        if not 0.0 <= floor_quantile < 1.0:
            raise ValueError("floor_quantile must be in [0, 1)")
        if rows.shape[0] * (rows.shape[0] - 1) // 2 <= samples:
            cosines = _all_pair_cosines(np.asarray(unit_vectors[rows], dtype=np.float64))
        else:
            rng = np.random.default_rng(seed)
            left, right = rng.choice(rows, samples), rng.choice(rows, samples)
            cosines = np.einsum(
                "ij,ij->i",
                np.asarray(unit_vectors[left], dtype=np.float64),
                np.asarray(unit_vectors[right], dtype=np.float64),
            )
        return cls(float(np.clip(np.quantile(cosines, floor_quantile), 0.0, 0.99)))

    @property
    def scale(self) -> float:
        """Slope of the linear part: similarity = (cosine - floor) * scale."""
        return 1.0 / (1.0 - self.floor)

    def similarity(self, cosines: np.ndarray) -> np.ndarray:
        """Calibrated similarity in [0, 1] for each cosine."""
        return np.clip((np.asarray(cosines) - self.floor) * self.scale, 0.0, 1.0)
