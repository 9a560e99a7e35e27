"""A guild's name indexes are built when a name is first looked up, never on the loop.

Most catalogues are only asked by track id (what autocomplete sends), so building
the name indexes with every catalogue was about 70% of loading a big one for nothing
(docs/benchmarks.md, "Cluster"). These tests drive the real bot through the fake
Discord: an id asks for no index, autocomplete and a typed name build it (in a worker
thread) and still find the song.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from pathlib import Path

import pytest

from bot.client import MusicBot
from bot.services import recommending
from recommender.resolve import SongResolver
from tests.e2e.world import World, add_playlist, recommend_answer, running_music_bot, running_world

#: A half-life no other test uses, a new one per test: identical catalogues are shared
#: through a process-wide cache, so the same playlist with the same settings could get
#: an earlier test's catalogue, name index built.
_UNIQUE_HALF_LIFE = itertools.count(1001.25)


async def _fresh_catalogue(world: World, bot: MusicBot) -> None:
    await bot.store.update_guild_settings(
        world.guild.id, popularity_half_life_days=next(_UNIQUE_HALF_LIFE)
    )
    await add_playlist(world, bot)
    guild = bot.catalogues.get(world.guild.id)
    assert guild.resolver is not None
    assert not guild.resolver.ready


async def test_an_id_needs_no_name_index_and_autocomplete_builds_it(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await _fresh_catalogue(world, bot)
        guild = bot.catalogues.get(world.guild.id)
        assert guild.resolver is not None and guild.catalogue is not None
        seed_id = guild.catalogue.ids[0]

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": seed_id, "count": 3}
        )
        answer = await recommend_answer(handle)
        assert answer.embeds[0]["description"].count("open.spotify.com/track/") == 3
        assert not guild.resolver.ready

        choices = await world.discord.autocomplete(
            world.guild, world.member, "recommend", focused="song", value="neon"
        )
        assert choices[0]["name"].startswith("Neon Lights")
        assert guild.resolver.ready


async def test_a_typed_name_builds_the_index_and_resolves(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await _fresh_catalogue(world, bot)
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "neon lights", "count": 3}
        )
        answer = await recommend_answer(handle)
        assert "Neon Lights" in answer.embeds[0]["title"]
        resolver = bot.catalogues.get(world.guild.id).resolver
        assert resolver is not None and resolver.ready


async def test_autocomplete_answers_in_time_while_a_slow_index_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A big catalogue's index takes seconds to build; here it waits for the test.
    release = threading.Event()
    build = SongResolver._build_indexes

    def slow_build(self: SongResolver) -> None:
        release.wait(timeout=30)
        build(self)

    monkeypatch.setattr(SongResolver, "_build_indexes", slow_build)
    monkeypatch.setattr(recommending, "NAME_INDEX_PATIENCE", 0.2)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        try:
            await _fresh_catalogue(world, bot)
            resolver = bot.catalogues.get(world.guild.id).resolver
            assert resolver is not None

            # Answered (the strict fake fails the test past 3 s) from titles containing
            # the text; a typo finds nothing without the index.
            choices = await world.discord.autocomplete(
                world.guild, world.member, "recommend", focused="song", value="neon"
            )
            assert choices and choices[0]["name"].startswith("Neon Lights")
            typo = await world.discord.autocomplete(
                world.guild, world.member, "recommend", focused="song", value="neon lihgts"
            )
            assert typo == []
            assert not resolver.ready
        finally:
            release.set()
        # Once built, the index answers; the typo finds the song.
        for _ in range(50):
            typo = await world.discord.autocomplete(
                world.guild, world.member, "recommend", focused="song", value="neon lihgts"
            )
            if typo:
                break
            await asyncio.sleep(0.1)
        assert typo and typo[0]["name"].startswith("Neon Lights")
