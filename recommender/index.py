"""Exact hybrid top-k over unit feature vectors and a per-track prior.

The index is one float32 matrix: each track's scaled feature vector, L2-normalised
once at build time, followed by the track's prior (its release-date-weighted
popularity, in [0, 1]). It is stored column-major, as ``(d + 1, n)``: one contiguous
row per dimension. The scan is then BLAS's non-transposed gemv, which streams each
dimension at full memory bandwidth; the row-major ``(n, d + 1)`` layout with an odd
row length of 13 floats ran at half that speed (4.1 ms against 1.9 ms per scan of
1M tracks on one core, benchmarks/bench_engine.py). The hybrid score

    score = alpha * similarity + (1 - alpha) * prior
    similarity = clip((cosine - floor) * scale, 0, 1)      (calibration.py)

is linear in the cosine wherever the clip is inactive, so one matrix-vector product
with the fused query ``[alpha * scale * q, 1 - alpha]`` ranks every track in a
single scan (up to a constant). The clip changes the ranking in one way only: it
*raises* tracks below the floor to ``(1 - alpha) * prior`` (it never matters above 1
because cosine <= 1). So the exact top-k is the best of two small candidate sets:

* the k best of the linear scan: a track above the floor that is not among them
  has k tracks whose linear score, hence whose clipped score, beats its own;
* the k best by prior (a precomputed order): a track below the floor that is not
  among them has k tracks whose clipped score is at least ``(1 - alpha) * prior``
  with a higher prior.

Filters never copy the matrix: an ``allowed`` mask and ``exclude`` rows are applied
to the score vector the scan produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.calibration import SimilarityCalibration
from recommender.topk import top_k_indices

_BATCH_CHUNK = 32  # queries per matrix product in batch mode: bounds the score buffer


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Rows best first, with the score and its two components for each."""

    rows: np.ndarray
    scores: np.ndarray
    similarities: np.ndarray
    priors: np.ndarray
    bonuses: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.rows.shape[0])


@dataclass(frozen=True)
class Bonus:
    """Non-negative extra score for a few rows (sorted, unique)."""

    rows: np.ndarray
    values: np.ndarray

    @classmethod
    def from_pairs(cls, rows: np.ndarray, values: np.ndarray) -> Bonus:
        """Build from unsorted rows (duplicates add up); negative values are refused."""
        rows = np.asarray(rows, dtype=np.int64)
        values = np.asarray(values, dtype=np.float32)
        if rows.shape != values.shape:
            raise ValueError("one value per row")
        if np.any(values < 0) or not np.all(np.isfinite(values)):
            raise ValueError("bonus values must be finite and non-negative")
        unique, inverse = np.unique(rows, return_inverse=True)
        summed = np.zeros(unique.shape[0], dtype=np.float32)
        np.add.at(summed, inverse, values)
        return cls(unique, summed)

    def values_for(self, rows: np.ndarray) -> np.ndarray:
        """The bonus of each of ``rows`` (0 where it has none)."""
        out = np.zeros(rows.shape[0], dtype=np.float32)
        if self.rows.shape[0] == 0:
            return out
        position = np.clip(np.searchsorted(self.rows, rows), 0, self.rows.shape[0] - 1)
        hit = self.rows[position] == rows
        out[hit] = self.values[position[hit]]
        return out


def validate_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float, or raise ``ValueError`` unless 0 <= alpha <= 1."""
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return alpha


class FeatureIndex:
    """Exact top-k search over ``n`` tracks; see the module docstring.

    Parameters
    ----------
    vectors:
        ``(n, d)`` scaled feature vectors. All-zero rows are featureless tracks: their
        similarity to anything is 0, so they rank by their prior only.
    prior:
        ``(n,)`` values in [0, 1] (weighted popularity).
    calibration:
        The cosine-to-similarity map; fitted on these vectors when omitted.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        prior: np.ndarray,
        *,
        calibration: SimilarityCalibration | None = None,
    ) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        prior = np.asarray(prior, dtype=np.float32)
        if vectors.ndim != 2 or prior.shape != (vectors.shape[0],):
            raise ValueError("vectors must be (n, d) and prior (n,)")
        if not np.all(np.isfinite(prior)) or np.any((prior < 0) | (prior > 1)):
            raise ValueError("prior must be finite and within [0, 1]")
        n, d = vectors.shape
        self.dimensions = d
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.zeros((n, d), dtype=np.float32)
        np.divide(vectors, norms, out=unit, where=norms > 0)
        # Column-major: row j holds dimension j of every track, the last row the prior.
        self._columns = np.empty((d + 1, n), dtype=np.float32)
        self._columns[:d] = unit.T
        self._columns[d] = prior
        self._columns.flags.writeable = False
        index_type = np.int32 if n < 2**31 else np.int64
        # Highest prior first, ties by row: the second candidate set of every search.
        self._prior_order = np.lexsort((np.arange(n), -prior)).astype(index_type)
        self.calibration = calibration or SimilarityCalibration.fit(unit)

    def __len__(self) -> int:
        return int(self._columns.shape[1])

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays."""
        return self._columns.nbytes + self._prior_order.nbytes

    @property
    def unit_vectors(self) -> np.ndarray:
        """Read-only ``(n, d)`` view of the normalised feature rows (zeros for featureless).

        A transposed view of the column-major storage: index rows of it freely, but
        copy it (``np.ascontiguousarray``) before handing all of it to a library.
        """
        return self._columns[: self.dimensions].T

    @property
    def prior(self) -> np.ndarray:
        """Read-only view of the prior of every row."""
        return self._columns[self.dimensions]

    def has_vector(self, row: int) -> bool:
        """Whether a row has features (takes part in similarity)."""
        return bool(np.any(self._columns[: self.dimensions, row]))

    # -- search ------------------------------------------------------------------------

    def search(
        self,
        query: np.ndarray,
        k: int,
        alpha: float,
        *,
        exclude: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        bonus: Bonus | None = None,
    ) -> SearchResult:
        """Top ``k`` rows for one query vector.

        ``query`` lives in the unit-vector space: a seed's unit vector, or the
        normalised mean of several (the calibration assumes a unit query).
        ``exclude`` holds rows that must not appear; ``allowed`` is a boolean mask
        of rows that may. ``bonus`` adds non-negative extra points to a few rows
        (e.g. "liked together here"); those rows are always scored, so the result
        stays exact.
        """
        alpha = validate_alpha(alpha)
        fused = self._fused_query(query, alpha)
        scores = fused @ self._columns
        return self._select(scores, query, k, alpha, exclude, allowed, bonus)

    def search_batch(
        self,
        queries: np.ndarray,
        k: int,
        alpha: float,
        *,
        excludes: list[np.ndarray | None] | None = None,
        allowed: np.ndarray | None = None,
        bonuses: list[Bonus | None] | None = None,
    ) -> list[SearchResult]:
        """Top ``k`` rows for each row of ``queries``; the matrix is read once per chunk."""
        alpha = validate_alpha(alpha)
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        excludes = excludes if excludes is not None else [None] * len(queries)
        bonuses = bonuses if bonuses is not None else [None] * len(queries)
        if len(excludes) != len(queries) or len(bonuses) != len(queries):
            raise ValueError("one exclude and one bonus entry per query")
        results: list[SearchResult] = []
        for start in range(0, len(queries), _BATCH_CHUNK):
            fused = np.stack(
                [self._fused_query(q, alpha) for q in queries[start : start + _BATCH_CHUNK]]
            )
            all_scores = fused @ self._columns  # (chunk, n): each row contiguous
            for offset, scores in enumerate(all_scores):
                results.append(
                    self._select(
                        scores,
                        queries[start + offset],
                        k,
                        alpha,
                        excludes[start + offset],
                        allowed,
                        bonuses[start + offset],
                    )
                )
        return results

    def _fused_query(self, query: np.ndarray, alpha: float) -> np.ndarray:
        query = np.asarray(query, dtype=np.float32)
        if query.shape != (self.dimensions,):
            raise ValueError(f"query must have {self.dimensions} dimensions")
        fused = np.empty(self.dimensions + 1, dtype=np.float32)
        fused[: self.dimensions] = query * (alpha * self.calibration.scale)
        fused[self.dimensions] = 1.0 - alpha
        return fused

    def _select(
        self,
        scores: np.ndarray,
        query: np.ndarray,
        k: int,
        alpha: float,
        exclude: np.ndarray | None,
        allowed: np.ndarray | None,
        bonus: Bonus | None = None,
    ) -> SearchResult:
        if k < 1:
            raise ValueError("k must be at least 1")
        if allowed is not None:
            np.putmask(scores, ~allowed, -np.inf)
        if exclude is not None and len(exclude):
            scores[exclude] = -np.inf
        candidates = np.union1d(top_k_indices(scores, k), self._best_by_prior(k, scores))
        if bonus is not None and bonus.rows.shape[0]:
            # A row outside both sets has k rows beating its base score, and a bonus
            # only raises scores: so adding the bonus rows keeps the result exact.
            candidates = np.union1d(candidates, bonus.rows[scores[bonus.rows] > -np.inf])
        columns = self._columns[:, candidates]
        d = self.dimensions
        # The query itself, not the fused one divided back: at a tiny or zero alpha that
        # would lose the cosines (NaN or 0) that the components and tie-breaks report.
        cosines = np.asarray(query, dtype=np.float32) @ columns[:d]
        similarities = self.calibration.similarity(cosines).astype(np.float32)
        priors = columns[d]
        exact = alpha * similarities + (1.0 - alpha) * priors
        extra = bonus.values_for(candidates) if bonus is not None else None
        if extra is not None:
            exact = exact + extra
        # Best score first; ties (e.g. tracks clipped to similarity 0) by higher cosine,
        # then by row for determinism.
        # Cosines are rounded so that float noise does not decide a tie.
        order = np.lexsort((candidates, -np.round(cosines, 5), -exact))[:k]
        return SearchResult(
            rows=candidates[order].astype(np.int64),
            scores=exact[order].astype(np.float32),
            similarities=similarities[order],
            priors=priors[order],
            bonuses=None if extra is None else extra[order].astype(np.float32),
        )

    def _best_by_prior(self, k: int, masked_scores: np.ndarray) -> np.ndarray:
        """The ``k`` best-prior rows still eligible (not masked to -inf)."""
        found: list[np.ndarray] = []
        count, start, step = 0, 0, max(4 * k, 64)
        order = self._prior_order
        while count < k and start < order.shape[0]:
            chunk = order[start : start + step]
            eligible = chunk[masked_scores[chunk] > -np.inf]
            found.append(eligible)
            count += eligible.shape[0]
            start += step
            step *= 2
        if not found:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(found)[:k].astype(np.int64)
