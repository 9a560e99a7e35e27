"""Several seeds and "Recommend songs like this", through the real bot and the strict fake Discord.

A member's message is posted in the fake (the bot hears nothing of it: no message
intent), then a member runs the message command on it, as from Discord's "Apps"
menu; the interaction carries the message, as Discord's does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.client import MusicBot
from bot.render import rating_scheme
from bot.services.recommending import NOTHING_IN_MESSAGE
from cogs.recommend import LIKE_THIS
from tests.e2e.world import (
    World,
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
    wait_rating,
)

MESSAGE_COMMAND = 3


def _ids_by_name(bot: MusicBot, world: World) -> dict[str, str]:
    catalogue = bot.catalogues.get(world.guild.id).catalogue  # type: ignore[attr-defined]
    assert catalogue is not None
    return dict(zip(catalogue.names, catalogue.ids, strict=True))


def _link(track_id: str) -> str:
    return f"https://open.spotify.com/track/{track_id}"


async def _run_menu(world: World, text: str, **kw: Any) -> Any:
    """bob posts ``text``; alice runs the message command on it; returns the handle."""
    target = world.discord.post_message(world.guild, world.member, text, **kw)
    return await world.discord.invoke_message_command(world.admin, LIKE_THIS, target)


async def test_the_message_command_is_declared_guild_only_without_options(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        declared = {c["name"]: c for c in world.discord.command_syncs[-1].payload}
        menu = declared[LIKE_THIS]
        assert menu["type"] == MESSAGE_COMMAND
        assert menu.get("contexts") == [0]
        assert not menu.get("options") and not menu.get("description")


async def test_a_message_with_a_track_link_gets_an_answer_that_can_be_rated(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        ids = _ids_by_name(bot, world)
        seed = ids["Neon Lights"]
        handle = await _run_menu(world, f"this one slaps <{_link(seed)}?si=abc123> 🔥")
        answer = await recommend_answer(handle)
        assert not answer.ephemeral
        embed = answer.embeds[0]
        assert embed["title"] == "Because you like Neon Lights"
        assert f"`{seed}`" in embed["description"]  # the seed is named with its Spotify id
        assert embed["description"].count("open.spotify.com/track/") == 5
        assert _link(seed) not in embed["description"]

        # Ratings work as on /recommend: the answer is stored with its seed, reactions map.
        stored = await stored_recommendation(bot, world.guild.id, answer.id)
        assert stored.seed_track_ids == (seed,)
        expected = rating_scheme.reactions_for(5)
        await world.discord.wait_until(lambda: list(answer.reactions) == expected, timeout=15)
        await world.discord.react(world.member, answer, rating_scheme.LIKE_EMOJIS[2])
        liked = stored.items[2].track_id
        rating = await wait_rating(bot, world.guild.id, world.member.id, liked)  # type: ignore[attr-defined]
        assert rating is not None and rating.value == 1


async def test_links_in_text_and_link_previews_all_become_seeds(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        ids = _ids_by_name(bot, world)
        first, second, third = ids["Halo"], ids["Wildfire"], ids["Blue Monday"]
        text = (
            f"[my fave]({_link(first)}) and spotify:track:{second} "
            "plus a playlist https://open.spotify.com/playlist/37i9dQZF1DXcZDD7cfEKhW"
        )
        preview = {"type": "link", "url": _link(third), "title": "Blue Monday"}
        handle = await _run_menu(world, text, embeds=[preview])
        answer = await recommend_answer(handle)
        embed = answer.embeds[0]
        assert embed["title"] == "Because you like these 3 songs"
        seeds = embed["fields"][0]["value"]
        for name, track_id in (("Halo", first), ("Wildfire", second), ("Blue Monday", third)):
            assert f"[{name}]({_link(track_id)})" in seeds
        stored = await stored_recommendation(bot, world.guild.id, answer.id)
        assert stored.seed_track_ids == (first, second, third)
        suggested = {item.track_id for item in stored.items}
        assert not suggested & {first, second, third}


async def test_a_song_named_in_chat_is_found_in_the_catalogue(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        ids = _ids_by_name(bot, world)
        handle = await _run_menu(world, "ok but have you all heard Northern Lights?? on repeat")
        answer = await recommend_answer(handle)
        assert not answer.ephemeral
        assert answer.embeds[0]["title"] == "Because you like Northern Lights"
        stored = await stored_recommendation(bot, world.guild.id, answer.id)
        assert stored.seed_track_ids == (ids["Northern Lights"],)

        # A title with its artist counts however it is written.
        catalogue = bot.catalogues.get(world.guild.id).catalogue  # type: ignore[attr-defined]
        assert catalogue is not None
        artist = catalogue.artists[catalogue.row_of(ids["Paper Planes"])][0]
        handle = await _run_menu(world, f"omg paper planes by {artist.lower()} is so good, right?")
        answer = await recommend_answer(handle)
        assert answer.embeds[0]["title"] == "Because you like Paper Planes"

        # A short title inside everyday chat, not written like a title: only a maybe.
        handle = await _run_menu(world, "ok but have you all heard northern lights?? on repeat")
        answer = await recommend_answer(handle)
        assert answer.ephemeral and not answer.embeds
        assert answer.content.startswith("Did that message mean **Northern Lights** by ")

        # A short message is a song name typed with the usual slips.
        handle = await _run_menu(world, "golden hourr")
        answer = await recommend_answer(handle)
        assert answer.embeds[0]["title"] == "Because you like Golden Hour"


async def test_a_message_with_no_song_gets_one_short_private_line(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        texts = [
            "good morning everyone, what are you up to today?",
            "",  # an image only, say: no text at all
            "https://open.spotify.com/album/1DFixLWuPkv3KT3TnV35m3 and <@123> @everyone",
        ]
        for text in texts:
            handle = await _run_menu(world, text or " ", embeds=None)
            answer = await recommend_answer(handle)
            assert answer.ephemeral
            assert answer.content == NOTHING_IN_MESSAGE
            assert not answer.embeds
            # The public "thinking" placeholder is gone; nothing was stored to rate.
            original = handle.original
            assert original is not None
            await handle.wait_for(lambda: original.deleted, timeout=5)  # noqa: B023
            assert await bot.store.get_recommendation(world.guild.id, handle.original.id) is None  # type: ignore[attr-defined]


async def test_recommend_with_three_songs_names_all_three(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        ids = _ids_by_name(bot, world)
        command = world.discord.command("recommend", world.guild)
        songs = [o for o in command["options"] if o["name"].startswith("song")]
        assert [o["name"] for o in songs] == ["song", "song2", "song3", "song4", "song5"]
        assert all(o.get("autocomplete") for o in songs)
        # The extra songs autocomplete like the first.
        choices = await world.discord.autocomplete(
            world.guild, world.member, "recommend", focused="song3", value="velv",
            options={"song": ids["Halo"]},
        )  # fmt: skip
        assert choices and choices[0]["value"] == ids["Velvet Sky"]

        handle = await world.discord.invoke(
            world.guild,
            world.member,
            "recommend",
            # An id from autocomplete, a typed name, a link; and the first one again.
            options={
                "song": ids["Halo"],
                "song2": "satelite",
                "song4": _link(ids["Velvet Sky"]),
                "song5": ids["Halo"],
                "count": 4,
            },
        )
        answer = await recommend_answer(handle)
        embed = answer.embeds[0]
        assert embed["title"] == "Because you like these 3 songs"
        assert embed["fields"][0]["name"] == "Your songs"
        seeds = embed["fields"][0]["value"]
        for name in ("Halo", "Satellite", "Velvet Sky"):
            assert f"[{name}]({_link(ids[name])})" in seeds  # title, linked by Spotify id
            assert f"`{ids[name]}`" in seeds
            assert _link(ids[name]) not in embed["description"]  # never suggested
        stored = await stored_recommendation(bot, world.guild.id, answer.id)
        assert stored.seed_track_ids == (ids["Halo"], ids["Satellite"], ids["Velvet Sky"])
        assert len(stored.items) == 4


async def test_one_unknown_song_among_several_is_named_in_the_refusal(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        handle = await world.discord.invoke(
            world.guild,
            world.member,
            "recommend",
            options={"song": "Halo", "song2": "zzqx no such song qqq"},
        )
        answer = await recommend_answer(handle)
        assert answer.ephemeral
        assert "zzqx no such song qqq" in answer.content
        assert len(answer.content) < 600


async def test_links_to_songs_from_elsewhere(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        ids = _ids_by_name(bot, world)
        outside = world.spotify.add_track(name="Far Away Song")  # on Spotify, not in a playlist

        # Only a link from elsewhere: fetched from Spotify and used, like a pasted link.
        handle = await _run_menu(world, f"new one {_link(outside)}")
        answer = await recommend_answer(handle)
        assert answer.embeds[0]["title"] == "Because you like Far Away Song"
        assert (await stored_recommendation(bot, world.guild.id, answer.id)).seed_track_ids == (
            outside,
        )

        # Beside a link to this server's song: that one shapes the answer, and it says so.
        fetched = world.spotify.log.count(outside)
        assert fetched >= 1  # the first answer fetched it
        handle = await _run_menu(world, f"{_link(outside)} vs {_link(ids['Halo'])}")
        answer = await recommend_answer(handle)
        embed = answer.embeds[0]
        assert embed["title"] == "Because you like Halo"
        assert (
            "1 of the links is to songs outside this server's playlists" in (embed["description"])
        )
        # Nothing fetched for a link that is not used.
        assert world.spotify.log.count(outside) == fetched
