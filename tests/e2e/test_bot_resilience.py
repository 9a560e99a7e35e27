"""Restarts, guild isolation, Discord 429s, CSV sources and removal, start-up errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from bot.render import rating_scheme
from tests.e2e.world import (
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)
from tests.fakes.discord import FakeAttachment

CSV_EXPORT = (
    "Track URI,Track Name,Artist Name(s),Album Name,Album Release Date,Popularity,"
    "Danceability,Energy,Key,Loudness,Mode,Speechiness,Acousticness,Instrumentalness,"
    "Liveness,Valence,Tempo\n"
    + "".join(
        f"spotify:track:{i:022d},Exported Song {i},Band {i % 3},Album,2019-0{1 + i % 9}-01,"
        f"{20 + i},0.{i % 10}5,0.{(i * 3) % 10}1,{i % 12},-{5 + i % 7}.0,{i % 2},0.05,"
        f"0.{(i * 7) % 10}2,0.0,0.1,0.{(i * 5) % 10}4,{90 + i}.0\n"
        for i in range(1, 13)
    )
)


async def test_restart_keeps_sources_catalogue_and_ratings_without_spotify_calls(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world:
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
            handle = await world.discord.invoke(
                world.guild, world.member, "recommend", options={"song": "Golden Hour"}
            )
            message = await handle.wait_final()
            stored = await stored_recommendation(bot, world.guild.id, message.id)
            await world.discord.react(world.member, message, rating_scheme.LIKE_EMOJIS[0])
            await wait_rating(bot, world.guild.id, world.member.id, stored.items[0].track_id)

        spotify_requests_before = len(world.spotify.requests.requests)
        async with running_music_bot(world) as bot:
            # The catalogue is rebuilt from SQLite as the guild comes online.
            assert len(await bot.catalogues.ensure(world.guild.id)) == 40
            assert [s.key for s in await bot.store.list_sources(world.guild.id)] == [
                world.playlist_id
            ]
            rating = await bot.store.get_rating(
                world.guild.id, world.member.id, stored.items[0].track_id
            )
            assert rating is not None and rating.value == 1
            # A reaction on the message posted before the restart still maps to its track.
            await world.discord.react(world.member, message, rating_scheme.DISLIKE_EMOJIS[1])
            second = stored.items[1].track_id
            assert (await wait_rating(bot, world.guild.id, world.member.id, second, -1)).value == -1

            handle = await world.discord.invoke(
                world.guild, world.member, "recommend", options={"song": "Golden Hour"}
            )
            response = await recommend_answer(handle)
            assert response.embeds, response.content
            # Rated tracks are not suggested again.
            assert stored.items[0].track_id not in response.embeds[0]["description"]
        assert len(world.spotify.requests.requests) == spotify_requests_before


async def test_guilds_never_see_each_others_catalogue_or_ratings(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.other_guild, world.other_member, "recommend", options={"song": "Golden Hour"}
        )
        response = await recommend_answer(handle)
        assert response.ephemeral and "no music yet" in response.content
        choices = await world.discord.autocomplete(
            world.other_guild, world.other_member, "recommend", focused="song", value="gol"
        )
        assert choices == []
        handle = await world.discord.invoke(world.other_guild, world.other_member, "playlists")
        listing = await handle.wait_response()
        assert "None yet" in listing.embeds[0]["description"]

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour"}
        )
        message = await handle.wait_final()
        # A member of the other guild reacting to this message (same id) rates nothing there.
        await bot.ratings.reaction_added(
            world.other_guild.id, world.other_member.id, message.id, rating_scheme.LIKE_EMOJIS[0]
        )
        assert await bot.store.list_guild_ratings(world.other_guild.id) == []


async def test_discord_rate_limits_with_via_header_are_survived(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        world.discord.rate_limit(2, method="PUT", path="/channels/*/reactions/*", retry_after=0.2)
        world.discord.rate_limit(1, method="POST", path="/interactions/*", retry_after=0.1)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour", "count": 2}
        )
        message = await handle.wait_final()
        await world.discord.wait_until(lambda: len(message.reactions) == 4, timeout=10)
        limited = [r for r in world.discord.requests if r.status == 429]
        assert len(limited) == 3
        assert all(r.headers is not None for r in limited)


async def test_csv_source_and_removal(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        upload = FakeAttachment("export.csv", CSV_EXPORT.encode())
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        final = await handle.wait_final(lambda m: "Added" in (m.content or ""))
        assert "12 tracks" in final.content
        assert len(bot.catalogues.get(world.guild.id)) == 12

        choices = await world.discord.autocomplete(
            world.guild, world.admin, "removeplaylist", focused="playlist", value="exp"
        )
        assert [c["name"] for c in choices] == ["export.csv"]
        handle = await world.discord.invoke(
            world.guild, world.admin, "removeplaylist", options={"playlist": choices[0]["value"]}
        )
        removed = await handle.wait_final(lambda m: "Removed" in m.content)
        assert removed.ephemeral
        # The catalogue follows in the background, after the reply.
        await bot.catalogues.refresh_soon(world.guild.id)
        assert len(bot.catalogues.get(world.guild.id)) == 0

        bad = FakeAttachment("notes.csv", b"title,comment\nhello,world\n")
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": bad}
        )
        answer = await handle.wait_final(lambda m: "can't use" in (m.content or ""))
        assert "missing required column" in answer.content
        assert await bot.store.count_sources(world.guild.id) == 0


async def test_unreadable_playlist_is_explained_and_changes_nothing(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        # Development mode: only the owner's (or a collaborator's) token reads the items,
        # and the bot logged in as "owner".
        entries = world.spotify.playlists[world.playlist_id].entries
        theirs = world.spotify.add_playlist(list(entries), owner="stranger", name="Not Ours")
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"playlist": theirs}
        )
        final = await handle.wait_final(lambda m: "Reading" not in (m.content or ""))
        assert "Traceback" not in final.content
        assert "owner" in final.content.lower() or "log" in final.content.lower()
        assert await bot.store.count_sources(world.guild.id) == 0


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


async def test_rejected_token_exits_2(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        env = dict(os.environ)
        env.update(
            DISCORD_TOKEN="wrong-token",
            DISCORD_API_URL=world.discord.api_url,
            DISCORD_GATEWAY_URL=world.discord.gateway_url,
            DATABASE_PATH=str(tmp_path / "db.sqlite3"),
        )
        world.discord.valid_tokens = {"fake-token"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 2, stderr.decode()
        assert "rejected" in stderr.decode()
        assert "Traceback" not in stderr.decode()
