"""Members take their data back; a guild's data goes when the bot leaves; /help."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path

from bot.render import rating_scheme
from tests.e2e.world import (
    add_playlist,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)


async def _rate_two(world, bot, member) -> list[str]:
    """``member`` likes suggestion 1 and dislikes suggestion 2 of a fresh /recommend."""
    handle = await world.discord.invoke(
        world.guild, member, "recommend", options={"song": "Golden Hour", "count": 3}
    )
    message = await handle.wait_final()
    stored = await stored_recommendation(bot, world.guild.id, message.id)
    await world.discord.react(member, message, rating_scheme.LIKE_EMOJIS[0])
    await world.discord.react(member, message, rating_scheme.DISLIKE_EMOJIS[1])
    first, second = stored.items[0].track_id, stored.items[1].track_id
    await wait_rating(bot, world.guild.id, member.id, first)
    await wait_rating(bot, world.guild.id, member.id, second, -1)
    return [first, second]


async def test_exportmyratings_sends_an_ephemeral_csv_of_only_my_ratings(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        liked, disliked = await _rate_two(world, bot, world.member)
        await _rate_two(world, bot, world.admin)  # someone else's ratings stay out

        handle = await world.discord.invoke(world.guild, world.member, "exportmyratings")
        answer = await handle.wait_response()
        assert answer.ephemeral and "2 ratings" in answer.content
        (file,) = answer.files
        assert file.filename == "my-ratings.csv"
        rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8-sig"))))
        assert {(r["track_id"], r["rating"]) for r in rows} == {
            (liked, "like"),
            (disliked, "dislike"),
        }
        assert all(r["name"] and r["spotify_url"].endswith(r["track_id"]) for r in rows)


async def test_forgetme_asks_first_only_the_member_can_confirm_then_deletes(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        await _rate_two(world, bot, world.member)
        await _rate_two(world, bot, world.admin)

        handle = await world.discord.invoke(world.guild, world.member, "forgetme")
        prompt = await handle.wait_final()
        assert prompt.ephemeral and "**2 ratings**" in prompt.content
        buttons = [c["label"] for row in prompt.components for c in row["components"]]
        assert buttons == ["Delete my data", "Cancel"]

        # Cancel deletes nothing and removes the buttons.
        press = await world.discord.click(world.member, prompt, label="Cancel")
        cancelled = await press.wait_final(lambda m: "Cancelled" in m.content)
        assert cancelled.components == []
        assert len(await bot.store.list_member_ratings(world.guild.id, world.member.id)) == 2

        handle = await world.discord.invoke(world.guild, world.member, "forgetme")
        prompt = await handle.wait_final()
        # Another member pressing the button is turned away (and deletes nothing).
        intruder = await world.discord.click(world.admin, prompt, label="Delete my data")
        refused = await intruder.wait_response()
        assert refused.ephemeral and "Only the member who asked" in refused.content
        assert len(await bot.store.list_member_ratings(world.guild.id, world.member.id)) == 2

        press = await world.discord.click(world.member, prompt, label="Delete my data")
        done = await press.wait_final(lambda m: "Done" in m.content)
        assert "deleted 2 ratings and 1 recommendation records" in done.content
        assert done.components == []
        assert await bot.store.list_member_ratings(world.guild.id, world.member.id) == []
        ever = dt.datetime.min.replace(tzinfo=dt.UTC)
        kept = await bot.store.list_recent_recommendations(ever, limit=100)
        assert [m.user_id for m in kept] == [world.admin.id]  # the member's are gone
        # The other member's data is untouched.
        assert len(await bot.store.list_member_ratings(world.guild.id, world.admin.id)) == 2


async def test_guild_data_is_deleted_after_the_grace_period_once_the_bot_leaves(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        await _rate_two(world, bot, world.member)
        other_guild = world.other_guild.id
        guild_id = world.guild.id

        assert len(bot.catalogues.get(guild_id)) == 40
        await world.discord.leave_guild(world.guild)  # GUILD_DELETE: on_guild_remove
        # on_guild_remove records the departure, then drops the in-memory catalogue.
        await _until(lambda: bot.get_guild(guild_id) is None and not bot.catalogues.get(guild_id))
        # Within the grace period (GUILD_DATA_GRACE_DAYS, 30 by default) nothing goes.
        assert await bot.purge_departed_guilds() == []
        assert await bot.store.count_sources(guild_id) == 1

        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        assert await bot.purge_departed_guilds(now=later) == [guild_id]
        assert await bot.store.count_sources(guild_id) == 0
        assert await bot.store.list_guild_ratings(guild_id) == []
        assert await bot.store.list_guild_ratings(other_guild) == []  # never had any
        assert await bot.purge_departed_guilds(now=later) == []


async def _until(predicate, within: float = 5.0) -> None:
    """Poll ``predicate`` (state the bot changes in reaction to a gateway event)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "the bot did not react to the event"
        await asyncio.sleep(0.02)


async def test_help_explains_rating_admin_commands_and_data_sources(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        handle = await world.discord.invoke(world.guild, world.member, "help")
        answer = await handle.wait_response()
        assert answer.ephemeral
        embed = answer.embeds[0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert rating_scheme.LIKE_EMOJIS[0] in fields["How to rate"]
        assert rating_scheme.DISLIKE_EMOJIS[0] in fields["How to rate"]
        admin = fields["For admins (Manage Server)"]
        assert all(c in admin for c in ("/setplaylist", "/refreshplaylists", "/settings"))
        sources = fields["Where the data comes from"]
        assert all(word in sources for word in ("Spotify", "ReccoBeats", "datasets"))
        size = (
            len(embed["title"])
            + len(embed["description"])
            + sum(len(n) + len(v) for n, v in fields.items())
        )
        assert size < 6000


async def test_forgetme_unanswered_times_out_and_deletes_nothing(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        bot.get_cog("PrivacyCog").confirm_timeout = 0.2  # instead of a minute
        await add_playlist(world, bot)
        await _rate_two(world, bot, world.member)
        handle = await world.discord.invoke(world.guild, world.member, "forgetme")
        expired = await handle.wait_final(lambda m: "No answer" in m.content)
        assert expired.components == []
        assert len(await bot.store.list_member_ratings(world.guild.id, world.member.id)) == 2
