"""Memory benchmark: RSS of CSV sources and of many guilds' catalogues (issue 11, item 5).

Run from the repository root::

    python benchmarks/bench_memory.py --write-docs
    python benchmarks/bench_memory.py --parts guilds --guilds 1,100 --json OUT.json
    python benchmarks/bench_memory.py --parts csv --before-repo /path/to/old/checkout

Every measurement runs in a fresh subprocess (``child``), so each starts from the same
RSS; what is reported is the RSS it added over its own start (after imports and the
store are open). RSS is what the operating system charges: ``/proc/self/statm``.

1. **CSV sources** (``--parts csv``): three maximum-size CSV sources (8 MB, 243,000
   rows of ``track_id,track_name,track_artist``, distinct ids), added one after the
   other to one guild through the real upload path, ``SourceService.add_csv``: parse
   on the bulk pool, the store write, the catalogue rebuild. RSS after each source.
   With ``--before-repo`` the same child runs again against another checkout (the
   code before this work) in the same run.
2. **Guilds** (``--parts guilds``): 1, 100 and 1,000 guilds whose catalogues overlap:
   each adds 1-10 playlists of the shared dataset (``../shared/data/spotify_songs.csv.gz``,
   ~470 playlists), chosen by a Zipf law, so popular playlists are in many guilds and
   some guilds have exactly the same ones (seeded). One SQLite file per population,
   written through the store's own methods. Three runs per population:

   * *every guild its own copy*: the reference, ``CatalogueService(shared=None)``;
   * *shared*: the bot's default (identical catalogues share one built object, strings
     interned), no memory budget: RSS before eviction;
   * *shared + budget*: ``CATALOGUE_MEMORY_MB`` a quarter of what the shared run held:
     RSS after eviction, then the 50 least recently used (evicted) guilds ask again
     and must all be answered (a real ``recommend`` on the rebuilt catalogue).

Without ``../shared/data`` the guilds part prints a message and is skipped.
``--write-docs`` puts the generated section into docs/benchmarks.md (between its markers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import importlib
import inspect
import json
import os
import platform
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench_common import DOCS, write_docs_section

REPO = Path(__file__).resolve().parents[1]
SONGS = REPO.parent / "shared" / "data" / "spotify_songs.csv.gz"
CSV_ROWS = 243_000
CSV_SOURCES = 3
ASKED_AGAIN = 50
BASE62 = string.digits + string.ascii_letters


def rss_mb() -> float:
    """This process's resident set size in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def service_module(name: str) -> Any:
    """``bot.services.<name>``, or ``bot.<name>`` in a checkout of the older flat layout.

    Decided by the checkout on disk: the editable install would otherwise resolve
    ``bot.services`` from this checkout inside an older one.
    """
    repo = Path(os.environ.get("BENCH_MEMORY_REPO", str(REPO)))
    package = "bot.services" if (repo / "bot" / "services").is_dir() else "bot"
    return importlib.import_module(f"{package}.{name}")


# -- the CSV part -----------------------------------------------------------------------


def narrow_csv(rows: int, seed: int) -> bytes:
    """A maximum-size upload: ``rows`` distinct tracks, as small as a row can be."""
    rng = random.Random(seed)
    lines = ["track_id,track_name,track_artist"]
    for i in range(rows):
        track_id = "".join(rng.choice(BASE62) for _ in range(22))
        lines.append(f"{track_id},S{i},A{rng.randint(1, 99)}")
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) <= 8 * 1024 * 1024, "over the 8 MB upload limit"
    return data


async def csv_child(args: argparse.Namespace) -> dict[str, Any]:
    """Add CSV_SOURCES big CSV sources to one guild; RSS after each."""
    from bot.store.sqlite import SqliteStore

    CatalogueService = service_module("catalogues").CatalogueService
    SourceService = service_module("sources").SourceService

    files = [narrow_csv(CSV_ROWS, seed) for seed in range(CSV_SOURCES)]
    workdir = Path(args.workdir)
    store = await SqliteStore.connect(workdir / "csv.sqlite3")
    catalogues = CatalogueService(store)
    options: dict[str, Any] = {}
    if "max_tracks" in inspect.signature(SourceService).parameters:
        options["max_tracks"] = 10**7  # an operator who raised MAX_TRACKS_PER_GUILD
    sources = SourceService(store, catalogues, None, **options)
    gc.collect()
    start = rss_mb()
    after: list[dict[str, float]] = []
    for number, data in enumerate(files):
        began = time.perf_counter()
        await sources.add_csv(1, 1, f"export-{number}.csv", data)
        seconds = time.perf_counter() - began
        gc.collect()
        after.append({"rss_mb": rss_mb() - start, "seconds": seconds})
    tracks = len(await catalogues.ensure(1))
    await store.close()
    return {
        "rows_per_source": CSV_ROWS,
        "bytes_per_source": len(files[0]),
        "after": after,
        "tracks": tracks,
    }


# -- the guilds part --------------------------------------------------------------------


def population(guilds: int, playlists: list[str], seed: int = 11) -> dict[int, list[str]]:
    """Which playlists each guild adds: 1-10 of them, popular ones (Zipf) more often."""
    rng = random.Random(seed)
    order = playlists[:]
    rng.shuffle(order)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(order))]
    chosen: dict[int, list[str]] = {}
    for guild in range(1, guilds + 1):
        count = min(10, 1 + int(rng.expovariate(1 / 2.5)))
        picked: list[str] = []
        while len(picked) < count:
            playlist = rng.choices(order, weights)[0]
            if playlist not in picked:
                picked.append(playlist)
        chosen[guild] = picked
    return chosen


async def build_population_db(path: Path, guilds: int) -> dict[str, Any]:
    """One SQLite file with every guild's sources (upstream tracks shared)."""
    from bot.store.models import PlaylistSource
    from bot.store.sqlite import SqliteStore
    from recommender.loaders import load_catalogue

    catalogue = load_catalogue(SONGS)
    tracks = catalogue.tracks()
    members = {
        pid: [catalogue.ids[row] for row in rows.tolist()]
        for pid, rows in catalogue.memberships.items()
    }
    chosen = population(guilds, sorted(members))
    store = await SqliteStore.connect(path)
    await store.put_tracks(tracks)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for guild, picked in chosen.items():
        for key in picked:
            source = PlaylistSource(
                guild_id=guild,
                key=key,
                kind="spotify",
                display_name=key,
                added_by=1,
                added_at=now,
                snapshot_id="s",
            )
            await store.save_source(source, members[key])
    await store.close()
    rows = sum(len({t for key in picked for t in members[key]}) for picked in chosen.values())
    combos = Counter(tuple(sorted(p)) for p in chosen.values())
    return {
        "guilds": guilds,
        "track_rows": rows,
        "distinct_tracks": len({t for p in chosen.values() for key in p for t in members[key]}),
        "distinct_playlist_sets": len(combos),
    }


async def guilds_child(args: argparse.Namespace) -> dict[str, Any]:
    """Load every guild of the population (one mode); RSS before and after eviction."""
    from bot.store.sqlite import SqliteStore
    from recommender.query import Seeds

    catalogues = service_module("catalogues")
    CatalogueService = catalogues.CatalogueService
    shared = getattr(catalogues, "SHARED", None)  # absent before this work

    store = await SqliteStore.connect(Path(args.db))
    options: dict[str, Any] = {}
    if "shared" in inspect.signature(CatalogueService).parameters:
        options["shared"] = None if args.mode == "own" else shared
        options["memory_budget_mb"] = args.budget_mb if args.mode == "budget" else None
    service = CatalogueService(store, **options)
    guild_ids = list(range(1, args.guilds + 1))
    gc.collect()
    start = rss_mb()
    began = time.perf_counter()
    for guild_id in guild_ids:
        await service.ensure(guild_id)
    load_seconds = time.perf_counter() - began
    gc.collect()
    result: dict[str, Any] = {
        "mode": args.mode,
        "rss_mb": rss_mb() - start,
        "load_seconds": load_seconds,
    }
    if hasattr(service, "budget"):
        result.update(
            resident_guilds=sum(service.resident(g) for g in guild_ids),
            built_objects=len(service.budget),
            estimated_mb=service.budget.resident_bytes / 2**20,
            evictions=service.budget.evictions,
        )
    if args.mode == "budget":
        evicted = [g for g in guild_ids if not service.resident(g)][:ASKED_AGAIN]
        answered = 0
        for guild_id in evicted:
            guild = await service.ensure(guild_id)
            assert guild.recommender is not None and guild.catalogue is not None
            seed = int(guild.catalogue.has_features.argmax())  # a track with features
            answer = guild.recommender.recommend(Seeds([seed]), 5, alpha=0.8)
            answered += len(answer) > 0
            del guild
        gc.collect()
        result.update(
            asked_again=len(evicted), answered=answered, rss_after_asking_mb=rss_mb() - start
        )
    await store.close()
    return result


# -- running children, writing the report --------------------------------------------------


def run_child(part: str, repo: Path, extra: list[str]) -> dict[str, Any]:
    """Run this file's ``child`` command in a fresh interpreter, importing from ``repo``."""
    env = dict(os.environ, PYTHONPATH=str(repo), BENCH_MEMORY_REPO=str(repo))
    command = [sys.executable, str(Path(__file__).resolve()), "child", part, *extra]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=repo)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"child {part} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child":
        return child(argv[1:])
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--parts", default="csv,guilds")
    p.add_argument("--guilds", default="1,100,1000")
    p.add_argument(
        "--before-repo", type=Path, help="a checkout of the previous code: the references"
    )
    p.add_argument("--before-label", default="previous code", help="e.g. its commit")
    p.add_argument("--json", type=Path, help="write every number here")
    p.add_argument("--render", type=Path, help="only render (and write) a saved --json")
    p.add_argument("--write-docs", action="store_true", help=f"write the section into {DOCS}")
    args = p.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        section = markdown(saved, saved["command"])
        print(section)
        if args.write_docs:
            write_docs_section("bench_memory", section)
        return 0
    parts = set(args.parts.split(","))
    results: dict[str, Any] = {"machine": machine()}
    workdir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        if "csv" in parts:
            results["csv"] = {"now": run_child("csv", REPO, ["--workdir", str(workdir)])}
            print("csv now:", results["csv"]["now"], flush=True)
            if args.before_repo:
                before_dir = workdir / "before"
                before_dir.mkdir()
                results["csv"]["before"] = run_child(
                    "csv", args.before_repo.resolve(), ["--workdir", str(before_dir)]
                )
                print("csv before:", results["csv"]["before"], flush=True)
        if "guilds" in parts:
            if not SONGS.is_file():
                print(f"{SONGS} not found: the guilds part needs the shared dataset; skipped")
            else:
                results["guilds"] = []
                for guilds in [int(g) for g in args.guilds.split(",")]:
                    before = args.before_repo.resolve() if args.before_repo else None
                    results["guilds"].append(guilds_part(guilds, workdir, before))
                    print("guilds:", results["guilds"][-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["before_label"] = args.before_label
    command = (
        "python benchmarks/bench_memory.py"
        + (
            f" --before-repo ../before --before-label '{args.before_label}'"
            if args.before_repo
            else ""
        )
        + " --write-docs"
    )
    results["command"] = command
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    section = markdown(results, command)
    print(section)
    if args.write_docs:
        write_docs_section("bench_memory", section)
    return 0


def guilds_part(guilds: int, workdir: Path, before: Path | None) -> dict[str, Any]:
    """The runs over one population: the previous code (with ``--before-repo``), this
    code with sharing off, shared, shared under a budget."""
    db = workdir / f"guilds-{guilds}.sqlite3"
    info = asyncio.run(build_population_db(db, guilds))
    common = ["--db", str(db), "--guilds", str(guilds)]
    runs: dict[str, Any] = {}
    if before is not None:
        runs["previous"] = run_child("guilds", before, [*common, "--mode", "own"])
    runs["own"] = run_child("guilds", REPO, [*common, "--mode", "own"])
    runs["shared"] = run_child("guilds", REPO, [*common, "--mode", "shared"])
    budget_mb = max(0.5, runs["shared"]["estimated_mb"] / 4)
    budget_args = [*common, "--mode", "budget", "--budget-mb", str(budget_mb)]
    runs["budget"] = run_child("guilds", REPO, budget_args)
    return {**info, "budget_mb": budget_mb, **runs}


def child(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("part")
    p.add_argument("--workdir")
    p.add_argument("--db")
    p.add_argument("--guilds", type=int)
    p.add_argument("--mode", choices=("own", "shared", "budget"))
    p.add_argument("--budget-mb", type=float)
    args = p.parse_args(argv)
    sys.path.insert(0, os.environ.get("BENCH_MEMORY_REPO", str(REPO)))
    # As `python -m bot` does at start, where the code under test does.
    with contextlib.suppress(ImportError):
        importlib.import_module("bot.infra.memory").limit_malloc_arenas()
    run = csv_child if args.part == "csv" else guilds_child
    print(json.dumps(asyncio.run(run(args))))
    return 0


def markdown(results: dict[str, Any], command: str) -> str:
    m = results["machine"]
    out = [
        "## Memory: CSV sources and many guilds",
        "",
        f"Generated by `{command}` ({dt.date.today().isoformat()}, commit {m['commit']}; "
        f"{m['cpus']} CPUs, Python {m['python']}; load average {m['loadavg'][0]:.1f} at the "
        f"start, {m['loadavg_end'][0]:.1f} at the end; every number is RSS a fresh process "
        "added over its own start). The docstring of `benchmarks/bench_memory.py` says "
        "what each part does.",
        "",
    ]
    if "before_label" in results and "before" in results.get("csv", {}):
        out += [
            f"`../before` is a checkout of the previous code ({results['before_label']}), "
            "e.g. `git worktree add ../before REV`; without `--before-repo` the "
            "previous code's rows are left out.",
            "",
        ]
    if "csv" in results:
        csv = results["csv"]
        now = csv["now"]
        out += [
            f"**CSV sources**: three uploads of {now['rows_per_source']:,} rows "
            f"({now['bytes_per_source'] / 2**20:.1f} MB each) added to one guild through "
            "`SourceService.add_csv` (parse, store write, catalogue rebuild):",
            "",
            "| code | after 1 source | after 2 | after 3 | per source (mean) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        runs = [("this code", now)] + (
            [(results["before_label"], csv["before"])] if "before" in csv else []
        )
        for name, run in runs:
            values = [a["rss_mb"] for a in run["after"]]
            cells = " | ".join(f"{v:,.0f} MB" for v in values)
            out.append(f"| {name} | {cells} | {values[-1] / len(values):,.0f} MB |")
        out.append("")
    if "guilds" in results:
        previous = "previous" in results["guilds"][0]
        out += [
            "Guilds whose catalogues are identical (same tracks and values, same playlists, "
            "same settings) share one built catalogue: recommender, index and name resolver "
            "(`bot/services/catalogue_sharing.py`, content-addressed, held weakly). Whole "
            "built objects rather than a process-wide vector table that each guild's index "
            "points into: the index answers with one fused scan over a contiguous "
            "column-major float32 matrix, and an index of references would gather the "
            "guild's rows into a new matrix for every query or scan every guild's tracks "
            "under a mask. What overlapping, different catalogues have in common (ids, "
            "names, artists, the resolver's forms, trigrams and words) is interned and kept "
            "once. Past `CATALOGUE_MEMORY_MB` the least recently used catalogues are "
            "evicted (never one a command holds) and rebuilt when their guild asks again.",
            "",
        ]
        out += [
            "**Guilds with overlapping catalogues** (playlists of the shared dataset, 1-10 "
            "per guild by a Zipf law, so popular playlists are in many guilds). Every guild "
            "its own copy, the reference: "
            + (f"*previous code* ({results['before_label']}) and " if previous else "")
            + "*this code, sharing off* (`CatalogueService(shared=None)`: each guild builds "
            "its own catalogue; strings are still interned). *Shared*: this code as it runs, "
            "nothing evicted (before eviction). *Budget*: `CATALOGUE_MEMORY_MB` a quarter of "
            "the shared run's estimate (after eviction); then the 50 least recently used "
            "evicted guilds ask again.",
            "",
            "| guilds | track rows (distinct) | playlist sets | "
            + ("previous code | " if previous else "")
            + "sharing off | shared | built objects | estimate | budget | after eviction "
            "(resident guilds) | evicted guilds asked again: answered |",
            "| ---: | ---: | ---: | "
            + ("---: | " if previous else "")
            + "---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for g in results["guilds"]:
            own, shared, budget = g["own"], g["shared"], g["budget"]
            out.append(
                f"| {g['guilds']:,} | {g['track_rows']:,} ({g['distinct_tracks']:,}) "
                f"| {g['distinct_playlist_sets']:,} | "
                + (f"{g['previous']['rss_mb']:,.0f} MB | " if previous else "")
                + f"{own['rss_mb']:,.0f} MB | {shared['rss_mb']:,.0f} MB "
                f"| {shared['built_objects']:,} | {shared['estimated_mb']:,.0f} MB "
                f"| {g['budget_mb']:,.1f} MB | {budget['rss_mb']:,.0f} MB "
                f"({budget['resident_guilds']:,}) "
                f"| {budget.get('answered', 0)}/{budget.get('asked_again', 0)} |"
            )
        out += [""]
        sized = [g for g in results["guilds"] if g["track_rows"] >= 5000]
        out += (
            []
            if not sized
            else [
                "*Estimate*: what the budget counts (`bot/services/catalogue_sharing.py`, "
                "`estimated_bytes`); with sharing off it came to "
                + ", ".join(
                    f"{g['own']['estimated_mb'] / g['own']['rss_mb']:.0%} ({g['guilds']:,} guilds)"
                    for g in sized
                )
                + " of the RSS measured.",
                "",
            ]
        )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
