"""The recommender: catalogue + scaler + weighted popularity + index, in one call.

``Recommender.recommend(seeds, k, alpha)`` answers "what else would I like if I like
these?" with the hybrid ``alpha * similarity + (1 - alpha) * weighted popularity``,
each result carrying both components. Several seeds combine by averaging their
unit vectors, which makes a track's similarity the *mean* of its similarities to
each seed (the cosine is linear in the query).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.calibration import SimilarityCalibration
from recommender.catalogue import Catalogue
from recommender.features import FEATURE_NAMES, clean_features
from recommender.index import FeatureIndex, SearchResult, validate_alpha
from recommender.popularity import PopularityWeighting
from recommender.scaling import FeatureScaler
from recommender.track import Track

Seed = int | str
"""A seed is a catalogue row or a Spotify track id in the catalogue."""


class UnknownTrackError(LookupError):
    """A seed id is not in the catalogue."""


class NoFeaturesError(ValueError):
    """No seed has audio features, so similarity cannot be computed."""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One suggestion with the parts of its score.

    ``similarity`` is the calibrated content similarity in [0, 1], ``popularity`` the
    release-date-weighted popularity in [0, 1], and ``score`` their blend by alpha.
    """

    rank: int
    row: int
    track: Track
    score: float
    similarity: float
    popularity: float


class Recommender:
    """Hybrid content + popularity recommendations over one catalogue."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        scaler: FeatureScaler | None = None,
        weighting: PopularityWeighting | None = None,
        calibration: SimilarityCalibration | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.scaler = scaler or FeatureScaler.reference()
        self.weighting = weighting or PopularityWeighting()
        vectors = self.scaler.transform(catalogue.features)
        prior = self.weighting.weighted(
            catalogue.popularity, catalogue.release_dates, catalogue.release_date_precisions
        )
        self.index = FeatureIndex(vectors, prior, calibration=calibration)

    def __len__(self) -> int:
        return len(self.catalogue)

    def row(self, seed: Seed) -> int:
        """Catalogue row of a seed given as a row or a track id."""
        if isinstance(seed, str):
            row = self.catalogue.row_of(seed)
            if row is None:
                raise UnknownTrackError(f"track {seed} is not in the catalogue")
            return row
        if not 0 <= seed < len(self.catalogue):
            raise UnknownTrackError(f"row {seed} is outside the catalogue")
        return int(seed)

    def query_vector(
        self, rows: Sequence[int], weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """Mean of the seeds' unit vectors (weighted), ignoring featureless seeds."""
        usable = [i for i, row in enumerate(rows) if self.index.has_vector(row)]
        if not usable:
            raise NoFeaturesError("none of the seed tracks has audio features")
        unit = self.index.unit_vectors
        w = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=np.float64)
        chosen = w[usable]
        return (chosen[:, None] * unit[[rows[i] for i in usable]]).sum(axis=0) / chosen.sum()

    def excluded_rows(self, seed_rows: Sequence[int], exclude: Sequence[Seed] = ()) -> np.ndarray:
        """The seeds, every duplicate of them (same song, other id), and ``exclude``."""
        parts = [self.catalogue.duplicates_of(row) for row in seed_rows]
        parts.append(np.array([self.row(s) for s in exclude], dtype=np.int64))
        return np.unique(np.concatenate(parts))

    def recommend(
        self,
        seeds: Sequence[Seed],
        k: int = 10,
        alpha: float = 0.5,
        *,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
    ) -> list[Recommendation]:
        """The ``k`` best tracks for the seeds; never a seed or a duplicate of one.

        With ``alpha == 0`` the seeds need no features (pure weighted popularity).
        ``allowed`` is an optional boolean mask over catalogue rows.
        """
        alpha = validate_alpha(alpha)
        if k < 1:
            raise ValueError("k must be at least 1")
        rows = [self.row(s) for s in seeds]
        if not rows:
            raise ValueError("give at least one seed")
        query = self._query_or_zero(rows, alpha)
        result = self.index.search(
            query, k, alpha, exclude=self.excluded_rows(rows, exclude), allowed=allowed
        )
        return self._recommendations(result)

    def recommend_similar_to(
        self,
        track: Track,
        k: int = 10,
        alpha: float = 0.5,
        *,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
    ) -> list[Recommendation]:
        """Like :meth:`recommend` for a track that need not be in the catalogue.

        The track itself and catalogue rows that are the same song are excluded.
        """
        alpha = validate_alpha(alpha)
        row = self.catalogue.row_of(track.id)
        if row is not None:
            return self.recommend([row], k, alpha, exclude=exclude, allowed=allowed)
        query = np.zeros(self.index.dimensions, dtype=np.float32)
        if alpha > 0:
            features = clean_features(track.features)
            if features is None:
                raise NoFeaturesError(f"{track.name} has no audio features")
            raw = np.array([[features[name] for name in FEATURE_NAMES]])
            vector = self.scaler.transform(raw)[0]
            query = vector / np.linalg.norm(vector)
        same_song = self.catalogue.rows_matching(track.name, track.artists)
        excluded = self.excluded_rows([], exclude)
        result = self.index.search(
            query, k, alpha, exclude=np.union1d(excluded, same_song), allowed=allowed
        )
        return self._recommendations(result)

    def recommend_many(
        self, seed_lists: Sequence[Sequence[Seed]], k: int = 10, alpha: float = 0.5
    ) -> list[list[Recommendation]]:
        """:meth:`recommend` for many queries, sharing each scan of the index."""
        alpha = validate_alpha(alpha)
        row_lists = [[self.row(s) for s in seeds] for seeds in seed_lists]
        queries = np.stack([self._query_or_zero(rows, alpha) for rows in row_lists])
        excludes: list[np.ndarray | None] = [self.excluded_rows(rows) for rows in row_lists]
        results = self.index.search_batch(queries, k, alpha, excludes=excludes)
        return [self._recommendations(result) for result in results]

    def _query_or_zero(self, rows: list[int], alpha: float) -> np.ndarray:
        # At alpha 0 similarity does not rank, but it is still reported when known.
        if alpha == 0.0 and not any(self.index.has_vector(row) for row in rows):
            return np.zeros(self.index.dimensions, dtype=np.float32)
        return self.query_vector(rows)

    def _recommendations(self, result: SearchResult) -> list[Recommendation]:
        return [
            Recommendation(
                rank=rank,
                row=int(row),
                track=self.catalogue.track(int(row)),
                score=float(score),
                similarity=float(similarity),
                popularity=float(prior),
            )
            for rank, (row, score, similarity, prior) in enumerate(
                zip(result.rows, result.scores, result.similarities, result.priors, strict=True),
                start=1,
            )
        ]
