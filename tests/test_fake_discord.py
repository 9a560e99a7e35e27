"""The fake Discord runs the real discord.py client end to end.

A throwaway bot defined here (not the product's bot) exercises what the bot's
end-to-end tests and benchmark rely on: command sync payloads, autocomplete,
defer then edit with an embed and a file, a permission check answered
ephemerally, reactions both ways, a survived 429, RESUME and a restart.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord_urls import (
    DEFAULT_API_URL,
    DEFAULT_GATEWAY_URL,
    apply_discord_urls,
    current_discord_urls,
)
from tests.fakes.discord import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    MANAGE_GUILD,
    FakeAttachment,
    FakeDiscord,
    FakeGuild,
    FakeMember,
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
    async with running_fake_discord(guilds=names, shard_count=2) as fake:
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
