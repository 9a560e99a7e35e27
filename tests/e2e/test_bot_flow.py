"""The real bot against a fake Discord and a fake Spotify: the main member and admin flows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.render import rating_scheme
from tests.e2e.world import (
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)

EPHEMERAL = 64


async def test_sync_payload_declares_permissions_options_and_autocomplete(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        commands = {c["name"]: c for c in world.discord.command_syncs[-1].payload}
        assert {"recommend", "setplaylist", "playlists", "removeplaylist",
                "refreshplaylists", "myratings", "settings"} <= set(commands)  # fmt: skip
        song = next(o for o in commands["recommend"]["options"] if o["name"] == "song")
        assert song["autocomplete"] is True
        assert not song.get("required")  # no song: recommend from the member's ratings
        count = next(o for o in commands["recommend"]["options"] if o["name"] == "count")
        assert (count["min_value"], count["max_value"]) == (1, 10)
        for admin_command in ("setplaylist", "removeplaylist", "refreshplaylists", "settings"):
            # MANAGE_GUILD (1 << 5) as the client-side default; the server check is tested below.
            assert int(commands[admin_command]["default_member_permissions"]) == 1 << 5
        assert commands["recommend"]["default_member_permissions"] is None


async def test_setplaylist_is_refused_for_members_and_works_for_admins(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        handle = await world.discord.invoke(
            world.guild, world.member, "setplaylist", options={"playlist": world.playlist_id}
        )
        refused = await handle.wait_response()
        assert refused.ephemeral
        assert "Manage Server" in refused.content
        assert await bot.store.count_sources(world.guild.id) == 0

        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"playlist": world.playlist_id}
        )
        first = await handle.wait_response()
        assert first.deferred
        final = await handle.wait_final(lambda m: "Added" in (m.content or ""))
        assert "40 tracks" in final.content
        sources = await bot.store.list_sources(world.guild.id)
        assert [s.key for s in sources] == [world.playlist_id]
        assert len(bot.catalogues.get(world.guild.id)) == 40


async def test_recommend_autocomplete_ratings_and_myratings(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)

        choices = await world.discord.autocomplete(
            world.guild, world.member, "recommend", focused="song", value="neon"
        )
        assert 1 <= len(choices) <= 25
        assert all(1 <= len(c["name"]) <= 100 for c in choices)
        assert choices[0]["name"].startswith("Neon Lights")
        seed_id = choices[0]["value"]

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": seed_id, "count": 3}
        )
        response = await recommend_answer(handle)
        assert not response.ephemeral
        embed = response.embeds[0]
        assert "Neon Lights" in embed["title"]
        suggestions = embed["description"]
        assert suggestions.count("open.spotify.com/track/") == 3
        # The seed is named (with its id) but never suggested (no link to it).
        assert f"`{seed_id}`" in suggestions
        assert f"open.spotify.com/track/{seed_id}" not in suggestions
        # Each line says what earned it; the release-weighted popularity is never shown
        # as a percentage that would read like Spotify's 0-100 number.
        assert "alike" in suggestions and "popularity" not in suggestions

        message = await handle.wait_final()
        expected = rating_scheme.reactions_for(3)
        await world.discord.wait_until(lambda: len(message.reactions) == len(expected))
        assert list(message.reactions) == expected

        stored = await stored_recommendation(bot, world.guild.id, message.id)
        first_track = stored.items[0].track_id
        await world.discord.react(world.member, message, rating_scheme.LIKE_EMOJIS[0])
        rating = await wait_rating(bot, world.guild.id, world.member.id, first_track)
        assert rating is not None and rating.value == 1

        # A changed mind replaces the like; removing the old like leaves the dislike.
        await world.discord.react(world.member, message, rating_scheme.DISLIKE_EMOJIS[0])
        rating = await wait_rating(bot, world.guild.id, world.member.id, first_track, value=-1)
        assert rating.value == -1
        await world.discord.unreact(world.member, message, rating_scheme.LIKE_EMOJIS[0])
        await world.discord.unreact(world.member, message, rating_scheme.DISLIKE_EMOJIS[0])
        assert (
            await wait_rating(bot, world.guild.id, world.member.id, first_track, value=None) is None
        )

        await world.discord.react(world.member, message, rating_scheme.LIKE_EMOJIS[1])
        second = stored.items[1].track_id
        assert (await wait_rating(bot, world.guild.id, world.member.id, second)).value == 1

        handle = await world.discord.invoke(world.guild, world.member, "myratings")
        mine = await handle.wait_response()
        assert mine.ephemeral
        assert "👍" in mine.embeds[0]["description"]


@pytest.mark.parametrize("song", ["no such song at all zzz", "spotify:playlist:" + "x" * 22])
async def test_unknown_song_gets_a_short_ephemeral_answer(tmp_path: Path, song: str) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": song}
        )
        response = await recommend_answer(handle)
        assert response.ephemeral
        assert "Traceback" not in response.content
        assert len(response.content) < 600
