"""The store under a busy bot's load: SQLite, PostgreSQL in one process, PostgreSQL in two.

Run from the repository root (PostgreSQL's server binaries must be installed; a
throwaway server is started, as the tests do with ``tests/pg.py``)::

    python benchmarks/bench_store_backends.py
    python benchmarks/bench_store_backends.py --guilds 40 --tracks 5000 --concurrency 64

What it measures, with the store's own methods (what the bot calls):

* **reactions**: ``set_rating`` with a message id (one per reaction), ``--concurrency``
  at once across the guilds, ``--reactions`` of them;
* **answers**: ``save_recommendation`` of a ten-song answer, as /recommend saves it;
* **catalogue loads**: ``load_guild_catalogue`` of a guild with ``--tracks`` tracks
  (what a process reads for each of its guilds at start-up), four at once.

Each is reported as operations per second and the p50/p95 latency of one call. The
two-process PostgreSQL run splits the same work between two OS processes (each with
its own pool, as two bot processes of a cluster), started together. Results go to
stdout as Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.store import SqliteStore, Store  # noqa: E402
from bot.store.models import (  # noqa: E402
    PlaylistSource,
    RecommendationItem,
    RecommendationMessage,
)
from bot.store.postgres import PostgresStore  # noqa: E402
from tests.pg import start_cluster  # noqa: E402
from tests.test_store_support import track  # noqa: E402

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Load:
    """The population and the work."""

    guilds: int
    tracks: int
    reactions: int
    answers: int
    concurrency: int


@dataclass(frozen=True)
class Timing:
    """One kind of operation: how many, how long in all, each call's latency."""

    operations: int
    seconds: float
    latencies: list[float]

    @classmethod
    def merge(cls, parts: list[Timing]) -> Timing:
        """Parts run at the same time: the slowest part's wall time."""
        return cls(
            sum(p.operations for p in parts),
            max(p.seconds for p in parts),
            [x for p in parts for x in p.latencies],
        )

    def row(self, backend: str, what: str) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000
        rate = self.operations / self.seconds
        return f"| {backend} | {what} | {rate:,.0f} | {p50:.1f} | {p95:.1f} |"


def open_store(target: str) -> Any:
    if target.startswith("postgresql://"):
        return PostgresStore.open(target, pool_size=10)
    return SqliteStore.open(Path(target))


async def populate(target: str, load: Load) -> None:
    """Tracks, and a Spotify source of ``load.tracks`` tracks in every guild."""
    async with open_store(target) as store:
        pool = [track(i) for i in range(load.tracks * 2)]
        for start in range(0, len(pool), 5000):
            await store.put_tracks(pool[start : start + 5000])
        for guild in range(1, load.guilds + 1):
            offset = (guild * 997) % load.tracks  # overlapping catalogues
            ids = [pool[offset + i].id for i in range(load.tracks)]
            source = PlaylistSource(guild, f"playlist{guild}", "spotify", f"P{guild}", 7, T0)
            await store.save_source(source, ids)


async def timed(calls: list[Callable[[], Awaitable[object]]], concurrency: int) -> Timing:
    """Run ``calls`` with at most ``concurrency`` at once."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(call: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in calls))
    return Timing(len(calls), time.perf_counter() - started, latencies)


async def work(target: str, load: Load, part: int, parts: int) -> dict[str, Timing]:
    """This process's share (every ``parts``-th operation from ``part``) of each kind."""
    async with open_store(target) as store:
        store: Store  # type: ignore[no-redef]
        reactions = [
            (lambda i=i: store.set_rating(
                1 + i % load.guilds, 1000 + i % 500, track(i % load.tracks).id,
                1 if i % 3 else -1, message_id=10_000 + i % 1000,
            ))
            for i in range(part, load.reactions, parts)
        ]  # fmt: skip
        answers = [
            (lambda i=i: store.save_recommendation(RecommendationMessage(
                1 + i % load.guilds, 5, 10_000_000 + i, 1000 + i % 500,
                (track(i % load.tracks).id,), T0,
                tuple(RecommendationItem(p, track((i + p) % load.tracks).id, f"e{p}")
                      for p in range(1, 11)),
            )))
            for i in range(part, load.answers, parts)
        ]  # fmt: skip
        loads = [
            (lambda g=g: store.load_guild_catalogue(g))
            for g in range(1 + part, load.guilds + 1, parts)
        ]
        return {
            "reactions (set_rating)": await timed(reactions, load.concurrency),
            "answers (save_recommendation)": await timed(answers, load.concurrency),
            "catalogue loads": await timed(loads, 4),
        }


def _work_in_process(target: str, load: Load, part: int, parts: int, start_at: float) -> Any:
    time.sleep(max(0.0, start_at - time.time()))  # both processes start together
    return asyncio.run(work(target, load, part, parts))


def run_processes(target: str, load: Load, parts: int) -> dict[str, Timing]:
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 5.0  # after both have imported the bot
    with context.Pool(parts) as pool:
        results = pool.starmap(
            _work_in_process, [(target, load, part, parts, start_at) for part in range(parts)]
        )
    return {kind: Timing.merge([r[kind] for r in results]) for kind in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=40)
    parser.add_argument("--tracks", type=int, default=5000, help="tracks per guild")
    parser.add_argument("--reactions", type=int, default=6000)
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    load = Load(args.guilds, args.tracks, args.reactions, args.answers, args.concurrency)

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = str(Path(folder) / "bench.sqlite3")
        asyncio.run(populate(sqlite, load))
        for kind, timing in asyncio.run(work(sqlite, load, 0, 1)).items():
            rows.append(timing.row("SQLite, 1 process", kind))
    cluster = start_cluster()
    try:
        for processes in (1, 2):
            url = cluster.url(cluster.create_database())
            asyncio.run(populate(url, load))
            results = run_processes(url, load, processes)
            label = f"PostgreSQL, {processes} process{'es' if processes > 1 else ''}"
            rows.extend(timing.row(label, kind) for kind, timing in results.items())
    finally:
        cluster.stop()

    print(
        f"{load.guilds} guilds of {load.tracks:,} tracks, {load.reactions:,} reactions and "
        f"{load.answers:,} answers, {load.concurrency} at once; catalogue loads 4 at once.\n"
    )
    print("| backend | operation | per second | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(sorted(rows, key=lambda r: (r.split("|")[2], r.split("|")[1]))))


if __name__ == "__main__":
    main()
