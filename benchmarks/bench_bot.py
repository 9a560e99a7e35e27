"""Bot benchmark: /recommend and autocomplete through the fake Discord.

Run from the repository root::

    python benchmarks/bench_bot.py --sizes 10k,100k --requests 200 --json OUT.json
    python benchmarks/bench_bot.py --parts deadlines,imports --reference --markdown OUT.md

``--parts`` picks what runs: ``sizes`` (the per-size measurements below),
``deadlines`` (bursts of ``--burst`` concurrent /recommend across ``--burst-guilds``
guilds, ``--bursts`` times: share acknowledged within Discord's 3 s, p50/p95 of the
final answer) and ``imports`` (other guilds' /recommend, a steady stream, while one
guild imports a generated 8 MB CSV and then a ``--playlist-tracks`` Spotify playlist
from the fake Spotify: share acknowledged, answer times, the bot loop's lag p99 and
max). ``--reference`` runs the same parts a second time, in the same process, with
the previous behaviour restored by patches (``reference_behaviour``): /recommend
answers without deferring, one SQLite connection for reads and writes with big
writes in one transaction, CSV parsing on the event loop.

The real :class:`bot.client.MusicBot` runs against the fake Discord
(``tests/fakes/discord``) on a SQLite file in a temporary directory, pre-populated
through the store API (tracks, one source per guild, ratings; no Spotify). The
fake runs its aiohttp server **in its own thread with its own event loop**, so the
bot's event loop does only the bot's work (the two threads still share the GIL).
Measured:

* ``/recommend`` handling at each catalogue size: dispatch -> first callback (the
  bot answers in-catalogue songs directly, so that callback *is* the final reply)
  and dispatch -> the bot's first rating reaction (the reply's bookkeeping,
  ``remember``, is done by then); seeds by track id, as autocomplete gives them;
* autocomplete: dispatch -> choices, for 1-6 typed characters of real titles
  (a fifth with a typo);
* a burst of concurrent ``/recommend`` across many guilds (default 100 across 20
  guilds of 5k tracks): acknowledged within Discord's 3 s window (the fake answers a
  later callback with ``10062`` as Discord does), and the bot loop's lag;
* the bot loop's lag throughout, from a ticker (lateness of a 10 ms sleep);
* a step breakdown of one request (a second, instrumented pass);
* the reference, same run and same catalogues: the seed tutorial's method
  (``MinMaxScaler`` + ``cosine_similarity`` + full ``argsort`` per query) run
  blocking in the bot's event loop: its compute time per request and the loop lag
  it causes.

``10k`` is a random sample of the real catalogue (``../shared/data/spotify_songs.csv.gz``);
``100k`` is the whole real catalogue plus resampled rows (features jittered, new ids,
title and artists of other real rows). Without ``../shared`` the benchmark prints a
message and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import logging
import os
import platform
import random
import string
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import bench_common
from bench_common import percentile

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "spotify_songs.csv.gz"
JITTER = 0.02  # synthetic rows: noise std as a fraction of each feature's std
ACK_WINDOW = 3.0  # Discord's deadline for the first callback
TICK = 0.010  # the lag ticker's sleep
TARGET_RECOMMEND_P95_MS = 50.0
TARGET_AUTOCOMPLETE_P95_MS = 20.0
ID_CHARS = string.ascii_letters + string.digits

sys.path.insert(0, str(REPO))

T = TypeVar("T")


# -- statistics --------------------------------------------------------------------------


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95 and max in milliseconds, and the count (this script's key names)."""
    summary = bench_common.summary_ms(seconds)
    return {"n": summary["n"], "median_ms": summary["p50_ms"], "p95_ms": summary["p95_ms"],
            "max_ms": summary["max_ms"]}  # fmt: skip


# -- data --------------------------------------------------------------------------------


def new_track_id(rng: random.Random) -> str:
    """A fresh 22-character Spotify-style id."""
    return "".join(rng.choice(ID_CHARS) for _ in range(22))


def synthetic_tracks(real: Sequence[Any], n: int, seed: int) -> list[Any]:
    """``n`` tracks resampled from the real ones with features jittered and new ids.

    Features come from one real track (continuous ones jittered by 2% of their std,
    clipped to the real range; key and mode kept), title from a second, artists from
    a third, so names stay realistic without duplicating (title, artists) keys.
    """
    import numpy as np

    from recommender.features import FEATURE_NAMES, KEY, MODE

    with_features = [t for t in real if t.features]
    matrix = np.array([[t.features[f] for f in FEATURE_NAMES] for t in with_features])
    low, high, std = matrix.min(axis=0), matrix.max(axis=0), matrix.std(axis=0)
    rng = np.random.default_rng(seed)
    ids = random.Random(seed)
    picks = rng.integers(0, len(with_features), size=(n, 3))
    noise = rng.normal(0.0, JITTER, size=(n, len(FEATURE_NAMES))) * std
    out = []
    for i, (a, b, c) in enumerate(picks):
        base = with_features[a]
        values = np.clip(matrix[a] + noise[i], low, high)
        features = {
            name: float(base.features[name]) if name in (KEY, MODE) else float(values[j])
            for j, name in enumerate(FEATURE_NAMES)
        }
        popularity = base.popularity
        if popularity is not None:
            popularity = int(np.clip(popularity + rng.normal(0, 3), 0, 100))
        out.append(
            dataclasses.replace(
                base,
                id=new_track_id(ids),
                name=with_features[b].name,
                artists=with_features[c].artists,
                features=features,
                popularity=popularity,
            )
        )
    return out


def parse_size(text: str) -> int:
    """``10k`` -> 10000, ``100k`` -> 100000, ``1M`` -> 1000000."""
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


@dataclass
class GuildPlan:
    """One guild of the benchmark world: its catalogue and its members."""

    name: str
    track_ids: list[str]
    members: int
    ratings_per_member: int
    guild: Any = None
    member_objs: list[Any] = field(default_factory=list)


def plan_guilds(
    real: list[Any], synthetic: list[Any], sizes: list[int], args: argparse.Namespace
) -> tuple[list[GuildPlan], list[GuildPlan]]:
    """Catalogue guilds (one per size) and the burst guilds, as track id lists."""
    rng = random.Random(7)
    real_ids = [t.id for t in real]
    pool = real_ids + [t.id for t in synthetic]
    sized = []
    for n in sizes:
        ids = rng.sample(real_ids, n) if n <= len(real_ids) else pool[:n]
        sized.append(GuildPlan(f"catalogue-{n // 1000}k", ids, args.members, args.ratings))
    burst = [
        GuildPlan(f"burst-{g:02d}", rng.sample(real_ids, args.burst_tracks), 5, 10)
        for g in range(args.burst_guilds)
    ]
    return sized, burst


async def populate(path: Path, tracks: list[Any], guilds: list[GuildPlan], fake: Any) -> float:
    """Write tracks, one source per guild and members' ratings through the store API."""
    from bot.store import SqliteStore
    from bot.store.models import DISLIKE, LIKE, PlaylistSource

    start = time.perf_counter()
    store = await SqliteStore.connect(path)
    try:
        for i in range(0, len(tracks), 5000):
            await store.put_tracks(tracks[i : i + 5000])
        rng = random.Random(11)
        now = dt.datetime.now(dt.UTC)
        for plan in guilds:
            source = PlaylistSource(
                guild_id=plan.guild.id,
                key=new_track_id(rng),
                kind="spotify",
                display_name=f"{plan.name} playlist",
                added_by=fake.owner.id,
                added_at=now,
                snapshot_id="bench",
            )
            await store.save_source(source, plan.track_ids)
            for member in plan.member_objs[: plan.members]:
                for track_id in rng.sample(plan.track_ids, plan.ratings_per_member):
                    value = LIKE if rng.random() < 0.7 else DISLIKE
                    await store.set_rating(plan.guild.id, member.id, track_id, value)
    finally:
        await store.close()
    return time.perf_counter() - start


# -- the fake Discord in its own thread --------------------------------------------------


class FakeThread:
    """A :class:`FakeDiscord` served by its own event loop in a daemon thread.

    The harness API is used unchanged: coroutines of the fake run in its loop via
    :meth:`run`; the bot (in the main loop) reaches it over 127.0.0.1 as usual.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-discord")
        self._thread.daemon = True
        self._thread.start()
        self.fake: Any = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """Schedule ``coroutine`` in the fake's loop; await the result from any loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def start(self, **options: Any) -> Any:
        """Create and start the fake in its loop (its conditions bind to that loop)."""
        from tests.fakes.discord import FakeDiscord

        async def make() -> Any:
            fake = FakeDiscord(**options)
            return await fake.start()

        self.fake = await self.run(make())
        return self.fake

    async def stop(self) -> None:
        """Stop the fake and its loop."""
        if self.fake is not None:
            await self.run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


# -- the lag ticker ----------------------------------------------------------------------


class LagTicker:
    """Lateness of a 10 ms ``asyncio.sleep`` loop in the running (bot's) event loop."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lateness s)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.samples.append((time.monotonic(), time.perf_counter() - start - TICK))

    def start(self) -> None:
        """Start ticking in the current loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop ticking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def between(self, start: float, end: float) -> list[float]:
        """Lateness samples (s) that ended in ``[start, end]`` (monotonic)."""
        return [lag for at, lag in self.samples if start <= at <= end]


class GcPauses:
    """Every garbage-collector pause (generation, monotonic end, seconds), via ``gc.callbacks``."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []
        self._start = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            pause = time.perf_counter() - self._start
            self.pauses.append((info["generation"], time.monotonic(), pause))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def between(self, start: float, end: float) -> dict[str, float]:
        """Collections of the oldest generation and the longest pause in ``[start, end]``."""
        inside = [(g, d) for g, at, d in self.pauses if start <= at <= end]
        return {
            "collections": len(inside),
            "gen2_collections": sum(1 for g, _ in inside if g == 2),
            "max_pause_ms": max((d for _, d in inside), default=0.0) * 1000,
            "total_ms": sum(d for _, d in inside) * 1000,
        }


GC = GcPauses()


def lag_summary(lags: Sequence[float]) -> dict[str, float]:
    """p95 and max loop lag in ms."""
    s = summary_ms(lags)
    return {"ticks": s["n"], "p95_ms": s["p95_ms"], "max_ms": s["max_ms"]}


# -- the world ---------------------------------------------------------------------------


@dataclass
class World:
    """The running fake, the bot and the guild plans."""

    fake_thread: FakeThread
    bot: Any
    sized: list[GuildPlan]
    burst: list[GuildPlan]
    ticker: LagTicker
    importer: GuildPlan | None = None  # an empty guild whose admin imports
    spotify: Any = None  # the fake Spotify (in the fake's thread), if any
    playlist_id: str | None = None  # its big playlist

    @property
    def fake(self) -> Any:
        return self.fake_thread.fake

    def run(self, coroutine: Coroutine[Any, Any, T]) -> Awaitable[T]:
        return self.fake_thread.run(coroutine)


@contextlib.asynccontextmanager
async def running_world(
    workdir: Path, real: list[Any], synthetic: list[Any], sizes: list[int], args: argparse.Namespace
) -> AsyncIterator[World]:
    """Fake Discord (own thread), populated SQLite file, the real MusicBot started."""
    from bot.client import MusicBot
    from bot.settings import BotSettings, Settings
    from recommender.spotify.settings import SpotifySettings
    from tests.fakes.discord import running_bot

    sized, burst = plan_guilds(real, synthetic, sizes, args)
    fake_thread = FakeThread()
    fake = await fake_thread.start(ack_deadline=ACK_WINDOW)
    spotify_stack = contextlib.AsyncExitStack()
    try:
        for plan in sized + burst:
            plan.guild = fake.add_guild(plan.name)
            plan.member_objs = [
                fake.add_member(plan.guild, f"{plan.name}-m{i}")
                for i in range(plan.members + args.unrated_members)
            ]
        importer = None
        spotify, playlist_id, spotify_env = None, None, {}
        if "imports" in args.parts:
            from tests.fakes.discord import MANAGE_GUILD

            importer = GuildPlan("importer", [], 0, 0)
            importer.guild = fake.add_guild(importer.name)
            importer.member_objs = [
                fake.add_member(importer.guild, "importer-admin", permissions=MANAGE_GUILD)
            ]
            spotify, playlist_id = await fake_thread.run(
                start_fake_spotify(spotify_stack, args.playlist_tracks)
            )
            spotify_env = spotify.env()
        database = workdir / "bot.sqlite3"
        used = {i for plan in sized + burst for i in plan.track_ids}
        tracks = [t for t in real + synthetic if t.id in used]
        elapsed = await populate(database, tracks, sized + burst, fake)
        print(f"store: {len(tracks):,} tracks, {len(sized + burst)} guilds in {elapsed:.1f} s")
        settings = Settings(
            bot=BotSettings(
                discord_token="fake-token",
                database_path=database,
                discord_api_url=fake.api_url,
                discord_gateway_url=fake.gateway_url,
                log_level="WARNING",
                # The 8 MB file has ~243k rows: above the default cap of tracks
                # per guild, which would refuse it before any heavy work.
                max_tracks_per_guild=1_000_000,
            ),
            spotify=SpotifySettings.from_env(spotify_env),
        )
        start = time.perf_counter()
        async with running_bot(MusicBot(settings), fake, timeout=120.0) as bot:
            await bot.tree.sync()
            for plan in sized + burst:
                await bot.catalogues.ensure(plan.guild.id)
                if len(bot.catalogues.get(plan.guild.id)) != len(plan.track_ids):
                    raise RuntimeError(f"{plan.name}: catalogue not loaded")
            print(f"bot ready, catalogues built in {time.perf_counter() - start:.1f} s")
            ticker = LagTicker()
            ticker.start()
            try:
                yield World(fake_thread, bot, sized, burst, ticker, importer, spotify, playlist_id)
            finally:
                await ticker.stop()
    finally:
        await fake_thread.run(spotify_stack.aclose())
        await fake_thread.stop()


async def start_fake_spotify(stack: contextlib.AsyncExitStack, tracks: int) -> tuple[Any, str]:
    """The fake Spotify (full API) with one playlist of ``tracks`` new tracks; run it in
    the fake's loop so serving it costs the bot's loop nothing."""
    from tests.fakes.spotify import FakeSpotifyConfig, running_fake_spotify

    spotify = await stack.enter_async_context(running_fake_spotify(FakeSpotifyConfig("full")))
    playlist_id = spotify.add_playlist(tracks, name=f"Big playlist ({tracks:,} tracks)")
    return spotify, playlist_id


# -- (a) /recommend one at a time --------------------------------------------------------


@dataclass
class RecommendTiming:
    """One /recommend interaction as seen by the fake."""

    ack_s: float | None
    answer_s: float | None
    done_s: float | None
    ok: bool


async def recommend_once(
    world: World, plan: GuildPlan, member: Any, song: str, wait_reactions: bool = True
) -> RecommendTiming:
    """Invoke /recommend, wait for the answer and the bot's reactions (its bookkeeping)."""
    fake = world.fake

    async def drive() -> RecommendTiming:
        handle = await fake.invoke(plan.guild, member, "recommend", options={"song": song})
        try:
            message = await handle.wait_final(lambda m: bool(m.embeds) or m.ephemeral, timeout=10.0)
        except AssertionError:
            return RecommendTiming(handle.ack_latency, None, None, False)
        ok = bool(message.embeds) and not message.ephemeral
        answer = answer_times(fake, [handle]).get(handle.id)
        done = None
        if wait_reactions and ok:
            # The first rating reaction is added after ``remember`` stored the message.
            with contextlib.suppress(TimeoutError):
                await fake.wait_until(lambda: bool(message.reactions), 10.0)
                first = next(
                    r.time
                    for r in reversed(fake.requests)
                    if r.method == "PUT"
                    and f"/messages/{message.id}/reactions/" in r.path
                    and r.time >= handle.dispatched_at
                )
                done = first - handle.dispatched_at
                # Let the reactions finish so the next request starts on a quiet loop.
                expected = _reaction_count(message.embeds)
                await fake.wait_until(lambda: len(message.reactions) >= expected, 10.0)
                await _chart_attached(fake, message)
        return RecommendTiming(handle.ack_latency, answer, done, ok)

    return await world.run(drive())


async def _chart_attached(fake: Any, message: Any) -> None:
    """Wait (up to 3 s) for a chart attached after the reply, so requests don't overlap."""
    with contextlib.suppress(TimeoutError):
        await fake.wait_until(lambda: bool(message.attachments), 3.0)


def _reaction_count(embeds: list[dict[str, Any]]) -> int:
    """How many rating reactions the bot adds: a like and a dislike per suggestion."""
    description = str(embeds[0].get("description", "")) if embeds else ""
    return 2 * description.count("open.spotify.com/track/")


async def bench_recommend(
    world: World, plan: GuildPlan, requests: int, seed: int
) -> dict[str, Any]:
    """``requests`` sequential /recommend calls with random seeds (by track id)."""
    rng = random.Random(seed)
    for _ in range(5):  # warm-up
        await recommend_once(world, plan, rng.choice(plan.member_objs), rng.choice(plan.track_ids))
    acks, answers, dones, failures = [], [], [], 0
    start = time.monotonic()
    for _ in range(requests):
        member = rng.choice(plan.member_objs)
        timing = await recommend_once(world, plan, member, rng.choice(plan.track_ids))
        if not timing.ok or timing.ack_s is None or timing.answer_s is None:
            failures += 1
            continue
        acks.append(timing.ack_s)
        answers.append(timing.answer_s)
        if timing.done_s is not None:
            dones.append(timing.done_s)
    end = time.monotonic()
    return {
        "ack": summary_ms(acks),
        "answer": summary_ms(answers),
        "done": summary_ms(dones),
        "failures": failures,
        "loop_lag": lag_summary(world.ticker.between(start, end)),
        "gc": GC.between(start, end),
    }


# -- (b) autocomplete --------------------------------------------------------------------


def typed_inputs(titles: Sequence[str], count: int, seed: int) -> list[str]:
    """1-6 leading characters of real titles; every fifth has a typo."""
    rng = random.Random(seed)
    inputs = []
    for i in range(count):
        title = rng.choice(titles).strip() or "a"
        text = title[: rng.randint(1, 6)]
        if i % 5 == 4 and len(text) >= 3:
            at = rng.randrange(1, len(text))
            if rng.random() < 0.5:  # substitution
                text = text[:at] + rng.choice(string.ascii_lowercase) + text[at + 1 :]
            else:  # adjacent transposition
                text = text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]
        inputs.append(text)
    return inputs


async def bench_autocomplete(
    world: World, plan: GuildPlan, queries: int, seed: int
) -> dict[str, Any]:
    """Sequential autocomplete interactions with realistic partial inputs."""
    catalogue = world.bot.catalogues.get(plan.guild.id).catalogue
    inputs = typed_inputs(catalogue.names, queries + 10, seed)
    fake = world.fake
    member = plan.member_objs[0]

    async def one(text: str) -> tuple[float | None, int]:
        handle = await fake.dispatch_autocomplete(
            plan.guild, member, "recommend", focused="song", value=text
        )
        callback = await handle.wait_response(10.0)
        return handle.ack_latency, len(callback.choices)

    for text in inputs[:10]:
        await world.run(one(text))
    latencies, empty, timed = [], 0, []
    start = time.monotonic()
    for text in inputs[10:]:
        latency, choices = await world.run(one(text))
        if latency is not None:
            latencies.append(latency)
            timed.append((latency * 1000, text))
        empty += choices == 0
    end = time.monotonic()
    return {
        "latency": summary_ms(latencies),
        "empty_answers": empty,
        "loop_lag": lag_summary(world.ticker.between(start, end)),
        "gc": GC.between(start, end),
        "examples": inputs[10:20],
        "slowest": sorted(timed, reverse=True)[:8],
    }


# -- (c) bursts: every interaction acknowledged -----------------------------------------


def answer_times(fake: Any, handles: Sequence[Any]) -> dict[int, float]:
    """Dispatch -> the member sees suggestions (s), by interaction id.

    The answer is the first callback if it carried them (an answer without deferring),
    else the first edit of the reply (or followup) that did. Call in the fake's loop.
    """
    tokens = {h.token: h for h in handles}
    seen: dict[int, float] = {}
    for request in fake.requests:
        if request.status >= 400 or not isinstance(request.json, dict):
            continue
        # An edit or followup carries embeds; a first response carries them in "data".
        if not (request.json.get("embeds") or (request.json.get("data") or {}).get("embeds")):
            continue
        parts = request.path.split("/")
        handle = next((tokens[p] for p in parts if p in tokens), None)
        if handle is not None and handle.id not in seen:
            seen[handle.id] = request.time - handle.dispatched_at
    return seen


async def recommend_burst(
    world: World, jobs: Sequence[tuple[GuildPlan, Any, str]], wait: float = 60.0
) -> dict[str, Any]:
    """Dispatch every /recommend in ``jobs`` at once; wait for each answer (or give up)."""
    fake = world.fake

    async def drive() -> dict[str, Any]:
        handles = await asyncio.gather(
            *(
                fake.invoke(plan.guild, member, "recommend", options={"song": song})
                for plan, member, song in jobs
            )
        )

        async def answered(handle: Any) -> None:
            with contextlib.suppress(AssertionError):
                await handle.wait_final(lambda m: bool(m.embeds) or m.ephemeral, timeout=wait)

        await asyncio.gather(*(answered(h) for h in handles))
        return {"handles": handles, "answers": answer_times(fake, handles)}

    return await world.run(drive())


def burst_numbers(handles: Sequence[Any], answers: dict[int, float]) -> dict[str, Any]:
    """Acknowledged within 3 s (the fake refuses later ones with 10062), answer times."""
    acks = [h.ack_latency for h in handles if h.ack_latency is not None]
    within = sum(1 for a in acks if a <= ACK_WINDOW)
    return {
        "interactions": len(handles),
        "acknowledged_within_3s": within,
        "ack": summary_ms(acks),
        "answered": len(answers),
        "answer": summary_ms(list(answers.values())),
    }


def combined_bursts(bursts: Sequence[dict[str, Any]], raw: Sequence[Any]) -> dict[str, Any]:
    """All bursts together: the share acknowledged and the answer percentiles."""
    handles = [h for r in raw for h in r["handles"]]
    answers = {k: v for r in raw for k, v in r["answers"].items()}
    numbers = burst_numbers(handles, answers)
    numbers["bursts"] = len(bursts)
    numbers["loop_lag_max_ms"] = max(b["loop_lag"]["max_ms"] for b in bursts)
    return numbers


async def bench_deadlines(world: World, args: argparse.Namespace) -> dict[str, Any]:
    """``--bursts`` bursts of ``--burst`` concurrent /recommend across the burst guilds."""
    bursts, raw = [], []
    for b in range(args.bursts):
        rng = random.Random(100 + b)
        jobs = []
        for i in range(args.burst):
            plan = world.burst[i % len(world.burst)]
            jobs.append((plan, rng.choice(plan.member_objs), rng.choice(plan.track_ids)))
        start = time.monotonic()
        result = await recommend_burst(world, jobs)
        end = time.monotonic()
        raw.append(result)
        numbers = burst_numbers(result["handles"], result["answers"])
        numbers["loop_lag"] = lag_summary(world.ticker.between(start, end))
        bursts.append(numbers)
        print_burst(b + 1, numbers)
        await asyncio.sleep(1.0)  # reactions and charts drain
    return {"bursts": bursts, "all": combined_bursts(bursts, raw)}


# -- (d) other guilds during a big import -------------------------------------------------


def generated_csv(max_bytes: int) -> tuple[bytes, int]:
    """A minimal export (id, name, artist) of as many distinct tracks as fit in
    ``max_bytes`` (8 MB: about 240k rows, like the issue's file)."""
    rng = random.Random(5)
    lines = ["track_id,track_name,track_artist\n"]
    size = len(lines[0])
    while True:
        row = f"{new_track_id(rng)},T{len(lines):x},A{len(lines) % 997:x}\n"
        if size + len(row) > max_bytes:
            break
        lines.append(row)
        size += len(row)
    return "".join(lines).encode(), len(lines) - 1


async def bench_import(
    world: World, what: str, options: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """One guild imports (``options`` of /setplaylist); meanwhile the other guilds send
    /recommend every ``--import-interval`` s until the import's summary is shown."""
    assert world.importer is not None
    fake = world.fake
    guild, admin = world.importer.guild, world.importer.member_objs[0]
    rng = random.Random(len(what))

    async def drive() -> dict[str, Any]:
        handle = await fake.invoke(guild, admin, "setplaylist", options=options)
        started = time.monotonic()
        handles = []
        while not _import_done(handle) and time.monotonic() - started < args.import_timeout:
            plan = rng.choice(world.burst)
            handles.append(
                await fake.invoke(
                    plan.guild,
                    rng.choice(plan.member_objs),
                    "recommend",
                    options={"song": rng.choice(plan.track_ids)},
                )
            )
            await asyncio.sleep(args.import_interval)
        finished = time.monotonic()

        async def answered(h: Any) -> None:
            with contextlib.suppress(AssertionError):
                await h.wait_final(lambda m: bool(m.embeds) or m.ephemeral, timeout=30)

        await asyncio.gather(*(answered(h) for h in handles))
        summary = _import_summary(handle)
        return {
            "handles": handles,
            "answers": answer_times(fake, handles),
            "seconds": finished - started,
            "summary": summary,
        }

    start = time.monotonic()
    result = await world.run(drive())
    end = start + result["seconds"]
    numbers = burst_numbers(result["handles"], result["answers"])
    lags = world.ticker.between(start, end)
    numbers.update(
        what=what,
        import_seconds=result["seconds"],
        summary=result["summary"],
        loop_lag={
            "ticks": len(lags),
            "p99_ms": percentile([lag * 1000 for lag in lags], 99),
            "max_ms": max(lags, default=0.0) * 1000,
        },
        gc=GC.between(start, end),
    )
    print_import(numbers)
    await asyncio.sleep(2.0)  # the catalogue swap and the last reactions settle
    return numbers


def _import_done(handle: Any) -> bool:
    """A summary or an error is shown (progress lines end with an ellipsis)."""
    texts = [m.content for m in handle.messages if m.content]
    return bool(texts) and not texts[-1].rstrip().endswith("…")


def _import_summary(handle: Any) -> str:
    texts = [m.content for m in handle.messages if m.content]
    return (texts[-1] if texts else "").split("\n", 1)[0][:120]


async def bench_imports(world: World, args: argparse.Namespace) -> dict[str, Any]:
    """The CSV, then the Spotify playlist."""
    from tests.fakes.discord import FakeAttachment

    data, rows = generated_csv(args.csv_bytes)
    print(f"import: CSV of {len(data) / 1e6:.1f} MB, {rows:,} rows ...", flush=True)
    csv = await bench_import(world, "csv", {"file": FakeAttachment("big.csv", data)}, args)
    csv.update(csv_bytes=len(data), csv_rows=rows)
    print(f"import: Spotify playlist of {args.playlist_tracks:,} tracks ...", flush=True)
    playlist = await bench_import(world, "playlist", {"playlist": world.playlist_id}, args)
    playlist.update(playlist_tracks=args.playlist_tracks)
    return {"csv": csv, "playlist": playlist}


# -- step breakdown ----------------------------------------------------------------------


class StepRecorder:
    """Wraps the services' methods on their instances to time each step of a request."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float]] = []
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, label: str | None = None) -> None:
        """Time ``owner.name`` (a coroutine or plain function) as ``label``."""
        original = getattr(owner, name)
        label = label or name
        events = self.events
        if asyncio.iscoroutinefunction(original):

            async def timed_async(*a: Any, **k: Any) -> Any:
                start = time.monotonic()
                try:
                    return await original(*a, **k)
                finally:
                    events.append((label, start, time.monotonic()))

            setattr(owner, name, timed_async)
        else:

            def timed_sync(*a: Any, **k: Any) -> Any:
                start = time.monotonic()
                try:
                    return original(*a, **k)
                finally:
                    events.append((label, start, time.monotonic()))

            setattr(owner, name, timed_sync)
        in_dict = name in vars(owner)

        def undo() -> None:
            if in_dict and not isinstance(owner, type):
                setattr(owner, name, original)
            else:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
                if getattr(owner, name) is not original:
                    setattr(owner, name, original)

        self._undo.append(undo)

    def restore(self) -> None:
        """Put every wrapped attribute back."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


async def bench_steps(world: World, plan: GuildPlan, requests: int, seed: int) -> dict[str, Any]:
    """Instrumented pass: median time of each step of /recommend (ms)."""
    import bot.render.rendering as rendering

    service = world.bot.recommendations
    store = world.bot.store
    recommender = world.bot.catalogues.get(plan.guild.id).recommender
    recorder = StepRecorder()
    steps = {
        (store, "get_guild_settings"): "store: guild settings",
        (store, "list_member_ratings"): "store: member's ratings",
        (service, "_ratings"): "ratings -> catalogue rows",
        (service, "_seed"): "resolve seed",
        (store, "list_guild_ratings"): "store: guild ratings",
        (recommender, "recommend"): "engine incl. taste, boosts, reasons (in a thread)",
        (store, "count_ratings"): "store: rating counts",
        (service, "recommend"): "service.recommend total",
        (rendering, "recommendation_embed"): "embed rendering",
        (store, "put_tracks"): "store: put tracks",
        (store, "save_recommendation"): "store: save message",
        (service, "remember"): "remember total",
    }
    for (owner, name), label in steps.items():
        recorder.wrap(owner, name, label)
    rng = random.Random(seed)
    per_step: dict[str, list[float]] = {}
    gaps: dict[str, list[float]] = {"dispatch -> handler start": [], "reply round trip": []}
    try:
        for _ in range(requests):
            recorder.events.clear()
            member = rng.choice(plan.member_objs)

            async def drive(member: Any = member) -> Any:
                handle = await world.fake.invoke(
                    plan.guild, member, "recommend", options={"song": rng.choice(plan.track_ids)}
                )
                message = await handle.wait_final(lambda m: bool(m.embeds), timeout=10.0)
                expected = _reaction_count(message.embeds)
                await world.fake.wait_until(lambda: len(message.reactions) >= expected, 10.0)
                await _chart_attached(world.fake, message)
                return handle

            handle = await world.run(drive())
            seen: dict[str, float] = {}
            for label, start, end in recorder.events:
                seen[label] = seen.get(label, 0.0) + (end - start)
                per_step.setdefault(label, [])
            for label, total in seen.items():
                per_step[label].append(total)
            first = {label: start for label, start, _ in reversed(recorder.events)}
            last = {label: end for label, _, end in recorder.events}
            if "service.recommend total" in first:
                # The handler defers first, then asks the service.
                gaps["dispatch -> handler start"].append(
                    first["service.recommend total"] - handle.dispatched_at
                )
            if "embed rendering" in last and "remember total" in first:
                gaps["reply round trip"].append(first["remember total"] - last["embed rendering"])
    finally:
        recorder.restore()
    result = {label: summary_ms(values) for label, values in per_step.items()}
    result.update({label: summary_ms(values) for label, values in gaps.items()})
    return result


# -- the reference: the tutorial's method, blocking in the loop --------------------------


async def bench_tutorial(world: World, plan: GuildPlan, queries: int, seed: int) -> dict[str, Any]:
    """The seed tutorial's per-query compute, run blocking in the bot's event loop.

    Also times our engine call (``recommend`` with an outside track, as the bot may, but
    called directly) on the same seeds, for a compute-to-compute ratio.
    """
    import numpy as np
    from sklearn.metrics.pairwise import cosine_similarity
    from sklearn.preprocessing import MinMaxScaler

    recommender = world.bot.catalogues.get(plan.guild.id).recommender
    catalogue = recommender.catalogue
    scaled = MinMaxScaler().fit_transform(np.nan_to_num(catalogue.features))
    rng = random.Random(seed)
    rows = [rng.randrange(len(catalogue)) for _ in range(queries)]

    def tutorial(row: int) -> Any:
        scores = cosine_similarity([scaled[row]], scaled)
        return scores.argsort()[0][::-1][1:11]

    def ours(row: int) -> Any:
        from recommender.engine import OutsideTrack

        return recommender.recommend(OutsideTrack(catalogue.track(row)), 5, alpha=0.7)

    for row in rows[:3]:
        tutorial(row)
        ours(row)
    tut_times, our_times = [], []
    start = time.monotonic()
    for row in rows:
        t0 = time.perf_counter()
        tutorial(row)  # blocking, in the event loop, as the tutorial's bot would
        tut_times.append(time.perf_counter() - t0)
        await asyncio.sleep(0.02)  # let the ticker measure what the block did
    end = time.monotonic()
    for row in rows:
        t0 = time.perf_counter()
        ours(row)
        our_times.append(time.perf_counter() - t0)
    return {
        "tutorial_compute": summary_ms(tut_times),
        "ours_engine_compute": summary_ms(our_times),
        "tutorial_loop_lag": lag_summary(world.ticker.between(start, end)),
    }


# -- main --------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU, load, library versions."""
    import aiohttp
    import discord
    import numpy
    import sklearn

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "discord.py": discord.__version__,
        "aiohttp": aiohttp.__version__,
        "loadavg_start": os.getloadavg(),
    }


# -- the reference: the previous behaviour, restored by patches ---------------------------


@contextlib.contextmanager
def reference_behaviour() -> Any:
    """The bot as it behaved before the deadline work, for a same-run comparison.

    * /recommend answers without deferring (the answer is the first response);
    * the SQLite store has one connection for reads and writes (no reader pool) and
      writes a big source, a big batch of tracks, in one transaction;
    * an uploaded CSV is parsed on the event loop (catalogue builds stay in a thread,
      as they were);
    * the garbage collector keeps its default pace during imports.

    Kept as they are now: everything else (e.g. the catalogue put together off the
    loop), so the reference is if anything kinder than the old code.
    """
    import discord

    import bot.infra.offload
    import bot.services.catalogues
    import bot.services.sources
    from bot.store import SqliteStore

    undo: list[Callable[[], None]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
        undo.append(lambda: setattr(owner, name, original))

    connect = SqliteStore.connect.__func__  # type: ignore[attr-defined]

    async def one_connection(cls: Any, path: Any, **options: Any) -> Any:
        options.update(readers=0, chunk_rows=10**9)
        return await connect(cls, path, **options)

    patch(SqliteStore, "connect", classmethod(one_connection))

    async def on_the_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    patch(bot.services.sources, "run_bulk", on_the_loop)
    patch(bot.services.catalogues, "run_bulk", asyncio.to_thread)
    # On the source module: each bot loads its cogs afresh (load_extension executes
    # the module again), so the cog's own name would be re-imported from here.
    patch(bot.infra.offload, "fewer_collections", contextlib.nullcontext)

    defer = discord.InteractionResponse.defer
    edit = discord.Interaction.edit_original_response

    def is_recommend(interaction: Any) -> bool:
        command = getattr(interaction, "command", None)
        return getattr(command, "name", None) == "recommend"

    async def no_defer(self: Any, *args: Any, **kwargs: Any) -> Any:
        if is_recommend(self._parent):
            return None
        return await defer(self, *args, **kwargs)

    async def answer_first(self: Any, **kwargs: Any) -> Any:
        if is_recommend(self) and not self.response.is_done():
            await self.response.send_message(**kwargs)
            return await self.original_response()
        return await edit(self, **kwargs)

    patch(discord.InteractionResponse, "defer", no_defer)
    patch(discord.Interaction, "edit_original_response", answer_first)
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


# -- main --------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark; returns every number."""
    from recommender.loaders import load_catalogue

    sizes = [parse_size(s) for s in args.sizes.split(",")] if "sizes" in args.parts else []
    real = load_catalogue(args.data).tracks()
    extra = max(0, max(sizes, default=0) - len(real))
    synthetic = synthetic_tracks(real, extra, seed=3) if extra else []
    print(f"data: {len(real):,} real tracks, {len(synthetic):,} synthetic")
    results: dict[str, Any] = {
        "machine": machine_info(),
        "args": vars(args) | {"data": str(args.data)},
    }
    results["current"] = await run_once(args, real, synthetic, sizes)
    if args.reference:
        print("--- reference: the previous behaviour (see reference_behaviour) ---")
        with reference_behaviour():
            results["reference"] = await run_once(args, real, synthetic, sizes)
    results["machine"]["loadavg_end"] = os.getloadavg()
    return results


async def run_once(
    args: argparse.Namespace, real: list[Any], synthetic: list[Any], sizes: list[int]
) -> dict[str, Any]:
    """Every part in ``--parts`` against one freshly started world."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        async with running_world(Path(tmp), real, synthetic, sizes, args) as world:
            if sizes:
                results["sizes"] = await bench_sizes(world, sizes, args)
            if "deadlines" in args.parts:
                print(f"deadlines: {args.bursts} bursts of {args.burst} /recommend ...")
                results["deadlines"] = await bench_deadlines(world, args)
            if "imports" in args.parts:
                results["imports"] = await bench_imports(world, args)
            results["loop_lag_whole_run"] = lag_summary([lag for _, lag in world.ticker.samples])
    return results


async def bench_sizes(world: World, sizes: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """/recommend one at a time, autocomplete, steps and the tutorial, per catalogue size."""
    per_size: dict[str, Any] = {}
    for n, plan in zip(sizes, world.sized, strict=True):
        label = f"{n // 1000}k"
        print(f"[{label}] /recommend x{args.requests} ...", flush=True)
        rec = await bench_recommend(world, plan, args.requests, seed=n)
        print(f"[{label}] autocomplete x{args.autocomplete} ...", flush=True)
        auto = await bench_autocomplete(world, plan, args.autocomplete, seed=n + 1)
        print(f"[{label}] steps x{args.step_requests}, tutorial x{args.tutorial} ...")
        steps = await bench_steps(world, plan, args.step_requests, seed=n + 2)
        tut = await bench_tutorial(world, plan, args.tutorial, seed=n + 3)
        per_size[label] = {
            "tracks": n,
            "recommend": rec,
            "autocomplete": auto,
            "steps": steps,
            "reference": tut,
            "tutorial_vs_ours_handling_p50": tut["tutorial_compute"]["median_ms"]
            / rec["answer"]["median_ms"],
            "tutorial_vs_ours_compute_p50": tut["tutorial_compute"]["median_ms"]
            / tut["ours_engine_compute"]["median_ms"],
        }
        print_size(label, per_size[label])
    return per_size


def print_size(label: str, r: dict[str, Any]) -> None:
    """One size's headline numbers."""
    rec, auto, ref = r["recommend"], r["autocomplete"], r["reference"]
    print(
        f"[{label}] /recommend ack median {rec['ack']['median_ms']:.1f} ms, answer median "
        f"{rec['answer']['median_ms']:.1f} p95 {rec['answer']['p95_ms']:.1f} ms (done p95 "
        f"{rec['done']['p95_ms']:.1f}); autocomplete median {auto['latency']['median_ms']:.1f} "
        f"p95 {auto['latency']['p95_ms']:.1f} ms; tutorial compute median "
        f"{ref['tutorial_compute']['median_ms']:.1f} ms, its loop lag max "
        f"{ref['tutorial_loop_lag']['max_ms']:.1f} ms"
    )
    print(f"    gc during /recommend: {rec['gc']}; during autocomplete: {auto['gc']}")
    print(f"    slowest autocompletes: {auto['slowest']}")
    for step, s in r["steps"].items():
        print(f"    {step:34s} median {s['median_ms']:7.2f} p95 {s['p95_ms']:7.2f} ms")


def print_burst(number: int, b: dict[str, Any]) -> None:
    """One burst's headline numbers."""
    print(
        f"  burst {number}: acknowledged within 3 s {b['acknowledged_within_3s']}/"
        f"{b['interactions']}, answered {b['answered']}, answer p50 "
        f"{b['answer']['median_ms']:.0f} p95 {b['answer']['p95_ms']:.0f} ms, loop lag max "
        f"{b['loop_lag']['max_ms']:.0f} ms",
        flush=True,
    )


def print_import(b: dict[str, Any]) -> None:
    """One import's headline numbers."""
    print(
        f"  {b['what']}: {b['import_seconds']:.1f} s ({b['summary']}); others acknowledged "
        f"within 3 s {b['acknowledged_within_3s']}/{b['interactions']}, answer p50 "
        f"{b['answer']['median_ms']:.0f} p95 {b['answer']['p95_ms']:.0f} ms; loop lag p99 "
        f"{b['loop_lag']['p99_ms']:.0f} max {b['loop_lag']['max_ms']:.0f} ms",
        flush=True,
    )


# -- the generated section of docs/benchmarks.md -----------------------------------------


def share(part: dict[str, Any]) -> str:
    """``"2000/2000 (100.0%)"``."""
    n, ok = part["interactions"], part["acknowledged_within_3s"]
    return f"{ok}/{n} ({100 * ok / n:.1f}%)" if n else "-"


def markdown(results: dict[str, Any], command: str) -> str:
    """The deadline results as the Markdown that goes into docs/benchmarks.md."""
    m = results["machine"]
    runs = [("current", results["current"])]
    if "reference" in results:
        runs.append(("reference (previous behaviour)", results["reference"]))
    out = [
        f"Generated by `{command}` ({dt.date.today().isoformat()}; {m['cpus']} CPUs, "
        f"{m['cpu']}, Python {m['python']}, discord.py {m['discord.py']}; load average "
        f"{m['loadavg_start'][0]:.1f} at the start, {m['loadavg_end'][0]:.1f} at the end).",
        "",
    ]
    if all("deadlines" in r for _, r in runs):
        a = runs[0][1]["deadlines"]["all"]
        out += [
            f"**Bursts**: {a['bursts']} bursts of {a['interactions'] // a['bursts']} concurrent "
            f"`/recommend` across the burst guilds ({a['interactions']:,} calls):",
            "",
            "| bot | acknowledged within 3 s | ack p95 / max | answered | answer p50 "
            "| answer p95 | answer max | loop lag max |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in runs:
            d = r["deadlines"]["all"]
            out.append(
                f"| {name} | {share(d)} | {d['ack']['p95_ms']:.0f} / {d['ack']['max_ms']:.0f} ms "
                f"| {d['answered']:,} | {d['answer']['median_ms']:.0f} ms "
                f"| {d['answer']['p95_ms']:.0f} ms | {d['answer']['max_ms']:.0f} ms "
                f"| {d['loop_lag_max_ms']:.0f} ms |"
            )
        out.append("")
    if all("imports" in r for _, r in runs):
        first = runs[0][1]["imports"]
        mib, rows = first["csv"]["csv_bytes"] / 2**20, first["csv"]["csv_rows"]
        tracks = first["playlist"]["playlist_tracks"]
        out += [
            f"**During an import**: one guild imports a {mib:.1f} MiB CSV ({rows:,} rows), "
            f"then a {tracks:,}-track Spotify playlist (the fake "
            "Spotify, full API); meanwhile the other guilds send a `/recommend` every "
            f"{results['args']['import_interval']} s:",
            "",
            "| bot | import | import took | others acknowledged within 3 s | ack max "
            "| answer p50 | answer p95 | loop lag p99 | loop lag max | full GCs; longest GC |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in runs:
            for what in ("csv", "playlist"):
                i = r["imports"][what]
                out.append(
                    f"| {name} | {what} | {i['import_seconds']:.1f} s | {share(i)} "
                    f"| {i['ack']['max_ms']:.0f} ms "
                    f"| {i['answer']['median_ms']:.0f} ms | {i['answer']['p95_ms']:.0f} ms "
                    f"| {i['loop_lag']['p99_ms']:.0f} ms | {i['loop_lag']['max_ms']:.0f} ms "
                    f"| {i['gc']['gen2_collections']}; {i['gc']['max_pause_ms']:.0f} ms |"
                )
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts", default="sizes,deadlines", help="sizes, deadlines, imports (comma-separated)"
    )
    parser.add_argument("--reference", action="store_true", help="also run the old behaviour")
    parser.add_argument("--sizes", default="10k,100k", help="catalogue sizes (default 10k,100k)")
    parser.add_argument("--requests", type=int, default=200, help="/recommend calls per size")
    parser.add_argument("--autocomplete", type=int, default=300, help="autocompletes per size")
    parser.add_argument("--step-requests", type=int, default=40, help="instrumented requests")
    parser.add_argument("--tutorial", type=int, default=50, help="tutorial queries per size")
    parser.add_argument("--burst", type=int, default=200, help="concurrent /recommend calls")
    parser.add_argument("--bursts", type=int, default=10, help="how many bursts")
    parser.add_argument("--burst-guilds", type=int, default=20)
    parser.add_argument("--burst-tracks", type=int, default=5000, help="tracks per burst guild")
    parser.add_argument("--members", type=int, default=40, help="members with ratings per guild")
    parser.add_argument("--ratings", type=int, default=25, help="ratings per rated member")
    parser.add_argument("--unrated-members", type=int, default=10)
    parser.add_argument("--csv-bytes", type=int, default=8 * 2**20 - 1024, help="CSV size")
    parser.add_argument("--playlist-tracks", type=int, default=50_000)
    parser.add_argument(
        "--import-interval", type=float, default=0.1, help="s between others' /recommend"
    )
    parser.add_argument("--import-timeout", type=float, default=900.0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--markdown", type=Path, help="write the docs section here")
    args = parser.parse_args(argv)
    args.parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if not args.data.exists():
        print(f"{args.data} not found (../shared is absent): nothing to benchmark.")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    with GC:
        results = asyncio.run(run(args))
    results["wall_s"] = time.perf_counter() - started
    print(f"done in {results['wall_s']:.0f} s; load {results['machine']['loadavg_end']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.markdown:
        command = "python benchmarks/bench_bot.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        args.markdown.write_text(markdown(results, command) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
