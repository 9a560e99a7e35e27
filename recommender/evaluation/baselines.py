"""The methods an evaluation compares: baselines and this engine at several settings.

Each method answers a batch of :class:`~recommender.evaluation.protocols.Query`
with one ranked array of catalogue rows per query (best first, ``query.k`` long,
never a seed). Baselines are written with numpy over the whole catalogue, one
chunk of queries at a time, so that none of them ever builds an ``n x n`` matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from recommender.catalogue import Catalogue
from recommender.engine import Boosts, Diversity, Recommender, Seeds
from recommender.evaluation.protocols import Query
from recommender.features import FEATURE_NAMES, KEY, MODE

_CHUNK = 64  # queries per matrix product


class Method(Protocol):
    """Anything that ranks the catalogue for a batch of queries."""

    name: str

    def rank(self, queries: Sequence[Query]) -> list[np.ndarray]:
        """One ranked row array per query, ``query.k`` long at most."""
        ...


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest finite scores, best first (ties by row)."""
    finite = np.isfinite(scores)
    k = min(k, int(finite.sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    order = np.lexsort((part, -scores[part]))
    return part[order].astype(np.int64)


def _mask_seeds(scores: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
    scores[list(seeds)] = -np.inf
    return scores


@dataclass
class RandomMethod:
    """Uniformly random tracks (a fresh generator per run, seeded)."""

    catalogue: Catalogue
    random_seed: int
    name: str = "random"

    def rank(self, queries: Sequence[Query]) -> list[np.ndarray]:
        """Random rows that are not seeds."""
        rng = np.random.default_rng(self.random_seed)
        n = len(self.catalogue)
        out = []
        for q in queries:
            picked = rng.choice(n, size=q.k + len(q.seeds), replace=False)
            out.append(picked[~np.isin(picked, q.seeds)][: q.k].astype(np.int64))
        return out


@dataclass
class PopularityMethod:
    """The most popular tracks (raw 0-100 popularity, unknown last), seeds excluded."""

    catalogue: Catalogue
    name: str = "popularity"
    _order: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        popularity = np.nan_to_num(self.catalogue.popularity, nan=-1.0)
        self._order = np.lexsort((np.arange(len(popularity)), -popularity))

    def rank(self, queries: Sequence[Query]) -> list[np.ndarray]:
        """The same popular list for everyone, minus each query's seeds."""
        head = self._order[: max((q.k for q in queries), default=0) + 10]
        return [head[~np.isin(head, q.seeds)][: q.k].astype(np.int64) for q in queries]


@dataclass
class VectorMethod:
    """Nearest neighbours of the seeds in a fixed vector space.

    ``metric`` is ``"cosine"`` (score = mean cosine to the seeds) or ``"euclidean"``
    (score = minus the distance to the seeds' centroid). ``prior`` and ``alpha``
    give a raw blend ``alpha * cosine + (1 - alpha) * prior``; ``rerank`` re-sorts
    the top k by that array instead (the tutorial's "hybrid").
    """

    name: str
    vectors: np.ndarray
    metric: str = "cosine"
    prior: np.ndarray | None = None
    alpha: float = 1.0
    rerank: np.ndarray | None = None
    _valid: np.ndarray = field(init=False, repr=False)
    _matrix: np.ndarray = field(init=False, repr=False)
    _sq_norms: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        vectors = np.asarray(self.vectors, dtype=np.float64)
        self._valid = np.asarray(~np.isnan(vectors).any(axis=1))
        vectors = np.where(self._valid[:, None], vectors, 0.0)
        if self.metric == "cosine":
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        elif self.metric != "euclidean":
            raise ValueError(f"unknown metric {self.metric!r}")
        self._matrix = vectors
        self._sq_norms = (vectors**2).sum(axis=1)

    def _query(self, seeds: Sequence[int]) -> np.ndarray:
        usable = [s for s in seeds if self._valid[s]] or list(seeds)
        return self._matrix[usable].mean(axis=0)

    def rank(self, queries: Sequence[Query]) -> list[np.ndarray]:
        """Top ``k`` per query by the configured score."""
        out: list[np.ndarray] = []
        for start in range(0, len(queries), _CHUNK):
            chunk = queries[start : start + _CHUNK]
            q = np.stack([self._query(query.seeds) for query in chunk])
            if self.metric == "cosine":
                # Mean cosine to the seeds = cosine-sum with the mean of unit vectors.
                all_scores = q @ self._matrix.T
            else:
                all_scores = -(self._sq_norms[None, :] - 2.0 * q @ self._matrix.T)
            if self.prior is not None:
                all_scores = self.alpha * all_scores + (1.0 - self.alpha) * self.prior[None, :]
            all_scores[:, ~self._valid] = -np.inf
            for query, scores in zip(chunk, all_scores, strict=True):
                top = _top(_mask_seeds(scores, query.seeds), query.k)
                if self.rerank is not None:
                    top = top[np.lexsort((np.arange(top.shape[0]), -self.rerank[top]))]
                out.append(top)
        return out


def tutorial_vectors(catalogue: Catalogue) -> np.ndarray:
    """The seed tutorial's space: ``MinMaxScaler`` on all 11 raw features."""
    features = catalogue.features
    valid = ~np.isnan(features).any(axis=1)
    scaled = np.full_like(features, np.nan)
    scaled[valid] = MinMaxScaler().fit_transform(features[valid])
    return scaled


def zscore_circular_vectors(catalogue: Catalogue, key_mode_weight: float = 0.5) -> np.ndarray:
    """Z-scored features with key as ``(sin, cos)``; key and mode down-weighted."""
    features = catalogue.features
    valid = ~np.isnan(features).any(axis=1)
    key_col, mode_col = FEATURE_NAMES.index(KEY), FEATURE_NAMES.index(MODE)
    linear = [j for j in range(features.shape[1]) if j not in (key_col, mode_col)]
    out = np.full((features.shape[0], len(linear) + 3), np.nan)
    z = StandardScaler().fit_transform(features[valid][:, [*linear, mode_col]])
    key = features[valid, key_col]
    angle = 2 * np.pi * key / 12.0
    has_key = key >= 0
    out[valid, : len(linear)] = z[:, : len(linear)]
    out[valid, len(linear)] = key_mode_weight * np.where(has_key, np.sin(angle), 0.0)
    out[valid, len(linear) + 1] = key_mode_weight * np.where(has_key, np.cos(angle), 0.0)
    out[valid, len(linear) + 2] = key_mode_weight * z[:, -1]
    return out


@dataclass
class EngineMethod:
    """This engine (one batched ``Recommender.recommend``) at one alpha and playlist weight.

    The playlists signal holds out each query's ``holdout`` playlists.
    """

    name: str
    recommender: Recommender
    alpha: float
    membership_weight: float = 0.0

    @property
    def diversity(self) -> Diversity | None:
        """Re-ranking for variety (none here)."""
        return None

    def rank(self, queries: Sequence[Query]) -> list[np.ndarray]:
        """Engine top ``k`` per query (queries are answered in batches grouped by ``k``)."""
        out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(queries)
        boosts = Boosts(playlist_weight=self.membership_weight)
        for k in sorted({q.k for q in queries}):
            positions = [i for i, q in enumerate(queries) if q.k == k]
            answers = self.recommender.recommend(
                [Seeds(queries[i].seeds, ignore_playlists=queries[i].holdout) for i in positions],
                k,
                alpha=self.alpha,
                boosts=boosts,
                diversity=self.diversity,
            )
            for i, answer in zip(positions, answers, strict=True):
                out[i] = np.array(answer.rows, dtype=np.int64)
        return out


@dataclass
class DiverseEngineMethod(EngineMethod):
    """The engine with the bot's default variety settings (MMR 0.3, two per artist)."""

    amount: float = 0.3
    max_per_artist: int = 2

    @property
    def diversity(self) -> Diversity | None:
        """MMR ``amount`` and the cap per artist."""
        return Diversity(self.amount, self.max_per_artist)


def baseline_methods(catalogue: Catalogue, prior: np.ndarray, random_seed: int) -> list[Method]:
    """The fixed baselines: random, popularity, tutorial content and hybrid, raw blend,
    z-scored kNN. ``prior`` is the engine's weighted popularity (for the raw blend)."""
    tutorial = tutorial_vectors(catalogue)
    popularity = np.nan_to_num(catalogue.popularity, nan=-1.0)
    return [
        RandomMethod(catalogue, random_seed),
        PopularityMethod(catalogue),
        VectorMethod("tutorial content (min-max, cosine)", tutorial),
        VectorMethod("tutorial hybrid (content top-k by popularity)", tutorial, rerank=popularity),
        VectorMethod(
            "raw blend: min-max cosine + weighted pop, alpha 0.5",
            tutorial,
            prior=np.asarray(prior, dtype=np.float64),
            alpha=0.5,
        ),
        VectorMethod(
            "z-scored, circular key, Euclidean kNN",
            zscore_circular_vectors(catalogue),
            metric="euclidean",
        ),
    ]
