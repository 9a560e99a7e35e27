"""Discord's clock, through the real bot and the strict fake: every interaction is
acknowledged within 3 s under load and during other guilds' imports, admin commands
reply before their rebuild, and long imports end properly (past the 15-minute token,
cancelled by their admin, never by someone else).

The fake Discord is the judge of time: it refuses a first response later than 3 s
after dispatch with 10062 and an edit with an expired token with 50027, and
``running_world`` fails any test in which the bot was refused that way (unless the
test expects it and says why).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import discord

from bot.client import MusicBot
from bot.store.models import PlaylistSource
from recommender.track import Track
from tests.e2e.world import (
    World,
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
)
from tests.fakes._common import Faults
from tests.fakes.discord import MANAGE_GUILD, FakeAttachment, FakeMessage, InteractionHandle
from tests.fakes.discord.errors import INVALID_WEBHOOK_TOKEN, UNKNOWN_INTERACTION
from tests.fakes.spotify import Entry
from tests.test_store_support import T0, track

CSV_HEADER = (
    "Track URI,Track Name,Artist Name(s),Album Name,Album Release Date,Popularity,"
    "Danceability,Energy,Key,Loudness,Mode,Speechiness,Acousticness,Instrumentalness,"
    "Liveness,Valence,Tempo\n"
)


def big_csv(rows: int) -> bytes:
    """An Exportify-style export of ``rows`` distinct tracks (about 120 bytes a row)."""
    lines = [CSV_HEADER]
    for i in range(rows):
        track_id = f"{i:022d}"
        lines.append(
            f"spotify:track:{track_id},Song {i},Artist {i % 997},Album {i % 301},"
            f"{1960 + i % 60}-01-01,{i % 101},0.{i % 97:02d},0.{i % 89:02d},{i % 12},"
            f"-{i % 30}.5,{i % 2},0.0{i % 9},0.{i % 83:02d},0.0,0.1{i % 7},0.{i % 79:02d},"
            f"{80 + i % 100}.0\n"
        )
    return "".join(lines).encode()


def stock_track(i: int) -> Track:
    """A complete track with a Spotify-style id (22 characters), as a member may name it."""
    return dataclasses.replace(track(i), id=f"s{i:021d}")


async def stock_guild(bot: MusicBot, guild_id: int, first: int, count: int, key: str) -> None:
    """Give a guild a Spotify source of ``count`` tracks through the store (no fetch)."""
    tracks = [stock_track(i) for i in range(first, first + count)]
    await bot.store.put_tracks(tracks)
    source = PlaylistSource(
        guild_id=guild_id,
        key=key,
        kind="spotify",
        display_name=f"Stock {key}",
        added_by=1,
        added_at=T0,
        snapshot_id="s",
    )
    await bot.store.save_source(source, [t.id for t in tracks])
    await bot.catalogues.reload(guild_id)


async def sync_commands(bot: MusicBot, guild: Any) -> None:
    target = discord.Object(id=guild.id)
    bot.tree.copy_global_to(guild=target)
    await bot.tree.sync(guild=target)


def acknowledged(handles: list[InteractionHandle]) -> list[InteractionHandle]:
    return [h for h in handles if h.callbacks]


# -- every interaction acknowledged --------------------------------------------------


async def test_a_burst_of_recommend_across_guilds_is_all_acknowledged(tmp_path: Any) -> None:
    async with running_world(tmp_path) as world:
        extra = [world.discord.add_guild(f"Guild {n}") for n in range(6)]
        guilds = [world.guild, world.other_guild, *extra]
        members = {
            g.id: [world.discord.add_member(g, f"m{g.id}-{i}") for i in range(5)] for g in guilds
        }
        async with running_music_bot(world) as bot:
            for n, guild in enumerate(guilds):
                if guild not in (world.guild, world.other_guild):
                    await sync_commands(bot, guild)
                await stock_guild(bot, guild.id, n * 300, 300, f"stock{n}")
            jobs = [
                (guild, members[guild.id][i % 5], stock_track(n * 300 + (i * 37) % 300).id)
                for n, guild in enumerate(guilds)
                for i in range(12)
            ]
            handles = await asyncio.gather(
                *(
                    world.discord.invoke(guild, member, "recommend", options={"song": song})
                    for guild, member, song in jobs
                )
            )
            answers = await asyncio.gather(*(recommend_answer(h, timeout=60) for h in handles))
        # 96 interactions at once, 8 guilds: each acknowledged in time (the fake refused
        # none with 10062) and each answered with suggestions.
        assert len(acknowledged(handles)) == len(jobs) == 96
        assert not world.discord.refusals(UNKNOWN_INTERACTION)
        assert [a.content for a in answers if not a.embeds or a.ephemeral] == []


async def test_other_guilds_are_answered_while_a_big_csv_is_imported(tmp_path: Any) -> None:
    upload = FakeAttachment("huge.csv", big_csv(60_000))
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await stock_guild(bot, world.other_guild.id, 0, 2000, "other")
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        await handle.wait_final(lambda m: "Reading the file" in m.content, timeout=30)

        # While the file is parsed, saved in steps and turned into a catalogue, the
        # other guild asks again and again: every request is acknowledged in time
        # and answered, and the first answers come before the import is done.
        answered_during_import = 0
        for i in range(6):
            asked = await world.discord.invoke(
                world.other_guild,
                world.other_member,
                "recommend",
                options={"song": stock_track(i * 17).id},
            )
            answer = await recommend_answer(asked, timeout=60)
            assert answer.embeds
            answered_during_import += "Added" not in (handle.original.content or "")
        final = await handle.wait_final(lambda m: "Added" in m.content, timeout=180)
        assert "60000 tracks" in final.content
        assert answered_during_import >= 1
        assert len(bot.catalogues.get(world.guild.id)) == 60_000
    assert not world.discord.refusals(UNKNOWN_INTERACTION)


# -- admin commands reply before the rebuild -----------------------------------------


class BuildGate:
    """Holds every catalogue build (they run in worker threads) until released."""

    def __init__(self, bot: MusicBot) -> None:
        self._open = threading.Event()
        self.waiting = 0
        original = bot.catalogues._build

        def held(*args: Any) -> Any:
            self.waiting += 1
            self._open.wait(timeout=120)
            return original(*args)

        bot.catalogues._build = held  # type: ignore[method-assign]

    def release(self) -> None:
        self._open.set()


async def test_removeplaylist_and_settings_reply_before_the_rebuild(tmp_path: Any) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        guild_id = world.guild.id
        await stock_guild(bot, guild_id, 0, 20_000, "big")
        await add_playlist(world, bot)
        before = bot.catalogues.get(guild_id)
        assert len(before) == 20_040
        gate = BuildGate(bot)
        try:
            handle = await world.discord.invoke(
                world.guild, world.admin, "removeplaylist", options={"playlist": world.playlist_id}
            )
            removed = await handle.wait_final(lambda m: "Removed" in m.content, timeout=30)
            assert removed.ephemeral
            await until(lambda: gate.waiting == 1)
            # Answered while the rebuild is held: the guild is still served the old one.
            assert bot.catalogues.get(guild_id) is before

            handle = await world.discord.invoke(
                world.guild, world.admin, "settings", options={"half_life_years": 2.0}
            )
            changed = await handle.wait_final(lambda m: bool(m.embeds), timeout=30)
            assert changed.ephemeral and "half-life" in changed.content
            assert (await bot.store.get_guild_settings(guild_id)).popularity_half_life_days == 730.5
        finally:
            gate.release()
        await bot.catalogues.refresh_soon(guild_id)
        after = bot.catalogues.get(guild_id)
        assert len(after) == 20_000
        recommender = after.recommender
        assert recommender is not None
        assert recommender.weighting.half_life_years == 2.0


# -- long imports ----------------------------------------------------------------------


def grow_playlist(world: World, extra: int) -> None:
    playlist = world.spotify.playlists[world.playlist_id]
    playlist.entries += [Entry("track", world.spotify.add_track()) for _ in range(extra)]


def job_message(world: World) -> FakeMessage | None:
    """The bot's own channel message about a job, if it sent one."""
    channel = world.guild.default_channel  # type: ignore[attr-defined]
    owned = [m for m in world.discord.channel_messages(channel) if m.interaction_id is None]
    return owned[-1] if owned else None


async def test_an_import_past_the_token_lifetime_ends_on_the_bots_own_message(
    tmp_path: Any,
) -> None:
    # The import outlives the interaction's token: the fake's clock jumps 15 minutes
    # while it runs. The bot's next edit of its reply is refused (401 / 50027: in
    # real time the bot would have moved a minute before); from then on progress and
    # the summary go to a channel message the bot owns.
    async with (
        running_world(tmp_path, expect_refusals=True) as world,
        running_music_bot(world) as bot,
    ):
        grow_playlist(world, 900)
        world.spotify.set_faults(Faults(latency=0.15))
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"playlist": world.playlist_id}
        )
        await handle.wait_final(lambda m: "Reading the playlist" in m.content, timeout=30)
        world.discord.advance(15 * 60 + 1)

        await world.discord.wait_until(
            lambda: (m := job_message(world)) is not None and "Added" in m.content, timeout=120
        )
        own = job_message(world)
        assert own is not None
        assert "Club Classics: 940 tracks" in own.content
        assert f"<@{world.admin.id}>" in own.content  # type: ignore[attr-defined]
        assert not own.components  # the Cancel button goes with the summary
        assert "Added" not in (handle.original.content or "")  # the reply was left behind
        assert len(bot.catalogues.get(world.guild.id)) == 940
    # The one refusal: the edit that found the token gone. Nothing else was refused.
    refused = world.discord.refusals(*world_mistakes())
    assert [r.error_code for r in refused] == [INVALID_WEBHOOK_TOKEN]


async def test_only_the_admin_who_started_an_import_can_cancel_it(tmp_path: Any) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        other_admin = world.discord.add_member(world.guild, "dave", permissions=MANAGE_GUILD)
        grow_playlist(world, 3000)
        world.spotify.set_faults(Faults(latency=0.5))
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"playlist": world.playlist_id}
        )
        progress = await handle.wait_final(
            lambda m: "Reading the playlist" in m.content and bool(m.components), timeout=30
        )

        for someone in (world.member, other_admin):
            press = await world.discord.click(someone, progress, label="Cancel")
            refused = await press.wait_response()
            assert refused.ephemeral and "Only the admin who started" in refused.content

        press = await world.discord.click(world.admin, progress, label="Cancel")
        accepted = await press.wait_response()
        assert accepted.ephemeral and "Cancelling" in accepted.content
        final = await handle.wait_final(lambda m: "Nothing was changed" in m.content, timeout=60)
        assert f"Cancelled by <@{world.admin.id}>" in final.content  # type: ignore[attr-defined]
        assert not final.components

        # The previous 40 tracks are kept, in the store and in memory.
        (source,) = await bot.store.list_sources(world.guild.id)
        assert source.track_count == 40
        assert len(bot.catalogues.get(world.guild.id)) == 40


def world_mistakes() -> tuple[int, ...]:
    from tests.e2e.world import BOT_MISTAKES

    return BOT_MISTAKES


async def until(condition: Callable[[], bool], within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
