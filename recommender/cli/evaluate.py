"""``python -m recommender evaluate``: offline evaluation against baselines."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from recommender.catalogue import Catalogue
from recommender.cli import EXIT_OK, CliError
from recommender.evaluation.protocols import EvaluationProtocol, playlist_order_from_file
from recommender.evaluation.report import GENERATED_END, render_document, render_tables
from recommender.evaluation.runner import DATASET_DATE, PROTOCOLS, EvaluationConfig, evaluate
from recommender.loaders import CatalogueFormatError, load_catalogue

MAX_SEEDS = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score the engine and baselines on a catalogue's playlists",
        description=(
            "Offline evaluation on a catalogue with playlist membership: (A) seed-song, "
            "(B) playlist continuation, (C) personalisation; see docs/quality.md. With "
            "--steering: what each steering control does (exploration on the protocols, "
            "mood targets, tempo and decade filters); see docs/steering.md."
        ),
    )
    parser.add_argument("--catalog", "--catalogue", required=True, metavar="FILE")
    parser.add_argument(
        "--protocols", default=",".join(PROTOCOLS), help="comma-separated subset of A,B,C"
    )
    parser.add_argument("--seeds", type=int, default=3, help="random seeds 0..N-1 (default 3)")
    parser.add_argument(
        "--membership-weight",
        type=float,
        default=None,
        metavar="W",
        help="weight of playlist co-membership (default: tuned on a split of the playlists)",
    )
    parser.add_argument("--alpha", type=float, default=None, help="the default alpha to report")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=DATASET_DATE,
        metavar="DATE",
        help=f"popularity ages measured from (default {DATASET_DATE.isoformat()})",
    )
    parser.add_argument("--half-life", type=float, default=10.0, metavar="YEARS")
    parser.add_argument(
        "--steering",
        action="store_true",
        help="measure the steering controls instead (random seed 0, the default alpha and "
        "playlists weight unless --alpha/--membership-weight say otherwise)",
    )
    parser.add_argument("--out", metavar="FILE.md", help="write the report as Markdown")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--export-queries",
        metavar="FILE.jsonl",
        help="also write protocol (A) queries of seed 0 for `recommend --seeds-file`",
    )
    parser.add_argument(
        "--score-run",
        metavar="RUN.jsonl",
        help="only score a `recommend --seeds-file` output against (A) queries of seed 0",
    )
    parser.set_defaults(handler=run)


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this report."""
    parts = ["python -m recommender evaluate", f"--catalog {args.catalog}"]
    if args.steering:
        parts.append("--steering")
    else:
        parts += [f"--protocols {args.protocols}", f"--seeds {args.seeds}"]
    if args.membership_weight is not None:
        parts.append(f"--membership-weight {args.membership_weight:g}")
    if args.alpha is not None:
        parts.append(f"--alpha {args.alpha:g}")
    if args.as_of != DATASET_DATE:
        parts.append(f"--as-of {args.as_of.isoformat()}")
    if args.half_life != 10.0:
        parts.append(f"--half-life {args.half_life:g}")
    parts.append(f"--out {args.out}")
    return " ".join(parts)


def _protocols(text: str) -> tuple[EvaluationProtocol, ...]:
    try:
        chosen = tuple(EvaluationProtocol.parse(p) for p in text.split(",") if p.strip())
    except ValueError:
        chosen = ()
    if not chosen:
        raise CliError(f"--protocols takes a subset of {','.join(PROTOCOLS)}, got {text!r}")
    return chosen


def run(args: argparse.Namespace) -> int:
    """Handle ``evaluate``; returns the exit code."""
    protocols = _protocols(args.protocols)
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise CliError(f"--seeds must be between 1 and {MAX_SEEDS}, got {args.seeds}")
    if args.membership_weight is not None and not args.membership_weight >= 0:
        raise CliError("--membership-weight must be non-negative")
    if args.alpha is not None and not 0.0 <= args.alpha <= 1.0:
        raise CliError(f"--alpha must be between 0 and 1, got {args.alpha}")
    if not args.half_life > 0:
        raise CliError("--half-life must be positive")
    try:
        catalogue = load_catalogue(args.catalog)
    except CatalogueFormatError as error:
        raise CliError(f"{args.catalog}: {error}") from None
    if not catalogue.memberships:
        raise CliError(
            f"{args.catalog}: no playlist columns (playlist_id), nothing to evaluate against"
        )
    if args.score_run:
        from recommender.evaluation.parity import score_run

        scores = score_run(catalogue, args.score_run)
        json.dump(scores, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    if args.steering:
        return _run_steering(catalogue, args)
    config = EvaluationConfig(
        protocols=protocols,
        seeds=args.seeds,
        as_of=args.as_of,
        half_life_years=args.half_life,
        membership_weight=args.membership_weight,
        playlist_order=playlist_order_from_file(args.catalog, catalogue),
    )
    if args.alpha is not None:
        config.default_alpha = args.alpha
    if args.export_queries:
        from recommender.evaluation.parity import export_queries

        export_queries(catalogue, args.export_queries)
    try:
        report = evaluate(catalogue, config, progress=None)
    except ValueError as error:
        raise CliError(str(error)) from None
    if args.out:
        out = Path(args.out)
        out.write_text(render_document(report, _command(args), _kept(out)), encoding="utf-8")
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not args.out:
        sys.stdout.write(render_tables(report) + "\n")
    return EXIT_OK


def _kept(out: Path) -> str:
    """The hand-written text after the generated part of an existing report."""
    if not out.is_file():
        return ""
    existing = out.read_text(encoding="utf-8")
    if GENERATED_END not in existing:
        return ""
    return existing.split(GENERATED_END, 1)[1].lstrip("\n")


def _run_steering(catalogue: Catalogue, args: argparse.Namespace) -> int:
    """``evaluate --steering``: measure each steering control."""
    from recommender.evaluation.steering import (
        SteeringConfig,
        evaluate_steering,
        render_steering,
    )

    config = SteeringConfig(
        as_of=args.as_of,
        half_life_years=args.half_life,
        playlist_order=playlist_order_from_file(args.catalog, catalogue),
    )
    if args.alpha is not None:
        config.alpha = args.alpha
    if args.membership_weight is not None:
        config.playlist_weight = args.membership_weight
    report = evaluate_steering(catalogue, config)
    if args.out:
        out = Path(args.out)
        out.write_text(render_steering(report, _command(args), _kept(out)), encoding="utf-8")
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not args.out:
        sys.stdout.write(render_steering(report, _command(args)))
    return EXIT_OK
