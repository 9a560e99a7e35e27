"""Cluster benchmark: a population of guilds on SQLite and on PostgreSQL (one and two processes).

Run from the repository root::

    python benchmarks/bench_cluster.py                       # 10,000 guilds, 1,000,000 ratings
    python benchmarks/bench_cluster.py --guilds 2000 --ratings 200000 --json OUT.json

What it does, in one run:

1. **Population** (seeded, deterministic): ``--guilds`` guilds whose catalogue sizes
   are drawn from a truncated Pareto distribution (``--pareto-alpha``, 100 to 20,000
   tracks), each catalogue a popularity-weighted sample of the shared pool (the real
   ``../shared/data/spotify_songs.csv.gz`` plus ``spotify_hit_predictor_1960_2019.csv.gz``,
   ~66k distinct tracks), so catalogues overlap; split into one to three playlist
   sources. ``--ratings`` ratings spread over guilds in proportion to catalogue size,
   ~25 per member (70 % likes).
2. **Store**: a SQLite file written through the store's own methods (``put_tracks``,
   ``save_source``); the ratings, a million single-row transactions through
   ``set_rating``, are written with the store's own ``INSERT`` in one bulk transaction.
   The file is cached by the population's parameters (``--cache``). PostgreSQL: a
   throwaway cluster (``tests/pg.py``), filled by ``python -m bot migrate-db`` (COPY;
   timed), and copied by ``CREATE DATABASE ... TEMPLATE`` for the two-process run.
3. **Three configurations, each against the one fake Discord** (``tests/fakes/discord``,
   ``--shards`` shards, ``max_concurrency`` ``--max-concurrency``) running in this
   process: SQLite with one process; PostgreSQL with one process; PostgreSQL with two
   processes, the shards split in halves. Every bot process is a real subprocess:
   ``bot.__main__.main(["run"])`` (what ``python -m bot run`` runs) with the settings
   in its environment, started by this file's ``child`` command, which first installs
   the probes below.
4. **Measured**: cold start (spawn -> every guild of the process available and its
   catalogue loading finished), RSS per process (then, and the peak at the end),
   ``/recommend`` acknowledgement latency p50/p95 under a burst of ``--burst``
   concurrent interactions across the population (members picked uniformly, so big
   guilds are busier; seeds are track ids of the guild's catalogue).
5. **Profile** ("where the time goes"), inside each bot process: wall time of the
   store reads, catalogue builds (and their CPU time), IDENTIFY waits and gateway
   parsing, the ``/recommend`` steps; CPU seconds per thread group from
   ``/proc/self/task``; and a stack sampler (every 10 ms, every thread) that files
   each busy sample under store / catalogue build / engine / gateway / REST /
   charts / other.

Without ``../shared/data`` it prints a message and exits 0. ``--write-docs`` puts the
generated section into docs/benchmarks.md (between its markers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import importlib
import itertools
import json
import linecache
import math
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_common import DOCS, summary_ms, write_docs_section

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SONGS = DATA / "spotify_songs.csv.gz"
HITS = DATA / "spotify_hit_predictor_1960_2019.csv.gz"

MIN_TRACKS, MAX_TRACKS = 100, 20_000
RATINGS_PER_MEMBER = 25
LIKE_SHARE = 0.7
ACK_WINDOW = 3.0  # Discord's deadline for the first callback (measured, not enforced here)
SAMPLE_EVERY = 0.010  # the stack sampler's period
STATUS_EVERY = 0.5  # the child's status file period
SETTLE = 2.0  # no catalogue loading for this long (s) = loading finished

#: Where the bot's code is imported from (``--code``): a snapshot of the committed tree
#: by default, so changes in progress in the working tree are not measured.
CODE = REPO


# -- the population ------------------------------------------------------------------------


@dataclass
class Plan:
    """The simulated population, as indices into the track pool (no ids of Discord yet)."""

    sizes: list[int]
    sources: list[list[list[int]]]  # guild -> source -> pool indices (playlist order)
    members: list[int]  # rating members per guild
    ratings: list[tuple[int, int, int, int, int]]  # (guild, member, pool index, value, age s)
    shards: list[int]

    @property
    def membership_rows(self) -> int:
        return sum(len(ids) for guild in self.sources for ids in guild)


def load_pool() -> list[Any]:
    """Every distinct track of the two shared files (songs first), as a dataset gives it."""
    from recommender.loaders import load_catalogue

    seen: set[str] = set()
    pool = []
    for path in (SONGS, HITS):
        if not path.exists():
            continue
        for track in load_catalogue(path).tracks():
            if track.id in seen:
                continue
            seen.add(track.id)
            source = f"dataset:{path.name}"
            pool.append(
                dataclasses.replace(
                    track,
                    feature_source=source if track.features else None,
                    popularity_source=source if track.popularity is not None else None,
                )
            )
    return pool


def catalogue_sizes(rng: Any, guilds: int, alpha: float) -> list[int]:
    """Truncated Pareto sizes in [MIN_TRACKS, MAX_TRACKS] (inverse CDF)."""
    u = rng.random(guilds)
    ratio = (MIN_TRACKS / MAX_TRACKS) ** alpha
    sizes = MIN_TRACKS * (1 - u * (1 - ratio)) ** (-1 / alpha)
    return [int(min(MAX_TRACKS, s)) for s in sizes]


def weighted_sample(rng: Any, weights: Any, n: int) -> list[int]:
    """``n`` distinct pool indices drawn by weight (popular tracks are in more guilds)."""
    import numpy as np

    total = len(weights)
    if n >= total:
        return list(rng.permutation(total))
    if n > total // 8:  # Gumbel top-k: exact weighted sampling without replacement
        keys = np.log(weights) + rng.gumbel(size=total)
        top = np.argpartition(-keys, n)[:n]
        return [int(i) for i in top[np.argsort(-keys[top])]]
    probabilities = weights / weights.sum()
    chosen: dict[int, None] = {}
    while len(chosen) < n:
        for i in rng.choice(total, size=(n - len(chosen)) * 2 + 16, p=probabilities):
            chosen.setdefault(int(i), None)
            if len(chosen) == n:
                break
    return list(chosen)


def plan_population(pool: Sequence[Any], args: argparse.Namespace) -> Plan:
    """The guilds, their sources and the ratings, from ``args.seed`` alone."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    weights = np.array([1.0 + (t.popularity or 0) / 20.0 for t in pool])
    sizes = catalogue_sizes(rng, args.guilds, args.pareto_alpha)
    sources: list[list[list[int]]] = []
    for n in sizes:
        tracks = weighted_sample(rng, weights, n)
        parts = 1 if n < 300 else 2 if n < 3000 else 3
        cuts = (
            sorted(rng.choice(np.arange(1, n), size=parts - 1, replace=False)) if parts > 1 else []
        )
        bounds = [0, *[int(c) for c in cuts], n]
        sources.append([tracks[a:b] for a, b in itertools.pairwise(bounds)])
    share = np.array(sizes, dtype=float) / sum(sizes)
    per_guild = rng.multinomial(args.ratings, share)
    members: list[int] = []
    ratings: list[tuple[int, int, int, int, int]] = []
    for g, count in enumerate(per_guild):
        count = int(count)
        m = max(1, math.ceil(count / RATINGS_PER_MEMBER))
        members.append(m)
        catalogue = [i for ids in sources[g] for i in ids]
        for member in range(m):
            k = count // m + (member < count % m)
            if not k:
                continue
            picks = rng.choice(len(catalogue), size=k, replace=False)
            likes = rng.random(k) < LIKE_SHARE
            ages = rng.integers(0, 90 * 86400, size=k)
            for pick, like, age in zip(picks, likes, ages, strict=True):
                ratings.append((g, member, catalogue[int(pick)], 1 if like else -1, int(age)))
    shards = [g % args.shards for g in range(args.guilds)]
    return Plan(sizes, sources, members, ratings, shards)


# -- the fake Discord's world ----------------------------------------------------------------


@dataclass
class World:
    """The fake Discord and the ids it gave the population (deterministic per process)."""

    fake: Any
    guilds: list[Any]  # FakeGuild per plan guild
    members: list[list[Any]]  # FakeMember per plan guild, per rating member

    @property
    def guild_ids(self) -> list[int]:
        return [g.id for g in self.guilds]

    def fingerprint(self) -> str:
        """A hash of every id the store refers to (the SQLite cache key needs it)."""
        digest = hashlib.sha256()
        for guild, members in zip(self.guilds, self.members, strict=True):
            digest.update(f"{guild.id}:{','.join(str(m.id) for m in members)};".encode())
        return digest.hexdigest()[:16]


def build_world(plan: Plan, args: argparse.Namespace) -> World:
    """The fake Discord (not started) with every guild on its planned shard and its members.

    The fake's ids come from a process-wide counter, so the same plan built first in
    a fresh process always gets the same ids (which the cached store relies on).
    """
    from tests.fakes.discord import FakeDiscord, SessionStartLimit

    fake = FakeDiscord(
        shard_count=args.shards,
        session_start_limit=SessionStartLimit(max_concurrency=args.max_concurrency),
        # Latency is measured for every answer; a late one is counted, not refused.
        ack_deadline=None,
    )
    guilds, members = [], []
    for g, shard in enumerate(plan.shards):
        guild = fake.add_guild(f"guild-{g:05d}", shard=shard)
        guilds.append(guild)
        members.append([fake.add_member(guild, f"g{g}-m{m}") for m in range(plan.members[g])])
    return World(fake, guilds, members)


# -- the store -------------------------------------------------------------------------------


def cache_key(plan: Plan, world: World, args: argparse.Namespace) -> str:
    """The population file's name: every parameter that changes its contents."""
    parts = (
        f"g{args.guilds}-r{args.ratings}-a{args.pareto_alpha}-s{args.seed}-k{args.shards}-"
        f"{world.fingerprint()}-{plan.membership_rows}"
    )
    return f"population-{parts}.sqlite3"


async def write_sqlite(path: Path, pool: Sequence[Any], plan: Plan, world: World) -> dict[str, Any]:
    """Write the population into a new SQLite file; return what it took."""
    from bot.store import SqliteStore
    from bot.store.models import PlaylistSource
    from bot.store.rows import to_db_time

    now = dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    store = await SqliteStore.connect(path)
    try:
        for i in range(0, len(pool), 5000):
            await store.put_tracks(pool[i : i + 5000], at=now)
        timings["tracks_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for g, guild_sources in enumerate(plan.sources):
            for s, indices in enumerate(guild_sources):
                source = PlaylistSource(
                    guild_id=world.guilds[g].id,
                    key=f"bench{g:06d}x{s}",
                    kind="spotify",
                    display_name=f"guild {g} playlist {s + 1}",
                    added_by=world.fake.owner.id,
                    added_at=now - dt.timedelta(days=30 - s),
                    snapshot_id="bench",
                )
                await store.save_source(source, [pool[i].id for i in indices])
        timings["sources_s"] = time.perf_counter() - start
    finally:
        await store.close()
    # A million set_rating calls are a million transactions (~2 minutes); the same
    # INSERT the store runs (bot/store/sql_ratings.py), in one transaction instead.
    start = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO ratings (guild_id, user_id, track_id, value, updated_at, message_id) "
            "VALUES (?, ?, ?, ?, ?, NULL)",
            (
                (
                    world.guilds[g].id,
                    world.members[g][m].id,
                    pool[t].id,
                    value,
                    to_db_time(now - dt.timedelta(seconds=age)),
                )
                for g, m, t, value, age in plan.ratings
            ),
        )
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()
    timings["ratings_s"] = time.perf_counter() - start
    return timings


def table_counts(path: Path) -> dict[str, int]:
    """Rows per table of the SQLite file."""
    db = sqlite3.connect(path)
    try:
        tables = ("guilds", "tracks", "sources", "source_tracks", "ratings")
        return {t: int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}
    finally:
        db.close()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a bot process: this one without any bot, Spotify or PG settings."""
    prefixes = ("DISCORD_", "SPOTIFY_", "DATABASE_", "SHARD_", "PG", "RECCOBEATS", "CATALOGUE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PYTHONPATH"] = str(CODE)
    env.update(extra)
    return env


@dataclass
class Postgres:
    """The throwaway PostgreSQL cluster and the population database in it."""

    cluster: Any
    database: str
    migrate_s: float
    migrate_output: str

    def url(self, database: str | None = None) -> str:
        return str(self.cluster.url(database or self.database))

    def copy(self, name: str) -> str:
        """A fresh copy of the population database (a file copy inside the server)."""
        self.cluster.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.cluster.sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.database}"')
        return self.url(name)


MIGRATE = (sys.executable, "-m", "bot", "migrate-db")


def start_postgres(population: Path, workdir: Path) -> Postgres:
    """Start a cluster and fill a database with ``python -m bot migrate-db`` (timed)."""
    from tests.pg import start_cluster

    cluster = start_cluster()
    try:
        database = "population"
        cluster.sql(f'CREATE DATABASE "{database}"')
        start = time.perf_counter()
        result = subprocess.run(
            [*MIGRATE, "--from", str(population), "--to", cluster.url(database)],
            cwd=workdir,
            env=child_env({}),
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"migrate-db failed: {result.stderr[-2000:]}")
        cluster.sql("VACUUM ANALYZE", database)
        return Postgres(cluster, database, elapsed, result.stdout.strip())
    except BaseException:
        cluster.stop()
        raise


def postgres_settings(pg: Postgres) -> dict[str, str]:
    """The server settings that matter for the numbers (the test cluster's, not tuned)."""
    names = ("server_version", "shared_buffers", "fsync", "synchronous_commit", "max_connections")
    return {n: pg.cluster.sql(f"SHOW {n}").strip() for n in names}


def postgres_pss_kb(pg: Postgres) -> int | None:
    """Proportional set size of the server's processes (postmaster and its children)."""
    pid_file = pg.cluster.data_dir / "postmaster.pid"
    try:
        postmaster = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if int(entry.name) != postmaster and ppid != postmaster:
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


# -- inside a bot process: probes ------------------------------------------------------------


def first_module(*names: str) -> Any:
    """The first of ``names`` whose file is in the code measured (:data:`CODE`): the package
    layout differs between the commits this benchmark may measure (``--commit``).

    Decided by the files, not by trying the import: the editable install's finder would
    import a module the snapshot lacks from the working tree instead.
    """
    for name in names:
        path = CODE.joinpath(*name.split("."))
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return importlib.import_module(name)
    raise ModuleNotFoundError(f"none of {names} in {CODE}")


def thread_group(thread: threading.Thread) -> str:
    """A thread's role: the event loop, a SQLite connection, the bulk pool, ..."""
    if thread is threading.main_thread():
        return "event loop"
    name = thread.name
    if "_connection_worker_thread" in name:  # aiosqlite's one thread per connection
        return "sqlite connections"
    for prefix, group in (
        ("bulk", "bulk pool (builds)"),
        ("asyncio", "to_thread pool"),
        ("charts", "charts"),
    ):
        if name.startswith(prefix):
            return group
    return "other threads"


# Each rule: (category, precedence); the lowest precedence found on the stack wins.
_IDLE = {
    ("selectors.py", "select"),
    ("threading.py", "wait"),
    ("queue.py", "get"),
    ("thread.py", "_worker"),
}


def _code_tag(filename: str, name: str) -> tuple[str, int] | None:
    path = filename.replace("\\", "/")
    # By file name inside bot/: the package layout differs between commits.
    in_bot = "/bot/" in path
    if in_bot and path.endswith("/catalogues.py") and name == "_build":
        return "catalogue build", 0
    if "/matplotlib/" in path or (in_bot and path.endswith("/charts.py")):
        return "charts", 1
    if "/aiosqlite/" in path or "/sqlite3/" in path:
        return "store: sqlite", 2
    if "/asyncpg/" in path:
        return "store: asyncpg", 2
    if "/bot/store/" in path:
        return "store: python", 3
    if "/recommender/" in path:
        return "engine", 4
    if "/discord/" in path and path.rsplit("/", 1)[-1] in (
        "gateway.py",
        "state.py",
        "shard.py",
        "guild.py",
        "channel.py",
        "role.py",
        "member.py",
        "emoji.py",
        "sticker.py",
    ):
        return "gateway (discord.py)", 5
    if "/discord/" in path or "/aiohttp/" in path or "/yarl/" in path or "/multidict/" in path:
        return "Discord REST / interactions", 6
    if "/bot/" in path or "/cogs/" in path:
        return "bot (other)", 7
    return None


def _build_part(engine_file: str) -> str:
    """Which part of a catalogue build a sample is in, by the engine module it entered."""
    if engine_file.startswith("bot:"):  # no engine frame: the bot's own glue
        return engine_file[len("bot:") :]
    name = engine_file.rsplit("/", 1)[-1]
    if name in ("resolve.py", "name_index.py", "song_match.py"):
        return "song index"
    if name in ("catalogue.py", "features.py", "track.py", "validation.py", "strings.py"):
        return "catalogue"
    return "engine index" if name else "other"


class Probes:
    """Timers around the store, catalogue, gateway and /recommend steps, and a stack sampler.

    Every timed call is kept as ``(end epoch s, duration s[, cpu s])`` so the parent
    can cut any time window; the sampler counts busy samples per (second, thread
    group, category).
    """

    def __init__(self, status_dir: Path, started: float) -> None:
        self.status_dir = status_dir
        self.started = started
        self.calls: dict[str, list[tuple[float, ...]]] = defaultdict(list)
        self.events: dict[str, list[float]] = defaultdict(list)
        self.in_flight = 0
        self.loaded: set[int] = set()
        self.samples: Counter[tuple[int, str, str]] = Counter()
        self.cpu_series: list[tuple[float, dict[str, float]]] = []
        self.settings: dict[str, Any] = {}
        self._dump = threading.Event()
        self._stop = threading.Event()
        self._codes: dict[Any, tuple[str, int] | None] = {}
        self._groups: dict[int, str] = {}
        self._native: dict[int, str] = {}
        self._seq = 0

    # -- timers ------------------------------------------------------------------------

    def time_method(self, owner: type, name: str, label: str) -> None:
        """Record every call of ``owner.name`` under ``label``; a plain function's CPU time too."""
        original = owner.__dict__[name]
        calls = self.calls[label]
        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.time()
                try:
                    return await original(*args, **kwargs)
                finally:
                    end = time.time()
                    calls.append((end, end - start))

            setattr(owner, name, timed_async)
            return

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu_start = time.time(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.time()
                calls.append((end, end - start, time.thread_time() - cpu_start))

        setattr(owner, name, timed)

    def install(self) -> None:
        """Wrap the bot's classes (before the bot exists, so every instance is timed)."""
        import discord.state

        from bot.client import MusicBot
        from bot.store.postgres.store import PostgresStore
        from bot.store.sqlite import SqliteStore
        from recommender.engine import Recommender

        recommending = first_module("bot.services.recommending", "bot.recommending")
        catalogues = first_module("bot.services.catalogues", "bot.catalogues")
        CatalogueService = catalogues.CatalogueService
        RecommendationService = recommending.RecommendationService
        probes = self
        for store in (SqliteStore, PostgresStore):
            for method in (
                "load_guild_catalogue",
                "get_guild_settings",
                "list_guild_ratings",
                "list_member_ratings",
                "count_ratings",
                "save_recommendation",
                "put_tracks",
            ):
                self.time_method(store, method, f"store.{method}")
        self.time_method(CatalogueService, "_build", "catalogue build")
        self.time_method(RecommendationService, "recommend", "service.recommend")
        self.time_method(RecommendationService, "remember", "service.remember")
        self.time_method(Recommender, "recommend", "engine.recommend (thread)")
        as_rows = recommending._as_rows

        @functools.wraps(as_rows)
        def timed_rows(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            try:
                return as_rows(*args, **kwargs)
            finally:
                end = time.time()
                probes.calls["ratings -> rows (thread)"].append((end, end - start))

        setattr(recommending, "_as_rows", timed_rows)  # noqa: B010 - a module global

        # The one place a catalogue is read and built: _load (with the memory budget of
        # issue 11), reload in older code.
        loader = "_load" if "_load" in vars(CatalogueService) else "reload"
        load = getattr(CatalogueService, loader)

        @functools.wraps(load)
        async def counted_load(service: Any, guild_id: int) -> Any:
            probes.in_flight += 1
            start = time.time()
            try:
                return await load(service, guild_id)
            finally:
                probes.in_flight -= 1
                end = time.time()
                probes.calls["catalogue load"].append((end, end - start))
                probes.loaded.add(guild_id)

        setattr(CatalogueService, loader, counted_load)
        with contextlib.suppress(ImportError):
            budget = first_module("bot.services.catalogue_budget", "bot.catalogue_budget")
            CatalogueBudget = budget.CatalogueBudget

            evict = CatalogueBudget.evict

            @functools.wraps(evict)
            def counted_evict(budget: Any, *args: Any, **kwargs: Any) -> Any:
                evicted = evict(budget, *args, **kwargs)
                if evicted:
                    probes.events["catalogue evicted"].extend([time.time()] * len(evicted))
                return evicted

            setattr(CatalogueBudget, "evict", counted_evict)  # noqa: B010

        hook = MusicBot.setup_hook

        @functools.wraps(hook)
        async def marked_setup(bot_self: Any) -> None:
            probes.events["setup_hook start"].append(time.time())
            await hook(bot_self)
            probes.events["setup_hook end"].append(time.time())
            probes.settings = {
                k: v
                for k, v in bot_self.settings.bot.model_dump().items()
                if "token" not in k and k != "database_url"
            }

        setattr(MusicBot, "setup_hook", marked_setup)  # noqa: B010
        self.time_method(MusicBot, "before_identify_hook", "identify wait")
        available = MusicBot.on_guild_available

        @functools.wraps(available)
        async def counted_available(bot_self: Any, guild: Any) -> None:
            probes.events["guild available"].append(time.time())
            await available(bot_self, guild)

        setattr(MusicBot, "on_guild_available", counted_available)  # noqa: B010
        self.time_method(
            discord.state.ConnectionState, "parse_guild_create", "gateway: GUILD_CREATE"
        )

    # -- sampler and status --------------------------------------------------------------

    def start(self) -> None:
        """Start the sampler thread (it also writes the status file)."""
        thread = threading.Thread(target=self._run, name="bench-probe", daemon=True)
        thread.start()

    def request_dump(self) -> None:
        """Ask for a full dump (signal-safe: sets a flag)."""
        self._dump.set()

    def stop(self) -> None:
        self._stop.set()

    def _category(self, frame: Any) -> str | None:
        innermost = frame.f_code
        if (innermost.co_filename.rsplit("/", 1)[-1], innermost.co_name) in _IDLE:
            return None
        if innermost.co_name == "_connection_worker_thread":
            # aiosqlite's worker is idle on its queue's get(), busy on the call after it.
            line = linecache.getline(innermost.co_filename, frame.f_lineno)
            if "tx.get()" in line:
                return None
        best: tuple[str, int] | None = None
        engine_file = ""  # the outermost engine frame seen: what a build is constructing
        while frame is not None:
            code = frame.f_code
            if code in self._codes:
                tag = self._codes[code]
            else:
                tag = self._codes[code] = _code_tag(code.co_filename, code.co_name)
            if tag is not None and tag[0] == "engine":
                engine_file = code.co_filename
            elif not engine_file and tag is not None and tag[0] == "bot (other)":
                engine_file = engine_file or "bot:" + code.co_filename.rsplit("/", 1)[-1]
            if tag is not None and (best is None or tag[1] < best[1]):
                best = tag
                if best[1] == 0:
                    return f"catalogue build ({_build_part(engine_file)})"
            frame = frame.f_back
        return best[0] if best else "other (asyncio, logging, ...)"

    def _refresh_groups(self) -> None:
        me = threading.get_ident()
        self._groups = {
            t.ident: thread_group(t)
            for t in threading.enumerate()
            if t.ident is not None and t.ident != me
        }
        self._native = {
            t.native_id: self._groups[t.ident]
            for t in threading.enumerate()
            if t.native_id is not None and t.ident in self._groups
        }

    def _cpu_by_group(self) -> dict[str, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = defaultdict(float)
        for task in Path("/proc/self/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            group = self._native.get(int(task.name), "probe and other native threads")
            out[group] += (int(fields[11]) + int(fields[12])) / ticks
        return dict(out)

    def _run(self) -> None:
        next_status = 0.0
        while not self._stop.is_set():
            now = time.time()
            if now >= next_status:
                self._refresh_groups()
                self.cpu_series.append((now, self._cpu_by_group()))
                self._write_status(now)
                next_status = now + STATUS_EVERY
            second = int(now)
            for ident, frame in sys._current_frames().items():
                group = self._groups.get(ident)
                if group is None:
                    continue
                category = self._category(frame)
                if category is not None:
                    self.samples[(second, group, category)] += 1
            if self._dump.is_set():
                self._dump.clear()
                self.write_full()
            time.sleep(SAMPLE_EVERY)

    def _write_status(self, now: float) -> None:
        status = {
            "t": now,
            "pid": os.getpid(),
            "started": self.started,
            "available": len(self.events["guild available"]),
            "loaded": len(self.loaded),
            "in_flight": self.in_flight,
            "last_load_end": max((c[0] for c in self.calls["catalogue load"][-50:]), default=0),
            "evicted": len(self.events["catalogue evicted"]),
            "rss_kb": _proc_status_kb("VmRSS"),
        }
        _write_json(self.status_dir / "status.json", status)

    def write_full(self) -> None:
        """Everything recorded so far, to ``full-<n>.json``."""
        self._seq += 1
        data = {
            "started": self.started,
            "pid": os.getpid(),
            "calls": dict(self.calls),
            "events": dict(self.events),
            "samples": [[s, g, c, n] for (s, g, c), n in self.samples.items()],
            "cpu_series": self.cpu_series,
            "settings": self.settings,
            "rss_kb": _proc_status_kb("VmRSS"),
            "hwm_kb": _proc_status_kb("VmHWM"),
            "foreign_modules": foreign_modules(),
        }
        _write_json(self.status_dir / f"full-{self._seq}.json", data)


def foreign_modules() -> list[str]:
    """The project's modules this process imported from anywhere but :data:`CODE` (must be
    none: the measured code is the snapshot's alone)."""
    root = str(CODE.resolve())
    out = []
    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] not in ("bot", "cogs", "recommender", "tests"):
            continue
        where = getattr(module, "__file__", None)
        if where and not str(Path(where).resolve()).startswith(root):
            out.append(f"{name} ({where})")
    return out


def _proc_status_kb(key: str, pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, default=str))
    tmp.replace(path)


def use_code(root: Path) -> None:
    """Import the bot, the fakes and the test helpers from ``root`` from now on."""
    global CODE
    CODE = root
    sys.path.insert(0, str(root))


def apply_patches(root: Path, patches: Sequence[Path]) -> None:
    """Apply proposal patches (``git apply``) to the exported tree, never to the repository."""
    for patch in patches:
        subprocess.run(["git", "apply", "--verbose", str(patch.resolve())], cwd=root, check=True)


def export_committed(into: Path, revision: str = "HEAD") -> str:
    """Write ``git archive <revision>`` into ``into``; return the commit."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=REPO, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit


def child_main(status_dir: Path, code: Path) -> int:
    """A bot process: probes, then exactly what ``python -m bot run`` runs."""
    started = time.time()
    use_code(code)
    probes = Probes(status_dir, started)
    probes.install()
    probes.events["imports done"].append(time.time())
    probes.start()
    signal.signal(signal.SIGUSR1, lambda *_: probes.request_dump())
    from bot.__main__ import main

    try:
        return main(["run"])
    finally:
        probes.stop()
        probes.write_full()


# -- the parent: running configurations -----------------------------------------------------


@dataclass
class Process:
    """One bot subprocess and where it reports."""

    name: str
    shards: list[int]
    owned: int
    directory: Path
    popen: subprocess.Popen[bytes] | None = None
    spawned: float = 0.0
    log: Any = None

    def status(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.directory / "status.json").read_text()))
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def cpu_seconds(self) -> float:
        assert self.popen is not None
        try:
            fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join((self.directory / "bot.log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def log_counts(self) -> dict[str, float]:
        try:
            text = (self.directory / "bot.log").read_text()
        except OSError:
            return {}
        behind = [float(x) for x in re.findall(r"Can't keep up, .* is ([0-9.]+)s behind", text)]
        return {level: len(re.findall(rf" {level}\s", text)) for level in ("WARNING", "ERROR")} | {
            "tracebacks": text.count("Traceback"),
            # discord.py's heartbeat thread could not send for 10 s: the loop was held up.
            "heartbeat_blocked": text.count("heartbeat blocked for more than"),
            # "Can't keep up": see _render_heartbeats (not a delay measurement here).
            "gateway_behind": len(behind),
            "gateway_behind_max_s": max(behind, default=0.0),
        }


def spawn(process: Process, env: dict[str, str]) -> None:
    """Start the bot process (``child`` command of this file) with ``env``."""
    process.directory.mkdir(parents=True, exist_ok=True)
    for stale in process.directory.glob("*.json"):
        stale.unlink()
    process.log = (process.directory / "bot.log").open("wb")
    process.spawned = time.time()
    process.popen = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "child",
            "--status-dir",
            str(process.directory),
            "--code-root",
            str(CODE),
        ],
        cwd=process.directory,  # no .env here: the settings are the environment's
        env=env,
        stdout=process.log,
        stderr=subprocess.STDOUT,
    )


async def wait_cold_start(processes: list[Process], limit: float) -> dict[str, Any]:
    """Poll the status files until every process has its guilds and finished loading."""
    done: dict[str, float] = {}
    quiet_since: dict[str, float] = {}
    deadline = time.time() + limit
    next_report = time.time() + 30
    while len(done) < len(processes):
        await asyncio.sleep(0.25)
        now = time.time()
        if now >= next_report:
            next_report = now + 30
            for p in processes:
                progress = p.status() or {}
                print(
                    f"  {p.name}: {now - p.spawned:.0f} s, {progress.get('available', 0)}/"
                    f"{p.owned} available, {progress.get('loaded', 0)} loaded, "
                    f"{progress.get('evicted', 0)} evicted, RSS "
                    f"{progress.get('rss_kb', 0) / 1024:.0f} MB",
                    flush=True,
                )
        for p in processes:
            if p.name in done:
                continue
            if not p.alive():
                raise RuntimeError(f"{p.name} exited during start-up:\n{p.log_tail()}")
            status = p.status()
            if status is None or status["available"] < p.owned:
                continue
            if status["loaded"] >= p.owned and status["in_flight"] == 0:
                done[p.name] = now
                continue
            # A bot that loads lazily: settled when nothing has loaded for SETTLE s.
            if status["in_flight"] == 0 and now - status["last_load_end"] > SETTLE:
                quiet_since.setdefault(p.name, now)
                if now - quiet_since[p.name] > SETTLE:
                    done[p.name] = now
            else:
                quiet_since.pop(p.name, None)
        if now > deadline:
            raise TimeoutError(f"cold start not finished in {limit:.0f} s: {done}")
    return done


async def wait_quiet(processes: list[Process], limit: float, threshold: float = 0.15) -> float:
    """Wait (at most ``limit`` s) until every process uses < ``threshold`` of a CPU; return
    how long it waited."""
    start = time.time()
    last = {p.name: p.cpu_seconds() for p in processes}
    while time.time() - start < limit:
        await asyncio.sleep(1.0)
        now = {p.name: p.cpu_seconds() for p in processes}
        busy = max(now[n] - last[n] for n in now)
        last = now
        if busy < threshold:
            break
    return time.time() - start


def burst_jobs(
    plan: Plan,
    world: World,
    pool: Sequence[Any],
    count: int,
    seed: int,
    same_as: list[Any] | None = None,
) -> list[Any]:
    """``count`` (guild, member, seed track id, guild index): members picked uniformly over
    the population, or the members of ``same_as`` again (with new seeds)."""
    import random

    rng = random.Random(seed)
    if same_as is not None:
        picked = [(g, plan_member) for *_, g, plan_member in same_as]
    else:
        everyone = [(g, m) for g, n in enumerate(plan.members) for m in range(n)]
        picked = rng.sample(everyone, min(count, len(everyone)))
    jobs = []
    for g, m in picked:
        tracks = [i for ids in plan.sources[g] for i in ids]
        song = pool[rng.choice(tracks)].id
        jobs.append((world.guilds[g], world.members[g][m], song, g, m))
    return jobs


async def run_burst(world: World, jobs: list[Any]) -> dict[str, Any]:
    """Dispatch every job at once; per interaction the acknowledgement (the defer) and the
    answer (the edit that carries the suggestions, or an error followup)."""
    fake = world.fake

    async def one(guild: Any, member: Any, song: str) -> tuple[Any, float | None]:
        handle = await fake.invoke(guild, member, "recommend", options={"song": song}, timeout=30)

        def answered() -> bool:
            original = handle.original
            return bool(handle.followups) or (original is not None and bool(original.embeds))

        try:
            await handle.wait_for(answered, 120.0)
        except TimeoutError:
            return handle, None
        return handle, fake.now() - handle.dispatched_at

    start = time.time()
    outcomes = await asyncio.gather(*(one(guild, member, song) for guild, member, song, *_ in jobs))
    end = time.time()
    handles = [h for h, _ in outcomes]
    answers = [a for _, a in outcomes if a is not None]
    acks = [h.ack_latency for h in handles if h.ack_latency is not None]
    with_suggestions = sum(1 for h in handles if h.original is not None and h.original.embeds)
    return {
        "interactions": len(jobs),
        "guilds": len({job[3] for job in jobs}),
        "acknowledged": len(acks),
        "answered": len(answers),
        "with_suggestions": with_suggestions,
        "other_answers": len(answers) - with_suggestions,
        "acked_within_3s": sum(1 for a in acks if a <= ACK_WINDOW),
        "answered_within_3s": sum(1 for a in answers if a <= ACK_WINDOW),
        "ack": summary_ms(acks),
        "answer": summary_ms(answers),
        "dispatch_spread_ms": (
            max(h.dispatched_at for h in handles) - min(h.dispatched_at for h in handles)
        )
        * 1000,
        "window": [start, end],
    }


@dataclass
class Config:
    """One configuration of the run."""

    name: str
    backend: str  # "sqlite" | "postgresql"
    processes: int


async def run_config(config: Config, setup: Setup, database: dict[str, str]) -> dict[str, Any]:
    """Start the configuration's bot processes, measure, stop them; every number."""
    format_shard_ids = first_module("bot.infra.sharding", "bot.sharding").format_shard_ids

    world, plan, pool, workdir, args = (
        setup.world,
        setup.plan,
        setup.pool,
        setup.workdir,
        setup.args,
    )
    halves = [list(range(args.shards))]
    if config.processes == 2:
        half = args.shards // 2
        halves = [list(range(half)), list(range(half, args.shards))]
    processes = []
    for i, shards in enumerate(halves):
        owned = sum(1 for s in plan.shards if s in shards)
        processes.append(
            Process(f"{config.name} p{i + 1}", shards, owned, workdir / f"{config.name}-p{i + 1}")
        )
    base = {
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_URL": world.fake.api_url,
        "DISCORD_GATEWAY_URL": world.fake.gateway_url,
        "SHARD_COUNT": str(args.shards),
        "LOG_LEVEL": "WARNING",
        **database,
    }
    refusals_before = len(world.fake.identify_refusals)
    load_start = os.getloadavg()
    print(f"[{config.name}] starting {len(processes)} process(es) ...", flush=True)
    for p in processes:
        spawn(p, child_env(base | {"SHARD_IDS": format_shard_ids(p.shards)}))
    result: dict[str, Any] = {"config": dataclasses.asdict(config), "processes": {}}
    try:
        done = await wait_cold_start(processes, args.cold_timeout)
        for p in processes:
            result["processes"][p.name] = {
                "shards": format_shard_ids(p.shards),
                "guilds": p.owned,
                "cold_start_s": done[p.name] - p.spawned,
                "rss_after_start_mb": _proc_status_kb("VmRSS", p.popen.pid) / 1024
                if p.popen
                else 0,
            }
        cluster_ready = max(done.values()) - min(p.spawned for p in processes)
        result["cold_start_s"] = cluster_ready
        result["cold_start_window"] = [min(p.spawned for p in processes), max(done.values())]
        print(f"[{config.name}] cold start {cluster_ready:.1f} s", flush=True)
        bursts = []
        first: list[Any] | None = None
        kinds = ["new guilds"] * args.bursts + ["same guilds again"] * args.repeat_burst
        for b, kind in enumerate(kinds):
            waited = await wait_quiet(processes, args.quiet_limit)
            same = first if kind == "same guilds again" else None
            jobs = burst_jobs(plan, world, pool, args.burst, args.seed * 100 + b, same)
            first = first or jobs
            burst = await run_burst(world, jobs)
            burst["kind"] = kind
            burst["quiet_wait_s"] = waited
            bursts.append(burst)
            print(
                f"[{config.name}] burst {b + 1} ({kind}): {burst['answered']}/"
                f"{burst['interactions']} "
                f"answered ({burst['with_suggestions']} with suggestions), answer p50 "
                f"{burst['answer']['p50_ms']:.0f} ms p95 {burst['answer']['p95_ms']:.0f} ms, ack "
                f"p95 {burst['ack']['p95_ms']:.0f} ms",
                flush=True,
            )
        result["bursts"] = bursts
        await wait_quiet(processes, args.quiet_limit)
        if setup.pg is not None and config.backend == "postgresql":
            result["postgres_pss_mb"] = (postgres_pss_kb(setup.pg) or 0) / 1024
        for p in processes:
            result["processes"][p.name]["profile"] = await collect_profile(p, result)
    finally:
        await stop_processes(processes)
    for p in processes:
        result["processes"][p.name]["log"] = p.log_counts()
    result["loadavg"] = [load_start, os.getloadavg()]
    result["identify_refusals"] = [
        dataclasses.asdict(r) for r in world.fake.identify_refusals[refusals_before:]
    ]
    return result


async def collect_profile(p: Process, result: dict[str, Any]) -> dict[str, Any]:
    """Ask the process for its probes (SIGUSR1) and cut them into the cold start and bursts."""
    assert p.popen is not None
    before = set(p.directory.glob("full-*.json"))
    p.popen.send_signal(signal.SIGUSR1)
    for _ in range(200):
        await asyncio.sleep(0.1)
        new = set(p.directory.glob("full-*.json")) - before
        if new:
            data = json.loads(max(new).read_text())
            break
    else:
        raise TimeoutError(f"{p.name} wrote no profile")
    cold = (p.spawned, result["cold_start_window"][1])
    if data.get("foreign_modules"):
        print(
            f"WARNING {p.name} imported code from outside the snapshot: {data['foreign_modules']}"
        )
    profile = {
        "foreign_modules": data.get("foreign_modules", []),
        "settings": data["settings"],
        "rss_mb": data["rss_kb"] / 1024,
        "peak_rss_mb": data["hwm_kb"] / 1024,
        "cold_start": window_profile(data, cold, p.spawned),
        "bursts": [window_profile(data, tuple(b["window"]), p.spawned) for b in result["bursts"]],
    }
    return profile


def window_profile(
    data: dict[str, Any], window: tuple[float, float], spawned: float
) -> dict[str, Any]:
    """Timers, events, CPU per thread group and sampler categories within ``window``."""
    start, end = window
    calls: dict[str, Any] = {}
    for label, records in data["calls"].items():
        inside = [r for r in records if start <= r[0] <= end + 1.0]
        if not inside:
            continue
        durations = [r[1] for r in inside]
        entry = {"n": len(inside), "sum_s": sum(durations)} | summary_ms(durations)
        if len(inside[0]) > 2:
            entry["cpu_s"] = sum(r[2] for r in inside)
        calls[label] = entry
    events = {
        name: {
            "n": len(inside),
            "first_s": min(inside) - spawned,
            "last_s": max(inside) - spawned,
        }
        for name, times in data["events"].items()
        if (inside := [t for t in times if start - 1 <= t <= end + 1])
    }
    cpu = _cpu_between(data["cpu_series"], start, end)
    samples: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for second, group, category, n in data["samples"]:
        if start - 1 < second <= end:
            samples[group][category] += n
    return {
        "calls": calls,
        "read_not_built_max": _read_not_built_max(data["calls"], start, end),
        "events": events,
        "cpu_s": cpu,
        "samples": {g: dict(c) for g, c in samples.items()},
        "sample_period_s": SAMPLE_EVERY,
    }


def _read_not_built_max(calls: dict[str, list[Any]], start: float, end: float) -> int:
    """The most catalogues read from the store and not yet built at any moment (memory held
    by records waiting for the bulk pool)."""
    marks = [(r[0], 1) for r in calls.get("store.load_guild_catalogue", []) if start <= r[0] <= end]
    marks += [(r[0], -1) for r in calls.get("catalogue build", []) if start <= r[0] <= end]
    waiting = peak = 0
    for _, step in sorted(marks):
        waiting += step
        peak = max(peak, waiting)
    return peak


def _cpu_between(series: list[Any], start: float, end: float) -> dict[str, float]:
    if not series:
        return {}
    before = [s for s in series if s[0] <= start]
    first = before[-1][1] if before else {}
    after = [s for s in series if s[0] <= end + STATUS_EVERY]
    last = after[-1][1] if after else series[-1][1]
    return {
        g: round(v - first.get(g, 0.0), 2) for g, v in last.items() if v - first.get(g, 0.0) > 0
    }


async def stop_processes(processes: list[Process]) -> None:
    """SIGINT (the bot closes cleanly), then wait; SIGKILL only a process that will not stop."""
    for p in processes:
        if p.alive():
            assert p.popen is not None
            p.popen.send_signal(signal.SIGINT)
    for p in processes:
        if p.popen is None:
            continue
        for _ in range(300):
            if p.popen.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            p.popen.kill()
            p.popen.wait()
        if p.log is not None:
            p.log.close()


# -- main ------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, memory, load, versions."""
    import discord
    import numpy

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = _proc_meminfo_mb("MemTotal")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "bot", "cogs", "recommender"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_mb": memory,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "discord.py": discord.__version__,
        "commit": commit,
        "uncommitted_in_bot_cogs_recommender": dirty.splitlines(),
        "loadavg_start": os.getloadavg(),
    }


def _proc_meminfo_mb(key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns every number."""
    results: dict[str, Any] = {"machine": machine_info(), "args": vars(args) | {}}
    started = time.perf_counter()
    pool = load_pool()
    plan = plan_population(pool, args)
    world = build_world(plan, args)
    sizes = sorted(plan.sizes)
    results["population"] = {
        "guilds": args.guilds,
        "shards": args.shards,
        "pool_tracks": len(pool),
        "catalogue_rows": plan.membership_rows,
        "size_median": sizes[len(sizes) // 2],
        "size_p90": sizes[int(len(sizes) * 0.9)],
        "size_p99": sizes[int(len(sizes) * 0.99)],
        "size_max": sizes[-1],
        "ratings": len(plan.ratings),
        "members": sum(plan.members),
        "distinct_tracks_used": len({i for g in plan.sources for ids in g for i in ids}),
        "plan_s": time.perf_counter() - started,
    }
    print(f"population: {results['population']}", flush=True)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-cluster-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache or workdir)
    cache.mkdir(parents=True, exist_ok=True)
    population = cache / cache_key(plan, world, args)
    if population.exists():
        print(f"store: cached {population}", flush=True)
        results["store"] = {"cached": True}
    else:
        partial = population.with_suffix(".partial")
        for leftover in cache.glob(partial.name + "*"):
            leftover.unlink()
        timings = asyncio.run(write_sqlite(partial, pool, plan, world))
        partial.replace(population)
        results["store"] = {"cached": False} | timings
        print(f"store: written {timings}", flush=True)
    results["store"]["sqlite_mb"] = population.stat().st_size / 2**20
    results["store"]["rows"] = table_counts(population)
    configs = [c for c in CONFIGS if c.name in args.configs.split(",")]
    pg: Postgres | None = None
    try:
        if any(c.backend == "postgresql" for c in configs):
            pg = start_postgres(population, workdir)
            results["store"]["migrate_db_s"] = pg.migrate_s
            results["store"]["migrate_db_output"] = pg.migrate_output
            results["postgres"] = postgres_settings(pg)
            print(f"postgresql: migrate-db {pg.migrate_s:.1f} s", flush=True)
        setup = Setup(world, plan, pool, population, pg, workdir, args)
        results["runs"] = asyncio.run(run_configs(configs, setup))
    finally:
        if pg is not None:
            pg.cluster.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["wall_s"] = time.perf_counter() - started
    return results


@dataclass
class Setup:
    """What every configuration runs against."""

    world: World
    plan: Plan
    pool: Sequence[Any]
    population: Path
    pg: Postgres | None
    workdir: Path
    args: argparse.Namespace


async def run_configs(configs: Sequence[Config], setup: Setup) -> list[dict[str, Any]]:
    """Each configuration in turn against the one fake Discord (started here)."""
    await setup.world.fake.start()
    try:
        runs = []
        for config in configs:
            if config.backend == "sqlite":
                copy = setup.workdir / f"{config.name}.sqlite3"
                await asyncio.to_thread(shutil.copyfile, setup.population, copy)
                database = {"DATABASE_PATH": str(copy)}
            else:
                assert setup.pg is not None
                url = await asyncio.to_thread(setup.pg.copy, config.name.replace("-", "_"))
                database = {"DATABASE_URL": url}
            runs.append(await run_config(config, setup, database))
        return runs
    finally:
        await setup.world.fake.stop()


CONFIGS = (
    Config("sqlite-1", "sqlite", 1),
    Config("postgresql-1", "postgresql", 1),
    Config("postgresql-2", "postgresql", 2),
)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--guilds", type=int, default=10_000)
    p.add_argument("--ratings", type=int, default=1_000_000)
    p.add_argument("--pareto-alpha", type=float, default=1.2, help="tail of catalogue sizes")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--shards", type=int, default=10, help="shard count (~1,000 guilds a shard)")
    p.add_argument("--max-concurrency", type=int, default=1, help="IDENTIFYs per 5 s (Discord's)")
    p.add_argument("--burst", type=int, default=200, help="concurrent /recommend")
    p.add_argument("--bursts", type=int, default=1, help="bursts over random members")
    p.add_argument(
        "--repeat-burst",
        type=int,
        choices=(0, 1),
        default=1,
        help="then one more with the first burst's members (their catalogues in memory)",
    )
    p.add_argument("--configs", default=",".join(c.name for c in CONFIGS))
    p.add_argument("--cold-timeout", type=float, default=1800.0)
    p.add_argument("--quiet-limit", type=float, default=30.0, help="max wait for idle CPU (s)")
    p.add_argument(
        "--code",
        choices=("committed", "worktree"),
        default="committed",
        help="run the bot from a snapshot of HEAD (default) or the working tree as it is",
    )
    p.add_argument(
        "--commit", default="HEAD", help="the commit to measure with --code committed (HEAD)"
    )
    p.add_argument(
        "--patch",
        type=Path,
        action="append",
        default=[],
        help="apply this proposal (e.g. benchmarks/proposals/X.patch) to the snapshot",
    )
    p.add_argument("--workdir", type=Path, help="keep the run's files here")
    p.add_argument("--cache", type=Path, help="where the population file is kept (reused)")
    p.add_argument("--json", type=Path, help="write every number here")
    p.add_argument("--write-docs", action="store_true", help=f"write the section into {DOCS}")
    p.add_argument("--from-json", type=Path, help="only render the docs section from a JSON")
    p.add_argument(
        "--compare-json",
        action="append",
        default=[],
        metavar="FILE[::LABEL]",
        help="another run of the same population to list beside this one (repeatable)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        child = argparse.ArgumentParser()
        child.add_argument("--status-dir", type=Path, required=True)
        child.add_argument("--code-root", type=Path, required=True)
        options = child.parse_args(argv[1:])
        return child_main(options.status_dir, options.code_root)
    args = parser().parse_args(argv)
    if args.patch and args.code != "committed":
        print("error: --patch applies to the committed snapshot only (--code committed)")
        return 2
    snapshot = None
    if args.code == "committed" and not args.from_json:
        snapshot = Path(tempfile.mkdtemp(prefix="bench-cluster-code-"))
        args.commit = export_committed(snapshot, args.commit)
        apply_patches(snapshot, args.patch)
        use_code(snapshot)
    else:
        use_code(REPO)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        if not SONGS.exists():
            print(f"{SONGS} not found (../shared is absent): nothing to benchmark.")
            return 0
        try:
            results = run(args)
        finally:
            if snapshot is not None:
                shutil.rmtree(snapshot, ignore_errors=True)
        print(f"done in {results['wall_s']:.0f} s", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
    others = []
    for spec in args.compare_json:
        path, _, label = spec.partition("::")
        other = json.loads(Path(path).read_text())
        other["label"] = label or _default_label(other)
        others.append(other)
    results["label"] = _default_label(results)
    section = render_section(results, others)
    print(section)
    if args.write_docs:
        write_docs_section("bench_cluster", section)
    return 0


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _s(seconds: float) -> str:
    return f"{seconds:,.0f} s" if seconds >= 100 else f"{seconds:.1f} s"


def _ms(value: float) -> str:
    if value != value:  # NaN
        return "-"
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _mb(value: float) -> str:
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=90, break_long_words=False, break_on_hyphens=False)


def render_section(results: dict[str, Any], others: Sequence[dict[str, Any]] = ()) -> str:
    """The docs section: how to reproduce, the set-up, the tables, where the time goes.

    ``others``: runs of the same population (another commit, a proposal applied), each
    with a ``label``, listed beside this one.
    """
    args, machine, population = results["args"], results["machine"], results["population"]
    store = results["store"]
    full = args["guilds"] >= 10_000 and args["ratings"] >= 1_000_000
    command = "python benchmarks/bench_cluster.py"
    if not full:
        command += f" --guilds {args['guilds']} --ratings {args['ratings']}"
    scale = (
        "the issue's full scale"
        if full
        else "**scaled down** from the issue's 10,000 guilds and 1,000,000 ratings"
    )
    run_note = (
        f"This run: {_n(args['guilds'])} guilds and {_n(population['ratings'])} ratings, "
        f"{scale}; it took {results['wall_s'] / 60:.0f} minutes"
        + (" (the population file came from the cache)" if store.get("cached") else "")
        + "."
    )
    if results["wall_s"] > 15 * 60:
        run_note += (
            " That is longer than the 15 minutes aimed at: the three cold starts alone take"
            f" {sum(r['cold_start_s'] for r in results.get('runs', [])) / 60:.0f} minutes"
            " (below). `--guilds 2000 --ratings 200000` runs in a few minutes."
        )
    lines = [
        f"## Cluster: {_n(args['guilds'])} guilds, {_n(population['ratings'])} ratings on "
        "SQLite and PostgreSQL, one and two processes",
        "",
        "Reproduce (from the repository root; needs `../shared/data`, otherwise it prints a",
        "message and exits 0, and PostgreSQL's server binaries, found as `tests/pg.py` finds",
        "them):",
        "",
        f"    {command} --cache /tmp/bench-cluster --json OUT.json --write-docs",
        "",
        _wrap(
            "(defaults: `--guilds 10000 --ratings 1000000`, all three configurations "
            "`--configs sqlite-1,postgresql-1,postgresql-2`, one burst (`--bursts N`); "
            "`--cache DIR` keeps the generated SQLite file for the next run; `--patch FILE` "
            "measures a proposal applied to the committed code; `--from-json OUT.json "
            "[--compare-json OTHER.json::LABEL ...]` renders this section again.) " + run_note
        ),
        "",
        _wrap(
            f"**Machine.** {machine['cpus']} vCPU {machine['cpu']}, "
            f"{machine['memory_mb'] / 1024:.0f} GB, Python {machine['python']}, numpy "
            f"{machine['numpy']}, discord.py {machine['discord.py']}. Load average "
            f"{machine['loadavg_start'][0]:.1f} at the start and {machine['loadavg_end'][0]:.1f}"
            f" at the end{_load_note(machine)}."
        ),
        "",
    ]
    lines += _render_code(results)
    lines += _render_population(results)
    lines += _render_setup(results)
    lines += ["### Results", ""]
    lines += _render_tables(results)
    if others:
        lines += _render_others(results, others)
    lines += _render_where(results)
    lines += _render_build_split([results, *others])
    lines += _render_heartbeats([results, *others])
    return "\n".join(lines) + "\n"


def _settings(results: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for run in results.get("runs", []):
        for process in run["processes"].values():
            settings = process.get("profile", {}).get("settings") or settings
    return settings


def _patches(results: dict[str, Any]) -> str:
    patches = results["args"].get("patch") or []
    if not patches:
        return "no patch"
    return ", ".join(f"`benchmarks/proposals/{Path(p).name}`" for p in patches)


def _render_code(results: dict[str, Any]) -> list[str]:
    args, settings = results["args"], _settings(results)
    budget, pool = settings.get("catalogue_memory_mb"), settings.get("database_pool_size")
    code = (
        f"commit `{args.get('commit')}`, the committed tree exported with `git archive` (work"
        " in progress in the working tree is not measured)"
        if args.get("code") == "committed"
        else "the working tree as it was (`--code worktree`)"
    )
    if args.get("patch"):
        code += f", **with {_patches(results)} applied**"
    text = (
        f"**Code measured.** {code}. Bot settings: the defaults, except the Discord URLs, "
        f"`SHARD_COUNT={args['shards']}`, `SHARD_IDS` and `LOG_LEVEL=WARNING`"
        + (f"; so `CATALOGUE_MEMORY_MB={budget:g}`" if budget is not None else "")
        + (f", `DATABASE_POOL_SIZE={pool}`" if pool is not None else "")
        + "; no Spotify credentials."
    )
    pg = results.get("postgres")
    if pg:
        text += (
            f" PostgreSQL {pg['server_version'].split()[0]}: the tests' throwaway cluster "
            f"(`tests/pg.py`: shared_buffers {pg['shared_buffers']}, fsync "
            f"{pg['fsync']}, synchronous_commit {pg['synchronous_commit']}), not tuned."
        )
    return [_wrap(text), ""]


def _render_population(results: dict[str, Any]) -> list[str]:
    args, pop, store = results["args"], results["population"], results["store"]
    text = (
        f"**Population** (seeded: `--seed {args['seed']}`). {_n(pop['guilds'])} guilds, "
        f"{_n(pop['guilds'] / args['shards'])} on each of {args['shards']} shards. Catalogue "
        f"sizes from a Pareto distribution (alpha {args['pareto_alpha']}) truncated to "
        f"{_n(MIN_TRACKS)}-{_n(MAX_TRACKS)} tracks: median {_n(pop['size_median'])}, p90 "
        f"{_n(pop['size_p90'])}, p99 {_n(pop['size_p99'])}, max {_n(pop['size_max'])}; "
        f"{_n(pop['catalogue_rows'])} catalogue rows over {_n(pop['distinct_tracks_used'])} "
        f"distinct tracks, all from the {_n(pop['pool_tracks'])} of the two shared files "
        "(`spotify_songs` and `spotify_hit_predictor_1960_2019`; drawn by popularity, so "
        f"catalogues overlap), in {_n(store['rows']['sources'])} playlist sources (one to "
        f"three a guild). {_n(pop['ratings'])} ratings by {_n(pop['members'])} members "
        f"(about {RATINGS_PER_MEMBER} each, {LIKE_SHARE:.0%} likes), spread over guilds in "
        f"proportion to catalogue size. SQLite file: {store['sqlite_mb']:,.0f} MB"
    )
    if not store.get("cached"):
        text += (
            f", written in {_s(store['tracks_s'] + store['sources_s'] + store['ratings_s'])} "
            f"(`put_tracks` {_s(store['tracks_s'])}, `save_source` {_s(store['sources_s'])}; "
            f"the ratings with the store's own `INSERT`, in one transaction, "
            f"{_s(store['ratings_s'])})"
        )
    text += "."
    if "migrate_db_s" in store:
        text += (
            f" `python -m bot migrate-db` copied it into PostgreSQL in "
            f"{_s(store['migrate_db_s'])}; the two-process configuration gets a fresh copy "
            "(`CREATE DATABASE ... TEMPLATE`), as each configuration gets a fresh SQLite file."
        )
    return [_wrap(text), ""]


def _render_setup(results: dict[str, Any]) -> list[str]:
    args = results["args"]
    text = (
        "**Set-up.** One fake Discord (`tests/fakes/discord`) in the benchmark's process, "
        f"{args['shards']} shards, `max_concurrency` {args['max_concurrency']} (Discord's "
        "value for a bot of this size: one IDENTIFY per 5 s). Every bot process is a real "
        'subprocess: `bot.__main__.main(["run"])`, what `python -m bot run` runs, with its '
        "settings in the environment, after a bootstrap that installs the timers and the "
        "stack sampler of the profile below (nothing else changes). Two processes split the "
        "shards in halves. **Cold start**: spawn until every guild of the process is available"
        " and its catalogue loading has finished (every guild loaded, or none loading for "
        f"{SETTLE:.0f} s). **Burst**: {args['burst']} `/recommend` interactions dispatched at "
        "once, members picked uniformly over the population (so big guilds are busier), each"
        " with a seed from its guild's catalogue; **ack** = dispatch to the first callback "
        "(the bot defers at once), **answer** = dispatch to the edit that carries the "
        "suggestions. A burst starts once every process is idle (under 15% of a CPU, at most"
        f" {args['quiet_limit']:.0f} s)."
    )
    return [_wrap(text), ""]


def _render_tables(results: dict[str, Any]) -> list[str]:
    runs = results.get("runs", [])
    out = [
        "| configuration | process: shards (guilds) | cold start | catalogues loaded / "
        "evicted | RSS after start | peak RSS |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        name = run["config"]["name"]
        for pname, p in run["processes"].items():
            cold = p.get("profile", {}).get("cold_start", {})
            loads = cold.get("calls", {}).get("catalogue load", {}).get("n", 0)
            evicted = cold.get("events", {}).get("catalogue evicted", {}).get("n", 0)
            out.append(
                f"| {name} | {pname.split()[-1]}: {p['shards']} ({_n(p['guilds'])}) | "
                f"**{_s(p['cold_start_s'])}** | {_n(loads)} / {_n(evicted)} | "
                f"{_mb(p['rss_after_start_mb'])} | "
                f"{_mb(p.get('profile', {}).get('peak_rss_mb', 0))} |"
            )
        if run.get("postgres_pss_mb"):
            out.append(
                f"| {name} | the PostgreSQL server (PSS of its processes, after the burst) | | |"
                f" | {_mb(run['postgres_pss_mb'])} |"
            )
    out += [
        "",
        "| configuration | burst | answered (with suggestions) | answer p50 | answer p95 | "
        "ack p50 | ack p95 | acked within 3 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        for i, b in enumerate(run["bursts"], start=1):
            out.append(
                f"| {run['config']['name']} | {i}: {b.get('kind', 'new guilds')} | "
                f"{b['answered']}/{b['interactions']} "
                f"({b['with_suggestions']}) | **{_ms(b['answer']['p50_ms'])}** | "
                f"**{_ms(b['answer']['p95_ms'])}** | {_ms(b['ack']['p50_ms'])} | "
                f"{_ms(b['ack']['p95_ms'])} | {b['acked_within_3s']}/{b['interactions']} |"
            )
    return [*out, ""]


def _load_note(machine: dict[str, Any]) -> str:
    """What the load average before and after a run says about other work on the machine.

    The benchmark's own processes are idle at both ends (a burst waits for quiet), so a
    load average above the core count means something else was running.
    """
    load = max(machine["loadavg_start"][0], machine["loadavg_end"][0])
    if load > machine["cpus"]:
        return ": other work shared the cores, so every wall time here is inflated and noisy"
    return " (nothing else ran on the machine); a burst is still one sample of 200"


def _default_label(results: dict[str, Any]) -> str:
    args = results["args"]
    label = f"`{args.get('commit', '?')}`" if args.get("code") == "committed" else "working tree"
    if args.get("patch"):
        label += " + " + _patches(results)
    return label


def _render_others(results: dict[str, Any], others: Sequence[dict[str, Any]]) -> list[str]:
    out = [
        "### Other runs of the same population",
        "",
        _wrap(
            "Same population, settings and machine; each run is the whole benchmark. Answer "
            "times are p50 / p95 of the burst over new guilds and, where the run had it, of "
            "the burst repeated with the same members (their catalogues in memory)."
        ),
        "",
        "| run | configuration | cold start | loaded at start | RSS after start (largest) | "
        "peak RSS | answer, new guilds | answer, same guilds again | load average (5 min) "
        "after |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_results in [*others, results]:
        label = run_results.get("label", "")
        for run in run_results.get("runs", []):
            new = [b for b in run["bursts"] if b.get("kind", "new guilds") == "new guilds"]
            again = [b for b in run["bursts"] if b.get("kind") == "same guilds again"]
            out.append(
                f"| {label} | {run['config']['name']} | {_s(_headline(run, 'cold'))} | "
                f"{_n(_headline(run, 'loads'))} | {_mb(_headline(run, 'rss'))} | "
                f"{_mb(_headline(run, 'peak'))} | {_pair(new)} | {_pair(again)} | "
                f"{_load_after(run)} |"
            )
    out.append("")
    for other in others:
        out += _render_ratios(results, other)
    return out


#: What the ratio table compares: (column, how to read it from one configuration's run).
_RATIO_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], float]], ...] = (
    ("cold start", lambda run: _headline(run, "cold")),
    ("RSS after start", lambda run: _headline(run, "rss")),
    ("peak RSS", lambda run: _headline(run, "peak")),
    ("answer p50, new guilds", lambda run: _burst_answer(run, "new guilds", "p50_ms")),
    ("answer p95, new guilds", lambda run: _burst_answer(run, "new guilds", "p95_ms")),
    ("answer p50, same again", lambda run: _burst_answer(run, "same guilds again", "p50_ms")),
    ("answer p95, same again", lambda run: _burst_answer(run, "same guilds again", "p95_ms")),
)


def _burst_answer(run: dict[str, Any], kind: str, key: str) -> float:
    for burst in run["bursts"]:
        if burst.get("kind", "new guilds") == kind:
            return float(burst["answer"].get(key, float("nan")))
    return float("nan")


def _render_ratios(results: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """This run's numbers divided by ``other``'s, configuration by configuration."""
    theirs = {run["config"]["name"]: run for run in other.get("runs", [])}
    rows = []
    for run in results.get("runs", []):
        base = theirs.get(run["config"]["name"])
        if base is None:
            continue
        cells = []
        for _, value in _RATIO_COLUMNS:
            mine, before = value(run), value(base)
            ok = math.isfinite(mine) and math.isfinite(before) and before > 0
            cells.append(f"{mine / before:.2f}" if ok else "-")
        rows.append(f"| {run['config']['name']} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    header = " | ".join(name for name, _ in _RATIO_COLUMNS)
    return [
        f"Ratios, {results.get('label', 'this run')} / {other.get('label', 'the other run')} "
        "(below 1: less time or memory):",
        "",
        f"| configuration | {header} |",
        "| --- |" + " ---: |" * len(_RATIO_COLUMNS),
        *rows,
        "",
    ]


def _load_after(run: dict[str, Any]) -> str:
    """The 5-minute load average when the configuration ended (the benchmark itself
    keeps it near 1.5 on two cores; more means other work shared the machine)."""
    loads = run.get("loadavg")
    return f"{loads[-1][1]:.1f}" if loads else "-"


def _pair(bursts: list[dict[str, Any]]) -> str:
    if not bursts:
        return "-"
    answer = bursts[0]["answer"]
    return f"{_ms(answer['p50_ms'])} / {_ms(answer['p95_ms'])}"


def _headline(run: dict[str, Any], key: str) -> float:
    processes = list(run["processes"].values())
    burst = run["bursts"][0] if run["bursts"] else {"answer": {}}
    if key == "cold":
        return float(run["cold_start_s"])
    if key == "loads":
        return float(
            sum(
                p.get("profile", {})
                .get("cold_start", {})
                .get("calls", {})
                .get("catalogue load", {})
                .get("n", 0)
                for p in processes
            )
        )
    if key == "rss":
        return max(p["rss_after_start_mb"] for p in processes)
    if key == "peak":
        return max(p.get("profile", {}).get("peak_rss_mb", 0.0) for p in processes)
    if key == "late":
        return float(sum(p.get("log", {}).get("gateway_behind", 0) for p in processes))
    return float(burst["answer"].get(f"{key}_ms", float("nan")))


def _render_heartbeats(runs: Sequence[dict[str, Any]]) -> list[str]:
    """What discord.py's heartbeat warnings say about the event loop, over every run shown."""
    blocked = behind = 0
    worst = 0.0
    counted_blocks = True  # runs before that counter existed did not record it
    for results in runs:
        for run in results.get("runs", []):
            for process in run["processes"].values():
                log = process.get("log", {})
                counted_blocks = counted_blocks and "heartbeat_blocked" in log
                blocked += int(log.get("heartbeat_blocked", 0))
                behind += int(log.get("gateway_behind", 0))
                worst = max(worst, float(log.get("gateway_behind_max_s", 0.0)))
    if not behind and not blocked:
        return []
    return [
        _wrap(
            (
                'discord.py\'s watchdog, "heartbeat blocked for more than 10 seconds" (the '
                f"event loop held up), fired {_n(blocked)} times in these runs. "
                if counted_blocks
                else ""
            )
            + f"discord.py's \"Can't keep "
            f'up, ... websocket is N s behind" warning appeared {_n(behind)} times (largest '
            f"N {worst:.0f} s). N is the time since the send discord.py last recorded, and "
            "its keep-alive thread records a send only once it gets the GIL back after the "
            "loop sent it (discord/gateway.py, `KeepAliveHandler.run` and `ack`): when the "
            "ACK is handled first, N is the time since the previous heartbeat. So these "
            "warnings say the process was busy, not that the loop stood still for N s; the "
            "acknowledgement times above say how late members' interactions were handled."
        ),
        "",
    ]


#: Sampler categories as the docs name them (older runs used shorter labels).
CATEGORY_NAMES = {
    "Discord REST / interactions": "discord.py outside its gateway parsers, aiohttp",
}


def _top(
    samples: dict[str, dict[str, int]], groups: Sequence[str] | None = None, k: int = 3
) -> str:
    counts: Counter[str] = Counter()
    for group, categories in samples.items():
        if groups is None or group in groups:
            for category, n in categories.items():
                # The parts of a build are shown on their own (_build_split).
                counts[
                    category.split(" (", 1)[0]
                    if category.startswith("catalogue build")
                    else category
                ] += n
    total = sum(counts.values())
    if not total:
        return "-"
    return ", ".join(
        f"{CATEGORY_NAMES.get(c, c)} {100 * n / total:.0f}%" for c, n in counts.most_common(k) if n
    )


def _build_split(results: dict[str, Any]) -> str | None:
    """Busy samples inside catalogue builds by part, over every process and window."""
    parts: Counter[str] = Counter()
    for _label, _p, profile in _processes(results):
        for window in [profile["cold_start"], *profile["bursts"]]:
            for categories in window["samples"].values():
                for category, n in categories.items():
                    if category.startswith("catalogue build ("):
                        parts[category[len("catalogue build (") : -1]] += n
    total = sum(parts.values())
    if not total:
        return None
    return ", ".join(f"{part} {100 * n / total:.0f}%" for part, n in parts.most_common())


def _call(calls: dict[str, Any], label: str, field: str = "p50_ms") -> float:
    return float(calls.get(label, {}).get(field, float("nan")))


def _processes(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for run in results.get("runs", []):
        for pname, p in run["processes"].items():
            if p.get("profile"):
                label = run["config"]["name"]
                if len(run["processes"]) > 1:
                    label += f" {pname.split()[-1]}"
                yield label, p, p["profile"]


def _store_threads(cpu: dict[str, float]) -> float:
    return cpu.get("sqlite connections", 0.0)


def _render_where(results: dict[str, Any]) -> list[str]:
    rows = results["population"]["catalogue_rows"]
    out = [
        "### Where the time goes",
        "",
        _wrap(
            "Generated from the probes inside each bot process: wall-clock timers around the"
            " store reads, catalogue builds (with their thread's CPU time), IDENTIFY waits and "
            "the `/recommend` steps; CPU seconds per thread group from `/proc/self/task` "
            "(SQLite's connection threads, the two-thread bulk pool that builds catalogues, "
            "`asyncio.to_thread` workers, the chart thread; PostgreSQL's asyncpg runs on the "
            "event loop); and a stack sampler (every 10 ms, every thread; a sample waiting for"
            " the GIL counts as busy) that files each busy sample under the innermost "
            "recognised part: catalogue build, store, engine, gateway (discord.py parsing), "
            "Discord REST and interactions, charts."
        ),
        "",
        "**Cold start**, per process:",
        "",
        "| configuration | all guilds available | IDENTIFY waits | loading after that | "
        "store read p50 (queued) | build CPU | CPU: loop / store threads / bulk pool / all "
        "| read, not yet built (max) | loop's busy samples |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, p, profile in _processes(results):
        cold = profile["cold_start"]
        calls, cpu = cold["calls"], cold["cpu_s"]
        available = cold["events"].get("guild available", {}).get("last_s", 0.0)
        build_cpu = calls.get("catalogue build", {}).get("cpu_s", 0.0)
        out.append(
            f"| {label} | {_s(available)} | {_s(calls.get('identify wait', {}).get('sum_s', 0))}"
            f" | {_s(max(0.0, p['cold_start_s'] - available))} | "
            f"{_ms(_call(calls, 'store.load_guild_catalogue'))} | {_s(build_cpu)} | "
            f"{_s(cpu.get('event loop', 0))} / {_s(_store_threads(cpu))} / "
            f"{_s(cpu.get('bulk pool (builds)', 0))} / {_s(sum(cpu.values()))} | "
            f"{_n(cold.get('read_not_built_max', 0))} | {_top(cold['samples'], ['event loop'])} |"
        )
    out += [
        "",
        "**Burst**, per process (p50 of each step; a step's wall time includes its queueing):",
        "",
        "| configuration | interactions | catalogue loads (p50) | `recommend` | guild settings |"
        " guild ratings | engine (thread) | `remember` | CPU all | busy samples, all threads |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, _p, profile in _processes(results):
        for burst in profile["bursts"]:
            calls = burst["calls"]
            loads = calls.get("catalogue load", {})
            out.append(
                f"| {label} | {_n(calls.get('service.recommend', {}).get('n', 0))} | "
                f"{_n(loads.get('n', 0))} ({_ms(loads.get('p50_ms', float('nan')))}) | "
                f"{_ms(_call(calls, 'service.recommend'))} | "
                f"{_ms(_call(calls, 'store.get_guild_settings'))} | "
                f"{_ms(_call(calls, 'store.list_guild_ratings'))} | "
                f"{_ms(_call(calls, 'engine.recommend (thread)'))} | "
                f"{_ms(_call(calls, 'service.remember'))} | {_s(sum(burst['cpu_s'].values()))} | "
                f"{_top(burst['samples'])} |"
            )
    out += ["", *_where_paragraphs(results, rows), ""]
    return out


def _where_paragraphs(results: dict[str, Any], rows: int) -> list[str]:
    """The generated reading of the two tables above."""
    out = []
    for run in results.get("runs", []):
        name = run["config"]["name"]
        procs = [p for p in run["processes"].values() if p.get("profile")]
        if not procs:
            continue
        cold = [p["profile"]["cold_start"] for p in procs]
        available = max(c["events"].get("guild available", {}).get("last_s", 0.0) for c in cold)
        identify = max(c["calls"].get("identify wait", {}).get("sum_s", 0.0) for c in cold)
        loads = sum(c["calls"].get("catalogue load", {}).get("n", 0) for c in cold)
        evicted = sum(c["events"].get("catalogue evicted", {}).get("n", 0) for c in cold)
        build = sum(c["calls"].get("catalogue build", {}).get("cpu_s", 0.0) for c in cold)
        cpu = sum(sum(c["cpu_s"].values()) for c in cold)
        text = (
            f"**{name}.** Cold start {_s(run['cold_start_s'])}: the gateway part (spawn to the"
            f" last guild available, {_s(available)}, of which {_s(identify)} waiting for "
            "IDENTIFY turns) is "
            f"{100 * min(available, run['cold_start_s']) / run['cold_start_s']:.0f}%; the rest"
            f" is catalogue loading: {_n(loads)} catalogues read and built"
        )
        if loads:
            text += (
                f" ({_s(build)} of build CPU, {1e6 * build / max(1, rows):.0f} us a catalogue "
                f"row, {100 * build / max(cpu, 1e-9):.0f}% of the {_s(cpu)} of CPU the start "
                "took)"
            )
        if evicted:
            text += (
                f", of which {_n(evicted)} ({100 * evicted / max(loads, 1):.0f}%) were evicted "
                "again by the memory budget before the start was over"
            )
        text += "."
        bursts = [p["profile"]["bursts"][0] for p in procs if p["profile"]["bursts"]]
        if bursts and run["bursts"]:
            handled = sum(b["calls"].get("service.recommend", {}).get("n", 0) for b in bursts)
            rebuilt = sum(b["calls"].get("catalogue load", {}).get("n", 0) for b in bursts)
            answer = run["bursts"][0]["answer"]
            text += f" Burst: answer p50 {_ms(answer['p50_ms'])}, p95 {_ms(answer['p95_ms'])}; "
            if not rebuilt:
                text += "every guild of the burst had its catalogue in memory"
            else:
                text += (
                    f"{_n(rebuilt)} of the {_n(handled)} interactions' guilds had no catalogue "
                    "in memory and waited for it to be read and built"
                )
                p50 = statistics.median(
                    b["calls"]["catalogue load"]["p50_ms"]
                    for b in bursts
                    if "catalogue load" in b["calls"]
                )
                text += f" (p50 {_ms(p50)} each, built two at a time on the bulk pool)"
            settings = statistics.median(
                _call(b["calls"], "store.get_guild_settings") for b in bursts
            )
            engine = statistics.median(
                _call(b["calls"], "engine.recommend (thread)") for b in bursts
            )
            text += (
                f"; the store's first read of a request (guild settings) waited p50 "
                f"{_ms(settings)} for its turn, the engine took p50 {_ms(engine)}."
            )
            again = [b for b in run["bursts"][1:] if b.get("kind") == "same guilds again"]
            if again:
                warm = again[0]["answer"]
                text += (
                    f" The same members again, their catalogues now in memory: answer p50 "
                    f"{_ms(warm['p50_ms'])}, p95 {_ms(warm['p95_ms'])}."
                )
        out += [_wrap(text), ""]
    return out


#: Build parts named by the bot module a sample was in, as the docs name them.
_BUILD_PART_NAMES = {
    "catalogue_sharing.py": "content key (catalogue_sharing.py)",
    "catalogues.py": "catalogue service (catalogues.py)",
}


def _render_build_split(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Where catalogue builds spend their time, in every run whose sampler split them."""
    lines = []
    for results in runs:
        split = _build_split(results)
        if split:
            for module, name in _BUILD_PART_NAMES.items():
                split = re.sub(rf"(?<![\w(]){re.escape(module)}", name, split)
            lines.append(f"- {results.get('label', '')}: {split}")
    if not lines:
        return []
    return [
        _wrap(
            "Inside catalogue builds (busy samples of the bulk pool, start-up and bursts). "
            "The engine index includes fitting the similarity calibration; the song index is "
            "`SongResolver`'s name indexes, which serve autocomplete and songs typed by name "
            "(a seed given as a track id, which is what autocomplete sends and what these "
            "bursts send, is found by `Catalogue.row_of`); the content key is the digest by "
            "which guilds with identical catalogues share one."
        ),
        "",
        *lines,
        "",
    ]


if __name__ == "__main__":
    sys.exit(main())
