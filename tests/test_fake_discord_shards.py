"""The fake Discord's shards: ``/gateway/bot``, IDENTIFY's rules, and routing by guild.

Raw websocket sessions (no discord.py) check Discord's answers exactly: 4010 for
an invalid shard, 4011 for a session with too many guilds, Invalid Session (op 9)
for an IDENTIFY faster than ``max_concurrency`` allows, 4004 once the session
starts are spent. Then every guild event is checked against the fake's
per-connection record: it reached the shard owning the guild and no other.
Finally the real discord.py client meets the pacing rule with its own waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.fakes.discord import (
    IDENTIFY_WINDOW,
    FakeDiscord,
    FakeGuild,
    SessionStartLimit,
    new_id_on_shard,
    running_bot,
    running_fake_discord,
    shard_of,
)
from tests.fakes.discord.sharding import (
    AUTHENTICATION_FAILED,
    INVALID_SHARD,
    SHARDING_REQUIRED,
    parse_shard,
)

INTENTS = (1 << 0) | (1 << 10)  # guilds + guild_reactions, as the bot asks
BOT_AUTH = {"Authorization": "Bot fake-token"}
OP_DISPATCH, OP_INVALID_SESSION, OP_HELLO = 0, 9, 10


class RawShard:
    """One raw gateway connection (TEXT frames): HELLO, then an IDENTIFY of our choosing."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeDiscord) -> None:
        self.http = http
        self.fake = fake
        self.packets: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await self.http.ws_connect(self.fake.gateway_url + "?v=10&encoding=json")
        hello = await self.receive()
        assert hello["op"] == OP_HELLO

    async def receive(self) -> dict[str, Any]:
        """The next packet, or ``{"closed": code}`` once the fake closed the connection."""
        message = await asyncio.wait_for(self.ws.receive(), 5)
        if message.type == aiohttp.WSMsgType.CLOSE:
            return {"closed": message.data}
        if message.type == aiohttp.WSMsgType.CLOSED:
            return {"closed": self.ws.close_code}
        packet = cast(dict[str, Any], json.loads(message.data))
        self.packets.append(packet)
        return packet

    async def identify(self, shard: Any = None, *, token: str = "fake-token") -> dict[str, Any]:
        """Send IDENTIFY; return READY, the Invalid Session packet, or ``{"closed": code}``."""
        data: dict[str, Any] = {"token": token, "intents": INTENTS, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await self.ws.send_json({"op": 2, "d": data})
        return await self.receive()

    async def start(self, shard: Any = None) -> dict[str, Any]:
        """Open, IDENTIFY, expect READY, then keep reading in the background."""
        await self.open()
        ready = await self.identify(shard)
        assert ready.get("t") == "READY", ready
        self._reader = asyncio.create_task(self._drain())
        return ready

    async def _drain(self) -> None:
        while not self.ws.closed:
            message = await self.ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            self.packets.append(json.loads(message.data))

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


@contextlib.asynccontextmanager
async def raw_shards(fake: FakeDiscord) -> AsyncIterator[list[RawShard]]:
    """Raw connections opened in the block (append to the list), all closed at the end."""
    shards: list[RawShard] = []
    async with aiohttp.ClientSession() as http:
        shards.append(RawShard(http, fake))  # the first one; more via spawn()
        try:
            yield shards
        finally:
            for shard in shards:
                if hasattr(shard, "ws"):
                    await shard.close()


def spawn(shards: list[RawShard]) -> RawShard:
    shard = RawShard(shards[0].http, shards[0].fake)
    shards.append(shard)
    return shard


# ---------------------------------------------------------------------- the shard formula


def test_ids_made_for_a_shard_land_on_it_and_never_repeat() -> None:
    ids = [new_id_on_shard(shard, 4) for shard in (0, 1, 2, 3) * 50]
    assert [shard_of(i, 4) for i in ids] == [0, 1, 2, 3] * 50
    assert len(set(ids)) == len(ids)
    with pytest.raises(ValueError, match="not one of 4"):
        new_id_on_shard(4, 4)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, (0, 1)),
        ([0, 1], (0, 1)),
        ([3, 4], (3, 4)),
        ([4, 4], None),
        ([-1, 4], None),
        ([0, 0], None),
        ([0], None),
        ([0, 1, 2], None),
        (["0", "2"], None),
        ([True, 2], None),
        ([0.0, 2], None),
        ("0,2", None),
        ({"id": 0}, None),
    ],
)
def test_identify_shard_values(value: Any, parsed: tuple[int, int] | None) -> None:
    assert parse_shard(value) == parsed


# ---------------------------------------------------------------------- GET /gateway/bot


async def test_gateway_bot_answers_the_shard_count_and_session_start_limit() -> None:
    limit = SessionStartLimit(total=1000, remaining=7, reset_after=3600.0, max_concurrency=4)
    async with (
        running_fake_discord(shard_count=4, session_start_limit=limit) as fake,
        aiohttp.ClientSession() as http,
    ):
        url = fake.api_url + "/gateway/bot"
        async with http.get(url, headers=BOT_AUTH) as response:
            assert response.headers["Content-Type"] == "application/json"
            first = await response.json()
        assert first["url"] == fake.gateway_url and first["shards"] == 4
        start = first["session_start_limit"]
        assert (start["total"], start["remaining"], start["max_concurrency"]) == (1000, 7, 4)
        assert 3_590_000 <= start["reset_after"] <= 3_600_000  # milliseconds, counting down

        async with raw_shards(fake) as shards:
            await shards[0].start([0, 4])
            await spawn(shards).start([1, 4])  # another rate-limit key: at once
        async with http.get(url, headers=BOT_AUTH) as response:
            assert (await response.json())["session_start_limit"]["remaining"] == 5

        fake.advance(3600)  # the daily window ends: the budget is whole again
        async with http.get(url, headers=BOT_AUTH) as response:
            after = (await response.json())["session_start_limit"]
        assert after["remaining"] == 1000 and after["reset_after"] > 3_600_000

        async with http.get(url) as response:  # the endpoint needs the bot's token
            assert response.status == 401


# ---------------------------------------------------------------------- IDENTIFY's rules


@pytest.mark.parametrize("shard", [[4, 4], [0, 0], [-1, 2], [0], ["0", "2"], "0,2"])
async def test_an_invalid_shard_closes_with_4010(shard: Any) -> None:
    async with running_fake_discord() as fake, raw_shards(fake) as shards:
        await shards[0].open()
        assert await shards[0].identify(shard) == {"closed": INVALID_SHARD}
        assert fake.identify_refusals[-1].close_code == INVALID_SHARD
        assert not fake.connected and fake.session_start_limit.remaining == 1000


async def test_large_bot_sharding_refuses_a_count_off_the_assigned_multiple() -> None:
    async with (
        running_fake_discord(shard_count=8, shard_multiple=4) as fake,
        raw_shards(fake) as shards,
    ):
        await shards[0].open()
        assert await shards[0].identify([0, 2]) == {"closed": INVALID_SHARD}
        await spawn(shards).start([0, 8])  # a multiple of 4 is fine


async def test_a_session_over_the_guild_limit_closes_with_4011() -> None:
    # Discord's limit is 2,500 guilds a session; the same rule with a limit of 2.
    async with running_fake_discord(guilds=(), max_guilds_per_shard=2, shard_count=2) as fake:
        for shard in (0, 0, 1):
            fake.add_guild(shard=shard)
        limit = fake.session_start_limit
        async with raw_shards(fake) as shards:
            await shards[0].open()
            assert await shards[0].identify() == {"closed": SHARDING_REQUIRED}  # 3 guilds
            assert fake.identify_refusals[-1].reason == "Sharding required."
            ready = await spawn(shards).start([0, 2])  # two shards: 2 and 1 guilds
            assert len(ready["d"]["guilds"]) == 2 and ready["d"]["shard"] == [0, 2]
        assert limit.remaining == limit.total - 1  # refused IDENTIFYs start no session


async def test_identify_faster_than_max_concurrency_gets_invalid_session() -> None:
    async with running_fake_discord(shard_count=2) as fake, raw_shards(fake) as shards:
        await shards[0].start([0, 2])
        second = spawn(shards)
        await second.open()
        refused = await second.identify([1, 2])  # same key (max_concurrency 1), same window
        assert refused == {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}
        assert fake.identify_refusals[-1].close_code is None
        record = fake.gateway_connections[-1]
        assert record.invalid_sessions == 1 and record.shard is None and not record.events

        fake.advance(IDENTIFY_WINDOW)  # the window is over: the same IDENTIFY is accepted
        ready = await second.identify([1, 2])
        assert ready["t"] == "READY" and ready["d"]["shard"] == [1, 2]
        assert fake.gateway_connections[-1].shard == (1, 2)


async def test_max_concurrency_buckets_are_shard_id_modulo_max_concurrency() -> None:
    limit = SessionStartLimit(max_concurrency=2)
    async with (
        running_fake_discord(shard_count=4, session_start_limit=limit) as fake,
        raw_shards(fake) as shards,
    ):
        await shards[0].start([0, 4])  # key 0
        await spawn(shards).start([1, 4])  # key 1: same window, accepted
        third = spawn(shards)
        await third.open()
        assert (await third.identify([2, 4]))["op"] == OP_INVALID_SESSION  # key 0 again
        assert (await third.identify([3, 4]))["op"] == OP_INVALID_SESSION  # key 1 again
        assert [r.shard for r in fake.identify_refusals] == [[2, 4], [3, 4]]


async def test_spent_session_starts_end_every_session_and_the_token() -> None:
    limit = SessionStartLimit(remaining=1, max_concurrency=2)
    async with (
        running_fake_discord(shard_count=2, session_start_limit=limit) as fake,
        raw_shards(fake) as shards,
        aiohttp.ClientSession() as http,
    ):
        await shards[0].start([0, 2])
        last = spawn(shards)
        await last.open()
        assert await last.identify([1, 2]) == {"closed": AUTHENTICATION_FAILED}
        await fake.wait_until(lambda: not fake.connected)  # the first session ended too
        assert fake.gateway_connections[0].server_close_code == AUTHENTICATION_FAILED
        async with http.get(fake.api_url + "/users/@me", headers=BOT_AUTH) as response:
            assert response.status == 401  # Discord reset the token


# ---------------------------------------------------------------------- routing by guild


def _guilds_by_shard(fake: FakeDiscord, shard_count: int) -> dict[int, list[FakeGuild]]:
    return {
        shard: [g for g in fake.guilds.values() if shard_of(g.id, shard_count) == shard]
        for shard in range(shard_count)
    }


async def test_guild_traffic_reaches_only_the_shard_that_owns_the_guild() -> None:
    limit = SessionStartLimit(max_concurrency=4)
    async with running_fake_discord(guilds=(), shard_count=4, session_start_limit=limit) as fake:
        for shard in (0, 1, 2, 3, 0, 1, 2, 3):
            guild = fake.add_guild(f"Guild on {shard}", shard=shard)
            fake.add_member(guild, f"member-{guild.id}")
        by_shard = _guilds_by_shard(fake, 4)
        async with raw_shards(fake) as shards:
            readies = [await shards[0].start([0, 4])]
            readies += [await spawn(shards).start([s, 4]) for s in (1, 2, 3)]
            for shard, ready in enumerate(readies):
                listed = {int(g["id"]) for g in ready["d"]["guilds"]}
                assert listed == {g.id for g in by_shard[shard]}

            joined = fake.add_guild("Joined later", shard=2)  # GUILD_CREATE while running
            member = fake.add_member(joined, "newcomer")
            (serving,) = fake.serving(joined)
            assert serving.shard == (2, 4)
            await fake.wait_until(lambda: bool(serving.events_for(joined.id)))
            for guild in fake.guilds.values():
                user = next(m for m in guild.members.values() if not m.user.bot)
                handle = await fake.invoke(guild, user, "recommend", options={"song": "x"})
                assert [c.shard for c in handle.delivered_to] == [(shard_of(guild.id, 4), 4)]
                status, body = await _post_message(fake, guild)
                assert status == 200
                await fake.react(user, int(body["id"]), "👍")
            dm = await fake.invoke(joined, member, "recommend", options={"song": "x"}, dm=True)
            assert [c.shard for c in dm.delivered_to] == [(0, 4)]  # no guild: shard 0

        for record in fake.gateway_connections:
            assert record.shard is not None
            owned = {g.id for g in fake.guilds.values() if shard_of(g.id, 4) == record.shard[0]}
            assert record.guild_ids == owned, f"shard {record.shard} got foreign guild traffic"
            names = {e.name for e in record.events}
            assert {"READY", "GUILD_CREATE", "INTERACTION_CREATE"} <= names
            assert "MESSAGE_REACTION_ADD" in names


async def _post_message(fake: FakeDiscord, guild: FakeGuild) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{fake.api_url}/channels/{guild.default_channel.id}/messages",
            json={"content": "hello"},
            headers=BOT_AUTH,
        ) as response,
    ):
        return response.status, await response.json()


async def test_an_event_for_a_shard_nobody_runs_is_not_delivered() -> None:
    async with running_fake_discord(guilds=(), shard_count=2) as fake:
        mine, theirs = fake.add_guild("Mine", shard=0), fake.add_guild("Theirs", shard=1)
        member = fake.add_member(theirs, "bob")
        async with raw_shards(fake) as shards:
            await shards[0].start([0, 2])
            assert fake.serving(mine) and not fake.serving(theirs)
            with pytest.raises(AssertionError, match="no gateway connection for the shard"):
                await fake.invoke(theirs, member, "recommend", timeout=0.2)
            handle = await fake.invoke(theirs, member, "recommend", require_session=False)
            assert handle.delivered_to == []
        assert theirs.id not in fake.gateway_connections[0].guild_ids


# ---------------------------------------------------------------------- the real client


def _intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    return intents


async def test_discord_py_keeps_to_max_concurrency_1_with_its_own_wait() -> None:
    """discord.py 2.7 ignores max_concurrency and waits 5 s before every IDENTIFY but
    the first: slower than needed when max_concurrency > 1, never refused."""
    async with running_fake_discord(guilds=(), shard_count=2) as fake:
        for shard in (0, 1):
            fake.add_guild(f"Guild {shard}", shard=shard)
        client = commands.AutoShardedBot(command_prefix="!", intents=_intents())
        async with running_bot(client, fake, timeout=30.0) as bot:
            assert sorted(bot.shards) == [0, 1] and len(bot.guilds) == 2
        assert fake.identify_refusals == []
        assert [r.shard for r in fake.gateway_connections] == [(0, 2), (1, 2)]
