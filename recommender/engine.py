"""The recommender: catalogue + scaler + weighted popularity + index, in one call.

``Recommender.recommend(query, k, ...)`` answers every question the product asks:
"more like these songs" (:class:`~recommender.query.Seeds`), "like this track from
outside" (:class:`~recommender.query.OutsideTrack`), "something for me"
(:class:`~recommender.query.Taste`) and "anything good" (:class:`~recommender.query.Popular`),
one query or a list of them, with the same options for all. The ranking is

    score = alpha * similarity + (1 - alpha) * recency_popularity + playlists + liked_here
            + steer

where a listener's taste, when given, pulls the similarity's query towards it, and a
:class:`~recommender.query.Steering` moves it towards mood targets, filters by tempo
and decade, and re-weights popularity and known artists (:mod:`recommender.steering`). Every
suggestion carries a :class:`~recommender.answer.ScoreBreakdown` whose parts add up
to its score. Several seeds combine into the direction of the mean of their unit
vectors: a track's cosine to it is the mean of its cosines to the seeds, rescaled so
that the query stays on the unit sphere where the similarity calibration was fitted.

Two rules hold for every answer: one song appears once (releases of the same song,
same cleaned title and artists, collapse to the best placed), and an answer is never
silently arbitrary: when nothing clears the similarity floor, it is the closest
tracks by raw sound and says so (``Answer.fallback``).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, overload

import numpy as np

from recommender import reasons, steering
from recommender.answer import Answer, Fallback, Recommendation, Relaxed, ScoreBreakdown
from recommender.calibration import SimilarityCalibration
from recommender.catalogue import Catalogue, normalise_text
from recommender.cooccurrence import CoOccurrence
from recommender.diversity import diversify
from recommender.features import FEATURE_NAMES, clean_features
from recommender.index import Bonus, FeatureIndex, validate_alpha
from recommender.popularity import PopularityWeighting
from recommender.profile import TasteProfile
from recommender.query import (
    DEFAULT_PLAYLIST_WEIGHT,
    FAVOURITE_WEIGHT,
    MIN_CO_LIKERS,
    QUERY_TYPES,
    Boosts,
    Diversity,
    OutsideTrack,
    Popular,
    Query,
    Seed,
    Seeds,
    Steering,
    Taste,
)
from recommender.scaling import FeatureScaler
from recommender.track import Track

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_PLAYLIST_WEIGHT",
    "Answer",
    "Boosts",
    "Diversity",
    "NoFeaturesError",
    "OutsideTrack",
    "Popular",
    "Recommendation",
    "Recommender",
    "ScoreBreakdown",
    "Seeds",
    "Steering",
    "Taste",
    "TrackNotInCatalogueError",
]

DEFAULT_ALPHA = 0.8
"""Weight of sound similarity against recent & popular when nobody says otherwise: on
the shared dataset it keeps ~99% of the pure-content NDCG@10 with 0.49 catalogue
coverage (0.47 with playlist membership), where 0.7 keeps 96% and 0.44 (0.43 with
membership) and 0.5 only 81% and 0.27 (docs/engine.md, docs/quality.md)."""


_NO_BOOSTS = Boosts()
_NO_DIVERSITY = Diversity()
_NO_EXPLORATION = steering.exploration_weights("balanced")
_FILTER_CACHE = 8  # steering filter masks kept per recommender (tempo/decade pairs)
_NONE = np.empty(0, dtype=np.int64)
_NONE.flags.writeable = False


class TrackNotInCatalogueError(LookupError):
    """A seed id is not in the catalogue."""


class NoFeaturesError(ValueError):
    """No seed has audio features, so similarity cannot be computed."""


@dataclass
class _Plan:
    """One query made concrete: what to search, what to exclude, what to add."""

    search: np.ndarray  # the unit query the index scans with (zeros: none)
    alpha: float  # 0 for a Popular query whatever was asked
    excluded: np.ndarray
    seeds: tuple[int, ...] = ()
    sound: np.ndarray | None = None  # the seeds' own direction when taste moved `search`
    taste_only: bool = False
    playlists: Bonus | None = None
    liked_here: Bonus | None = None
    taste_ratings: int = 0
    co_likers: int = 0
    seed_tracks: tuple[tuple[str, np.ndarray], ...] = ()  # (name, raw features) to explain
    liked_rows: tuple[int, ...] = ()
    # Steering (see recommender.steering): the query before the targets moved it, the
    # rows that may be suggested, the filters dropped because nothing matched, and
    # exploration's terms: final score = scale * index score - penalty.
    unsteered: np.ndarray | None = None
    allowed: np.ndarray | None = None
    relaxed: tuple[Relaxed, ...] = ()
    band: bool = False  # targets act as a band filter (no sound query to move)
    scan_alpha: float | None = None  # the alpha the index ranks with (None: alpha)
    scale: float = 1.0
    popularity_extra: float = 0.0  # added to the weight of recent & popular
    popularity_push: float = 0.0  # of recent & popular, counted against a track
    known_bonus: Bonus | None = None  # familiar: tracks by artists the listener rated
    known_penalty: Bonus | None = None  # adventurous: the same, counted against them
    known_rows: np.ndarray = field(default_factory=lambda: _NONE)

    @property
    def bonus(self) -> Bonus | None:
        """Every bonus in the index's units (divided by ``scale``)."""
        bonus = _combine(self.playlists, self.liked_here, self.known_bonus)
        if bonus is None or self.scale == 1.0:
            return bonus
        return Bonus(bonus.rows, bonus.values / np.float32(self.scale))

    @property
    def index_alpha(self) -> float:
        return self.alpha if self.scan_alpha is None else self.scan_alpha

    @property
    def penalised(self) -> bool:
        """Whether exploration lowers some scores after the scan (see ``_pool``)."""
        return self.popularity_push > 0 or self.known_penalty is not None

    def penalty(self, rows: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """What exploration takes from each of ``rows`` (float64, >= 0)."""
        out = self.popularity_push * prior[rows].astype(np.float64)
        if self.known_penalty is not None:
            out = out + self.known_penalty.values_for(rows).astype(np.float64)
        return out

    @property
    def has_direction(self) -> bool:
        """Whether similarity takes part (so an answer without any can be arbitrary)."""
        return self.alpha > 0 and bool(np.any(self.search))


@dataclass(frozen=True)
class _Options:
    """The options shared by every query of one call."""

    k: int
    alpha: float
    taste: TasteProfile | None
    taste_rows: tuple[int, ...]
    liked_rows: tuple[int, ...]
    exclude: np.ndarray
    allowed: np.ndarray | None
    boosts: Boosts
    playlist_weight: float
    diversity: Diversity
    explain: bool
    like_counts: Mapping[int, int]
    steer: Steering | None = None
    filters: tuple[tuple[Relaxed, np.ndarray], ...] = ()  # tempo / decade masks
    known_rows: np.ndarray = field(default_factory=lambda: _NONE)  # rows by rated artists
    masks: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)  # per call

    @property
    def pool(self) -> int:
        """How many candidates to rank before re-ranking for variety."""
        return self.k if not self.diversity.active else max(4 * self.k, 50)


def _combine(*bonuses: Bonus | None) -> Bonus | None:
    """One bonus holding the sum of several (``None`` and empty ones are skipped)."""
    present = [b for b in bonuses if b is not None and b.rows.shape[0]]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return Bonus.from_pairs(
        np.concatenate([b.rows for b in present]), np.concatenate([b.values for b in present])
    )


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


class Recommender:
    """Hybrid sound + popularity recommendations over one catalogue.

    ``playlist_weight`` is the default weight of playlist co-membership for this
    catalogue (0: off; a call's :class:`~recommender.query.Boosts` may override it).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        scaler: FeatureScaler | None = None,
        weighting: PopularityWeighting | None = None,
        calibration: SimilarityCalibration | None = None,
        playlist_weight: float = 0.0,
    ) -> None:
        if not 0.0 <= playlist_weight < float("inf"):
            raise ValueError("playlist_weight must be finite and non-negative")
        self.catalogue = catalogue
        self.scaler = scaler or FeatureScaler.reference()
        self.weighting = weighting or PopularityWeighting()
        vectors = self.scaler.transform(catalogue.features)
        prior = self.weighting.weighted(
            catalogue.popularity, catalogue.release_dates, catalogue.release_date_precisions
        )
        self.index = FeatureIndex(vectors, prior, calibration=calibration)
        self.playlist_weight = playlist_weight
        self._playlists: CoOccurrence | None = None
        # Built on first use by a steering: release years, artist -> rows, filter masks.
        self._years: np.ndarray | None = None
        self._artist_rows: dict[str, np.ndarray] | None = None
        self._filter_masks: dict[tuple[str, object], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.catalogue)

    @property
    def index_nbytes(self) -> int:
        """Bytes the search index holds (its matrix and orderings), for memory budgets."""
        return self.index.nbytes

    @property
    def recency_popularity(self) -> np.ndarray:
        """Read-only release-weighted popularity of every row, in [0, 1]."""
        return self.index.prior

    def row(self, seed: Seed) -> int:
        """Catalogue row of a seed given as a row or a track id."""
        if isinstance(seed, str):
            row = self.catalogue.row_of(seed)
            if row is None:
                raise TrackNotInCatalogueError(f"track {seed} is not in the catalogue")
            return row
        if not 0 <= seed < len(self.catalogue):
            raise TrackNotInCatalogueError(f"row {seed} is outside the catalogue")
        return int(seed)

    def raw_features(self, row: int) -> np.ndarray:
        """The unscaled feature row (NaN for a featureless track)."""
        return self.catalogue.features[row]

    # -- the one call -------------------------------------------------------------------

    @overload
    def recommend(
        self,
        query: Query,
        k: int = ...,
        *,
        alpha: float = ...,
        taste: Taste | None = ...,
        exclude: Sequence[Seed] = ...,
        allowed: np.ndarray | None = ...,
        boosts: Boosts | None = ...,
        diversity: Diversity | None = ...,
        explain: bool = ...,
        steer: Steering | None = ...,
    ) -> Answer: ...

    @overload
    def recommend(
        self,
        query: Sequence[Query],
        k: int = ...,
        *,
        alpha: float = ...,
        taste: Taste | None = ...,
        exclude: Sequence[Seed] = ...,
        allowed: np.ndarray | None = ...,
        boosts: Boosts | None = ...,
        diversity: Diversity | None = ...,
        explain: bool = ...,
        steer: Steering | None = ...,
    ) -> list[Answer]: ...

    def recommend(
        self,
        query: Query | Sequence[Query],
        k: int = 10,
        *,
        alpha: float = DEFAULT_ALPHA,
        taste: Taste | None = None,
        exclude: Sequence[Seed] = (),
        allowed: np.ndarray | None = None,
        boosts: Boosts | None = None,
        diversity: Diversity | None = None,
        explain: bool = False,
        steer: Steering | None = None,
    ) -> Answer | list[Answer]:
        """The ``k`` best tracks for ``query`` (or for each query of a list).

        Parameters
        ----------
        query:
            :class:`Seeds`, :class:`OutsideTrack`, :class:`Taste` or :class:`Popular`,
            or a list of them (answered together, sharing each scan of the index).
        alpha:
            Weight of sound similarity against recent & popular, in [0, 1]. At 0 the
            seeds need no features.
        taste:
            A listener's ratings: the query leans towards them (by ``n / (n + 5)``
            for ``n`` ratings) and the rated tracks are not suggested.
        exclude:
            Tracks (rows or ids) never to suggest. Seeds and every release of a
            seed's song are always excluded.
        allowed:
            Optional boolean mask over catalogue rows that may be suggested.
        boosts:
            Playlists together and liked together here (:class:`Boosts`).
        diversity:
            Re-ranking for variety (:class:`Diversity`).
        explain:
            Fill each suggestion's ``reasons``.
        steer:
            Mood targets, tempo range, decade and exploration (:class:`Steering`);
            their effect is each suggestion's ``steer`` part, and a filter that
            matched nothing is dropped and named in ``Answer.relaxed``.

        Raises :class:`TrackNotInCatalogueError` for a seed or exclusion not in the
        catalogue, :class:`NoFeaturesError` when similarity is asked for and no
        seed (or rating) has features, ``ValueError`` for bad numbers.
        """
        options = self._options(
            k, alpha, taste, exclude, allowed, boosts, diversity, explain, steer
        )
        if isinstance(query, QUERY_TYPES):
            return self._answer_all([self._plan(query, options)], options)[0]
        if isinstance(query, str) or not isinstance(query, Sequence):
            raise TypeError(f"expected a query or a list of queries, got {type(query).__name__}")
        queries = list(query)
        for item in queries:
            if not isinstance(item, QUERY_TYPES):
                raise TypeError(f"expected a query, got {type(item).__name__}")
        return self._answer_all([self._plan(q, options) for q in queries], options)

    # -- planning -----------------------------------------------------------------------

    def _options(
        self,
        k: int,
        alpha: float,
        taste: Taste | None,
        exclude: Sequence[Seed],
        allowed: np.ndarray | None,
        boosts: Boosts | None,
        diversity: Diversity | None,
        explain: bool,
        steer: Steering | None = None,
    ) -> _Options:
        alpha = validate_alpha(alpha)
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError("k must be at least 1")
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != (len(self),):
                raise ValueError(f"allowed must be a mask of {len(self)} rows")
        boosts = boosts or _NO_BOOSTS
        liked, disliked = self._taste_rows(taste) if taste is not None else ((), ())
        profile = self._profile(liked, disliked) if taste is not None else None
        rated = (*liked, *disliked)
        excluded = _NONE
        if exclude or rated:
            excluded = np.unique(np.array([*(self.row(s) for s in exclude), *rated], np.int64))
        weight = self.playlist_weight if boosts.playlist_weight is None else boosts.playlist_weight
        if steer is not None and not isinstance(steer, Steering):
            raise TypeError(f"steer must be a Steering, got {type(steer).__name__}")
        return _Options(
            k=int(k),
            alpha=alpha,
            taste=profile,
            taste_rows=rated,
            liked_rows=liked,
            exclude=excluded,
            allowed=allowed,
            boosts=boosts,
            playlist_weight=weight,
            diversity=diversity or _NO_DIVERSITY,
            explain=explain,
            like_counts=self._like_counts(boosts.likes) if boosts.likes else {},
            steer=steer,
            filters=self._filters(steer) if steer is not None else (),
            known_rows=self._known_rows(steer, rated) if steer is not None else _NONE,
        )

    def _plan(self, query: Query, options: _Options) -> _Plan:
        plan = self._query_plan(query, options)
        plan.allowed = options.allowed
        if options.steer is not None:
            self._steer(plan, query, options)
        return plan

    def _query_plan(self, query: Query, options: _Options) -> _Plan:
        if isinstance(query, Seeds):
            return self._seeds_plan(
                [self.row(s) for s in query.tracks], query.ignore_playlists, options
            )
        if isinstance(query, OutsideTrack):
            row = self.catalogue.row_of(query.track.id)
            if row is not None:
                return self._seeds_plan([row], (), options)
            return self._outside_plan(query.track, options)
        if isinstance(query, Taste):
            return self._taste_plan(query, options)
        return self._popular_plan(options)

    def _seeds_plan(
        self, rows: list[int], ignore_playlists: Sequence[str], options: _Options
    ) -> _Plan:
        alpha = options.alpha
        # At alpha 0 similarity does not rank, but it is still reported when known.
        if alpha == 0.0 and not any(self.index.has_vector(row) for row in rows):
            direction = np.zeros(self.index.dimensions, dtype=np.float32)
        else:
            direction = self._direction(rows)
        parts = [self.catalogue.duplicates_of(row) for row in rows]
        if len(parts) == 1 and not options.exclude.shape[0]:
            excluded = parts[0]
        else:
            excluded = np.unique(np.concatenate([options.exclude, *parts]))
        co_likes, co_likers = self._co_likes(rows, options.boosts)
        plan = _Plan(
            search=direction,
            alpha=alpha,
            excluded=excluded,
            seeds=tuple(rows),
            playlists=self._playlist_bonus(rows, options.playlist_weight, ignore_playlists),
            liked_here=co_likes,
            co_likers=co_likers,
            seed_tracks=tuple((self.catalogue.names[r], self.raw_features(r)) for r in rows),
        )
        return self._with_taste(plan, options)

    def _outside_plan(self, track: Track, options: _Options) -> _Plan:
        direction = np.zeros(self.index.dimensions, dtype=np.float32)
        features = clean_features(track.features)
        raw = np.full(len(FEATURE_NAMES), np.nan)
        if features is not None:
            raw = np.array([features[name] for name in FEATURE_NAMES], dtype=np.float64)
            if options.alpha > 0:
                direction = _unit(self.scaler.transform(raw[None, :])[0])
        elif options.alpha > 0:
            raise NoFeaturesError(f"{track.name} has no audio features")
        same_song = self.catalogue.rows_matching(track.name, track.artists)
        plan = _Plan(
            search=direction,
            alpha=options.alpha,
            excluded=np.union1d(options.exclude, same_song),
            seed_tracks=((track.name, raw),),
        )
        return self._with_taste(plan, options)

    def _taste_plan(self, query: Taste, options: _Options) -> _Plan:
        liked, disliked = self._taste_rows(query)
        profile = self._profile(liked, disliked)
        if profile is None:
            raise NoFeaturesError("none of the rated tracks has audio features")
        excluded = np.union1d(options.exclude, np.array([*liked, *disliked], dtype=np.int64))
        return _Plan(
            search=profile.vector if options.alpha > 0 else np.zeros_like(profile.vector),
            alpha=options.alpha,
            excluded=excluded,
            taste_only=True,
            taste_ratings=profile.ratings,
            liked_rows=liked,
        )

    def _popular_plan(self, options: _Options) -> _Plan:
        counts = options.like_counts
        favourites = None
        if counts:
            rows = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            favourites = Bonus.from_pairs(rows, values * np.float32(FAVOURITE_WEIGHT))
        return _Plan(
            search=np.zeros(self.index.dimensions, dtype=np.float32),
            alpha=0.0,
            excluded=options.exclude,
            liked_here=favourites,
        )

    def _with_taste(self, plan: _Plan, options: _Options) -> _Plan:
        """Lean a song query towards the listener's taste (when there is one)."""
        if options.taste is None or plan.alpha == 0 or not np.any(plan.search):
            return plan
        plan.sound = plan.search
        plan.search = options.taste.blend(plan.search)
        plan.taste_ratings = options.taste.ratings
        plan.liked_rows = options.liked_rows
        return plan

    # -- steering -----------------------------------------------------------------------

    def _steer(self, plan: _Plan, query: Query, options: _Options) -> None:
        """Apply ``options.steer`` to a plan: targets, filters, exploration."""
        steer = options.steer
        assert steer is not None
        direction = plan.has_direction
        if steer.targets:
            if direction:
                plan.unsteered = plan.search
                plan.search = steering.steer_direction(plan.search, steer.targets, self.scaler)
            else:  # nothing to move: keep tracks near the targets instead
                plan.band = True
        filters = list(options.filters)
        if plan.band:
            filters.append(("targets", self._band_mask(steer)))
        plan.allowed, plan.relaxed = self._allowed(filters, options, plan.excluded)
        weights = steering.exploration_weights(steer.exploration)
        if weights == _NO_EXPLORATION:
            return
        known = options.known_rows
        if isinstance(query, Taste):  # the listener's ratings are the query itself
            liked, disliked = self._taste_rows(query)
            known = np.union1d(known, self._artist_rows_of([*liked, *disliked]))
        plan.known_rows = known
        if known.shape[0] and weights.known_artist_bonus > 0:
            plan.known_bonus = Bonus(
                known, np.full(known.shape[0], weights.known_artist_bonus, dtype=np.float32)
            )
        if known.shape[0] and weights.known_artist_penalty > 0:
            plan.known_penalty = Bonus(
                known, np.full(known.shape[0], weights.known_artist_penalty, dtype=np.float32)
            )
        if not direction:
            return  # popularity is the whole ranking: nothing to shift it against
        alpha = plan.alpha
        if weights.popularity_shift > 0:
            # alpha s + (1 - alpha + w) p is (1 + w) times the index's score at alpha/(1 + w).
            plan.popularity_extra = weights.popularity_shift
            plan.scale = 1.0 + weights.popularity_shift
            plan.scan_alpha = alpha / plan.scale
        if weights.popularity_push > 0:
            # alpha s - push p: the index ranks by sound alone (times alpha), the push is
            # a penalty applied to a wider pool (exact, see _pool).
            plan.popularity_extra = -(1.0 - alpha)
            plan.popularity_push = weights.popularity_push
            plan.scale = alpha
            plan.scan_alpha = 1.0

    def _filters(self, steer: Steering) -> tuple[tuple[Relaxed, np.ndarray], ...]:
        """The tempo and decade masks of a steering, in the order they are kept."""
        out: list[tuple[Relaxed, np.ndarray]] = []
        if steer.decade is not None:
            out.append(("decade", self._mask(("decade", steer.decade))))
        if steer.tempo is not None:
            out.append(("tempo", self._mask(("tempo", steer.tempo))))
        return tuple(out)

    def _band_mask(self, steer: Steering) -> np.ndarray:
        return self._mask(("targets", tuple(steer.targets.items())))

    def _mask(self, key: tuple[str, Any]) -> np.ndarray:
        """A read-only steering filter over the catalogue, cached by what it asks."""
        mask = self._filter_masks.get(key)
        if mask is not None:
            return mask
        kind, value = key
        features = self.catalogue.features
        if kind == "tempo":
            mask = steering.tempo_mask(features, value)
        elif kind == "decade":
            if self._years is None:
                self._years = steering.release_years(
                    self.catalogue.release_dates, self.catalogue.release_date_precisions
                )
            mask = steering.decade_mask(self._years, value)
        else:
            mask = steering.target_band(features, dict(value))
        mask.flags.writeable = False
        # The bot asks from worker threads: evict without assuming nobody else did.
        if len(self._filter_masks) >= _FILTER_CACHE:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                self._filter_masks.pop(next(iter(self._filter_masks)))
        self._filter_masks[key] = mask
        return mask

    def _allowed(
        self,
        filters: list[tuple[Relaxed, np.ndarray]],
        options: _Options,
        excluded: np.ndarray,
    ) -> tuple[np.ndarray | None, tuple[Relaxed, ...]]:
        """The mask a plan searches with, and the filters dropped to find anything.

        All filters if anything eligible is left; else the most filters that leave
        something, keeping the earlier ones first (decade, tempo, mood band).
        """
        if not filters:
            return options.allowed, ()
        if not self._any_eligible(options.allowed, excluded):
            return self._combined(filters, options), ()  # empty either way: not a relaxation
        names = [name for name, _ in filters]
        for size in range(len(filters), 0, -1):
            for kept in combinations(range(len(filters)), size):
                mask = self._combined([filters[i] for i in kept], options)
                if self._any_eligible(mask, excluded):
                    return mask, tuple(n for i, n in enumerate(names) if i not in kept)
        return options.allowed, tuple(names)

    def _combined(
        self, filters: Sequence[tuple[Relaxed, np.ndarray]], options: _Options
    ) -> np.ndarray:
        """The caller's mask and these filters, built once per call (so plans share it)."""
        key = tuple(name for name, _ in filters)
        mask = options.masks.get(key)
        if mask is None:
            mask = np.ones(len(self), dtype=bool) if options.allowed is None else options.allowed
            for _, part in filters:
                mask = mask & part
            mask.flags.writeable = False
            options.masks[key] = mask
        return mask

    def _any_eligible(self, mask: np.ndarray | None, excluded: np.ndarray) -> bool:
        count = len(self) if mask is None else int(np.count_nonzero(mask))
        if count > excluded.shape[0]:
            return True
        taken = excluded.shape[0] if mask is None else int(np.count_nonzero(mask[excluded]))
        return count > taken

    def _known_rows(self, steer: Steering, rated: Sequence[int]) -> np.ndarray:
        """Rows by the artists a listener knows: named ones and those of rated tracks."""
        if steering.exploration_weights(steer.exploration) == _NO_EXPLORATION:
            return _NONE
        index = self._artists_index()
        names = set(steer.known_artists)
        parts = [index[name] for name in names if name in index]
        rows = self._artist_rows_of(rated)
        if parts:
            rows = np.union1d(rows, np.concatenate(parts))
        return rows

    def _artist_rows_of(self, rows: Sequence[int]) -> np.ndarray:
        """Every row by an artist of any of ``rows``."""
        if not rows:
            return _NONE
        index = self._artists_index()
        names = {normalise_text(a) for row in rows for a in self.catalogue.artists[row]}
        parts = [index[name] for name in names if name in index]
        return np.unique(np.concatenate(parts)) if parts else _NONE

    def _artists_index(self) -> dict[str, np.ndarray]:
        """Normalised artist name to the rows crediting it (built once)."""
        if self._artist_rows is None:
            keys: dict[str, str] = {}
            rows: dict[str, list[int]] = {}
            for row, artists in enumerate(self.catalogue.artists):
                for artist in artists:
                    key = keys.get(artist)
                    if key is None:
                        key = keys[artist] = normalise_text(artist)
                    if key:
                        rows.setdefault(key, []).append(row)
            self._artist_rows = {k: np.array(v, dtype=np.int64) for k, v in rows.items()}
        return self._artist_rows

    def _direction(self, rows: Sequence[int]) -> np.ndarray:
        """Direction of the seeds' mean unit vector, ignoring featureless seeds.

        Normalised to unit length: the mean of several different seeds is short, and
        its raw cosines would fall below the similarity floor for every track (five
        seeds of one playlist average to length ~0.64, under the 0.78 floor), leaving
        popularity to rank everything.
        """
        usable = [row for row in rows if self.index.has_vector(row)]
        if not usable:
            raise NoFeaturesError("none of the seed tracks has audio features")
        unit = self.index.unit_vectors
        if len(usable) == 1:
            return np.array(unit[usable[0]], dtype=np.float32)  # already unit length
        return _unit(unit[usable].mean(axis=0))

    def _taste_rows(self, taste: Taste) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return tuple(self.row(s) for s in taste.liked), tuple(self.row(s) for s in taste.disliked)

    def _profile(self, liked: Sequence[int], disliked: Sequence[int]) -> TasteProfile | None:
        return TasteProfile.from_ratings(self.index.unit_vectors, liked, disliked)

    # -- boosts -------------------------------------------------------------------------

    @property
    def _playlist_groups(self) -> CoOccurrence | None:
        """Co-membership of tracks in the catalogue's playlists (``None`` without any)."""
        if self._playlists is None and self.catalogue.memberships:
            self._playlists = CoOccurrence(len(self.catalogue), self.catalogue.memberships)
        return self._playlists

    def _playlist_bonus(
        self, seed_rows: Sequence[int], weight: float, ignore: Sequence[str]
    ) -> Bonus | None:
        groups = self._playlist_groups
        if groups is None or weight <= 0 or not seed_rows:
            return None
        co = groups.scores(seed_rows, exclude_groups=ignore)
        if co.empty:
            return None
        return Bonus(co.rows, co.values * np.float32(weight))

    def _co_likes(self, seed_rows: Sequence[int], boosts: Boosts) -> tuple[Bonus | None, int]:
        """Tracks liked by the members who liked the seeds; nothing without enough of them."""
        if not boosts.likes or boosts.co_like_weight <= 0:
            return None, 0
        seeds = set(seed_rows)
        groups: dict[str, list[int]] = {}
        likers = 0
        for member, rows in boosts.likes.items():
            liked = sorted({int(r) for r in rows})
            groups[str(member)] = liked
            # A member counts when they liked a seed and something else besides.
            if seeds.intersection(liked) and len(set(liked) - seeds) > 0:
                likers += 1
        if likers < MIN_CO_LIKERS:
            return None, 0
        scores = CoOccurrence(len(self.catalogue), groups).scores(list(seed_rows))
        if scores.empty:
            return None, 0
        return Bonus(scores.rows, scores.values * np.float32(boosts.co_like_weight)), likers

    def _like_counts(self, likes: Mapping[Any, Sequence[int]]) -> dict[int, int]:
        """How many members liked each row."""
        counts: Counter[int] = Counter()
        for rows in likes.values():
            counts.update({int(r) for r in rows if 0 <= int(r) < len(self.catalogue)})
        return dict(counts)

    # -- answering ----------------------------------------------------------------------

    def _answer_all(self, plans: list[_Plan], options: _Options) -> list[Answer]:
        pools = self._search_all(plans, options)
        return [self._answer(plan, rows, options) for plan, rows in zip(plans, pools, strict=True)]

    def _search_all(self, plans: list[_Plan], options: _Options) -> list[np.ndarray]:
        """Each plan's candidate pool (one row per song), sharing scans where possible."""
        pool = options.pool
        out: list[np.ndarray | None] = [None] * len(plans)
        # Plans that rank alike share a scan: same alpha and mask, nothing to re-rank.
        groups: dict[tuple[float, int], list[int]] = {}
        for i, plan in enumerate(plans):
            if not plan.penalised:
                groups.setdefault((plan.index_alpha, id(plan.allowed)), []).append(i)
        for (alpha, _), positions in groups.items():
            if len(positions) == 1:
                continue  # answered below, with the same code as a shortfall
            results = self.index.search_batch(
                np.stack([plans[i].search for i in positions]),
                _with_margin(pool),
                alpha,
                excludes=[plans[i].excluded for i in positions],
                allowed=plans[positions[0]].allowed,
                bonuses=[plans[i].bonus for i in positions],
            )
            for i, result in zip(positions, results, strict=True):
                rows = self._one_per_song(result.rows)
                if rows.shape[0] >= pool or len(result) < _with_margin(pool):
                    out[i] = rows[:pool]
                else:  # releases of one song took many places: search wider
                    out[i] = self._pool(plans[i], pool, start=4 * pool)
        return [
            rows if rows is not None else self._pool(plan, pool)
            for plan, rows in zip(plans, out, strict=True)
        ]

    def _pool(
        self,
        plan: _Plan,
        size: int,
        *,
        by_sound: bool = False,
        start: int | None = None,
    ) -> np.ndarray:
        """The best ``size`` rows for a plan, one per song, searching wider when needed.

        ``by_sound`` ranks by raw closeness instead (the fallback): at alpha 1 with no
        bonus, tracks below the floor tie at 0 and the index breaks ties by cosine.

        A penalised plan (adventurous) ranks the scan's rows by ``scale * score -
        penalty``. A penalty only lowers scores, so a track not fetched scores at most
        ``scale`` times the lowest fetched index score: once the ``size``-th best
        penalised score reaches that bound, the pool is exact; else it widens.
        """
        penalised = plan.penalised and not by_sound
        wanted = size
        size = start or (4 * _with_margin(size) if penalised else _with_margin(size))
        while True:
            result = self.index.search(
                plan.search,
                size,
                1.0 if by_sound else plan.index_alpha,
                exclude=plan.excluded,
                allowed=plan.allowed,
                bonus=None if by_sound else plan.bonus,
            )
            exhausted = len(result) < size
            if not penalised:
                rows = self._one_per_song(result.rows)
                if rows.shape[0] >= wanted or exhausted:
                    return rows[:wanted]
            else:
                final = plan.scale * result.scores.astype(np.float64)
                final -= plan.penalty(result.rows, self.index.prior)
                order = np.argsort(-final, kind="stable")
                rows = self._one_per_song(result.rows[order])
                if exhausted:
                    return rows[:wanted]
                if rows.shape[0] >= wanted:
                    # rows[wanted - 1]'s final score: look it up by position in `order`.
                    position = int(np.flatnonzero(result.rows == rows[wanted - 1])[0])
                    if final[position] >= plan.scale * float(result.scores[-1]):
                        return rows[:wanted]
            size *= 2

    def _one_per_song(self, rows: np.ndarray) -> np.ndarray:
        """Keep the best placed release of each song (``rows`` is best first)."""
        if rows.shape[0] < 2:
            return rows
        seen: set[int] = set()
        keep: list[int] = []
        for i, group in enumerate(self.catalogue.duplicate_groups[rows].tolist()):
            if group not in seen:
                seen.add(group)
                keep.append(i)
        return rows if len(keep) == rows.shape[0] else rows[keep]

    def _answer(self, plan: _Plan, pool: np.ndarray, options: _Options) -> Answer:
        rows = self._chosen(plan, pool, options)
        parts = self._breakdowns(plan, rows)
        fallback: Fallback | None = None
        if plan.has_direction and rows.shape[0] and not any(earned for *_, earned in parts):
            # Only recent & popular ranked these: the list says nothing about the query.
            fallback = "closest"
            wide = self._pool(plan, options.pool, by_sound=True)
            rows = self._chosen(plan, wide, options, by_sound=True)
            parts = self._breakdowns(plan, rows)
        recommendations = tuple(
            Recommendation(
                rank=rank,
                row=int(row),
                track=self.catalogue.track(int(row)),
                score=breakdown.total,
                similarity=similarity,
                recency_popularity=float(self.index.prior[row]),
                breakdown=breakdown,
                likes=options.like_counts.get(int(row), 0),
                reasons=self._reasons(plan, int(row), breakdown, options, fallback)
                if options.explain
                else (),
            )
            for rank, (row, (breakdown, similarity, _)) in enumerate(
                zip(rows, parts, strict=True), start=1
            )
        )
        return Answer(
            recommendations,
            seeds=plan.seeds,
            fallback=fallback,
            taste_ratings=plan.taste_ratings,
            co_likers=plan.co_likers,
            steering=options.steer,
            relaxed=plan.relaxed,
        )

    def _chosen(
        self, plan: _Plan, pool: np.ndarray, options: _Options, *, by_sound: bool = False
    ) -> np.ndarray:
        """The ``k`` rows to show from a pool, re-ranked for variety when asked."""
        if not options.diversity.active or pool.shape[0] == 0:
            return pool[: options.k]
        unit = self.index.unit_vectors
        if by_sound:
            relevance = unit[pool] @ plan.search
        else:
            relevance = np.array([b.total for b, *_ in self._breakdowns(plan, pool)])
        keep = diversify(
            pool,
            relevance,
            unit,
            options.k,
            diversity=options.diversity.amount,
            max_per_artist=options.diversity.max_per_artist,
            artists=self.catalogue.artists,
        )
        return pool[keep]

    def _breakdowns(
        self, plan: _Plan, rows: np.ndarray
    ) -> list[tuple[ScoreBreakdown, float, bool]]:
        """Each row's score parts, its similarity to the seeds, and whether anything but
        popularity earned it a place."""
        if rows.shape[0] == 0:
            return []
        unit = self.index.unit_vectors[rows]
        similarity = self.index.calibration.similarity
        searched = similarity(unit @ plan.search).astype(np.float64)
        # The query before the steering targets moved it, and before the taste did.
        before = searched
        if plan.unsteered is not None:
            before = similarity(unit @ plan.unsteered).astype(np.float64)
        if plan.taste_only:
            sound = np.zeros_like(searched)
        elif plan.sound is not None:
            sound = similarity(unit @ plan.sound).astype(np.float64)
        else:
            sound = before
        alpha = plan.alpha
        prior = self.index.prior[rows].astype(np.float64)
        playlists = _values(plan.playlists, rows)
        liked_here = _values(plan.liked_here, rows)
        known_bonus = _values(plan.known_bonus, rows)
        steer = alpha * (searched - before) + plan.popularity_extra * prior + known_bonus
        if plan.penalised:
            steer = steer - plan.penalty(rows, self.index.prior)
        earned = (
            (alpha * searched > 0) | (alpha * sound > 0) | (playlists > 0) | (liked_here > 0)
        ) | (known_bonus > 0)
        columns = zip(
            (alpha * sound).tolist(),
            (alpha * (before - sound)).tolist(),
            ((1.0 - alpha) * prior).tolist(),
            playlists.tolist(),
            liked_here.tolist(),
            steer.tolist(),
            sound.tolist(),
            earned.tolist(),
            strict=True,
        )
        return [
            (ScoreBreakdown(*parts), similarity, earned) for *parts, similarity, earned in columns
        ]

    def _reasons(
        self,
        plan: _Plan,
        row: int,
        breakdown: ScoreBreakdown,
        options: _Options,
        fallback: Fallback | None,
    ) -> tuple[str, ...]:
        """Short, true phrases for what earned this suggestion its place."""
        out: list[str] = []
        if breakdown.sound > 0 and plan.seed_tracks:
            name, raw = self._closest_seed(plan, row)
            phrase = reasons.sound_reason(
                reasons.closest_features(self.scaler, raw, self.raw_features(row)), name
            )
            out.append(phrase or f"sounds like {name}")
        elif fallback == "closest":
            out.append("closest in sound, though not close")
        if breakdown.taste > 0:
            nearest = reasons.nearest_liked(self.index.unit_vectors, row, plan.liked_rows)
            if nearest is not None:
                out.append(f"because you liked {self.catalogue.names[nearest]}")
            else:
                out.append("fits your taste")
        if breakdown.playlists > 0:
            out.append("often in playlists together with " + self._seed_names(plan))
        if breakdown.liked_here > 0 and plan.seeds:
            out.append("liked along with " + self._seed_names(plan) + " here")
        likes = reasons.likes_reason(options.like_counts.get(row, 0))
        if likes:
            out.append(likes)
        out.extend(self._steer_reasons(plan, row, options))
        if not out and breakdown.recent_popular > 0:
            out.append("recent & popular")
        return tuple(out)

    def _steer_reasons(self, plan: _Plan, row: int, options: _Options) -> list[str]:
        """What the steering did for this suggestion, in words."""
        steer = options.steer
        if steer is None:
            return []
        out: list[str] = []
        asked = ", ".join(f"{name} {value:g}" for name, value in steer.targets.items())
        if plan.unsteered is not None and plan.alpha > 0:
            vector = self.index.unit_vectors[row]
            if float(vector @ plan.search) > float(vector @ plan.unsteered):
                out.append(f"closer to the {asked} you asked for")
        elif plan.band and "targets" not in plan.relaxed:
            out.append(f"fits the {asked} you asked for")
        known = _sorted_contains(plan.known_rows, row)
        if plan.known_bonus is not None and known:
            out.append("by an artist you have rated")
        elif steer.exploration == "adventurous" and plan.known_rows.shape[0] and not known:
            out.append("an artist you have not rated")
        return out

    def _closest_seed(self, plan: _Plan, row: int) -> tuple[str, np.ndarray]:
        if len(plan.seed_tracks) == 1 or not plan.seeds:
            return plan.seed_tracks[0]
        unit = self.index.unit_vectors
        best = int(np.argmax(unit[list(plan.seeds)] @ unit[row]))
        return plan.seed_tracks[best]

    def _seed_names(self, plan: _Plan) -> str:
        names = [name for name, _ in plan.seed_tracks]
        return names[0] if len(names) == 1 else "these songs"


def _with_margin(size: int) -> int:
    """Candidates to fetch for ``size`` distinct songs: a third of the shared dataset's
    top-10 lists hold two releases of one song, so ask for a few more at once (a
    wider top-k costs next to nothing; a second scan costs as much as the first)."""
    return size + max(5, size // 2)


def _values(bonus: Bonus | None, rows: np.ndarray) -> np.ndarray:
    if bonus is None:
        return np.zeros(rows.shape[0], dtype=np.float64)
    return bonus.values_for(rows).astype(np.float64)


def _sorted_contains(sorted_rows: np.ndarray, row: int) -> bool:
    position = int(np.searchsorted(sorted_rows, row))
    return position < sorted_rows.shape[0] and int(sorted_rows[position]) == row
