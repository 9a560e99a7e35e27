"""``python -m recommender recommend``: suggestions from a catalogue file."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from recommender.catalogue import Catalogue
from recommender.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, CliError
from recommender.engine import (
    DEFAULT_ALPHA,
    DEFAULT_MEMBERSHIP_WEIGHT,
    NoFeaturesError,
    Recommendation,
    Recommender,
)
from recommender.loaders import CatalogueFormatError, load_catalogue
from recommender.popularity import PopularityWeighting
from recommender.resolve import SongResolver

MAX_K = 500
BATCH_SIZE = 256


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``recommend`` sub-command."""
    parser = subparsers.add_parser(
        "recommend",
        help="recommend tracks from a catalogue file",
        description=(
            "Recommend tracks similar to one or more seed songs, blended with "
            "release-date-weighted popularity. Seeds are Spotify ids, URIs, links, "
            "or names ('name' or 'name - artist')."
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
        help="a seed song; repeat for several (their similarities are averaged)",
    )
    seeds.add_argument(
        "--seeds-file",
        metavar="QUERIES.jsonl",
        help=(
            'batch mode: one {"query_id", "seeds": [track ids], "k", "holdout_playlists": '
            "[playlist ids]} per line ('-' for stdin); the membership signal ignores a "
            "line's holdout playlists"
        ),
    )
    parser.add_argument("-k", type=int, default=10, help="number of suggestions (default 10)")
    parser.add_argument(
        "--alpha",
        type=float,
        default=DEFAULT_ALPHA,
        help=f"weight of similarity vs popularity, 0-1 (default {DEFAULT_ALPHA})",
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
        "--membership-weight",
        type=float,
        default=None,
        metavar="W",
        help=(
            "weight of playlist co-membership added to the score when the catalogue has "
            f"playlist columns (default {DEFAULT_MEMBERSHIP_WEIGHT:g}; 0 turns it off)"
        ),
    )
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="output format for --song (default table)",
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
    try:
        catalogue = load_catalogue(args.catalog)
    except CatalogueFormatError as error:
        raise CliError(f"{args.catalog}: {error}") from None
    if len(catalogue) == 0:
        raise CliError(f"{args.catalog}: the catalogue has no tracks with a Spotify id")
    if args.membership_weight is not None and not args.membership_weight >= 0:
        raise CliError("--membership-weight must be non-negative")
    weight = DEFAULT_MEMBERSHIP_WEIGHT if args.membership_weight is None else args.membership_weight
    weighting = PopularityWeighting(half_life_years=args.half_life, as_of=args.as_of)
    recommender = Recommender(
        catalogue, weighting=weighting, membership_weight=weight if catalogue.memberships else 0.0
    )
    if args.seeds_file:
        return _run_batch(recommender, args)
    return _run_single(recommender, args)


# -- one query ----------------------------------------------------------------------------


def _run_single(recommender: Recommender, args: argparse.Namespace) -> int:
    resolver = SongResolver(recommender.catalogue)
    rows = [_resolve_or_fail(resolver, text) for text in args.song]
    try:
        results = recommender.recommend(rows, k=args.k, alpha=args.alpha)
    except NoFeaturesError:
        names = ", ".join(recommender.catalogue.names[r] for r in rows)
        raise CliError(
            f"{names}: no audio features, so similarity is unknown; use --alpha 0 for "
            "popularity only, or another seed"
        ) from None
    writer = {"table": _write_table, "json": _write_json, "csv": _write_csv}[args.format]
    writer(results, sys.stdout)
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


def _describe(catalogue: Catalogue, row: int) -> str:
    return f"{catalogue.names[row]} - {', '.join(catalogue.artists[row])} ({catalogue.ids[row]})"


def _rows_for_output(results: list[Recommendation]) -> Iterator[dict[str, Any]]:
    for rec in results:
        yield {
            "rank": rec.rank,
            "track_id": rec.track.id,
            "track": rec.track.name,
            "artists": rec.track.artist_line,
            "year": rec.track.year,
            "similarity": round(rec.similarity, 4),
            "popularity": round(rec.popularity, 4),
            "score": round(rec.score, 4),
        }


def _write_json(results: list[Recommendation], out: IO[str]) -> None:
    json.dump(list(_rows_for_output(results)), out, ensure_ascii=False, indent=2)
    out.write("\n")


def _write_csv(results: list[Recommendation], out: IO[str]) -> None:
    rows = list(_rows_for_output(results))
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["rank"])
    writer.writeheader()
    writer.writerows(rows)


def _write_table(results: list[Recommendation], out: IO[str]) -> None:
    header = ["#", "track", "artists", "year", "similarity", "popularity", "score"]
    body = [
        [
            str(r["rank"]),
            _clip(r["track"], 40),
            _clip(r["artists"], 28),
            str(r["year"] or "?"),
            f"{r['similarity']:.0%}",
            f"{r['popularity']:.0%}",
            f"{r['score']:.3f}",
        ]
        for r in _rows_for_output(results)
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = {0, 3, 4, 5, 6}
    for row in [header, *body]:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
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


def _run_batch(recommender: Recommender, args: argparse.Namespace) -> int:
    source = sys.stdin if args.seeds_file == "-" else _open_input(args.seeds_file)
    failures = 0
    pending: list[_Query] = []
    with source:
        for number, text in enumerate(source, start=1):
            if not text.strip():
                continue
            try:
                pending.append(_parse_line(recommender, number, text, args.k))
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


def _parse_line(recommender: Recommender, number: int, text: str, default_k: int) -> _Query:
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
        raise ValueError("'seeds' must be a non-empty list of track ids")
    k = data.get("k", default_k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise ValueError(f"'k' must be an integer between 1 and {MAX_K}")
    holdout = data.get("holdout_playlists", [])
    if not isinstance(holdout, list) or not all(isinstance(p, str) for p in holdout):
        raise ValueError("'holdout_playlists' must be a list of playlist ids")
    catalogue = recommender.catalogue
    rows = [row for seed in seeds if (row := catalogue.row_of(seed)) is not None]
    unknown = [seed for seed in seeds if seed not in catalogue]
    if unknown:
        raise ValueError(f"seed(s) not in the catalogue: {', '.join(unknown[:5])}")
    return _Query(number, str(query_id), rows, k, tuple(holdout))


def _flush(recommender: Recommender, queries: list[_Query], alpha: float) -> int:
    """Answer a chunk of queries with one batched search; return the failure count."""
    if not queries:
        return 0
    failures = 0
    usable: list[_Query] = []
    for query in queries:
        if alpha > 0 and not any(recommender.index.has_vector(r) for r in query.rows):
            print(f"line {query.line}: no seed has audio features", file=sys.stderr)
            failures += 1
        else:
            usable.append(query)
    k = max((q.k for q in usable), default=1)
    results = recommender.recommend_many(
        [q.rows for q in usable], k=k, alpha=alpha, holdouts=[q.holdout for q in usable]
    )
    out = sys.stdout
    for query, recs in zip(usable, results, strict=True):
        ids = [rec.track.id for rec in recs[: query.k]]
        out.write(json.dumps({"query_id": query.query_id, "recommendations": ids}) + "\n")
    out.flush()
    return failures
