"""Ratings shape what comes next: taste profiles, server favourites, settings."""

from __future__ import annotations

from pathlib import Path

from bot.render import rating_scheme
from tests.e2e.world import (
    add_playlist,
    recommend_and_rate,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)


async def test_no_song_without_ratings_offers_the_servers_favourites(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(world.guild, world.admin, "recommend")
        first = await recommend_answer(handle)
        embed = first.embeds[0]
        assert embed["title"] == "This server's favourites"
        assert "haven't rated anything" in embed["description"]
        assert embed["description"].count("open.spotify.com/track/") == 5
        message = await handle.wait_final()
        # The admin likes the first favourite; the member then sees it first among favourites.
        stored = await stored_recommendation(bot, world.guild.id, message.id)
        liked = stored.items[2].track_id
        await world.discord.react(world.admin, message, rating_scheme.LIKE_EMOJIS[2])
        await wait_rating(bot, world.guild.id, world.admin.id, liked)

        handle = await world.discord.invoke(world.guild, world.member, "recommend")
        favourites = (await recommend_answer(handle)).embeds[0]["description"]
        first_link = favourites.split("open.spotify.com/track/")[1][:22]
        assert first_link == liked
        assert "liked by 1 person here" in favourites


async def test_ratings_build_a_profile_that_recommends_without_a_song(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        stored = await recommend_and_rate(world, bot, world.member, "Golden Hour", 4)

        handle = await world.discord.invoke(world.guild, world.member, "recommend")
        embed = (await recommend_answer(handle)).embeds[0]
        assert embed["title"] == "Picked for you"
        assert "Picked from your 2 ratings" in embed["description"]
        assert "because you liked" in embed["description"]
        # Rated tracks never come back.
        for item in stored.items[:2]:
            assert item.track_id not in embed["description"]

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour", "count": 4}
        )
        again = (await recommend_answer(handle)).embeds[0]["description"]
        assert "Tuned to your 2 ratings" in again
        assert stored.items[0].track_id not in again and stored.items[1].track_id not in again


async def test_settings_are_admin_only_persisted_and_used(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "settings", options={"alpha": 0.2}
        )
        assert "Manage Server" in (await handle.wait_response()).content
        assert (await bot.store.get_guild_settings(world.guild.id)).alpha != 0.2

        handle = await world.discord.invoke(
            world.guild, world.admin, "settings", options={"alpha": 0.25, "count": 3}
        )
        answer = await handle.wait_final(lambda m: bool(m.embeds))
        assert answer.ephemeral and "0.25" in answer.embeds[0]["description"]
        settings = await bot.store.get_guild_settings(world.guild.id)
        assert (settings.alpha, settings.default_count) == (0.25, 3)

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour"}
        )
        embed = (await recommend_answer(handle)).embeds[0]
        assert embed["description"].count("open.spotify.com/track/") == 3
        assert "alpha 0.25" in embed["footer"]["text"]
