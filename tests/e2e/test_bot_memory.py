"""Bounded memory through the real bot (issue 11): the track cap, guilds sharing one
catalogue, an evicted guild answered again; and the worlds the tests run in.

The default world is Spotify's development mode with ReccoBeats; the full API is the
variant (``running_world(..., mode="full")``).
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.world import (
    World,
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
)
from tests.fakes.discord import FakeAttachment
from tests.fakes.spotify import Entry


async def add_playlist_to_other_guild(world: World) -> None:
    handle = await world.discord.invoke(
        world.other_guild,
        world.other_member,
        "setplaylist",
        options={"playlist": world.playlist_id},
    )
    await handle.wait_final(lambda m: "Added" in (m.content or ""))


async def ask(world: World, guild: object, member: object, song: str) -> str:
    """``member`` asks /recommend for ``song``; the public answer's suggestions."""
    handle = await world.discord.invoke(guild, member, "recommend", options={"song": song})
    answer = await recommend_answer(handle, timeout=60)
    assert not answer.ephemeral, answer.content
    return str(answer.embeds[0]["description"])


# -- the worlds --------------------------------------------------------------------------


async def test_the_default_world_is_development_mode_with_reccobeats(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)

        catalogue = bot.catalogues.get(world.guild.id).catalogue
        assert catalogue is not None and len(catalogue) == 40
        # Spotify gave neither (development mode): ReccoBeats did.
        assert set(catalogue.feature_sources) == {"reccobeats"}
        assert set(catalogue.popularity_sources) == {"reccobeats"}
        assert world.spotify.log.count("/audio-features", status=200) == 0
        assert world.reccobeats.log.count("/audio-features") >= 1


async def test_the_full_api_variant_takes_features_and_popularity_from_spotify(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path, mode="full") as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)

        catalogue = bot.catalogues.get(world.guild.id).catalogue
        assert catalogue is not None
        assert set(catalogue.feature_sources) == {"spotify"}
        assert set(catalogue.popularity_sources) == {"spotify"}
        assert world.reccobeats.log.count("/audio-features") == 0


async def test_tracks_added_to_spotify_after_the_bot_started_get_reccobeats_features(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        late = [world.spotify.add_track(name=f"Late Song {i}") for i in range(3)]
        world.spotify.playlists[world.playlist_id].entries += [Entry("track", t) for t in late]

        handle = await world.discord.invoke(world.guild, world.admin, "refreshplaylists")
        await handle.wait_final(lambda m: "updated" in (m.content or ""), timeout=60)

        catalogue = bot.catalogues.get(world.guild.id).catalogue
        assert catalogue is not None
        for track_id in late:
            row = catalogue.row_of(track_id)
            assert row is not None and catalogue.has_features[row]
            assert catalogue.feature_sources[row] == "reccobeats"
        assert "open.spotify.com/track/" in await ask(world, world.guild, world.member, late[0])


# -- the track cap -----------------------------------------------------------------------


async def test_a_csv_over_the_track_cap_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        world.bot_settings["max_tracks_per_guild"] = 30
        async with running_music_bot(world) as bot:
            rows = "".join(f"{n:022d},Song {n},Artist {n % 5}\n" for n in range(45))
            upload = FakeAttachment(
                "big.csv", ("track_id,track_name,track_artist\n" + rows).encode()
            )
            handle = await world.discord.invoke(
                world.guild, world.admin, "setplaylist", options={"file": upload}
            )
            final = await handle.wait_final(lambda m: "Nothing was added" in (m.content or ""))

            assert "45 tracks" in final.content and "30" in final.content
            assert "Traceback" not in final.content
            assert await bot.store.count_sources(world.guild.id) == 0
            assert len(await bot.catalogues.ensure(world.guild.id)) == 0


# -- sharing and eviction ----------------------------------------------------------------


async def test_two_guilds_with_the_same_playlist_share_one_catalogue(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        await add_playlist_to_other_guild(world)

        mine = await bot.catalogues.ensure(world.guild.id)
        theirs = await bot.catalogues.ensure(world.other_guild.id)  # type: ignore[attr-defined]

        assert mine.guild_id != theirs.guild_id
        assert mine.recommender is theirs.recommender
        assert mine.recommender is not None
        assert mine.recommender.index is theirs.recommender.index  # type: ignore[union-attr]


async def test_an_evicted_guild_is_rebuilt_and_answers_its_next_recommend(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        world.bot_settings["catalogue_memory_mb"] = 0.01  # less than one catalogue
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
            # The other guild's playlist differs (one more track): its own catalogue.
            extra = world.spotify.add_track(name="Only Over There")
            playlist = world.spotify.playlists[world.playlist_id]
            theirs = world.spotify.add_playlist([*playlist.entries, Entry("track", extra)])
            handle = await world.discord.invoke(
                world.other_guild, world.other_member, "setplaylist", options={"playlist": theirs}
            )
            await handle.wait_final(lambda m: "Added" in (m.content or ""))
            guild_id = world.guild.id  # type: ignore[attr-defined]
            other_id = world.other_guild.id  # type: ignore[attr-defined]
            assert await ask(world, world.other_guild, world.other_member, "Golden Hour")

            assert not bot.catalogues.resident(guild_id), "not evicted under the budget"
            assert bot.catalogues.resident(other_id)

            suggestions = await ask(world, world.guild, world.member, "Golden Hour")

            assert suggestions.count("open.spotify.com/track/") >= 1
            assert bot.catalogues.resident(guild_id)
            assert not bot.catalogues.resident(other_id)
            assert bot.catalogues.budget.evictions >= 2
