"""``python -m recommender recommend``: suggestions from a catalogue file.

Every format carries the same columns: each suggestion's similarity and the parts of
its score (``sound + taste + recent_popular + playlists + liked_here + steer = score``),
the seed songs the text resolved to, and the steering asked for (mood targets, tempo,
decade, exploration) with any filter that matched nothing and was dropped.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, get_args

from recommender.answer import BREAKDOWN_PARTS, Answer, Relaxed
from recommender.catalogue import Catalogue
from recommender.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from recommender.engine import (
    DEFAULT_ALPHA,
    DEFAULT_PLAYLIST_WEIGHT,
    NoFeaturesError,
    Recommender,
    Seeds,
)
from recommender.loaders import CatalogueFormatError, load_catalogue
from recommender.popularity import PopularityWeighting
from recommender.query import EXPLORATION_LEVELS, MAX_SEEDS, TARGET_FEATURES, Steering
from recommender.resolve import SongResolver
from recommender.steering import parse_decade, parse_tempo

MAX_K = 500
BATCH_SIZE = 256
FALLBACK_NOTE = (
    "nothing in this catalogue sounds close to the seed (no similarity above the "
    "floor): these are the closest by raw sound, not close matches"
)
RELAXED_WORDS: dict[str, str] = {
    "tempo": "the tempo range",
    "decade": "the decade",
    "targets": "the mood targets",
}
assert set(RELAXED_WORDS) == set(get_args(Relaxed))
# The row columns of every format, in order; the table leaves out the two raw ids/values
# it has no room for (track_id, recency_popularity) but keeps every score part.
COLUMNS: tuple[str, ...] = (
    "rank",
    "track_id",
    "track",
    "artists",
    "year",
    "similarity",
    "recency_popularity",
    *BREAKDOWN_PARTS,
    "score",
)
TABLE_COLUMNS: tuple[str, ...] = tuple(
    c for c in COLUMNS if c not in ("track_id", "recency_popularity")
)
COLUMNS_PARTS = frozenset(BREAKDOWN_PARTS)
STEERING_KEYS: tuple[str, ...] = (*TARGET_FEATURES, "tempo", "decade", "explore")
"""Keys of a ``--seeds-file`` line that steer it, like the options of the same names."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``recommend`` sub-command."""
    parser = subparsers.add_parser(
        "recommend",
        help="recommend tracks from a catalogue file",
        description=(
            "Recommend tracks that sound like one to five seed songs, blended with "
            "recent & popular tracks (alpha) and, when the catalogue has playlists, "
            "tracks often in playlists with the seeds (--playlist-weight). Seeds are "
            "Spotify ids, URIs, links, or names ('name' or 'name - artist')."
        ),
    )
    parser.add_argument(
        "--catalog",
        "--catalogue",
        required=True,
        metavar="FILE",
        help="CSV (or .csv.gz) catalogue: TidyTuesday, Exportify, Hit Predictor or `fetch` output",
    )
    seeds = parser.add_mutually_exclusive_group(required=True)
    seeds.add_argument(
        "--song",
        action="append",
        metavar="TEXT",
        help=f"a seed song; repeat for several (up to {MAX_SEEDS}; their sound is averaged)",
    )
    seeds.add_argument(
        "--seeds-file",
        metavar="QUERIES.jsonl",
        help=(
            'batch mode: one {"query_id", "seeds": [track ids or names], "k", '
            "\"holdout_playlists\": [playlist ids]} per line ('-' for stdin); the "
            "playlists signal ignores a line's holdout playlists"
        ),
    )
    parser.add_argument("-k", type=int, default=10, help="number of suggestions (default 10)")
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help=(
            "weight of sound similarity against recent & popular, 0-1 "
            f"(default {DEFAULT_ALPHA}); the playlists part is added on top"
        ),
    )
    parser.add_argument(
        "--half-life",
        type=float,
        default=10.0,
        metavar="YEARS",
        help="popularity half-life in years (default 10)",
    )
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        metavar="DATE",
        help="date ages are measured from (default today)",
    )
    parser.add_argument(
        "--playlist-weight",
        "--membership-weight",
        dest="playlist_weight",
        type=float,
        default=None,
        metavar="W",
        help=(
            "weight of 'often in playlists together' (co-membership with the seeds, "
            "0-1) added to the score when the catalogue has playlist columns "
            f"(default {DEFAULT_PLAYLIST_WEIGHT:g}; 0 turns it off)"
        ),
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="output format for --song (default table)",
    )
    steering = parser.add_argument_group(
        "steering",
        "moods shape the sound query; tempo and decade filter (dropped, with a note, when "
        "nothing matches); the score's `steer` part shows the effect. In --seeds-file "
        f"lines the keys {', '.join(STEERING_KEYS)} do the same per line.",
    )
    for name in TARGET_FEATURES:
        steering.add_argument(
            f"--{name}",
            type=float,
            default=None,
            metavar="0-1",
            help=f"target {name}, 0 (none) to 1 (most)",
        )
    steering.add_argument("--tempo", metavar="LOW-HIGH", help="BPM range, e.g. 90-120")
    steering.add_argument("--decade", metavar="DECADE", help="release decade, e.g. 1990s or 90s")
    steering.add_argument(
        "--explore",
        choices=EXPLORATION_LEVELS,
        default="balanced",
        help="familiar: well known, near what you know; adventurous: less popular, new "
        "artists (default balanced)",
    )
    steering.add_argument(
        "--known-artist",
        action="append",
        default=[],
        metavar="NAME",
        help="an artist you know (familiar prefers, adventurous avoids them); repeat",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handle ``recommend``; returns the exit code."""
    if not 1 <= args.k <= MAX_K:
        raise CliError(f"-k must be between 1 and {MAX_K}, got {args.k}")
    if not 0.0 <= args.alpha <= 1.0:
        raise CliError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if not args.half_life > 0:
        raise CliError("--half-life must be positive")
    if args.playlist_weight is not None and not 0 <= args.playlist_weight < float("inf"):
        raise CliError("--playlist-weight must be a non-negative number")
    if args.song and len(args.song) > MAX_SEEDS:
        raise CliError(f"--song takes at most {MAX_SEEDS} seeds, got {len(args.song)}")
    args.steering = _steering_from_options(args)
    try:
        catalogue = load_catalogue(args.catalog)
    except CatalogueFormatError as error:
        raise CliError(f"{args.catalog}: {error}") from None
    if len(catalogue) == 0:
        raise CliError(f"{args.catalog}: the catalogue has no tracks with a Spotify id")
    weight = DEFAULT_PLAYLIST_WEIGHT if args.playlist_weight is None else args.playlist_weight
    weighting = PopularityWeighting(half_life_years=args.half_life, as_of=args.as_of)
    recommender = Recommender(
        catalogue, weighting=weighting, playlist_weight=weight if catalogue.memberships else 0.0
    )
    if args.seeds_file:
        return _run_batch(recommender, args)
    return _run_single(recommender, args)


# -- one query ----------------------------------------------------------------------------


def _run_single(recommender: Recommender, args: argparse.Namespace) -> int:
    resolver = SongResolver(recommender.catalogue)
    rows: list[int] = []
    for text in args.song:
        row = _resolve_or_fail(resolver, text)
        if row not in rows:  # the same song typed twice is one seed
            rows.append(row)
    try:
        answer = recommender.recommend(Seeds(rows), k=args.k, alpha=args.alpha, steer=args.steering)
    except NoFeaturesError:
        names = ", ".join(recommender.catalogue.names[r] for r in rows)
        raise CliError(
            f"{names}: no audio features, so similarity is unknown; use --alpha 0 for "
            "popularity only, or another seed"
        ) from None
    writer = {"table": _write_table, "json": _write_json, "csv": _write_csv}[args.format]
    writer(recommender.catalogue, answer, sys.stdout)
    return EXIT_OK


def _resolve_or_fail(resolver: SongResolver, text: str) -> int:
    resolution = resolver.resolve(text)
    if resolution.row is not None:
        return resolution.row
    catalogue = resolver.catalogue
    if resolution.problem == "not a track link":
        raise CliError(f"{text!r} is a Spotify link but not to a track")
    if resolution.spotify_id:
        raise CliError(f"track {resolution.spotify_id} is not in the catalogue")
    candidates = resolution.candidates or resolver.closest(text, limit=3)
    listed = "; ".join(_describe(catalogue, row) for row in candidates[:5])
    if resolution.problem == "ambiguous":
        raise CliError(f"{text!r} matches several songs: {listed} (add ' - artist' or use an id)")
    hint = f"; closest: {listed}" if listed else ""
    raise CliError(f"no song matches {text!r}{hint}")


def _steering_from_options(args: argparse.Namespace) -> Steering | None:
    """The command line's steering (``None`` when nothing steers)."""
    values: dict[str, Any] = {name: getattr(args, name) for name in TARGET_FEATURES}
    values.update(tempo=args.tempo, decade=args.decade, explore=args.explore)
    try:
        return steering_from(values, args.known_artist)
    except ValueError as error:
        raise CliError(str(error)) from None


def steering_from(values: Mapping[str, Any], known_artists: Sequence[str] = ()) -> Steering | None:
    """A :class:`Steering` from option or JSON values (``None`` when nothing steers).

    Targets are numbers 0-1; ``tempo`` is ``"90-120"`` or ``[90, 120]``; ``decade`` is
    ``"1990s"``, ``"90s"`` or ``1990``; ``explore`` is an exploration level. Raises
    ``ValueError`` naming the option and what it takes.
    """
    targets: dict[str, float] = {}
    for name in TARGET_FEATURES:
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"--{name} must be a number from 0 to 1, got {value!r}")
        if not 0.0 <= float(value) <= 1.0:  # also refuses NaN
            raise ValueError(f"--{name} must be from 0 to 1, got {value!r}")
        targets[name] = float(value)
    tempo = values.get("tempo")
    if isinstance(tempo, str):
        tempo = parse_tempo(tempo)
    elif isinstance(tempo, list):
        tempo = tuple(tempo)
    decade = values.get("decade")
    if isinstance(decade, str):
        decade = parse_decade(decade)
    steering = Steering(
        targets=targets,
        tempo=tempo,
        decade=decade,
        exploration=values.get("explore") or "balanced",
        known_artists=frozenset(known_artists),
    )
    return steering if steering.active else None


def _describe(catalogue: Catalogue, row: int) -> str:
    return f"{catalogue.names[row]} - {', '.join(catalogue.artists[row])} ({catalogue.ids[row]})"


def _seeds(catalogue: Catalogue, answer: Answer) -> list[dict[str, str]]:
    return [
        {
            "track_id": catalogue.ids[row],
            "track": catalogue.names[row],
            "artists": ", ".join(catalogue.artists[row]),
        }
        for row in answer.seeds
    ]


def _rows_for_output(answer: Answer) -> Iterator[dict[str, Any]]:
    for rec in answer:
        parts = {name: round(value, 4) for name, value in rec.breakdown.as_dict().items()}
        yield {
            "rank": rec.rank,
            "track_id": rec.track.id,
            "track": rec.track.name,
            "artists": rec.track.artist_line,
            "year": rec.track.year,
            "similarity": round(rec.similarity, 4),
            "recency_popularity": round(rec.recency_popularity, 4),
            **parts,
            "score": round(rec.score, 4),
        }


def _steering_fields(answer: Answer) -> dict[str, Any]:
    """What steered an answer, for JSON: the steering and the filters dropped."""
    steering = answer.steering
    return {
        "steering": steering.as_dict() if steering is not None else None,
        "relaxed": list(answer.relaxed),
    }


def relaxed_note(answer: Answer) -> str | None:
    """One line saying which steering filters matched nothing (``None`` if none)."""
    if not answer.relaxed or answer.steering is None:
        return None
    dropped = " and ".join(RELAXED_WORDS[name] for name in answer.relaxed)
    return (
        f"nothing in this catalogue matches {dropped} ({answer.steering.describe()}): "
        "these suggestions are not limited by it"
    )


def _write_json(catalogue: Catalogue, answer: Answer, out: IO[str]) -> None:
    document = {
        "seeds": _seeds(catalogue, answer),
        "fallback": answer.fallback,
        **_steering_fields(answer),
        "recommendations": list(_rows_for_output(answer)),
    }
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _write_csv(catalogue: Catalogue, answer: Answer, out: IO[str]) -> None:
    seeds = _seeds(catalogue, answer)
    # CSV has one table: the seeds and the fallback flag repeat on every row.
    context = {
        "fallback": answer.fallback or "",
        "seed_track_ids": " | ".join(s["track_id"] for s in seeds),
        "seed_tracks": " | ".join(s["track"] for s in seeds),
        "seed_artists": " | ".join(s["artists"] for s in seeds),
        "steering": answer.steering.describe() if answer.steering is not None else "",
        "relaxed": " | ".join(answer.relaxed),
    }
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *context])
    writer.writeheader()
    writer.writerows({**row, **context} for row in _rows_for_output(answer))


def _write_table(catalogue: Catalogue, answer: Answer, out: IO[str]) -> None:
    for seed in _seeds(catalogue, answer):
        out.write(f"seed: {seed['track']} - {seed['artists']} ({seed['track_id']})\n")
    if answer.steering is not None:
        out.write(f"steering: {answer.steering.describe()}\n")
    if answer.fallback == "closest":
        out.write(f"note: {FALLBACK_NOTE}\n")
    note = relaxed_note(answer)
    if note:
        out.write(f"note: {note}\n")
    # The steer column only when something steered: it is 0 otherwise.
    parts = [p for p in BREAKDOWN_PARTS if p != "steer" or answer.steering is not None]
    header = [
        "#" if c == "rank" else c for c in TABLE_COLUMNS if c in parts or c not in COLUMNS_PARTS
    ]
    body = [
        [
            str(r["rank"]),
            _clip(r["track"], 36),
            _clip(r["artists"], 24),
            str(r["year"] or "?"),
            f"{r['similarity']:.0%}",
            *(f"{r[part]:.3f}" for part in parts),
            f"{r['score']:.3f}",
        ]
        for r in _rows_for_output(answer)
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    text_columns = {1, 2}
    for row in [header, *body]:
        cells = [
            cell.ljust(widths[i]) if i in text_columns else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- batch mode ---------------------------------------------------------------------------


@dataclass
class _Query:
    line: int
    query_id: str
    rows: list[int]
    k: int
    holdout: tuple[str, ...] = ()
    steering: Steering | None = None
    # Seeds that stayed unresolved: the line is answered with their candidates instead.
    unresolved: list[dict[str, Any]] = field(default_factory=list)


def _run_batch(recommender: Recommender, args: argparse.Namespace) -> int:
    source = sys.stdin if args.seeds_file == "-" else _open_input(args.seeds_file)
    resolver = SongResolver(recommender.catalogue)
    failures = 0
    pending: list[_Query] = []
    with source:
        for number, text in enumerate(source, start=1):
            if not text.strip():
                continue
            try:
                query = _parse_line(resolver, number, text, args)
                pending.append(query)
                if query.unresolved:
                    texts = ", ".join(repr(u["text"]) for u in query.unresolved)
                    print(f"line {number}: could not resolve {texts}", file=sys.stderr)
            except ValueError as error:
                failures += 1
                print(f"line {number}: {error}", file=sys.stderr)
            if len(pending) >= BATCH_SIZE:
                failures += _flush(recommender, pending, args.alpha)
                pending = []
    failures += _flush(recommender, pending, args.alpha)
    return EXIT_FAILURE if failures else EXIT_OK


def _open_input(path: str) -> IO[str]:
    try:
        return open(path, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}", EXIT_BAD_INPUT) from None


def _parse_line(resolver: SongResolver, number: int, text: str, args: argparse.Namespace) -> _Query:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    query_id = data.get("query_id")
    if not isinstance(query_id, str | int) or isinstance(query_id, bool):
        raise ValueError("missing or invalid 'query_id'")
    seeds = data.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, str) for s in seeds):
        raise ValueError("'seeds' must be a non-empty list of track ids or song names")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds, got {len(seeds)}")
    k = data.get("k", args.k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise ValueError(f"'k' must be an integer between 1 and {MAX_K}")
    holdout = data.get("holdout_playlists", [])
    if not isinstance(holdout, list) or not all(isinstance(p, str) for p in holdout):
        raise ValueError("'holdout_playlists' must be a list of playlist ids")
    steering = args.steering
    if any(key in data for key in STEERING_KEYS):
        steering = _line_steering(data, args)
    rows: list[int] = []
    unresolved: list[dict[str, Any]] = []
    for seed in seeds:
        found = _batch_seed(resolver, seed)
        if isinstance(found, int):
            rows.append(found)
        else:
            unresolved.append(found)
    query = _Query(number, str(query_id), list(dict.fromkeys(rows)), k, tuple(holdout), steering)
    query.unresolved = unresolved
    return query


def _line_steering(data: dict[str, Any], args: argparse.Namespace) -> Steering | None:
    """A line's steering: its own keys, the command line's options for the others."""
    values: dict[str, Any] = {name: getattr(args, name) for name in TARGET_FEATURES}
    values.update(tempo=args.tempo, decade=args.decade, explore=args.explore)
    for key in STEERING_KEYS:
        if key in data:
            values[key] = data[key]
    tempo = values["tempo"]
    if tempo is not None and not isinstance(tempo, str) and not _pair_of_numbers(tempo):
        raise ValueError("'tempo' must be a range like \"90-120\" or [90, 120]")
    decade = values["decade"]
    if decade is not None and (isinstance(decade, bool) or not isinstance(decade, str | int)):
        raise ValueError("'decade' must be like \"1990s\" or 1990")
    explore = values["explore"]
    if explore is not None and explore not in EXPLORATION_LEVELS:
        raise ValueError(f"'explore' must be one of {', '.join(EXPLORATION_LEVELS)}")
    return steering_from(values, args.known_artist)


def _pair_of_numbers(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def _batch_seed(resolver: SongResolver, seed: str) -> int | dict[str, Any]:
    """A catalogue id as is; anything else resolved like ``--song``. A seed that stays
    unresolved becomes what the output line says of it: the text, the problem and the
    candidates (Spotify ids, best first) a person could pick from."""
    row = resolver.catalogue.row_of(seed)
    if row is not None:
        return row
    resolution = resolver.resolve(seed)
    if resolution.row is not None:
        return resolution.row
    candidates = list(resolution.candidates) or resolver.closest(seed, limit=3)
    return {
        "text": seed,
        "problem": str(resolution.problem),
        "candidates": [resolver.catalogue.ids[r] for r in candidates[:5]],
    }


def _flush(recommender: Recommender, queries: list[_Query], alpha: float) -> int:
    """Answer a chunk of queries with one batched search; return the failure count."""
    if not queries:
        return 0
    failures = 0
    usable: list[_Query] = []
    has_features = recommender.catalogue.has_features
    for query in queries:
        if query.unresolved:  # told on stderr when the line was read
            failures += 1
        elif alpha > 0 and not any(has_features[r] for r in query.rows):
            print(f"line {query.line}: no seed has audio features", file=sys.stderr)
            failures += 1
        else:
            usable.append(query)
    # One engine call per steering (a call applies one to all its queries), answers
    # written in input order.
    answers: dict[int, Answer] = {}
    by_steering: dict[Steering | None, list[_Query]] = {}
    for query in usable:
        by_steering.setdefault(query.steering, []).append(query)
    for steering, group in by_steering.items():
        found = recommender.recommend(
            [Seeds(q.rows, ignore_playlists=q.holdout) for q in group],
            k=max(q.k for q in group),
            alpha=alpha,
            steer=steering,
        )
        answers.update((q.line, a) for q, a in zip(group, found, strict=True))
    ids = recommender.catalogue.ids
    out = sys.stdout
    for query in queries:
        if query.unresolved:
            unanswered = {
                "query_id": query.query_id,
                "seeds": [ids[r] for r in query.rows],
                "unresolved": query.unresolved,
                "recommendations": [],
            }
            out.write(json.dumps(unanswered) + "\n")
            continue
        if query.line not in answers:  # no seed with features: told on stderr above
            continue
        answer = answers[query.line]
        line = {
            "query_id": query.query_id,
            "seeds": [ids[r] for r in query.rows],
            "recommendations": [rec.track.id for rec in answer[: query.k]],
            "fallback": answer.fallback,
        }
        if query.steering is not None:
            line.update(_steering_fields(answer))
        out.write(json.dumps(line) + "\n")
    out.flush()
    return failures
