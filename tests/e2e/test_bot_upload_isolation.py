"""Conflicting uploads across guilds, through the real bot: each guild sees its own values.

Guild A adds a Spotify playlist. Guild B's admin uploads a CSV naming the same
(public) track ids with other names, artists, popularity and features, plus one id
no upstream service knows. A's /recommend, /myratings and autocomplete show
Spotify's values, B's show B's, before and after a restart on the same database;
and A cannot read the name only B uploaded by asking for its id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.render import rating_scheme
from tests.e2e.world import (
    SONG_NAMES,
    World,
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
    stored_recommendation,
)
from tests.e2e.world import wait_rating as wait_for_rating
from tests.fakes.discord import FakeAttachment

FORGED = "Counterfeit"
IMPOSTOR = "Impostor Band"
SECRET_ID = "7" * 22  # on no upstream service
SECRET_NAME = "Secret Demo Nobody Else Has"


def forged_csv(world: World) -> bytes:
    """B's export: the playlist's ids with B's own values (and one id of its own)."""
    header = (
        "Track URI,Track Name,Artist Name(s),Album Name,Album Release Date,Popularity,"
        "Danceability,Energy,Key,Loudness,Mode,Speechiness,Acousticness,Instrumentalness,"
        "Liveness,Valence,Tempo\n"
    )
    rows = [
        f"spotify:track:{track_id},{FORGED} No{n:02d},{IMPOSTOR},Bogus,1999-01-01,{(n * 7) % 100},"
        f"0.{n % 9 + 1}5,0.{(n * 3) % 9 + 1}1,{n % 12},-{5 + n % 7}.0,{n % 2},0.05,"
        f"0.{(n * 7) % 9 + 1}2,0.0,0.1,0.{(n * 5) % 9 + 1}4,{90 + n}.0\n"
        for n, track_id in enumerate(world.spotify.tracks)
    ]
    rows.append(
        f"spotify:track:{SECRET_ID},{SECRET_NAME},{IMPOSTOR},Bogus,2001-01-01,50,"
        "0.5,0.5,5,-7.0,1,0.05,0.5,0.0,0.1,0.5,120.0\n"
    )
    return (header + "".join(rows)).encode()


async def upload_forgery(world: World) -> None:
    handle = await world.discord.invoke(
        world.other_guild,
        world.other_member,
        "setplaylist",
        options={"file": FakeAttachment("forged.csv", forged_csv(world))},
    )
    final = await handle.wait_final(lambda m: "Added" in (m.content or ""))
    assert f"{len(world.spotify.tracks) + 1} tracks" in final.content


def golden_hour_id(world: World) -> str:
    return next(i for i, t in world.spotify.tracks.items() if t.name == "Golden Hour")


def forged_name(world: World, track_id: str) -> str:
    return f"{FORGED} No{list(world.spotify.tracks).index(track_id):02d}"


async def recommend(world: World, guild: Any, member: Any, song: str) -> tuple[dict, Any]:
    handle = await world.discord.invoke(
        guild, member, "recommend", options={"song": song, "count": 3}
    )
    response = await recommend_answer(handle)
    assert response.embeds, response.content
    return response.embeds[0], response


async def my_ratings(world: World, guild: Any, member: Any) -> str:
    handle = await world.discord.invoke(guild, member, "myratings")
    return (await handle.wait_response()).embeds[0]["description"]


async def assert_a_sees_spotify(world: World) -> None:
    choices = await world.discord.autocomplete(
        world.guild, world.member, "recommend", focused="song", value="gol"
    )
    assert choices and choices[0]["name"].startswith("Golden Hour")
    assert choices[0]["value"] == golden_hour_id(world)
    forged = await world.discord.autocomplete(
        world.guild, world.member, "recommend", focused="song", value=FORGED.lower()
    )
    assert all(FORGED not in c["name"] for c in forged)

    embed, _ = await recommend(world, world.guild, world.member, golden_hour_id(world))
    assert "Golden Hour" in embed["title"]
    text = embed["title"] + embed["description"]
    assert FORGED not in text and IMPOSTOR not in text

    # Knowing the id of B's own track does not reveal its name.
    handle = await world.discord.invoke(
        world.guild, world.member, "recommend", options={"song": SECRET_ID}
    )
    answer = await recommend_answer(handle)
    assert SECRET_NAME not in str(answer.content) + str(answer.embeds)


async def assert_b_sees_its_upload(world: World) -> None:
    target = forged_name(world, golden_hour_id(world))
    choices = await world.discord.autocomplete(
        world.other_guild, world.other_member, "recommend", focused="song", value=target
    )
    assert choices and choices[0]["name"].startswith(target)
    assert choices[0]["value"] == golden_hour_id(world)
    spotify_names = await world.discord.autocomplete(
        world.other_guild, world.other_member, "recommend", focused="song", value="golden hour"
    )
    assert all("Golden Hour" not in c["name"] for c in spotify_names)

    embed, _ = await recommend(world, world.other_guild, world.other_member, golden_hour_id(world))
    assert target in embed["title"]
    assert FORGED in embed["description"]
    assert not any(name in embed["description"] for name in SONG_NAMES)

    secret = await world.discord.autocomplete(
        world.other_guild, world.other_member, "recommend", focused="song", value="secret demo"
    )
    assert secret and secret[0]["name"].startswith(SECRET_NAME)


async def test_two_guilds_with_conflicting_data_each_see_their_own(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
            await upload_forgery(world)
            await assert_a_sees_spotify(world)
            await assert_b_sees_its_upload(world)

            # Each guild's member likes the first suggestion for the same seed.
            liked = {}
            for guild, member in (
                (world.guild, world.member),
                (world.other_guild, world.other_member),
            ):
                _, message = await recommend(world, guild, member, golden_hour_id(world))
                stored = await stored_recommendation(bot, guild.id, message.id)
                await world.discord.react(member, message, rating_scheme.LIKE_EMOJIS[0])
                track_id = stored.items[0].track_id
                assert await wait_for_rating(bot, guild.id, member.id, track_id) is not None
                liked[guild.id] = track_id

            mine_a = await my_ratings(world, world.guild, world.member)
            assert world.spotify.tracks[liked[world.guild.id]].name in mine_a
            assert FORGED not in mine_a and IMPOSTOR not in mine_a
            mine_b = await my_ratings(world, world.other_guild, world.other_member)
            assert forged_name(world, liked[world.other_guild.id]) in mine_b
            assert IMPOSTOR in mine_b

        async with running_music_bot(world):
            await assert_a_sees_spotify(world)
            await assert_b_sees_its_upload(world)
            assert mine_a == await my_ratings(world, world.guild, world.member)
            assert mine_b == await my_ratings(world, world.other_guild, world.other_member)
