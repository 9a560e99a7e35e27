"""Storage trouble under a running bot, told in words: members, admins and the log.

A corrupt page is made by overwriting the root page of the track table between two
runs (the header and the schema stay intact, so the bot starts). A full disk is
SQLite's own SQLITE_FULL, reached by capping the bot's connection at its current
size (``PRAGMA max_page_count``); a read-only database is SQLite's SQLITE_READONLY
from ``PRAGMA query_only`` on the same connection. Neither is a mock: the bot's
real statements fail with the codes a full or read-only disk gives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.client import MusicBot
from bot.render import rating_scheme
from bot.render.storage_replies import ADMIN_REPLIES, MEMBER_REPLY
from bot.store.errors import DatabaseCorruptError, DatabaseFullError, DatabaseReadOnlyError
from tests.e2e.world import add_playlist, recommend_answer, running_music_bot, running_world
from tests.storage_faults import corrupt_table_root_page, run_bot_command


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_corrupt_page_is_not_told_as_no_music_yet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_world(tmp_path) as world:
        guild: Any = world.guild
        member: Any = world.member
        admin: Any = world.admin
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
        corrupt_table_root_page(world.database, "tracks")
        caplog.clear()

        async with running_music_bot(world) as bot:
            handle = await world.discord.invoke(
                guild, member, "recommend", options={"song": "Golden Hour"}
            )
            answer = await recommend_answer(handle)
            assert answer.ephemeral
            assert answer.content == MEMBER_REPLY  # not "This server has no music yet"
            choices = await world.discord.autocomplete(
                guild, member, "recommend", focused="song", value="gol"
            )
            assert choices == []

            handle = await world.discord.invoke(
                guild, admin, "setplaylist", options={"playlist": world.playlist_id}
            )
            final = await handle.wait_final(lambda m: "operator" in (m.content or ""))
            assert final.content == ADMIN_REPLIES[DatabaseCorruptError]

        errors = _errors(caplog)
        assert errors, "the operator must read about it"
        for record in errors:
            text = record.getMessage()
            assert str(world.database) in text and "is corrupt" in text, text
            assert record.exc_info is None  # a classified failure: words, no traceback
        assert len([r for r in errors if "/recommend" in r.getMessage()]) == 1
        assert len([r for r in errors if "/setplaylist" in r.getMessage()]) == 1

        # The operator's check says the same words about the same file.
        outcome = await run_bot_command("check", world.database, world.discord, tmp_path)
    assert outcome.code == 2
    failed = [line for line in outcome.stdout.splitlines() if line.startswith("[FAIL] database")]
    assert len(failed) == 1 and "is corrupt" in failed[0] and str(world.database) in failed[0]


async def _fill_disk(bot: MusicBot) -> None:
    # max_page_count is per connection: cap the bot's own at the file's current size.
    store: Any = bot.store  # the SqliteStore and its one connection
    pages = await store.pragma("page_count")
    await store._db.execute(f"PRAGMA max_page_count = {int(pages):d}")


async def _make_read_only(bot: MusicBot) -> None:
    store: Any = bot.store
    await store._db.execute("PRAGMA query_only = 1")


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        ("disk full", DatabaseFullError, "the disk is full"),
        ("read-only", DatabaseReadOnlyError, "is read-only"),
    ],
)
async def test_an_admin_hears_what_the_operator_must_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: str, kind: type, words: str
) -> None:
    caplog.set_level(logging.INFO)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        guild: Any = world.guild
        member: Any = world.member
        admin: Any = world.admin
        await add_playlist(world, bot)
        tracks: list[Any] = [world.spotify.add_track(name=f"Extra Song {i}") for i in range(200)]
        big = world.spotify.add_playlist(tracks, name="Big Mix")
        handle = await world.discord.invoke(
            guild, member, "recommend", options={"song": "Golden Hour"}
        )
        suggestions = await handle.wait_final()
        await (_fill_disk(bot) if fault == "disk full" else _make_read_only(bot))
        caplog.clear()

        handle = await world.discord.invoke(guild, admin, "setplaylist", options={"playlist": big})
        final = await handle.wait_final(lambda m: "operator" in (m.content or ""))
        assert final.content == ADMIN_REPLIES[kind]
        assert "Something went wrong" not in final.content
        assert [s.key for s in await bot.store.list_sources(guild.id)] == [world.playlist_id]

        # A member's request that needs no write is still answered from memory.
        choices = await world.discord.autocomplete(
            guild, member, "recommend", focused="song", value="gol"
        )
        assert any("Golden Hour" in c["name"] for c in choices)

        if fault == "read-only":
            # A rating cannot be saved and there is no one to answer: the log says it,
            # in one line. (On the full disk a rating still fits in a free page.)
            await world.discord.react(member, suggestions, rating_scheme.LIKE_EMOJIS[0])
            await _wait_until(lambda: len(_errors(caplog)) == 2)

    errors = _errors(caplog)
    assert len(errors) == (2 if fault == "read-only" else 1), [r.getMessage() for r in errors]
    assert "/setplaylist" in errors[0].getMessage()
    for record in errors:
        text = record.getMessage()
        assert str(world.database) in text and words in text, text
        assert record.exc_info is None
