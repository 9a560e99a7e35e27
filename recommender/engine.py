"""The recommender: catalogue + scaler + weighted popularity + index, in one call.

``Recommender.recommend(seeds, k, alpha)`` answers "what else would I like if I like
these?" with the hybrid ``alpha * similarity + (1 - alpha) * weighted popularity``,
each result carrying both components. Several seeds combine into the direction of
the mean of their unit vectors: a track's cosine to it is the mean of its cosines to
the seeds, rescaled so that the query stays on the unit sphere where the similarity
calibration was fitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.calibration import SimilarityCalibration
from recommender.catalogue import Catalogue
from recommender.cooccurrence import CoOccurrence
from recommender.diversity import diversify
from recommender.features import FEATURE_NAMES, clean_features
from recommender.index import Bonus, FeatureIndex, SearchResult, validate_alpha
from recommender.popularity import PopularityWeighting
from recommender.profile import TasteProfile
from recommender.scaling import FeatureScaler
from recommender.track import Track

DEFAULT_ALPHA = 0.8
"""Weight of sound similarity against popularity when nobody says otherwise: on the
shared dataset it keeps ~99% of the pure-content NDCG@10 with 0.50 catalogue coverage
(0.48 with playlist membership), where 0.7 keeps 96% and 0.45 (0.43 with membership)
and 0.5 only 77% and 0.24 (docs/engine.md, docs/quality.md)."""

DEFAULT_MEMBERSHIP_WEIGHT = 2.0
"""Weight of playlist co-membership (scores in [0, 1]) added to the hybrid score when a
catalogue knows its playlists; the library default is 0 (off), the command line uses
this, and the bot when a server has several playlists. Tuned on (A) NDCG@10 of half
of the shared dataset's playlists at the default alpha 0.8 (0.5: 0.0315, 1: 0.0382,
2: 0.0389, 4: 0.0393; the smallest within 1% of the best); see docs/quality.md."""

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
    bonus: float = 0.0


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def _pool_size(k: int, diversity: float, max_per_artist: int) -> int:
    """How many candidates to rank before re-ranking for variety."""
    return k if diversity <= 0 and max_per_artist <= 0 else max(4 * k, 50)


def combine_bonuses(*bonuses: Bonus | None) -> Bonus | None:
    """One bonus holding the sum of several (``None`` entries are skipped)."""
    present = [b for b in bonuses if b is not None and b.rows.shape[0]]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return Bonus.from_pairs(
        np.concatenate([b.rows for b in present]), np.concatenate([b.values for b in present])
    )


class Recommender:
    """Hybrid content + popularity recommendations over one catalogue."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        scaler: FeatureScaler | None = None,
        weighting: PopularityWeighting | None = None,
        calibration: SimilarityCalibration | None = None,
        membership_weight: float = 0.0,
    ) -> None:
        self.catalogue = catalogue
        self.scaler = scaler or FeatureScaler.reference()
        self.weighting = weighting or PopularityWeighting()
        vectors = self.scaler.transform(catalogue.features)
        prior = self.weighting.weighted(
            catalogue.popularity, catalogue.release_dates, catalogue.release_date_precisions
        )
        self.index = FeatureIndex(vectors, prior, calibration=calibration)
        self.membership_weight = membership_weight
        self._membership: CoOccurrence | None = None

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
        """Direction of the seeds' (weighted) mean unit vector, ignoring featureless seeds.

        Normalised to unit length: the mean of several different seeds is short, and
        its raw cosines would fall below the similarity floor for every track (five
        seeds of one playlist average to length ~0.64, under the 0.78 floor), leaving
        popularity to rank everything.
        """
        usable = [i for i, row in enumerate(rows) if self.index.has_vector(row)]
        if not usable:
            raise NoFeaturesError("none of the seed tracks has audio features")
        unit = self.index.unit_vectors
        w = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=np.float64)
        chosen = w[usable]
        mean = (chosen[:, None] * unit[[rows[i] for i in usable]]).sum(axis=0) / chosen.sum()
        return _unit(mean)

    def excluded_rows(self, seed_rows: Sequence[int], exclude: Sequence[Seed] = ()) -> np.ndarray:
        """The seeds, every duplicate of them (same song, other id), and ``exclude``."""
        parts = [self.catalogue.duplicates_of(row) for row in seed_rows]
        parts.append(np.array([self.row(s) for s in exclude], dtype=np.int64))
        return np.unique(np.concatenate(parts))

    @property
    def membership(self) -> CoOccurrence | None:
        """Co-membership of tracks in the catalogue's playlists (``None`` without any)."""
        if self._membership is None and self.catalogue.memberships:
            self._membership = CoOccurrence(len(self.catalogue), self.catalogue.memberships)
        return self._membership

    def membership_bonus(
        self, seed_rows: Sequence[int], holdout_playlists: Iterable[str] = ()
    ) -> Bonus | None:
        """Extra score for tracks sharing playlists with the seeds, or ``None``.

        Playlists in ``holdout_playlists`` are ignored (an evaluation must never
        score a query with the playlist its answers come from).
        """
        membership = self.membership
        if membership is None or self.membership_weight <= 0 or not seed_rows:
            return None
        co = membership.scores(seed_rows, exclude_groups=holdout_playlists)
        if co.empty:
            return None
        return Bonus(co.rows, co.values * np.float32(self.membership_weight))

    def recommend(
        self,
        seeds: Sequence[Seed],
        k: int = 10,
        alpha: float = DEFAULT_ALPHA,
        *,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
        profile: TasteProfile | None = None,
        bonus: Bonus | None = None,
        holdout_playlists: Iterable[str] = (),
        diversity: float = 0.0,
        max_per_artist: int = 0,
    ) -> list[Recommendation]:
        """The ``k`` best tracks for the seeds; never a seed or a duplicate of one.

        With ``alpha == 0`` the seeds need no features (pure weighted popularity).
        ``allowed`` is an optional boolean mask over catalogue rows. ``profile``
        pulls the query towards a listener's taste (weighted by its evidence);
        ``bonus`` adds extra points to some rows (e.g. liked together in a server);
        the catalogue's own playlist co-membership is added unless held out.
        """
        alpha = validate_alpha(alpha)
        if k < 1:
            raise ValueError("k must be at least 1")
        rows = [self.row(s) for s in seeds]
        if not rows:
            raise ValueError("give at least one seed")
        query = self._query_or_zero(rows, alpha)
        if profile is not None and alpha > 0:
            query = profile.blend(query)
        return self._search(
            query,
            k,
            alpha,
            self.excluded_rows(rows, exclude),
            allowed,
            combine_bonuses(bonus, self.membership_bonus(rows, holdout_playlists)),
            diversity,
            max_per_artist,
        )

    def recommend_for_profile(
        self,
        profile: TasteProfile,
        k: int = 10,
        alpha: float = DEFAULT_ALPHA,
        *,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
        bonus: Bonus | None = None,
        diversity: float = 0.0,
        max_per_artist: int = 0,
    ) -> list[Recommendation]:
        """Recommendations from a taste profile alone (no seed song)."""
        alpha = validate_alpha(alpha)
        excluded = self.excluded_rows([], exclude)
        return self._search(
            profile.vector, k, alpha, excluded, allowed, bonus, diversity, max_per_artist
        )

    def recommend_similar_to(
        self,
        track: Track,
        k: int = 10,
        alpha: float = DEFAULT_ALPHA,
        *,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
        profile: TasteProfile | None = None,
        bonus: Bonus | None = None,
        diversity: float = 0.0,
        max_per_artist: int = 0,
    ) -> list[Recommendation]:
        """Like :meth:`recommend` for a track that need not be in the catalogue.

        The track itself and catalogue rows that are the same song are excluded.
        """
        alpha = validate_alpha(alpha)
        row = self.catalogue.row_of(track.id)
        if row is not None:
            return self.recommend(
                [row],
                k,
                alpha,
                exclude=exclude,
                allowed=allowed,
                profile=profile,
                bonus=bonus,
                diversity=diversity,
                max_per_artist=max_per_artist,
            )
        query = np.zeros(self.index.dimensions, dtype=np.float32)
        if alpha > 0:
            features = clean_features(track.features)
            if features is None:
                raise NoFeaturesError(f"{track.name} has no audio features")
            raw = np.array([[features[name] for name in FEATURE_NAMES]])
            vector = self.scaler.transform(raw)[0]
            query = vector / np.linalg.norm(vector)
        if profile is not None and alpha > 0:
            query = profile.blend(query)
        same_song = self.catalogue.rows_matching(track.name, track.artists)
        excluded = np.union1d(self.excluded_rows([], exclude), same_song)
        return self._search(query, k, alpha, excluded, allowed, bonus, diversity, max_per_artist)

    def popular(
        self, k: int = 10, *, exclude: Sequence[Seed] = (), allowed: np.ndarray | None = None
    ) -> list[Recommendation]:
        """The ``k`` tracks with the highest weighted popularity."""
        query = np.zeros(self.index.dimensions, dtype=np.float32)
        return self._search(query, k, 0.0, self.excluded_rows([], exclude), allowed, None, 0.0, 0)

    def raw_features(self, row: int) -> np.ndarray:
        """The unscaled feature row (NaN for a featureless track)."""
        return self.catalogue.features[row]

    def recommend_many(
        self,
        seed_lists: Sequence[Sequence[Seed]],
        k: int = 10,
        alpha: float = DEFAULT_ALPHA,
        *,
        holdouts: Sequence[Iterable[str]] | None = None,
    ) -> list[list[Recommendation]]:
        """:meth:`recommend` for many queries, sharing each scan of the index.

        ``holdouts`` gives each query the playlists its membership signal must ignore.
        """
        alpha = validate_alpha(alpha)
        row_lists = [[self.row(s) for s in seeds] for seeds in seed_lists]
        holdouts = holdouts if holdouts is not None else [()] * len(row_lists)
        if len(holdouts) != len(row_lists):
            raise ValueError("one holdout entry per query")
        queries = np.stack([self._query_or_zero(rows, alpha) for rows in row_lists])
        excludes: list[np.ndarray | None] = [self.excluded_rows(rows) for rows in row_lists]
        bonuses = [
            self.membership_bonus(rows, held)
            for rows, held in zip(row_lists, holdouts, strict=True)
        ]
        results = self.index.search_batch(queries, k, alpha, excludes=excludes, bonuses=bonuses)
        return [self._recommendations(result) for result in results]

    def _query_or_zero(self, rows: list[int], alpha: float) -> np.ndarray:
        # At alpha 0 similarity does not rank, but it is still reported when known.
        if alpha == 0.0 and not any(self.index.has_vector(row) for row in rows):
            return np.zeros(self.index.dimensions, dtype=np.float32)
        return self.query_vector(rows)

    def _search(
        self,
        query: np.ndarray,
        k: int,
        alpha: float,
        excluded: np.ndarray,
        allowed: np.ndarray | None,
        bonus: Bonus | None,
        diversity: float,
        max_per_artist: int,
    ) -> list[Recommendation]:
        """One exact search of a pool, re-ranked for variety when asked."""
        if k < 1:
            raise ValueError("k must be at least 1")
        result = self.index.search(
            query,
            _pool_size(k, diversity, max_per_artist),
            alpha,
            exclude=excluded,
            allowed=allowed,
            bonus=bonus,
        )
        return self._recommendations(self._diversified(result, k, diversity, max_per_artist))

    def _diversified(
        self, result: SearchResult, k: int, diversity: float, max_per_artist: int
    ) -> SearchResult:
        if diversity <= 0 and max_per_artist <= 0:
            return result
        keep = diversify(
            result.rows,
            result.scores,
            self.index.unit_vectors,
            k,
            diversity=diversity,
            max_per_artist=max_per_artist,
            artists=self.catalogue.artists,
        )
        return SearchResult(
            rows=result.rows[keep],
            scores=result.scores[keep],
            similarities=result.similarities[keep],
            priors=result.priors[keep],
            bonuses=None if result.bonuses is None else result.bonuses[keep],
        )

    def _recommendations(self, result: SearchResult) -> list[Recommendation]:
        bonuses = result.bonuses if result.bonuses is not None else np.zeros(len(result))
        return [
            Recommendation(
                rank=rank,
                row=int(row),
                track=self.catalogue.track(int(row)),
                score=float(score),
                similarity=float(similarity),
                popularity=float(prior),
                bonus=float(bonus),
            )
            for rank, (row, score, similarity, prior, bonus) in enumerate(
                zip(
                    result.rows,
                    result.scores,
                    result.similarities,
                    result.priors,
                    bonuses,
                    strict=True,
                ),
                start=1,
            )
        ]
