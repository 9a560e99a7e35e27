"""What each steering control does to the answers, measured offline.

Two parts (``python -m recommender evaluate --steering``; docs/steering.md):

* **Exploration** on the evaluation protocols (:mod:`~recommender.evaluation.protocols`,
  random seed 0): (A) seed-song and (B) continuation at each level, with and without
  the playlists signal, and (C) personalisation, where the member's ratings make the
  taste and name the artists they know. Reported: accuracy (NDCG), reach (coverage),
  how popular the answers are, and for (C) how many come from artists the member rated.
* **Targets and filters**: for a sample of (A)'s seed songs, the mean feature of the
  answers with each target at 0.1 / 0.5 / 0.9 against none (a target must move the
  answers its way, and say how far), their similarity to the seed, and the share of
  answers inside each tempo range and decade with and without the filter.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.answer import Answer
from recommender.catalogue import Catalogue
from recommender.engine import DEFAULT_ALPHA, DEFAULT_PLAYLIST_WEIGHT, Recommender
from recommender.evaluation import metrics as m
from recommender.evaluation.protocols import (
    Member,
    Query,
    continuation_queries,
    personalisation_members,
    seed_song_queries,
)
from recommender.features import FEATURE_NAMES
from recommender.popularity import PopularityWeighting
from recommender.query import EXPLORATION_LEVELS, TARGET_FEATURES, Boosts, Seeds, Steering, Taste

TARGET_VALUES: tuple[float, ...] = (0.1, 0.5, 0.9)
TEMPO_RANGES: tuple[tuple[float, float], ...] = ((60, 90), (90, 120), (120, 150), (150, 180))
DECADES: tuple[int, ...] = (1970, 1980, 1990, 2000, 2010)
TARGET_QUERIES = 500
"""Seed songs the target and filter checks use (a fixed sample of protocol A's)."""


@dataclass
class SteeringConfig:
    """What to run: the engine's defaults unless told otherwise."""

    as_of: dt.date
    half_life_years: float = 10.0
    alpha: float = DEFAULT_ALPHA
    playlist_weight: float = DEFAULT_PLAYLIST_WEIGHT
    random_seed: int = 0
    target_queries: int = TARGET_QUERIES
    playlist_order: dict[str, np.ndarray] | None = None


@dataclass
class SteeringReport:
    """Every measured number, keyed as the tables show them."""

    config: SteeringConfig
    tracks: int
    queries: dict[str, int] = field(default_factory=dict)
    # protocol -> variant -> level -> metric -> value
    exploration: dict[str, dict[str, dict[str, dict[str, float]]]] = field(default_factory=dict)
    # variant -> feature -> setting ("none" or the target) -> (mean feature, mean similarity)
    targets: dict[str, dict[str, dict[str, tuple[float, float]]]] = field(default_factory=dict)
    # "tempo 90-120" / "1990s" -> (share inside without, share inside with, share relaxed)
    filters: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of everything measured."""
        return {
            "tracks": self.tracks,
            "alpha": self.config.alpha,
            "playlist_weight": self.config.playlist_weight,
            "random_seed": self.config.random_seed,
            "as_of": self.config.as_of.isoformat(),
            "queries": self.queries,
            "exploration": self.exploration,
            "targets": {
                variant: {
                    feature: {s: {"mean": v[0], "similarity": v[1]} for s, v in by.items()}
                    for feature, by in features.items()
                }
                for variant, features in self.targets.items()
            },
            "filters": {
                name: {"inside_without": a, "inside_with": b, "relaxed": c}
                for name, (a, b, c) in self.filters.items()
            },
            "seconds": round(self.seconds, 1),
        }


def _variants(config: SteeringConfig) -> dict[str, float]:
    return {
        "sound and popularity": 0.0,
        f"+ playlists {config.playlist_weight:g}": config.playlist_weight,
    }


def _rows(answers: Sequence[Answer]) -> list[np.ndarray]:
    return [np.array(a.rows, dtype=np.int64) for a in answers]


def _popularity(catalogue: Catalogue, lists: Sequence[np.ndarray]) -> float:
    """Mean Spotify popularity (0-100, known values) of every answer."""
    values = np.concatenate([catalogue.popularity[r] for r in lists if r.shape[0]])
    return float(np.nanmean(values)) if values.shape[0] else float("nan")


def _prior(recommender: Recommender, lists: Sequence[np.ndarray]) -> float:
    return float(np.mean(np.concatenate([recommender.recency_popularity[r] for r in lists])))


def _seed_song(
    recommender: Recommender, queries: Sequence[Query], lists: Sequence[np.ndarray]
) -> dict[str, float]:
    catalogue = recommender.catalogue
    pairs = list(zip(lists, queries, strict=True))
    return {
        "ndcg@10": float(np.mean([m.ndcg_at(r, q.relevant, 10) for r, q in pairs])),
        "hit@10": float(np.mean([m.hit_rate_at(r, q.relevant, 10) for r, q in pairs])),
        "coverage@10": m.coverage(lists, len(catalogue), 10),
        "artist_diversity@10": float(
            np.mean([m.artist_diversity(r, catalogue.artists, 10) for r in lists])
        ),
        "recent_popular": _prior(recommender, lists),
        "popularity": _popularity(catalogue, lists),
    }


def _continuation(
    recommender: Recommender, queries: Sequence[Query], lists: Sequence[np.ndarray]
) -> dict[str, float]:
    pairs = list(zip(lists, queries, strict=True))
    return {
        "r_precision": float(np.mean([m.r_precision(r, q.relevant) for r, q in pairs])),
        "ndcg@100": float(np.mean([m.ndcg_at(r, q.relevant, q.k) for r, q in pairs])),
        "coverage@100": m.coverage(lists, len(recommender.catalogue), 100),
        "recent_popular": _prior(recommender, lists),
        "popularity": _popularity(recommender.catalogue, lists),
    }


def _personal(
    recommender: Recommender, members: Sequence[Member], level: str, alpha: float, weight: float
) -> dict[str, float]:
    catalogue = recommender.catalogue
    lists: list[np.ndarray] = []
    known_share: list[float] = []
    steer = Steering(exploration=level)  # type: ignore[arg-type]
    for member in members:
        q = member.query
        rated = [*member.liked, *member.disliked]
        answer = recommender.recommend(
            Seeds(q.seeds, ignore_playlists=q.holdout),
            q.k,
            alpha=alpha,
            taste=Taste(member.liked, member.disliked),
            exclude=rated,
            boosts=Boosts(playlist_weight=weight),
            steer=steer,
        )
        rows = np.array(answer.rows, dtype=np.int64)
        lists.append(rows)
        known = {artist for r in rated for artist in catalogue.artists[r]}
        if rows.shape[0]:
            hits = [bool(known.intersection(catalogue.artists[int(r)])) for r in rows]
            known_share.append(float(np.mean(hits)))
    pairs = list(zip(lists, members, strict=True))
    return {
        "ndcg@10": float(np.mean([m.ndcg_at(r, mb.query.relevant, 10) for r, mb in pairs])),
        "hit@10": float(np.mean([m.hit_rate_at(r, mb.query.relevant, 10) for r, mb in pairs])),
        "rated_artists": float(np.mean(known_share)) if known_share else 0.0,
        "recent_popular": _prior(recommender, lists),
        "popularity": _popularity(catalogue, lists),
    }


def _explore(
    recommender: Recommender,
    config: SteeringConfig,
    report: SteeringReport,
    say: Callable[[str], None],
) -> None:
    catalogue = recommender.catalogue
    seed_queries = seed_song_queries(catalogue, config.random_seed)
    continuation = continuation_queries(catalogue, playlist_order=config.playlist_order)
    members = personalisation_members(catalogue, config.random_seed)
    report.queries.update(A=len(seed_queries), B=len(continuation), C=len(members))
    for variant, weight in _variants(config).items():
        boosts = Boosts(playlist_weight=weight)
        for protocol, queries in (("A", seed_queries), ("B", continuation)):
            for level in EXPLORATION_LEVELS:
                say(f"exploration {protocol} {variant} {level}")
                answers = recommender.recommend(
                    [Seeds(q.seeds, ignore_playlists=q.holdout) for q in queries],
                    k=queries[0].k,
                    alpha=config.alpha,
                    boosts=boosts,
                    steer=Steering(exploration=level),  # type: ignore[arg-type]
                )
                score = _seed_song if protocol == "A" else _continuation
                results = score(recommender, queries, _rows(answers))
                report.exploration.setdefault(protocol, {}).setdefault(variant, {})[level] = results
        for level in EXPLORATION_LEVELS:
            say(f"exploration C {variant} {level}")
            results = _personal(recommender, members, level, config.alpha, weight)
            report.exploration.setdefault("C", {}).setdefault(variant, {})[level] = results


def _target_seeds(catalogue: Catalogue, config: SteeringConfig) -> list[Query]:
    queries = seed_song_queries(catalogue, config.random_seed)
    rng = np.random.default_rng(config.random_seed)
    if len(queries) > config.target_queries:
        chosen = sorted(rng.choice(len(queries), config.target_queries, replace=False))
        queries = [queries[i] for i in chosen]
    return queries


def _targets(
    recommender: Recommender,
    config: SteeringConfig,
    report: SteeringReport,
    say: Callable[[str], None],
) -> None:
    catalogue = recommender.catalogue
    queries = _target_seeds(catalogue, config)
    report.queries["targets"] = len(queries)
    seeds = [Seeds(q.seeds, ignore_playlists=q.holdout) for q in queries]

    def ask(steer: Steering | None, weight: float) -> list[Answer]:
        return recommender.recommend(
            seeds, k=10, alpha=config.alpha, boosts=Boosts(playlist_weight=weight), steer=steer
        )

    for variant, weight in _variants(config).items():
        say(f"targets {variant}")
        plain = ask(None, weight)
        by_feature: dict[str, dict[str, tuple[float, float]]] = {}
        for name in TARGET_FEATURES:
            column = catalogue.features[:, FEATURE_NAMES.index(name)]
            settings: dict[str, Steering | None] = {"none": None}
            settings.update({f"{v:g}": Steering({name: v}) for v in TARGET_VALUES})
            by_feature[name] = {}
            for label, steer in settings.items():
                answers = plain if steer is None else ask(steer, weight)
                mean = float(np.mean([column[a.rows].mean() for a in answers if len(a)]))
                similarity = float(np.mean([r.similarity for a in answers for r in a]))
                by_feature[name][label] = (mean, similarity)
        report.targets[variant] = by_feature
    _filters(recommender, config, report, queries, say)


def _filters(
    recommender: Recommender,
    config: SteeringConfig,
    report: SteeringReport,
    queries: Sequence[Query],
    say: Callable[[str], None],
) -> None:
    """Share of answers inside each tempo range and decade, without and with the filter."""
    catalogue = recommender.catalogue
    seeds = [Seeds(q.seeds, ignore_playlists=q.holdout) for q in queries]
    boosts = Boosts(playlist_weight=config.playlist_weight)
    plain = recommender.recommend(seeds, k=10, alpha=config.alpha, boosts=boosts)
    tempo = catalogue.features[:, FEATURE_NAMES.index("tempo")]
    years = np.array([t.year or 0 for t in catalogue.tracks()], dtype=np.int64)
    checks: list[tuple[str, Steering, np.ndarray]] = []
    for low, high in TEMPO_RANGES:
        with np.errstate(invalid="ignore"):
            inside = (tempo >= low) & (tempo <= high)
        checks.append((f"tempo {low:g}-{high:g} BPM", Steering(tempo=(low, high)), inside))
    for decade in DECADES:
        inside = (years >= decade) & (years <= decade + 9)
        checks.append((f"{decade}s", Steering(decade=decade), inside))
    for name, steer, inside in checks:
        say(f"filter {name}")
        answers = recommender.recommend(seeds, k=10, alpha=config.alpha, boosts=boosts, steer=steer)
        report.filters[name] = (
            float(np.mean([inside[a.rows].mean() for a in plain if len(a)])),
            float(np.mean([inside[a.rows].mean() for a in answers if len(a)])),
            float(np.mean([bool(a.relaxed) for a in answers])),
        )


def evaluate_steering(
    catalogue: Catalogue,
    config: SteeringConfig,
    progress: Callable[[str], None] | None = None,
) -> SteeringReport:
    """Measure every steering control on ``catalogue`` (which needs playlists)."""
    if not catalogue.memberships:
        raise ValueError("the catalogue has no playlist membership to evaluate against")
    started = time.perf_counter()
    say = progress or (lambda _: None)
    weighting = PopularityWeighting(half_life_years=config.half_life_years, as_of=config.as_of)
    recommender = Recommender(catalogue, weighting=weighting)
    report = SteeringReport(config, len(catalogue))
    _explore(recommender, config, report, say)
    _targets(recommender, config, report, say)
    report.seconds = time.perf_counter() - started
    return report


# -- the document ---------------------------------------------------------------------------

_METRIC_TITLES = {
    "ndcg@10": "NDCG@10",
    "hit@10": "hit@10",
    "coverage@10": "coverage@10",
    "artist_diversity@10": "artist diversity@10",
    "r_precision": "R-precision",
    "ndcg@100": "NDCG@100",
    "coverage@100": "coverage@100",
    "rated_artists": "by a rated artist",
    "recent_popular": "recent & popular (0-1)",
    "popularity": "Spotify popularity (0-100)",
}
_PROTOCOL_TITLES = {
    "A": "(A) seed-song: top 10 for one seed",
    "B": "(B) continuation: top 100 for a playlist's first 5 tracks",
    "C": "(C) personalisation: seed + the member's ratings (their artists are the known ones)",
}


def _moved(by: dict[str, tuple[float, float]]) -> str:
    low, none, high = by[f"{TARGET_VALUES[0]:g}"][0], by["none"][0], by[f"{TARGET_VALUES[-1]:g}"][0]
    return "yes" if high > none > low else "**no**"


def render_steering(report: SteeringReport, command: str, kept: str = "") -> str:
    """docs/steering.md: the generated tables, then ``kept`` (text after the marker)."""
    from recommender.evaluation.report import GENERATED_END

    config = report.config
    lines = [
        "# Steering: what each control does, measured offline",
        "",
        "Generated by:",
        "",
        "```",
        command,
        "```",
        "",
        f"{report.tracks:,} tracks; alpha {config.alpha:g}; playlists weight "
        f"{config.playlist_weight:g} where shown; popularity as of {config.as_of.isoformat()}, "
        f"half-life {config.half_life_years:g} years; random seed {config.random_seed}; "
        f"{report.seconds:.0f} s.",
        "",
        "## Exploration",
        "",
    ]
    for protocol in ("A", "B", "C"):
        variants = report.exploration.get(protocol)
        if not variants:
            continue
        noun = "members" if protocol == "C" else "queries"
        lines += [f"### {_PROTOCOL_TITLES[protocol]} ({report.queries[protocol]} {noun})", ""]
        metrics = list(next(iter(next(iter(variants.values())).values())))
        header = ["signals", "exploration", *(_METRIC_TITLES[m] for m in metrics)]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for variant, levels in variants.items():
            for level, values in levels.items():
                cells = [
                    f"{values[m]:.1f}" if m == "popularity" else f"{values[m]:.4f}" for m in metrics
                ]
                name = f"**{level}**" if level != "balanced" else "balanced (default)"
                lines.append("| " + " | ".join([variant, name, *cells]) + " |")
        lines.append("")
    lines += [
        "## Mood targets",
        "",
        f"{report.queries.get('targets', 0)} seed songs (a fixed sample of (A)'s); each cell "
        "is the mean feature of the top 10, and in brackets their mean similarity to the "
        "seed (0-1). *Moved*: the answers' mean is higher with the target at "
        f"{TARGET_VALUES[-1]:g} than with none, and lower at {TARGET_VALUES[0]:g}.",
        "",
    ]
    for variant, features in report.targets.items():
        settings = ["none", *(f"{v:g}" for v in TARGET_VALUES)]
        header = ["feature", *(f"target {s}" if s != "none" else "no target" for s in settings)]
        lines += [f"### {variant}", "", "| " + " | ".join([*header, "moved?"]) + " |"]
        lines.append("|" + "---|" * (len(header) + 1))
        for name, by in features.items():
            cells = [f"{by[s][0]:.3f} ({by[s][1]:.2f})" for s in settings]
            lines.append("| " + " | ".join([name, *cells, _moved(by)]) + " |")
        lines.append("")
    lines += [
        "## Tempo and decade filters",
        "",
        "Share of the top 10 inside the range, for the same seed songs (with the playlists "
        "signal), without and with the filter; *relaxed*: share of answers where nothing "
        "matched and the filter was dropped.",
        "",
        "| filter | inside without | inside with | relaxed |",
        "|---|---|---|---|",
    ]
    for name, (without, with_, relaxed) in report.filters.items():
        lines.append(f"| {name} | {without:.3f} | {with_:.3f} | {relaxed:.3f} |")
    lines += ["", GENERATED_END]
    text = "\n".join(lines) + "\n"
    return text + kept if kept else text
