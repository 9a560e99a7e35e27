"""Run every protocol and method over several random seeds; summarise as mean ± std.

One :func:`evaluate` call loads nothing itself: it takes a catalogue, builds the
query sets of each seed, tunes the membership weight on a split of the playlists
(unless given), ranks with every method and scores the lists.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.catalogue import Catalogue
from recommender.engine import DEFAULT_ALPHA, NoFeaturesError, Recommender
from recommender.evaluation import metrics as m
from recommender.evaluation.baselines import (
    DiverseEngineMethod,
    EngineMethod,
    Method,
    PopularityMethod,
    baseline_methods,
)
from recommender.evaluation.protocols import (
    EvaluationProtocol,
    Member,
    Query,
    continuation_queries,
    personalisation_members,
    seed_song_queries,
)
from recommender.popularity import PopularityWeighting
from recommender.query import Boosts, Seeds, Taste

log = logging.getLogger(__name__)

DATASET_DATE = dt.date(2020, 1, 21)
"""When the TidyTuesday dataset was collected: popularity ages are measured from it."""
TUNE_SEED = 2018
"""Random seed of the tuning split and its queries (never one of the evaluation seeds)."""
TUNE_GRID: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
PROTOCOLS: tuple[EvaluationProtocol, ...] = tuple(EvaluationProtocol)


@dataclass
class EvaluationConfig:
    """What to run; ``membership_weight=None`` tunes it on a split of the playlists."""

    protocols: tuple[EvaluationProtocol, ...] = PROTOCOLS
    seeds: int = 3
    as_of: dt.date = DATASET_DATE
    half_life_years: float = 10.0
    membership_weight: float | None = None
    tune_grid: tuple[float, ...] = TUNE_GRID
    default_alpha: float = DEFAULT_ALPHA
    playlist_order: dict[str, np.ndarray] | None = None


@dataclass
class Tuning:
    """How the membership weight was chosen."""

    alpha: float
    grid: dict[float, float]
    chosen: float
    tune_playlists: int
    check_ndcg: float
    check_ndcg_without: float
    check_playlists: int


@dataclass
class EvaluationReport:
    """Per protocol, per method, per metric: one value per random seed."""

    config: EvaluationConfig
    tracks: int
    playlists: int
    has_membership: bool
    membership_weight: float
    queries: dict[EvaluationProtocol, int] = field(default_factory=dict)
    results: dict[EvaluationProtocol, dict[str, dict[str, list[float]]]] = field(
        default_factory=dict
    )
    tuning: Tuning | None = None
    seconds: float = 0.0

    def summary(self) -> dict[EvaluationProtocol, dict[str, dict[str, tuple[float, float]]]]:
        """Mean and (population) standard deviation over the seeds."""
        return {
            protocol: {
                method: {
                    metric: (float(np.mean(values)), float(np.std(values)))
                    for metric, values in by_metric.items()
                }
                for method, by_metric in by_method.items()
            }
            for protocol, by_method in self.results.items()
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the configuration, tuning and summary."""
        return {
            "tracks": self.tracks,
            "playlists": self.playlists,
            "has_membership": self.has_membership,
            "membership_weight": self.membership_weight,
            "default_alpha": self.config.default_alpha,
            "seeds": list(range(self.config.seeds)),
            "as_of": self.config.as_of.isoformat(),
            "half_life_years": self.config.half_life_years,
            "queries": self.queries,
            "tuning": None
            if self.tuning is None
            else {
                "alpha": self.tuning.alpha,
                "grid": {str(w): v for w, v in self.tuning.grid.items()},
                "chosen": self.tuning.chosen,
                "tune_playlists": self.tuning.tune_playlists,
                "check_playlists": self.tuning.check_playlists,
                "check_ndcg@10": self.tuning.check_ndcg,
                "check_ndcg@10_without_membership": self.tuning.check_ndcg_without,
            },
            "results": {
                protocol: {
                    method: {
                        metric: {
                            "mean": mu,
                            "std": sd,
                            "per_seed": self.results[protocol][method][metric],
                        }
                        for metric, (mu, sd) in ms.items()
                    }
                    for method, ms in by_method.items()
                }
                for protocol, by_method in self.summary().items()
            },
            "seconds": round(self.seconds, 1),
        }


# -- scoring -----------------------------------------------------------------------------


def genres_by_row(catalogue: Catalogue) -> dict[int, frozenset[str]]:
    """The playlist genres each row appears under."""
    genres: dict[int, set[str]] = {}
    for pid, rows in catalogue.memberships.items():
        playlist = catalogue.playlists.get(pid)
        if playlist is None or not playlist.genre:
            continue
        for row in rows:
            genres.setdefault(int(row), set()).add(playlist.genre)
    return {row: frozenset(g) for row, g in genres.items()}


def score_seed_song(
    catalogue: Catalogue,
    queries: Sequence[Query],
    lists: Sequence[np.ndarray],
    genres: dict[int, frozenset[str]],
) -> dict[str, float]:
    """Protocol (A) metrics of one method's lists."""
    k = 10
    pairs = list(zip(lists, queries, strict=True))
    return {
        "precision@10": float(np.mean([m.precision_at(r, q.relevant, k) for r, q in pairs])),
        "ndcg@10": float(np.mean([m.ndcg_at(r, q.relevant, k) for r, q in pairs])),
        "hit@10": float(np.mean([m.hit_rate_at(r, q.relevant, k) for r, q in pairs])),
        "genre_hit@10": float(np.mean([m.genre_hit_at(r, q.genre, genres, k) for r, q in pairs])),
        "artist_diversity@10": float(
            np.mean([m.artist_diversity(r, catalogue.artists, k) for r, _ in pairs])
        ),
        "coverage@10": m.coverage(lists, len(catalogue), k),
    }


def score_continuation(queries: Sequence[Query], lists: Sequence[np.ndarray]) -> dict[str, float]:
    """Protocol (B) metrics of one method's lists (RecSys 2018, track level)."""
    pairs = list(zip(lists, queries, strict=True))
    return {
        "r_precision": float(np.mean([m.r_precision(r, q.relevant) for r, q in pairs])),
        "ndcg@100": float(np.mean([m.ndcg_at(r, q.relevant, q.k) for r, q in pairs])),
        "clicks": float(np.mean([m.clicks(r, q.relevant) for r, q in pairs])),
    }


def score_personal(queries: Sequence[Query], lists: Sequence[np.ndarray]) -> dict[str, float]:
    """Protocol (C) metrics: the held-out tracks of the liked playlist."""
    pairs = list(zip(lists, queries, strict=True))
    return {
        "ndcg@10": float(np.mean([m.ndcg_at(r, q.relevant, q.k) for r, q in pairs])),
        "precision@10": float(np.mean([m.precision_at(r, q.relevant, q.k) for r, q in pairs])),
        "hit@10": float(np.mean([m.hit_rate_at(r, q.relevant, q.k) for r, q in pairs])),
    }


# -- tuning ------------------------------------------------------------------------------


def split_playlists(catalogue: Catalogue, min_tracks: int = 10) -> tuple[set[str], set[str]]:
    """A fixed 50/50 split (``TUNE_SEED``) of the playlists eligible for (A)."""
    eligible = sorted(p for p, rows in catalogue.memberships.items() if len(rows) >= min_tracks)
    order = np.random.default_rng(TUNE_SEED).permutation(len(eligible))
    half = len(eligible) // 2
    return {eligible[i] for i in order[:half]}, {eligible[i] for i in order[half:]}


def tune_membership_weight(recommender: Recommender, alpha: float, grid: Sequence[float]) -> Tuning:
    """Pick the weight maximising (A) NDCG@10 on the tuning half of the playlists.

    The tuning queries use ``TUNE_SEED`` for their seed tracks; the other half of the
    playlists (also ``TUNE_SEED`` seeds) reports how the choice generalises.
    """
    catalogue = recommender.catalogue
    tune, check = split_playlists(catalogue)
    queries = seed_song_queries(catalogue, TUNE_SEED)
    tune_q = [q for q in queries if q.playlist_id in tune]
    check_q = [q for q in queries if q.playlist_id in check]

    def ndcg(weight: float, qs: list[Query]) -> float:
        lists = EngineMethod("tune", recommender, alpha, weight).rank(qs)
        return float(
            np.mean([m.ndcg_at(r, q.relevant, 10) for r, q in zip(lists, qs, strict=True)])
        )

    scores = {float(w): ndcg(w, tune_q) for w in grid}
    best = max(scores.values())
    # The smallest weight within 1% of the best: no more membership than it earns.
    chosen = min(w for w, v in scores.items() if v >= 0.99 * best)
    return Tuning(
        alpha,
        scores,
        chosen,
        len(tune),
        ndcg(chosen, check_q),
        ndcg(0.0, check_q),
        len(check),
    )


# -- the run -----------------------------------------------------------------------------


def _fmt(alpha: float) -> str:
    return f"{alpha:g}"


def engine_methods(
    recommender: Recommender,
    weight: float,
    has_membership: bool,
    default_alpha: float,
) -> list[Method]:
    """This engine at alpha 1.0 / 0.7 / 0.5 (and the default), with and without membership,
    plus the bot's diversity re-ranking at the default alpha."""
    alphas = sorted({1.0, 0.7, 0.5, default_alpha}, reverse=True)
    methods: list[Method] = []
    for alpha in alphas:
        mark = " (default)" if alpha == default_alpha else ""
        methods.append(EngineMethod(f"engine alpha {_fmt(alpha)}{mark}", recommender, alpha))
    if has_membership:
        for alpha in alphas:
            mark = " (default)" if alpha == default_alpha else ""
            methods.append(
                EngineMethod(
                    f"engine alpha {_fmt(alpha)}{mark} + membership {weight:g}",
                    recommender,
                    alpha,
                    weight,
                )
            )
    diverse = f"engine alpha {_fmt(default_alpha)} + diversity 0.3, max 2 per artist"
    methods.append(DiverseEngineMethod(diverse, recommender, default_alpha))
    if has_membership:
        methods.append(
            DiverseEngineMethod(
                f"{diverse} + membership {weight:g}", recommender, default_alpha, weight
            )
        )
    return methods


def personal_lists(
    recommender: Recommender, members: Sequence[Member], alpha: float, weight: float
) -> dict[str, list[np.ndarray]]:
    """Protocol (C): each variant's top 10 for every member (rated tracks excluded)."""
    popular = PopularityMethod(recommender.catalogue)
    boosts = Boosts(playlist_weight=weight)
    out: dict[str, list[np.ndarray]] = {
        "seed only": [],
        "seed + profile (likes and dislikes)": [],
        "seed + profile (likes only)": [],
        "profile alone": [],
        "popularity (cold start)": [],
    }
    for member in members:
        q = member.query
        rated = [*member.liked, *member.disliked]
        seeds = Seeds(q.seeds, ignore_playlists=q.holdout)

        def run(
            query: Seeds | Taste, taste: Taste | None = None, k: int = q.k, rated: list[int] = rated
        ) -> np.ndarray:
            answer = recommender.recommend(
                query, k, alpha=alpha, taste=taste, exclude=rated, boosts=boosts
            )
            return np.array(answer.rows, dtype=np.int64)

        full = Taste(member.liked, member.disliked)
        out["seed only"].append(run(seeds))
        out["seed + profile (likes and dislikes)"].append(run(seeds, full))
        out["seed + profile (likes only)"].append(run(seeds, Taste(member.liked)))
        try:
            out["profile alone"].append(run(full))
        except NoFeaturesError:  # no rated track has features: nothing to go on
            out["profile alone"].append(np.empty(0, dtype=np.int64))
        head = popular.rank([q])[0]
        out["popularity (cold start)"].append(head[~np.isin(head, rated)][: q.k])
    return out


def evaluate(
    catalogue: Catalogue,
    config: EvaluationConfig,
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Run the configured protocols over ``config.seeds`` random seeds."""
    started = time.perf_counter()
    say = progress or log.info
    weighting = PopularityWeighting(half_life_years=config.half_life_years, as_of=config.as_of)
    recommender = Recommender(catalogue, weighting=weighting)
    has_membership = bool(catalogue.memberships)
    if not has_membership:
        raise ValueError("the catalogue has no playlist membership to evaluate against")
    tuning = None
    weight = config.membership_weight
    if weight is None:
        say(f"tuning the membership weight at alpha {config.default_alpha:g}")
        tuning = tune_membership_weight(recommender, config.default_alpha, config.tune_grid)
        weight = tuning.chosen
    report = EvaluationReport(
        config, len(catalogue), len(catalogue.memberships), has_membership, weight, tuning=tuning
    )
    genres = genres_by_row(catalogue)
    continuation = (
        continuation_queries(catalogue, playlist_order=config.playlist_order)
        if EvaluationProtocol.CONTINUATION in config.protocols
        else []
    )
    if continuation:
        report.queries[EvaluationProtocol.CONTINUATION] = len(continuation)
    for seed in range(config.seeds):
        methods = [
            *baseline_methods(catalogue, recommender.recency_popularity, seed),
            *engine_methods(recommender, weight, has_membership, config.default_alpha),
        ]
        if EvaluationProtocol.SEED_SONG in config.protocols:
            queries = seed_song_queries(catalogue, seed)
            report.queries[EvaluationProtocol.SEED_SONG] = len(queries)
            for method in methods:
                say(f"seed {seed} A {method.name}")
                scores = score_seed_song(catalogue, queries, method.rank(queries), genres)
                _record(report, EvaluationProtocol.SEED_SONG, method.name, scores)
        if continuation:
            for method in methods:
                say(f"seed {seed} B {method.name}")
                _record(
                    report,
                    EvaluationProtocol.CONTINUATION,
                    method.name,
                    score_continuation(continuation, method.rank(continuation)),
                )
        if EvaluationProtocol.PERSONALISATION in config.protocols:
            members = personalisation_members(catalogue, seed)
            report.queries[EvaluationProtocol.PERSONALISATION] = len(members)
            settings = [(config.default_alpha, 0.0), (1.0, 0.0), (config.default_alpha, weight)]
            for alpha, w in settings:
                say(f"seed {seed} C alpha {alpha:g} membership {w:g}")
                suffix = f"alpha {_fmt(alpha)}" + (f" + membership {w:g}" if w else "")
                for variant, lists in personal_lists(recommender, members, alpha, w).items():
                    scores = score_personal([mb.query for mb in members], lists)
                    _record(
                        report, EvaluationProtocol.PERSONALISATION, f"{variant}, {suffix}", scores
                    )
    report.seconds = time.perf_counter() - started
    return report


def _record(
    report: EvaluationReport,
    protocol: EvaluationProtocol,
    method: str,
    scores: dict[str, float],
) -> None:
    by_method = report.results.setdefault(protocol, {}).setdefault(method, {})
    for metric, value in scores.items():
        by_method.setdefault(metric, []).append(value)
