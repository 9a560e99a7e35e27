"""The fake Discord runs the real discord.py client end to end.

A throwaway bot defined here (not the product's bot) exercises what the bot's
end-to-end tests and benchmark rely on: command sync payloads, autocomplete,
defer then edit with an embed and a file, a permission check answered
ephemerally, reactions both ways, a survived 429, RESUME and a restart.

The second half checks that the fake says no like Discord, with raw requests
(aiohttp, no discord.py): each payload limit (400 / 50035 and its ``errors``
tree, 50006, 413), the 20-reaction cap (30010), rate-limit headers and 429s,
the 3-second acknowledgement, the 15-minute token and zlib-stream frames; then
that discord.py reads those answers and paces itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.infra.discord_urls import (
    DEFAULT_API_URL,
    DEFAULT_GATEWAY_URL,
    apply_discord_urls,
    current_discord_urls,
)
from tests.fakes.discord import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    IDENTIFY_WINDOW,
    MANAGE_GUILD,
    DiscordError,
    FakeAttachment,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    InteractionHandle,
    SessionStartLimit,
    running_bot,
    running_fake_discord,
    start_bot,
    stop_bot,
)

WORDS = [f"song {i:02d}" for i in range(40)] + ["Sonata", "Solo", "Bolero"]
REPORT_CSV = b"title,artist\nSolo,Frank Ocean\n"


class ProbeCog(commands.Cog):
    """Slash commands and listeners covering the interaction kinds the real bot uses."""

    def __init__(self, bot: commands.Bot | commands.AutoShardedBot) -> None:
        self.bot = bot
        self.reactions: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()

    @app_commands.command(name="echo", description="Echo the text back")
    @app_commands.describe(text="What to echo")
    @app_commands.guild_only()
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(f"echo: {text}")

    @echo.autocomplete("text")
    async def echo_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        matches = [w for w in WORDS if current.lower() in w.lower()]
        return [app_commands.Choice(name=w, value=w) for w in matches[:25]]

    @app_commands.command(name="report", description="Slow work: defer, then edit")
    async def report(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        embed = discord.Embed(title="Report", description="1 track")
        message = await interaction.edit_original_response(
            content="done",
            embed=embed,
            attachments=[discord.File(io.BytesIO(REPORT_CSV), filename="report.csv")],
        )
        for emoji in ("👍", "👎"):
            await message.add_reaction(emoji)

    @app_commands.command(name="steps", description="Defer privately, then followups")
    async def steps(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("step 1", ephemeral=True)  # replaces "thinking"
        second = await interaction.followup.send("step 2", ephemeral=True, wait=True)
        await second.edit(content="step 2 (edited)")
        original = await interaction.original_response()
        await interaction.edit_original_response(content=original.content + " done")

    @app_commands.command(name="upload", description="Read an attached file")
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        content = await file.read()  # downloaded from the fake's CDN route
        await interaction.response.send_message(f"{file.filename}: {len(content)} bytes")

    @app_commands.command(name="configure", description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def configure(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("configured", ephemeral=True)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            await interaction.response.send_message("You need Manage Server.", ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.reactions.put(payload)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.reactions.put(payload)


def probe_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    return intents


class ProbeBot(commands.Bot):
    """The smallest bot shaped like the product's: two intents, one cog."""

    def __init__(self) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=probe_intents())
        self.probe = ProbeCog(self)

    async def setup_hook(self) -> None:
        await self.add_cog(self.probe)


class ShardedProbeBot(commands.AutoShardedBot):
    """The same bot sharded (shard count from ``GET /gateway/bot``)."""

    def __init__(self) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=probe_intents())

    async def setup_hook(self) -> None:
        await self.add_cog(ProbeCog(self))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py spaces IDENTIFYs 5 s apart for Discord's session limits; the fake
        # has none, and the public hook is the way to skip the wait.
        return None


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    admin: FakeMember
    member: FakeMember


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with running_fake_discord(guilds=["Test Guild"]) as fake:
        guild = next(iter(fake.guilds.values()))
        admin = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
        member = fake.add_member(guild, "bob")
        yield World(fake, guild, admin, member)


@pytest.fixture
async def bot(world: World) -> AsyncIterator[ProbeBot]:
    async with running_bot(ProbeBot(), world.fake) as running:
        # Development-style instant guild sync (the real bot syncs on request only).
        running.tree.copy_global_to(guild=discord.Object(world.guild.id))
        await running.tree.sync(guild=discord.Object(world.guild.id))
        yield running


async def next_reaction(bot: ProbeBot) -> discord.RawReactionActionEvent:
    return await asyncio.wait_for(bot.probe.reactions.get(), 5)


async def test_bot_connects_with_its_intents_and_sees_the_guild(
    world: World, bot: ProbeBot
) -> None:
    assert world.fake.identifies[-1]["intents"] == 1025  # guilds + guild_reactions
    assert world.fake.gateway_ops[:2] == [1, 2]  # heartbeat on HELLO, then IDENTIFY
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Test Guild"
    assert [c.name for c in guild.text_channels] == ["general"]
    logins = [r.path for r in world.fake.find_requests("GET")][:2]
    assert logins == ["/users/@me", "/oauth2/applications/@me"]


async def test_a_guild_added_while_running_arrives_as_guild_join(
    world: World, bot: ProbeBot
) -> None:
    joined = asyncio.ensure_future(bot.wait_for("guild_join", timeout=5))
    await asyncio.sleep(0)  # let wait_for register its listener
    second = world.fake.add_guild("Second Guild", channels=["music"])
    guild = await joined
    assert guild.id == second.id and [c.name for c in guild.text_channels] == ["music"]


async def test_sync_payloads_are_recorded_and_commands_get_ids(world: World, bot: ProbeBot) -> None:
    await bot.tree.sync()  # global as well

    guild_sync, global_sync = world.fake.command_syncs[-2:]
    assert guild_sync.guild_id == world.guild.id and global_sync.guild_id is None
    by_name = {c["name"]: c for c in global_sync.payload}
    assert by_name["echo"]["options"] == [
        {
            "type": 3,
            "name": "text",
            "description": "What to echo",
            "required": True,
            "autocomplete": True,
        }
    ]
    assert by_name["echo"]["contexts"] == [0]  # guild_only
    assert int(by_name["configure"]["default_member_permissions"]) == MANAGE_GUILD
    assert by_name["report"]["default_member_permissions"] is None

    registered = world.fake.command("echo")
    assert registered["id"].isdigit() and registered["application_id"] == str(
        world.fake.application_id
    )
    fetched = await bot.tree.fetch_commands()
    assert {c.name for c in fetched} == {"echo", "report", "steps", "upload", "configure"}
    assert world.fake.command("echo", world.guild)["guild_id"] == str(world.guild.id)


async def test_slash_command_with_options_replies(world: World, bot: ProbeBot) -> None:
    handle = await world.fake.invoke(world.guild, world.member, "echo", options={"text": "hi"})

    response = await handle.wait_response()
    assert response.type == CHANNEL_MESSAGE and not response.ephemeral
    assert response.content == "echo: hi"
    assert (await handle.wait_final()).content == "echo: hi"
    assert handle.ack_latency is not None and handle.ack_latency >= 0


async def test_attachment_option_is_served_to_the_bot(world: World, bot: ProbeBot) -> None:
    csv = FakeAttachment("playlist.csv", b"id,name\n1,Solo\n", "text/csv")
    handle = await world.fake.invoke(world.guild, world.admin, "upload", options={"file": csv})

    assert (await handle.wait_response()).content == f"playlist.csv: {len(csv.content)} bytes"
    option = handle.payload["data"]["options"][0]
    assert option == {"name": "file", "type": 11, "value": str(csv.id)}


async def test_autocomplete_returns_at_most_25_choices(world: World, bot: ProbeBot) -> None:
    choices = await world.fake.autocomplete(
        world.guild, world.member, "echo", focused="text", value="so"
    )
    assert 0 < len(choices) <= 25
    assert all("so" in c["name"].lower() and len(c["name"]) <= 100 for c in choices)

    handle = world.fake.interactions[-1]
    assert handle.callbacks[0].type == AUTOCOMPLETE_RESULT
    option = handle.payload["data"]["options"][0]
    assert option == {"name": "text", "type": 3, "value": "so", "focused": True}


async def test_defer_then_edit_with_embed_file_and_reactions(world: World, bot: ProbeBot) -> None:
    handle = await world.fake.invoke(world.guild, world.member, "report")

    assert (await handle.wait_response()).type == DEFERRED_CHANNEL_MESSAGE
    final = await handle.wait_final()
    assert final.content == "done" and not final.loading
    assert final.embed is not None and final.embed["title"] == "Report"
    [attachment] = final.attachments
    assert (attachment.filename, attachment.content) == ("report.csv", REPORT_CSV)

    bot_id = world.fake.bot_user.id
    await world.fake.wait_until(lambda: len(final.reactions) == 2)
    assert final.reactions == {"👍": [bot_id], "👎": [bot_id]}
    # Discord echoes the bot's own reactions; a real bot must ignore them.
    echoes = [await next_reaction(bot), await next_reaction(bot)]
    assert {str(e.emoji) for e in echoes} == {"👍", "👎"}
    assert all(e.user_id == bot_id and e.message_id == final.id for e in echoes)
    assert final in world.fake.channel_messages(world.guild.default_channel)


async def test_followups_after_an_ephemeral_defer(world: World, bot: ProbeBot) -> None:
    handle = await world.fake.invoke(world.guild, world.member, "steps")

    response = await handle.wait_response()
    assert response.deferred and response.ephemeral
    await handle.wait_final(lambda m: m.content == "step 1 done")
    assert handle.original is not None and handle.original.ephemeral
    [second] = handle.followups
    assert second.content == "step 2 (edited)" and second.ephemeral and second.edits == 1


async def test_channel_messages_sent_by_the_bot_are_recorded(world: World, bot: ProbeBot) -> None:
    channel = bot.get_channel(world.guild.default_channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("hello", embed=discord.Embed(title="Hi"))
    await sent.edit(content="hello again")

    [recorded] = world.fake.channel_messages(world.guild.default_channel)
    assert recorded.id == sent.id and recorded.content == "hello again"
    assert recorded.embed is not None and recorded.embed["title"] == "Hi"
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "hello again"


async def test_admin_command_refuses_a_member_and_serves_an_admin(
    world: World, bot: ProbeBot
) -> None:
    refused = await world.fake.invoke(world.guild, world.member, "configure")
    answer = await refused.wait_response()
    assert answer.ephemeral and "Manage Server" in answer.content

    allowed = await world.fake.invoke(world.guild, world.admin, "configure")
    answer = await allowed.wait_response()
    assert answer.ephemeral and answer.content == "configured"
    assert world.fake.channel_messages(world.guild.default_channel) == []  # ephemeral only


async def test_member_reactions_arrive_as_raw_events(world: World, bot: ProbeBot) -> None:
    handle = await world.fake.invoke(world.guild, world.member, "report")
    message = await handle.wait_final()
    await world.fake.wait_until(lambda: len(message.reactions) == 2)
    for _ in range(2):
        await next_reaction(bot)  # the bot's own echoes

    await world.fake.react(world.member, message, "👍")
    added = await next_reaction(bot)
    assert added.event_type == "REACTION_ADD" and str(added.emoji) == "👍"
    assert added.user_id == world.member.id and added.message_id == message.id
    assert added.member is not None and added.member.id == world.member.id
    assert added.guild_id == world.guild.id

    await world.fake.unreact(world.member, message, "👍")
    removed = await next_reaction(bot)
    assert removed.event_type == "REACTION_REMOVE" and removed.user_id == world.member.id
    assert message.reactions["👍"] == [world.fake.bot_user.id]


async def test_rate_limits_with_via_header_are_survived(world: World, bot: ProbeBot) -> None:
    reaction_429 = world.fake.rate_limit(1, method="PUT", path="/channels/*/reactions/*")
    edit_429 = world.fake.rate_limit(1, method="PATCH", path="/webhooks/*", is_global=True)

    handle = await world.fake.invoke(world.guild, world.member, "report")
    final = await handle.wait_final()
    await world.fake.wait_until(lambda: len(final.reactions) == 2)

    assert final.content == "done"
    assert len(reaction_429.hits) == 1 and len(edit_429.hits) == 1
    puts = world.fake.find_requests("PUT", "/channels/*/reactions/*")
    assert [r.status for r in puts] == [429, 204, 204]


async def test_resume_after_a_dropped_connection(world: World, bot: ProbeBot) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)

    await world.fake.disconnect(4000)
    await asyncio.wait_for(resumed.wait(), 5)

    assert world.fake.gateway_ops.count(6) == 1 and world.fake.gateway_ops.count(2) == 1
    handle = await world.fake.invoke(world.guild, world.member, "echo", options={"text": "back"})
    assert (await handle.wait_final()).content == "echo: back"


async def test_a_new_bot_restarts_against_the_same_fake() -> None:
    before = current_discord_urls()
    async with running_fake_discord() as fake:
        guild = next(iter(fake.guilds.values()))
        member = fake.add_member(guild, "bob")
        first = ProbeBot()
        task = await start_bot(first, fake)  # the unmanaged form: URLs stay patched
        first.tree.copy_global_to(guild=discord.Object(guild.id))
        await first.tree.sync(guild=discord.Object(guild.id))
        echo_id = fake.command("echo", guild)["id"]
        await stop_bot(first, task)
        assert first.is_closed() and not fake.connected
        # Discord takes one IDENTIFY per 5 s (max_concurrency 1): restart after that.
        fake.advance(IDENTIFY_WINDOW)

        async with running_bot(ProbeBot(), fake) as second:
            second.tree.copy_global_to(guild=discord.Object(guild.id))
            await second.tree.sync(guild=discord.Object(guild.id))
            assert fake.command("echo", guild)["id"] == echo_id  # overwrite keeps ids
            handle = await fake.invoke(guild, member, "echo", options={"text": "again"})
            assert (await handle.wait_final()).content == "echo: again"
        assert fake.gateway_ops.count(2) == 2  # two IDENTIFYs, no RESUME
        assert 6 not in fake.gateway_ops
        assert current_discord_urls() == (fake.api_url, fake.gateway_url)
    apply_discord_urls(*before)
    assert current_discord_urls() == before


def test_discord_urls_are_validated_and_restorable() -> None:
    with pytest.raises(ValueError, match="DISCORD_API_URL"):
        apply_discord_urls("ftp://example.org/api", None)
    with pytest.raises(ValueError, match="DISCORD_GATEWAY_URL"):
        apply_discord_urls(None, "http://127.0.0.1:1/gateway")
    try:
        apply_discord_urls("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway")
        assert current_discord_urls() == ("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway")
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
    finally:
        apply_discord_urls(None, "")
    assert current_discord_urls() == (DEFAULT_API_URL, DEFAULT_GATEWAY_URL)


async def test_a_rejected_token_fails_start_up_cleanly() -> None:
    async with running_fake_discord(valid_tokens={"good"}) as fake:
        with pytest.raises(discord.LoginFailure):
            async with running_bot(ProbeBot(), fake, token="bad"):
                pass
    assert current_discord_urls() == (DEFAULT_API_URL, DEFAULT_GATEWAY_URL)


async def test_zlib_frames_and_gateway_pings() -> None:
    # Binary zlib-stream frames as Discord sends them, and op-1 requests from the
    # gateway that the client must answer with a heartbeat.
    async with running_fake_discord(zlib_frames=True, ping_interval=0.01) as fake:
        member = fake.add_member("Test Guild", "bob")
        async with running_bot(ProbeBot(), fake):
            heartbeats = fake.gateway_ops.count(1)
            await fake.wait_until(lambda: fake.gateway_ops.count(1) >= heartbeats + 3)
            handle = await fake.invoke("Test Guild", member, "echo", options={"text": "z"})
            assert (await handle.wait_response()).content == "echo: z"


async def test_auto_sharded_bot_splits_guilds_across_shards() -> None:
    names = [f"Guild {i}" for i in range(6)]
    # max_concurrency 2: both shards may IDENTIFY at once (the probe skips the 5 s wait).
    limit = SessionStartLimit(max_concurrency=2)
    async with running_fake_discord(guilds=(), shard_count=2, session_start_limit=limit) as fake:
        for i, name in enumerate(names):
            fake.add_guild(name, shard=i % 2)
        members = {name: fake.add_member(name, f"user-{name}") for name in names}
        async with running_bot(ShardedProbeBot(), fake) as bot:
            assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
            assert len(bot.guilds) == len(names)
            handles = [
                await fake.invoke(name, members[name], "echo", options={"text": name})
                for name in names
            ]
            replies = [(await h.wait_response()).content for h in handles]
            assert replies == [f"echo: {name}" for name in names]


# ---------------------------------------------------------------------- strict like Discord
#
# Raw requests (aiohttp, no discord.py) against the fake, asserting Discord's status
# codes, error codes and body shapes; then the real client living with the rules.

BOT_AUTH = {"Authorization": "Bot fake-token"}
#: Headers Discord sends on every REST answer (discord.py paces itself from them).
RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


class RawGateway:
    """A bare gateway client: IDENTIFY, then collect dispatches (zlib-stream if asked)."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeDiscord) -> None:
        self.session = session
        self.fake = fake
        self.frames: list[aiohttp.WSMessage] = []
        self.inflator = zlib.decompressobj()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, *, compress: bool = True) -> list[dict[str, Any]]:
        """Connect and IDENTIFY; returns the packets up to the (one) GUILD_CREATE."""
        query = "?v=10&encoding=json" + ("&compress=zlib-stream" if compress else "")
        self.ws = await self.session.ws_connect(self.fake.gateway_url + query)
        packets = [await self.receive()]  # HELLO
        await self.ws.send_json({"op": 2, "d": {"token": "fake-token", "intents": 1025}})
        while packets[-1].get("t") != "GUILD_CREATE":
            packets.append(await self.receive())
        self._reader = asyncio.create_task(self._drain())
        return packets

    async def receive(self) -> dict[str, Any]:
        """The next packet, decoded as discord.py does (one inflater for the connection)."""
        message = await asyncio.wait_for(self.ws.receive(), 5)
        self.frames.append(message)
        if message.type == aiohttp.WSMsgType.BINARY:
            return cast(dict[str, Any], json.loads(self.inflator.decompress(message.data)))
        return cast(dict[str, Any], json.loads(message.data))

    async def _drain(self) -> None:
        while not self.ws.closed:
            message = await self.ws.receive()
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                return
            self.frames.append(message)

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader


@dataclass
class Raw:
    """A strict fake, a raw gateway session and an HTTP session for REST calls."""

    fake: FakeDiscord
    http: aiohttp.ClientSession
    guild: FakeGuild
    member: FakeMember

    @property
    def channel(self) -> str:
        return str(self.guild.default_channel.id)

    async def call(
        self, method: str, path: str, json_body: Any = None, **kwargs: Any
    ) -> tuple[int, Any, Mapping[str, str]]:
        """One REST request: ``(status, JSON body or None, headers)``."""
        url = self.fake.api_url + path
        async with self.http.request(method, url, json=json_body, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body, response.headers

    async def post_message(self, payload: dict[str, Any]) -> tuple[int, Any, Mapping[str, str]]:
        return await self.call(
            "POST", f"/channels/{self.channel}/messages", payload, headers=BOT_AUTH
        )

    async def interaction(self, kind: int = 2) -> InteractionHandle:
        """A dispatched slash command (kind 2) or autocomplete (kind 4), not yet answered."""
        if kind == 4:
            return await self.fake.dispatch_autocomplete(
                self.guild, self.member, "echo", focused="text", value="so"
            )
        return await self.fake.invoke(self.guild, self.member, "echo", options={"text": "x"})

    async def callback(
        self, handle: InteractionHandle, payload: dict[str, Any]
    ) -> tuple[int, Any, Mapping[str, str]]:
        path = f"/interactions/{handle.id}/{handle.token}/callback?with_response=1"
        return await self.call("POST", path, payload)

    def webhook(self, handle: InteractionHandle, tail: str = "") -> str:
        return f"/webhooks/{self.fake.application_id}/{handle.token}{tail}"


@contextlib.asynccontextmanager
async def raw_world(**options: Any) -> AsyncIterator[Raw]:
    """A strict fake with one guild and member, a raw gateway session connected."""
    async with (
        running_fake_discord(**options) as fake,
        aiohttp.ClientSession() as http,
    ):
        guild = next(iter(fake.guilds.values()))
        member = fake.add_member(guild, "bob")
        gateway = RawGateway(http, fake)
        await gateway.connect()
        try:
            yield Raw(fake, http, guild, member)
        finally:
            await gateway.close()


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    async with raw_world() as world:
        yield world


def form_error(body: dict[str, Any], path: str) -> list[dict[str, str]]:
    """The ``_errors`` list at a dotted path of a 50035 body (``"data.embeds.0.title"``)."""
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    node = body["errors"]
    for part in path.split("."):
        assert part in node, f"no error at {path!r}: {body['errors']}"
        node = node[part]
    return cast(list[dict[str, str]], node["_errors"])


def embed_of(**fields: Any) -> dict[str, Any]:
    return {"type": "rich", **fields}


TOO_LONG_MESSAGES = [
    ({"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer"),
    ({"embeds": [embed_of(title="t")] * 11}, "embeds", "BASE_TYPE_MAX_LENGTH", "10 or fewer"),
    ({"embeds": [embed_of(title="t" * 257)]}, "embeds.0.title", "BASE_TYPE_MAX_LENGTH", "256"),
    (
        {"embeds": [embed_of(description="d" * 4097)]},
        "embeds.0.description",
        "BASE_TYPE_MAX_LENGTH",
        "4096",
    ),
    (
        {"embeds": [embed_of(fields=[{"name": "n", "value": "v"}] * 26)]},
        "embeds.0.fields",
        "BASE_TYPE_MAX_LENGTH",
        "25 or fewer",
    ),
    (
        {"embeds": [embed_of(fields=[{"name": "", "value": "v"}])]},
        "embeds.0.fields.0.name",
        "BASE_TYPE_REQUIRED",
        "required",
    ),
    (
        {"embeds": [embed_of(fields=[{"name": "n", "value": ""}])]},
        "embeds.0.fields.0.value",
        "BASE_TYPE_REQUIRED",
        "required",
    ),
    (
        {"embeds": [embed_of(fields=[{"name": "n" * 257, "value": "v"}])]},
        "embeds.0.fields.0.name",
        "BASE_TYPE_MAX_LENGTH",
        "256",
    ),
    (
        {"embeds": [embed_of(fields=[{"name": "n", "value": "v" * 1025}])]},
        "embeds.0.fields.0.value",
        "BASE_TYPE_MAX_LENGTH",
        "1024",
    ),
    (
        {"embeds": [embed_of(footer={"text": "f" * 2049})]},
        "embeds.0.footer.text",
        "BASE_TYPE_MAX_LENGTH",
        "2048",
    ),
    (
        {"embeds": [embed_of(author={"name": "a" * 257})]},
        "embeds.0.author.name",
        "BASE_TYPE_MAX_LENGTH",
        "256",
    ),
    (
        # Each embed within its own limits, together over 6,000 characters.
        {"embeds": [embed_of(description="d" * 3001), embed_of(description="d" * 3000)]},
        "embeds",
        "MAX_EMBED_SIZE_EXCEEDED",
        "6000",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code", "text"), TOO_LONG_MESSAGES)
async def test_a_message_over_a_limit_is_refused_with_discords_form_error(
    raw: Raw, payload: dict[str, Any], path: str, code: str, text: str
) -> None:
    status, body, headers = await raw.post_message(payload)

    assert status == 400
    [error] = form_error(body, path)
    assert error["code"] == code and text in error["message"]
    assert set(body) == {"code", "message", "errors"}
    assert all(name in headers for name in RATE_LIMIT_HEADERS)
    assert raw.fake.channel_messages(raw.guild.default_channel) == []
    [refused] = raw.fake.refusals(50035)
    assert refused.error == body


async def test_messages_at_exactly_the_limits_are_accepted(raw: Raw) -> None:
    at_limits = {
        "content": "x" * 2000,
        "embeds": [
            embed_of(
                title="t" * 256,
                description="d" * 1500,
                fields=[{"name": "n" * 256, "value": "v" * 1024}] * 3,
                footer={"text": "f" * 148},
                author={"name": "a" * 256},
            )
        ],
    }  # 256 + 1500 + 3 * 1280 + 148 + 256 = 6,000 characters of embed text
    status, body, _ = await raw.post_message(at_limits)
    assert status == 200, body
    assert raw.fake.message(int(body["id"])).content == "x" * 2000


async def test_an_empty_message_or_an_edit_that_empties_one_is_refused(raw: Raw) -> None:
    status, body, _ = await raw.post_message({"content": "", "embeds": []})
    assert (status, body) == (400, {"code": 50006, "message": "Cannot send an empty message"})

    status, created, _ = await raw.post_message({"embeds": [embed_of(title="only an embed")]})
    assert status == 200
    path = f"/channels/{raw.channel}/messages/{created['id']}"
    status, body, _ = await raw.call("PATCH", path, {"embeds": []}, headers=BOT_AUTH)
    assert status == 400 and body["code"] == 50006
    assert raw.fake.message(int(created["id"])).embeds[0]["title"] == "only an embed"
    status, _, _ = await raw.call("PATCH", path, {"content": "now text"}, headers=BOT_AUTH)
    assert status == 200  # an edit keeps what it does not mention


async def test_a_file_over_the_upload_limit_is_refused_with_413(raw: Raw) -> None:
    def form(size: int) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("payload_json", json.dumps({"content": "file"}))
        data.add_field("files[0]", b"x" * size, filename="big.csv")
        return data

    path = f"/channels/{raw.channel}/messages"
    limit = 10 * 1024 * 1024
    status, body, _ = await raw.call("POST", path, data=form(limit + 1), headers=BOT_AUTH)
    assert (status, body) == (413, {"code": 40005, "message": "Request entity too large"})
    status, body, _ = await raw.call("POST", path, data=form(limit), headers=BOT_AUTH)
    assert status == 200 and body["attachments"][0]["size"] == limit


async def test_a_refused_callback_does_not_acknowledge_the_interaction(raw: Raw) -> None:
    handle = await raw.interaction()

    status, body, _ = await raw.callback(handle, {"type": 4, "data": {"content": "x" * 2001}})
    assert status == 400
    assert form_error(body, "data.content")[0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert handle.callbacks == []
    status, body, _ = await raw.callback(handle, {"type": 4, "data": {"content": ""}})
    assert (status, body["code"]) == (400, 50006)

    status, _, _ = await raw.callback(handle, {"type": 4, "data": {"content": "short"}})
    assert status == 200 and handle.callbacks[0].content == "short"


@pytest.mark.parametrize(
    ("payload", "path", "code"),
    [
        ({"type": 99}, "type", "BASE_TYPE_CHOICES"),
        ({"type": 4, "data": ["not", "an", "object"]}, "data", "DICT_TYPE_CONVERT"),
        ({"type": 8, "data": {}}, "data.choices", "BASE_TYPE_REQUIRED"),
        ({"type": 4, "data": {"embeds": ["x"]}}, "data.embeds.0", "DICT_TYPE_CONVERT"),
    ],
)
async def test_a_malformed_callback_gets_a_form_error_not_a_crash(
    raw: Raw, payload: dict[str, Any], path: str, code: str
) -> None:
    handle = await raw.interaction()

    status, body, _ = await raw.callback(handle, payload)

    assert status == 400 and form_error(body, path)[0]["code"] == code
    assert raw.fake.errors == [] and handle.callbacks == []


@pytest.mark.parametrize(
    ("choices", "path", "code"),
    [
        ([{"name": f"c{i}", "value": f"v{i}"} for i in range(26)], "data.choices", "MAX_LENGTH"),
        ([{"name": "", "value": "v"}], "data.choices.0.name", "BASE_TYPE_BAD_LENGTH"),
        ([{"name": "n" * 101, "value": "v"}], "data.choices.0.name", "BASE_TYPE_BAD_LENGTH"),
        ([{"name": "n", "value": "v" * 101}], "data.choices.0.value", "BASE_TYPE_MAX_LENGTH"),
    ],
)
async def test_autocomplete_choices_over_the_limits_are_refused(
    raw: Raw, choices: list[dict[str, str]], path: str, code: str
) -> None:
    handle = await raw.interaction(kind=4)

    status, body, _ = await raw.callback(handle, {"type": 8, "data": {"choices": choices}})

    assert status == 400
    assert code in form_error(body, path)[0]["code"]
    ok = [{"name": "n" * 100, "value": "v" * 100}] * 25
    status, _, _ = await raw.callback(handle, {"type": 8, "data": {"choices": ok}})
    assert status == 200


async def test_a_modal_over_the_limits_is_refused(raw: Raw) -> None:
    handle = await raw.interaction()
    text_input = {"type": 4, "custom_id": "why", "label": "l" * 46, "style": 1}
    modal = {"custom_id": "m", "title": "t" * 46, "components": [
        {"type": 1, "components": [text_input]}
    ]}  # fmt: skip

    status, body, _ = await raw.callback(handle, {"type": 9, "data": modal})

    assert status == 400
    assert form_error(body, "data.title")[0]["code"] == "BASE_TYPE_BAD_LENGTH"
    assert form_error(body, "data.components.0.components.0.label")
    assert handle.callbacks == []


async def test_followups_and_edits_are_checked_like_messages(raw: Raw) -> None:
    handle = await raw.interaction()
    assert (await raw.callback(handle, {"type": 5}))[0] == 200  # defer: empty is fine

    too_long = {"embeds": [embed_of(title="t" * 257)]}
    status, body, _ = await raw.call("PATCH", raw.webhook(handle, "/messages/@original"), too_long)
    assert status == 400 and form_error(body, "embeds.0.title")
    assert handle.original is not None and handle.original.loading  # still "thinking"
    status, body, _ = await raw.call("POST", raw.webhook(handle, "?wait=1"), {"content": ""})
    assert (status, body["code"]) == (400, 50006)

    status, body, _ = await raw.call("POST", raw.webhook(handle, "?wait=1"), {"content": "ok"})
    assert status == 200 and handle.original.content == "ok"
    status, _, _ = await raw.call("DELETE", raw.webhook(handle, "/messages/@original"))
    assert status == 204


async def test_command_sync_is_checked_like_discord(raw: Raw) -> None:
    path = f"/applications/{raw.fake.application_id}/guilds/{raw.guild.id}/commands"
    good = {"name": "ok", "description": "fine", "type": 1}
    bad = [
        good,
        {"name": "Bad Name", "description": "d" * 101, "type": 1, "options": [
            {"type": 3, "name": "a", "description": "optional"},
            {"type": 3, "name": "b", "description": "required", "required": True,
             "choices": [{"name": str(i), "value": str(i)} for i in range(26)]},
        ]},
    ]  # fmt: skip

    status, body, _ = await raw.call("PUT", path, bad, headers=BOT_AUTH)

    assert status == 400
    assert form_error(body, "1.name")[0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert form_error(body, "1.description")[0]["code"] == "BASE_TYPE_BAD_LENGTH"
    assert form_error(body, "1.options.1.choices")[0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert "ORDER_INVALID" in form_error(body, "1.options.1")[0]["code"]
    assert "0" not in body["errors"]
    assert raw.fake.command_syncs == []  # nothing registered
    status, _, _ = await raw.call("PUT", path, [good], headers=BOT_AUTH)
    assert status == 200 and raw.fake.command("ok", raw.guild)


async def test_a_21st_distinct_reaction_is_refused(raw: Raw) -> None:
    # The reaction cap is under test, not pacing (that has its own test): Discord's
    # one-per-0.25 s bucket would only make this take 5 s.
    async with raw_world(rate_limits=False) as world:
        status, created, _ = await world.post_message({"content": "rate me"})
        assert status == 200
        base = f"/channels/{world.channel}/messages/{created['id']}/reactions"
        emoji = [chr(0x1F1E6 + i) for i in range(21)]
        statuses = [
            (await world.call("PUT", f"{base}/{e}/@me", headers=BOT_AUTH))[0] for e in emoji[:20]
        ]
        assert statuses == [204] * 20

        status, body, _ = await world.call("PUT", f"{base}/{emoji[20]}/@me", headers=BOT_AUTH)
        assert (status, body) == (
            400,
            {"code": 30010, "message": "Maximum number of reactions reached (20)"},
        )
        message = world.fake.message(int(created["id"]))
        with pytest.raises(DiscordError) as refused:
            await world.fake.react(world.member, message, emoji[20])  # members too
        assert refused.value.code == 30010
        await world.fake.react(world.member, message, emoji[0])  # an existing one is fine
        assert len(message.reactions) == 20 and message.reactions[emoji[0]][-1] == world.member.id


async def test_every_answer_has_rate_limit_headers_and_a_429_has_discords_shape(
    raw: Raw,
) -> None:
    status, created, headers = await raw.post_message({"content": "rate me"})
    assert status == 200 and all(name in headers for name in RATE_LIMIT_HEADERS)
    assert int(headers["X-RateLimit-Remaining"]) == int(headers["X-RateLimit-Limit"]) - 1
    reaction = f"/channels/{raw.channel}/messages/{created['id']}/reactions"

    status, _, first = await raw.call("PUT", f"{reaction}/%F0%9F%91%8D/@me", headers=BOT_AUTH)
    assert status == 204
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("1", "0")
    assert 0 < float(first["X-RateLimit-Reset-After"]) <= 0.25
    status, body, limited = await raw.call("PUT", f"{reaction}/%F0%9F%91%8E/@me", headers=BOT_AUTH)

    assert status == 429
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 0.25
    assert limited["Retry-After"] == "1" and limited["Via"]  # discord.py needs Via
    assert limited["X-RateLimit-Scope"] == "user"
    assert limited["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
    assert float(limited["X-RateLimit-Reset"]) > 1e9  # Unix time, as Discord sends it
    await asyncio.sleep(body["retry_after"])
    status, _, _ = await raw.call("PUT", f"{reaction}/%F0%9F%91%8E/@me", headers=BOT_AUTH)
    assert status == 204
    # Another channel has its own bucket.
    other = raw.fake.add_channel(raw.guild, "other")
    status, created, _ = await raw.call(
        "POST", f"/channels/{other.id}/messages", {"content": "x"}, headers=BOT_AUTH
    )
    status, _, _ = await raw.call(
        "PUT", f"/channels/{other.id}/messages/{created['id']}/reactions/x/@me", headers=BOT_AUTH
    )
    assert status == 204


async def test_the_global_limit_answers_a_global_429() -> None:
    # A global limit of 3 (instead of 50) shows the mechanism in four requests.
    async with raw_world(global_rate_limit=3) as world:
        statuses = []
        for _ in range(4):
            status, body, headers = await world.call("GET", "/users/@me", headers=BOT_AUTH)
            statuses.append(status)
        assert statuses == [200, 200, 200, 429]
        assert body["global"] is True and headers["X-RateLimit-Global"] == "true"
        assert headers["X-RateLimit-Scope"] == "global"
        handle = await world.interaction()  # interaction endpoints are exempt
        status, _, _ = await world.callback(handle, {"type": 4, "data": {"content": "hi"}})
        assert status == 200


async def test_a_late_or_second_acknowledgement_is_refused(raw: Raw) -> None:
    late = await raw.interaction()
    raw.fake.advance(3.01)  # past Discord's 3 s without waiting for them
    status, body, _ = await raw.callback(late, {"type": 5})
    assert (status, body) == (404, {"code": 10062, "message": "Unknown interaction"})
    assert late.callbacks == []

    handle = await raw.interaction()
    assert (await raw.callback(handle, {"type": 5}))[0] == 200
    status, body, _ = await raw.callback(handle, {"type": 4, "data": {"content": "again"}})
    assert (status, body["code"]) == (400, 40060)
    assert body["message"] == "Interaction has already been acknowledged."


async def test_the_3_second_rule_runs_on_real_time() -> None:
    async with raw_world(ack_deadline=0.2) as world:  # a short window keeps the test quick
        handle = await world.interaction()
        await asyncio.sleep(0.3)
        status, body, _ = await world.callback(handle, {"type": 5})
        assert (status, body["code"]) == (404, 10062)


async def test_followups_and_edits_stop_when_the_token_expires(raw: Raw) -> None:
    handle = await raw.interaction()
    assert (await raw.callback(handle, {"type": 4, "data": {"content": "first"}}))[0] == 200

    raw.fake.advance(14 * 60)
    status, _, _ = await raw.call("POST", raw.webhook(handle, "?wait=1"), {"content": "still"})
    assert status == 200
    raw.fake.advance(60.01)  # 15 minutes after the interaction was created

    expired = {"code": 50027, "message": "Invalid Webhook Token"}
    followup = await raw.call("POST", raw.webhook(handle, "?wait=1"), {"content": "late"})
    edit = await raw.call("PATCH", raw.webhook(handle, "/messages/@original"), {"content": "x"})
    assert (followup[0], followup[1]) == (401, expired)
    assert (edit[0], edit[1]) == (401, expired)
    assert handle.original is not None and handle.original.content == "first"


async def test_gateway_frames_are_one_zlib_stream_when_asked(raw: Raw) -> None:
    async with aiohttp.ClientSession() as http:
        # Discord takes one IDENTIFY per 5 s (max_concurrency 1): each session comes later.
        raw.fake.advance(IDENTIFY_WINDOW)
        compressed = RawGateway(http, raw.fake)
        received = await compressed.connect(compress=True)
        await compressed.close()
        raw.fake.advance(IDENTIFY_WINDOW)
        plain = RawGateway(http, raw.fake)
        assert (await plain.connect(compress=False))[0]["op"] == 10
        await plain.close()

    assert [p["op"] for p in received[:1]] == [10] and "heartbeat_interval" in received[0]["d"]
    assert [p["t"] for p in received[1:]] == ["READY", "GUILD_CREATE"]
    frames = compressed.frames
    assert all(f.type == aiohttp.WSMsgType.BINARY for f in frames) and len(frames) >= 3
    assert all(f.data.endswith(b"\x00\x00\xff\xff") for f in frames)  # Z_SYNC_FLUSH
    inflator = zlib.decompressobj()  # one inflater for the whole connection
    assert [json.loads(inflator.decompress(f.data)) for f in frames[:3]] == received
    with pytest.raises(zlib.error):  # a later frame is not a stream of its own
        zlib.decompressobj().decompress(frames[1].data)
    assert plain.frames[0].type == aiohttp.WSMsgType.TEXT


class StrictProbeCog(commands.Cog):
    """What a bot meets on Discord: a refused payload, and paced reactions."""

    @app_commands.command(name="toolong", description="Send a reply over 2,000 characters")
    async def toolong(self, interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message("x" * 2001)
        except discord.HTTPException as exc:
            await interaction.response.send_message(f"refused {exc.code}: {exc.text}")

    @app_commands.command(name="react", description="Add eight reactions")
    async def react(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("react")
        message = await interaction.original_response()
        for index in range(8):
            await message.add_reaction(chr(0x1F1E6 + index))


async def test_discord_py_reads_the_error_body_and_paces_itself(world: World) -> None:
    probe = ProbeBot()
    await probe.add_cog(StrictProbeCog())
    async with running_bot(probe, world.fake) as bot:
        bot.tree.copy_global_to(guild=discord.Object(world.guild.id))
        await bot.tree.sync(guild=discord.Object(world.guild.id))

        refused = await world.fake.invoke(world.guild, world.member, "toolong")
        answer = (await refused.wait_response()).content
        assert answer == (
            "refused 50035: Invalid Form Body\nIn data.content: Must be 2000 or fewer in length."
        )

        handle = await world.fake.invoke(world.guild, world.member, "react")
        message = await handle.wait_final()
        await world.fake.wait_until(lambda: len(message.reactions) == 8, timeout=15)

    puts = world.fake.find_requests("PUT", "/channels/*/reactions/*")
    assert [r.status for r in puts] == [204] * 8  # paced from the headers: no 429
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(puts)]
    assert min(gaps) >= 0.25
