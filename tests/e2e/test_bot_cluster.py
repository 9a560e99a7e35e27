"""A cluster end to end: real ``python -m bot run`` processes sharing one PostgreSQL.

Four shards, a guild on each (tests/e2e/cluster.py), and bot processes started as
an operator starts them: environment variables (``SHARD_COUNT``, ``SHARD_IDS``,
``DATABASE_URL``), nothing shared but the database and Discord. The fake Discord
runs in the test and routes every guild's traffic to the shard that owns it.

* Two processes (shards 0-1 and 2-3) serve their own guilds fully; the cluster
  restarts with another layout (0,2 and 1,3) and nothing is lost: sources,
  catalogues, ratings, settings, and old recommendation messages still turn
  reactions into ratings, now in the process that owns the guild.
* Background jobs run once across the cluster: the purge of departed guilds and
  retention (claimed in the database), and the reconciliation of reactions made
  while the bot was down (each process its own shards' messages).
* Two processes starting at once with ``max_concurrency`` 1 take turns to
  IDENTIFY (an advisory lock per rate-limit key): Discord refuses none.
* ``python -m bot check`` on a cluster process names the backend and its shards.

PostgreSQL only: a cluster's processes share one database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from bot.render import rating_scheme
from bot.store.models import LIKE, Rating, RecommendationMessage
from bot.store.postgres import PostgresStore
from tests.e2e.cluster import (
    SHARD_COUNT,
    ClusterWorld,
    run_to_completion,
    running_bot_processes,
    running_cluster_world,
)
from tests.e2e.world import recommend_answer
from tests.fakes.discord import FakeGuild, FakeMessage, shard_of
from tests.fakes.discord.models import emoji_key

pytestmark = pytest.mark.postgresql_only

#: Seconds to wait for something a process does in the background (no event to await).
PATIENCE = 60.0
#: Seconds for a command's final answer (an import, or a catalogue loading in a process
#: that just started, on a machine other tests are loading too).
ANSWER_PATIENCE = 45.0

T = TypeVar("T")


async def until(read: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Read until ``done(value)``; fail after :data:`PATIENCE` seconds with the last value."""
    value = await read()
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not done(value):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {PATIENCE} s")
        await asyncio.sleep(0.05)
        value = await read()
    return value


@asynccontextmanager
async def database(world: ClusterWorld) -> AsyncIterator[PostgresStore]:
    """The cluster's database, as the test reads it (a connection of its own)."""
    assert world.database_url is not None
    async with PostgresStore.open(world.database_url, pool_size=2) as store:
        yield store


def embed_text(message: FakeMessage) -> str:
    return message.content + json.dumps(message.embeds, ensure_ascii=False)


async def add_playlist(world: ClusterWorld, guild: FakeGuild, playlist_id: str) -> None:
    added = await world.discord.invoke(
        guild, world.admins[guild.id], "setplaylist", options={"playlist": playlist_id}
    )
    await added.wait_final(lambda m: "Added" in (m.content or ""), timeout=ANSWER_PATIENCE)


async def recommend(
    world: ClusterWorld, store: PostgresStore, guild: FakeGuild, song: str
) -> tuple[FakeMessage, RecommendationMessage]:
    """The guild's member asks for ``song``; the public answer and what was stored of it."""
    asked = await world.discord.invoke(
        guild, world.members[guild.id], "recommend", options={"song": song, "count": 3}
    )
    answer = await recommend_answer(asked, timeout=ANSWER_PATIENCE)
    assert answer.embeds and not answer.ephemeral, answer.content
    stored = await until(lambda: store.get_recommendation(guild.id, answer.id), bool)
    assert stored is not None
    return answer, stored


async def rated(
    store: PostgresStore, guild: FakeGuild, user_id: int, track_id: str, value: int
) -> Rating | None:
    return await until(
        lambda: store.get_rating(guild.id, user_id, track_id),
        lambda r: r is not None and r.value == value,
    )


async def ratings_of(
    store: PostgresStore, guilds: list[FakeGuild]
) -> dict[int, list[tuple[int, str, int]]]:
    """Every guild's ratings, comparable across a restart."""
    return {
        g.id: sorted((r.user_id, r.track_id, r.value) for r in await store.list_guild_ratings(g.id))
        for g in guilds
    }


def assert_each_shard_heard_only_its_guilds(world: ClusterWorld) -> None:
    """Every gateway connection of every layout carried only its own shard's guilds."""
    shards_seen = set()
    for connection in world.discord.gateway_connections:
        if connection.shard is None:
            continue
        shard, count = connection.shard
        assert count == SHARD_COUNT
        shards_seen.add(shard)
        assert all(shard_of(g, SHARD_COUNT) == shard for g in connection.guild_ids), connection
    assert shards_seen == set(range(SHARD_COUNT))


async def test_two_processes_serve_their_guilds_and_a_new_layout_loses_nothing(
    tmp_path: Path,
) -> None:
    async with running_cluster_world(tmp_path) as world, database(world) as store:
        deep_ids = [world.spotify.add_track(name=f"Deep Cut {i}") for i in range(12)]
        deep_cuts = world.spotify.add_playlist(list(deep_ids), name="Deep Cuts")
        code, log = await run_to_completion(world, "sync")  # as an operator does, once
        assert code == 0, log
        moved = world.guilds[1]  # shard 1: process "0-1", then process "1,3"
        answers: dict[int, FakeMessage] = {}

        async with running_bot_processes(world, "0-1", "2-3") as processes:
            for process in processes:
                assert process.shards is not None
                for guild in world.guilds_of(process.shards):
                    await add_playlist(world, guild, world.playlist_id)
                    answer, stored = await recommend(world, store, guild, "Midnight Drive")
                    member = world.members[guild.id]
                    await world.discord.react(member, answer, rating_scheme.LIKE_EMOJIS[0])
                    await rated(store, guild, member.id, stored.items[0].track_id, LIKE)
                    answers[guild.id] = answer
            # In one guild the admin adds a second playlist, removes the first and
            # sets the popularity half-life: its catalogue is now Deep Cuts alone.
            await add_playlist(world, moved, deep_cuts)
            removed = await world.discord.invoke(
                moved, world.admins[moved.id], "removeplaylist",
                options={"playlist": world.playlist_id},
            )  # fmt: skip
            await removed.wait_final(lambda m: "Removed" in m.content, timeout=ANSWER_PATIENCE)
            changed = await world.discord.invoke(
                moved, world.admins[moved.id], "settings", options={"half_life_years": 2.0}
            )
            await changed.wait_final(lambda m: bool(m.embeds), timeout=ANSWER_PATIENCE)
            for process in processes:  # each answered its own guilds' commands
                assert process.lines("ready: 2 servers on shards")

        before = await ratings_of(store, world.guilds)
        assert all(len(ratings) == 1 for ratings in before.values())
        sources_before = {g.id: await store.list_sources(g.id) for g in world.guilds}

        async with running_bot_processes(world, "0,2", "1,3"):
            assert await ratings_of(store, world.guilds) == before
            assert {g.id: await store.list_sources(g.id) for g in world.guilds} == sources_before
            for guild in world.guilds:
                member = world.members[guild.id]
                # A message posted before the restart, maybe by the other process:
                # its reactions still count, now in the process that owns the guild.
                old = await store.get_recommendation(guild.id, answers[guild.id].id)
                assert old is not None
                await world.discord.react(
                    member, answers[guild.id], rating_scheme.DISLIKE_EMOJIS[1]
                )
                await rated(store, guild, member.id, old.items[1].track_id, -1)
                if guild is moved:
                    continue
                # The catalogue is there: suggestions from the guild's playlist.
                _answer, stored = await recommend(world, store, guild, "Golden Hour")
                assert len(stored.items) == 3

            # The guild changed before the restart is served as changed, by its new process.
            _answer, stored = await recommend(world, store, moved, "Deep Cut 3")
            assert {item.track_id for item in stored.items} <= set(deep_ids), stored.items
            listed = await world.discord.invoke(moved, world.members[moved.id], "playlists")
            shown = embed_text(await listed.wait_final(timeout=ANSWER_PATIENCE))
            assert "Deep Cuts" in shown and "Club Classics" not in shown
            current = await world.discord.invoke(moved, world.admins[moved.id], "settings")
            shown = embed_text(
                await current.wait_final(lambda m: bool(m.embeds), timeout=ANSWER_PATIENCE)
            )
            assert "**popularity half-life** 2.0 years" in shown
        assert_each_shard_heard_only_its_guilds(world)
        assert world.discord.identify_refusals == []


async def age_cluster_jobs(world: ClusterWorld, by: dt.timedelta) -> None:
    """Move every cluster job's last run ``by`` into the past."""
    assert world.database_url is not None
    conn = await asyncpg.connect(world.database_url)
    try:
        await conn.execute("UPDATE cluster_jobs SET last_run_at = last_run_at - $1::interval", by)
    finally:
        await conn.close()


def react_offline(message: FakeMessage, member_id: int, emoji: str) -> None:
    """Discord records the reaction; no process is connected to hear of it."""
    message.reactions.setdefault(emoji_key(emoji), []).append(member_id)


def logged_count(lines: list[str]) -> int:
    """N of the reconciliation's "reconciled reactions of N recent messages" line."""
    assert len(lines) == 1, lines
    match = re.search(r"reconciled reactions of (\d+) recent messages", lines[0])
    assert match is not None, lines[0]
    return int(match.group(1))


async def test_background_jobs_run_once_across_the_cluster(tmp_path: Path) -> None:
    departed, stale_message = 424242424242424242, 777777777777777777
    async with running_cluster_world(tmp_path) as world, database(world) as store:
        answers: list[FakeMessage] = []
        async with running_bot_processes(world, "0-3"):  # one process posts everywhere
            for guild in world.guilds:
                await add_playlist(world, guild, world.playlist_id)
                for song in ("Midnight Drive", "Golden Hour"):
                    answers.append((await recommend(world, store, guild, song))[0])
        # While the cluster is down: members react, a guild's grace period has run
        # out, and a recommendation is older than the retention allows.
        for answer in answers:
            assert answer.guild_id is not None
            react_offline(answer, world.members[answer.guild_id].id, rating_scheme.LIKE_EMOJIS[0])
        now = dt.datetime.now(dt.UTC)
        await store.update_guild_settings(departed, alpha=0.3)
        await store.mark_guild_left(departed, at=now - dt.timedelta(days=60))
        long_ago = now - dt.timedelta(days=400)
        await store.save_recommendation(
            RecommendationMessage(departed + 1, 1, stale_message, 2, (), long_ago, ())
        )
        # The jobs ran when the first process started; as if their periods had passed since.
        await age_cluster_jobs(world, dt.timedelta(days=2))
        world.discord.requests.clear()

        # Each process reconciles at most 4 messages: exactly its own (two guilds, two
        # messages each), however new the other process's messages are.
        limit = {"RECONCILE_REACTIONS_MESSAGES": "4"}
        async with running_bot_processes(world, "0,2", "1,3", env=limit) as processes:
            done = [
                await p.wait_for_log("reconciled reactions of", timeout=PATIENCE) for p in processes
            ]
            assert [logged_count(lines) for lines in done] == [4, 4]
            for answer in answers:
                assert answer.guild_id is not None
                guild = next(g for g in world.guilds if g.id == answer.guild_id)
                stored = await store.get_recommendation(guild.id, answer.id)
                assert stored is not None
                await rated(
                    store, guild, world.members[guild.id].id, stored.items[0].track_id, LIKE
                )
                reads = [  # answered ones: a rate-limited try that discord.py repeats is one read
                    r
                    for r in world.discord.find_requests(
                        "GET", f"/channels/{answer.channel_id}/messages/{answer.id}"
                    )
                    if r.status == 200
                ]
                assert len(reads) == 1, f"message {answer.id} was reconciled {len(reads)} times"

            # Both processes tried both jobs at start-up, long before their reconciliation
            # ended; the one that claimed a job says so in its log.
            await until(
                lambda: store.get_recommendation(departed + 1, stale_message), lambda m: m is None
            )
            await until(lambda: store.get_guild_settings(departed), lambda s: s.alpha != 0.3)
            for job in ("purge-departed-guilds", "retention"):
                ran = [len(p.lines(f"runs the job {job!r}")) for p in processes]
                assert sorted(ran) == [0, 1], f"{job}: {ran}"


async def test_two_processes_starting_at_once_keep_to_max_concurrency(tmp_path: Path) -> None:
    """One rate-limit key for four shards: each IDENTIFY 5 s after the one before,
    whichever process sends it; without the shared lock both processes would
    identify at once and Discord would answer Invalid Session."""
    async with running_cluster_world(tmp_path, max_concurrency=1) as world:
        async with running_bot_processes(world, "0-1", "2-3") as processes:
            shared = [
                p.lines("IDENTIFY paced across the processes sharing the database")
                for p in processes
            ]
        assert world.discord.identify_refusals == []
        assert all(shared)
        accepted = sorted(c.shard for c in world.discord.gateway_connections if c.shard)
        assert accepted == [(i, SHARD_COUNT) for i in range(SHARD_COUNT)]
        assert all(c.invalid_sessions == 0 for c in world.discord.gateway_connections)


async def test_check_names_the_database_and_the_shards_of_a_cluster_process(
    tmp_path: Path,
) -> None:
    async with running_cluster_world(tmp_path) as world:
        code, out = await run_to_completion(
            world, "check", env={"SHARD_COUNT": "4", "SHARD_IDS": "2-3"}
        )
        assert code == 0, out
        assert (
            "[ok]   shards: this process runs shards 2-3 of 4 (other processes run the rest)" in out
        )
        database_line = next(
            line for line in out.splitlines() if line.startswith("[ok]   database")
        )
        assert "PostgreSQL at postgresql://" in database_line
        assert "SQLite" not in out  # no warning about a file of its own
        assert world.discord.identifies == []  # check never opens the gateway


async def test_a_process_on_shards_another_runs_stops_with_one_line(tmp_path: Path) -> None:
    """Both would receive shard 1's guilds and both would answer every interaction."""
    async with running_cluster_world(tmp_path) as world, running_bot_processes(world, "0-1"):
        code, out = await run_to_completion(
            world, "run", env={"SHARD_COUNT": "4", "SHARD_IDS": "1-2"}
        )
        assert code == 2, out
        errors = [line for line in out.splitlines() if line.startswith("error:")]
        assert errors == [
            "error: shards 1 of 4 are already run by another process on this database; "
            "give each process its own SHARD_IDS"
        ]
        assert "Traceback" not in out
        # It never opened a gateway connection for shard 2 (nor for shard 1).
        assert sorted(c.shard for c in world.discord.gateway_connections if c.shard) == [
            (0, SHARD_COUNT),
            (1, SHARD_COUNT),
        ]
