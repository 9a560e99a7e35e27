"""Shards end to end: bot processes running 2 of 4 shards serve their own guilds, and a
guild of another shard never reaches them.

The fake Discord routes by ``(guild_id >> 22) % 4`` and records every event each
gateway connection carried (tests/fakes/discord/connections.py); the assertions
about "never reached" read that record, not the absence of an answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from bot.infra.sharding import parse_shard_ids
from bot.render import rating_scheme
from tests.e2e.cluster import (
    SHARD_COUNT,
    ClusterWorld,
    RecordingBot,
    running_cluster_world,
    running_shard_process,
)
from tests.e2e.world import recommend_answer, wait_rating
from tests.fakes.discord import FakeGuild, GatewayConnection, running_bot, shard_of


async def _serve(world: ClusterWorld, bot: RecordingBot, guild: FakeGuild) -> None:
    """The guild's admin adds the playlist; a member gets suggestions and rates one."""
    admin, member = world.admins[guild.id], world.members[guild.id]
    added = await world.discord.invoke(
        guild, admin, "setplaylist", options={"playlist": world.playlist_id}
    )
    summary = await added.wait_final(lambda m: "Added" in (m.content or ""), timeout=15.0)
    assert "Club Classics" in summary.content
    asked = await world.discord.invoke(
        guild, member, "recommend", options={"song": "Midnight Drive", "count": 3}
    )
    answer = await recommend_answer(asked)
    assert answer.embeds and not answer.ephemeral, answer.content
    stored = None
    for _ in range(500):  # saved beside the answer; wait for it, not for a time
        stored = await bot.store.get_recommendation(guild.id, answer.id)
        if stored is not None:
            break
        await asyncio.sleep(0.01)
    assert stored is not None
    await world.discord.react(member, answer, rating_scheme.LIKE_EMOJIS[0])
    rating = await wait_rating(bot, guild.id, member.id, stored.items[0].track_id)
    assert rating is not None and rating.value == 1


def _connections_of(world: ClusterWorld, shards: str) -> list[GatewayConnection]:
    ids = parse_shard_ids(shards)
    return [c for c in world.discord.gateway_connections if c.shard and c.shard[0] in ids]


def _assert_only_own_traffic(world: ClusterWorld, shards: str) -> None:
    connections = _connections_of(world, shards)
    assert sorted(c.shard for c in connections if c.shard) == [
        (i, SHARD_COUNT) for i in parse_shard_ids(shards)
    ]
    own = {g.id for g in world.guilds_of(shards)}
    for connection in connections:
        assert connection.shard is not None
        expected = {g for g in own if shard_of(g, SHARD_COUNT) == connection.shard[0]}
        assert connection.guild_ids == expected, f"shard {connection.shard} saw another's guild"


async def test_one_process_with_two_of_four_shards_serves_only_its_guilds(
    tmp_path: Path,
) -> None:
    async with running_cluster_world(tmp_path) as world:
        mine, theirs = world.guilds_of("0-1"), world.guilds_of("2-3")
        assert len(mine) == 2 and len(theirs) == 2
        async with running_shard_process(world, "0-1") as bot:
            assert bot.shard_count == SHARD_COUNT and sorted(bot.shards) == [0, 1]
            assert {g.id for g in bot.guilds} == {g.id for g in mine}
            for guild in mine:
                await _serve(world, bot, guild)

            # Members of a guild on shard 2 and 3 ask too; Discord has nobody to give it
            # to (the process running those shards is down), and this one hears nothing.
            for guild in theirs:
                handle = await world.discord.invoke(
                    guild, world.members[guild.id], "recommend",
                    options={"song": "Halo"}, require_session=False,
                )  # fmt: skip
                assert handle.delivered_to == []
            # An answered command of its own after those: anything delivered would be in.
            await _serve(world, bot, mine[0])
            assert all(not h.callbacks for h in world.discord.interactions if h.guild in theirs)

            assert set(bot.catalogues_loaded) == {g.id for g in mine}
            assert all(bot.owns_guild(g.id) for g in mine)
            assert not any(bot.owns_guild(g.id) for g in theirs)
            assert all(bot.get_guild(g.id) is None for g in theirs)

            # "Another process changed this guild" (the cluster's notification hook):
            # rebuilt here only for a guild of this process's shards.
            bot.catalogues_loaded.clear()
            for guild in (*mine, *theirs):
                await bot.refresh_guild(guild.id)
            assert bot.catalogues_loaded == [g.id for g in mine]
        _assert_only_own_traffic(world, "0-1")
        assert world.discord.identify_refusals == []


async def test_two_processes_each_serve_their_own_guilds(tmp_path: Path) -> None:
    async with (
        running_cluster_world(tmp_path) as world,
        running_shard_process(world, "0-1") as first,
        running_shard_process(world, "2-3") as second,
    ):
        processes = {"0-1": first, "2-3": second}
        for shards, bot in processes.items():
            for guild in world.guilds_of(shards):
                await _serve(world, bot, guild)
        for shards, bot in processes.items():
            own = {g.id for g in world.guilds_of(shards)}
            assert {g.id for g in bot.guilds} == own
            assert set(bot.catalogues_loaded) == own
            assert all(len(bot.catalogues.get(guild_id)) > 0 for guild_id in own)
            _assert_only_own_traffic(world, shards)
            if world.database_url is None:
                # A SQLite file each: every guild's data is in its own process's file.
                for guild in world.guilds:
                    ratings = await bot.store.list_guild_ratings(guild.id)
                    assert bool(ratings) == (guild.id in own)
        assert world.discord.identify_refusals == []


@pytest.mark.sqlite_only  # about the gateway, not the store
async def test_the_bot_starts_shards_as_fast_as_max_concurrency_allows(tmp_path: Path) -> None:
    """Four shards, max_concurrency 2: shards 0 and 1 IDENTIFY together, 2 and 3 one
    window later; the fake refuses any IDENTIFY faster than that (op 9)."""
    async with running_cluster_world(tmp_path, max_concurrency=2) as world:
        async with running_shard_process(world, "0-3") as bot:
            assert sorted(bot.shards) == [0, 1, 2, 3]
            assert bot.identify_pacer.max_concurrency == 2
            await _serve(world, bot, world.guilds[3])
        assert world.discord.identify_refusals == []
        assert sorted(c.shard for c in world.discord.gateway_connections if c.shard) == [
            (i, SHARD_COUNT) for i in range(SHARD_COUNT)
        ]


@pytest.mark.sqlite_only  # about the gateway, not the store
async def test_without_shard_settings_the_bot_runs_discords_recommended_count(
    tmp_path: Path,
) -> None:
    async with running_cluster_world(tmp_path) as world:
        settings = world.settings("0-3")
        unsharded = dataclasses.replace(
            settings, bot=settings.bot.model_copy(update={"shard_count": None, "shard_ids": None})
        )
        async with running_bot(RecordingBot(unsharded), world.discord) as bot:
            assert bot.shard_count == SHARD_COUNT  # GET /gateway/bot's "shards"
            assert {g.id for g in bot.guilds} == {g.id for g in world.guilds}
            assert all(bot.owns_guild(g.id) for g in world.guilds)
        assert len(world.discord.find_requests("GET", "/gateway/bot")) == 1
