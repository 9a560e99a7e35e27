"""No lost rating: early reactions, a busy database, reactions made while the bot was down.

The real bot against the strict fake Discord, on a real SQLite file. Every wait is
on a condition with a generous timeout; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest

from bot.__main__ import _sync
from bot.client import MusicBot
from bot.infra.discord_urls import DEFAULT_GATEWAY_URL, apply_discord_urls, current_discord_urls
from bot.render.rating_scheme import DISLIKE_EMOJIS, LIKE_EMOJIS
from bot.store.models import RecommendationMessage
from bot.store.rows import to_db_time
from tests.e2e import backend as e2e_backend
from tests.e2e.world import (
    World,
    add_playlist,
    recommend_answer,
    running_music_bot,
    running_world,
)
from tests.fakes.discord import FakeGuild, FakeMember, FakeMessage, InteractionHandle
from tests.fakes.discord.models import emoji_key

SONG = "Golden Hour"
WITHIN = 30.0  # seconds: generous, the bot is on a shared machine


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, within: float = WITHIN
) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)


async def stored_message(
    bot: MusicBot, world: World, message: FakeMessage
) -> RecommendationMessage:
    """The recommendation once the bot has stored it."""
    guild_id = world.guild.id  # type: ignore[attr-defined]

    async def known() -> bool:
        return await bot.store.get_recommendation(guild_id, message.id) is not None

    await eventually(known, f"message {message.id} stored")
    stored = await bot.store.get_recommendation(guild_id, message.id)
    assert stored is not None
    return stored


async def ratings_of(bot: MusicBot, world: World) -> dict[tuple[int, str], int]:
    """(user id, track id) -> value of every rating in the world's guild."""
    ratings = await bot.store.list_guild_ratings(world.guild.id)  # type: ignore[attr-defined]
    return {(r.user_id, r.track_id): r.value for r in ratings}


async def wait_ratings(bot: MusicBot, world: World, expected: dict[tuple[int, str], int]) -> None:
    """Wait until the guild's ratings are exactly ``expected``."""
    last: dict[tuple[int, str], int] = {}

    async def matches() -> bool:
        nonlocal last
        last = await ratings_of(bot, world)
        return last == expected

    try:
        await eventually(matches, "the expected ratings")
    except AssertionError:
        missing = {k: v for k, v in expected.items() if last.get(k) != v}
        extra = {k: v for k, v in last.items() if k not in expected}
        raise AssertionError(f"ratings differ: missing/wrong {missing}, extra {extra}") from None


def fans(world: World, count: int) -> list[FakeMember]:
    return fans_named(world, "fan", count)


def fans_named(world: World, name: str, count: int) -> list[FakeMember]:
    guild = cast(FakeGuild, world.guild)
    return [world.discord.add_member(guild, f"{name}{i}") for i in range(count)]


def bot_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def ask(world: World, count: int = 10) -> InteractionHandle:
    guild, member = cast(FakeGuild, world.guild), cast(FakeMember, world.member)
    return await world.discord.invoke(
        guild, member, "recommend", options={"song": SONG, "count": count}
    )


# -- reactions before the bot has stored its answer ---------------------------------------


async def test_reactions_the_moment_the_answer_appears_are_all_stored(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        members = fans(world, 10)
        handle = await ask(world)
        # As soon as the fake records the answer (the bot defers, then edits its
        # placeholder into the suggestions): before the bot has stored it.
        await handle.wait_for(lambda: bool(handle.original and handle.original.embeds), WITHIN)
        message = handle.original
        assert message is not None
        for position, member in enumerate(members):
            await world.discord.react(member, message, LIKE_EMOJIS[position])
        stored = await stored_message(bot, world, message)
        await wait_ratings(
            bot, world, {(m.id, stored.items[i].track_id): 1 for i, m in enumerate(members)}
        )


async def test_reactions_held_until_the_answer_is_stored_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        # The bot is slow to store its answer: it waits until every reaction is in.
        stored_gate = asyncio.Event()
        remember = bot.recommendations.remember

        async def slow_remember(**kwargs: Any) -> None:
            await stored_gate.wait()
            await remember(**kwargs)

        monkeypatch.setattr(bot.recommendations, "remember", slow_remember)
        members = fans(world, 4)
        handle = await ask(world)
        message = await recommend_answer(handle, WITHIN)
        liker, changer, regretter, flipper = members
        await world.discord.react(liker, message, LIKE_EMOJIS[0])
        # A like changed into a dislike of the same suggestion: the later one wins.
        await world.discord.react(changer, message, LIKE_EMOJIS[1])
        await world.discord.react(changer, message, DISLIKE_EMOJIS[1])
        # Added and taken back: nothing stays.
        await world.discord.react(regretter, message, LIKE_EMOJIS[2])
        await world.discord.unreact(regretter, message, LIKE_EMOJIS[2])
        # Taken back and added again: it stays.
        await world.discord.react(flipper, message, DISLIKE_EMOJIS[3])
        await world.discord.unreact(flipper, message, DISLIKE_EMOJIS[3])
        await world.discord.react(flipper, message, DISLIKE_EMOJIS[3])
        # Every one of them reached the bot while it did not know the message.
        await world.discord.wait_until(lambda: bot.ratings.held == 8, timeout=WITHIN)
        assert await ratings_of(bot, world) == {}

        stored_gate.set()
        stored = await stored_message(bot, world, message)
        await wait_ratings(
            bot,
            world,
            {
                (liker.id, stored.items[0].track_id): 1,
                (changer.id, stored.items[1].track_id): -1,
                (flipper.id, stored.items[3].track_id): -1,
            },
        )
        assert bot.ratings.held == 0


# -- a busy database ------------------------------------------------------------------------

#: Longer than the store's busy timeout (5 s), so writes are refused, not only slowed.
LOCK_HELD = 7.0


async def test_ratings_wait_for_a_database_another_process_locked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        members = fans(world, 10)
        handle = await ask(world)
        message = await recommend_answer(handle, WITHIN)
        stored = await stored_message(bot, world, message)

        other = sqlite3.connect(world.database, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # another process takes the write lock
        try:
            for position, member in enumerate(members[:8]):
                await world.discord.react(member, message, LIKE_EMOJIS[position])
            # Order is kept while waiting: a like turned into a dislike, and one taken back.
            await world.discord.react(members[8], message, LIKE_EMOJIS[8])
            await world.discord.react(members[8], message, DISLIKE_EMOJIS[8])
            await world.discord.react(members[9], message, LIKE_EMOJIS[9])
            await world.discord.unreact(members[9], message, LIKE_EMOJIS[9])
            await asyncio.sleep(LOCK_HELD)
        finally:
            other.execute("COMMIT")
            other.close()
        expected = {(m.id, stored.items[i].track_id): 1 for i, m in enumerate(members[:8])}
        expected[(members[8].id, stored.items[8].track_id)] = -1
        await wait_ratings(bot, world, expected)
        assert bot_errors(caplog) == []
        busy = [r for r in caplog.records if r.name == "bot.store.busy"]
        assert busy and busy[0].levelno == logging.WARNING  # the operator hears about the wait


# -- reactions made while the bot was down ----------------------------------------------------


def react_offline(message: FakeMessage, member: FakeMember, emoji: str) -> None:
    """Discord records the reaction; no bot is connected to hear of it."""
    message.reactions.setdefault(emoji_key(emoji), []).append(member.id)


def unreact_offline(message: FakeMessage, member: FakeMember, emoji: str) -> None:
    message.reactions[emoji_key(emoji)].remove(member.id)


async def age_message(world: World, message_id: int, days: float) -> None:
    """Make a stored recommendation ``days`` old (as if posted then), on either backend."""
    posted = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    url = e2e_backend.database_url()
    if url is None:
        with sqlite3.connect(world.database) as conn:
            conn.execute(
                "UPDATE rec_messages SET created_at = ? WHERE message_id = ?",
                (to_db_time(posted), message_id),
            )
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE rec_messages SET created_at = $1 WHERE message_id = $2", posted, message_id
        )
    finally:
        await conn.close()


async def sync_commands(world: World) -> None:
    """``python -m bot sync`` against the world (it starts no background work)."""
    settings = world.settings()
    previous_api, previous_gateway = current_discord_urls()
    apply_discord_urls(settings.bot.discord_api_url, settings.bot.discord_gateway_url)
    try:
        assert await _sync(settings, world.guild.id) == 0  # type: ignore[attr-defined]
    finally:
        apply_discord_urls(
            previous_api, None if previous_gateway == DEFAULT_GATEWAY_URL else previous_gateway
        )


async def recommendation_with_its_reactions(
    world: World, bot: MusicBot, count: int
) -> tuple[FakeMessage, RecommendationMessage]:
    """A recommendation once stored and carrying the bot's own rating reactions."""
    message = await recommend_answer(await ask(world, count), WITHIN)
    stored = await stored_message(bot, world, message)
    await world.discord.wait_until(
        lambda: len(message.reactions_by(world.discord.bot_user.id)) == 2 * count,
        timeout=WITHIN,
    )
    return message, stored


async def test_reactions_made_while_the_bot_was_down_are_reconciled_at_start(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world:
        fan = fans(world, 6)
        crowd = fans_named(world, "crowd", 120)  # more than one page of reactors
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
            recent, stored = await recommendation_with_its_reactions(world, bot, 3)
            old, stored_old = await recommendation_with_its_reactions(world, bot, 3)
            a1, a2, a3 = (item.track_id for item in stored.items)
            c1, c2 = stored_old.items[0].track_id, stored_old.items[1].track_id
            # Live, while the bot runs.
            await world.discord.react(fan[0], recent, LIKE_EMOJIS[0])
            await world.discord.react(fan[1], recent, LIKE_EMOJIS[1])
            await world.discord.react(fan[2], recent, DISLIKE_EMOJIS[2])
            await world.discord.react(fan[0], old, LIKE_EMOJIS[0])
            before = {
                (fan[0].id, a1): 1,
                (fan[1].id, a2): 1,
                (fan[2].id, a3): -1,
                (fan[0].id, c1): 1,
            }
            await wait_ratings(bot, world, before)

        # The bot is down. Members react and take reactions back; nobody hears of it.
        unreact_offline(recent, fan[1], LIKE_EMOJIS[1])  # taken back
        unreact_offline(recent, fan[2], DISLIKE_EMOJIS[2])  # changed their mind...
        react_offline(recent, fan[2], LIKE_EMOJIS[2])  # ...into a like
        react_offline(recent, fan[3], LIKE_EMOJIS[0])
        react_offline(recent, fan[4], DISLIKE_EMOJIS[1])
        for member in crowd:
            react_offline(recent, member, LIKE_EMOJIS[0])
        # A message older than the bound (3 days) is not touched.
        await age_message(world, old.id, days=10)
        unreact_offline(old, fan[0], LIKE_EMOJIS[0])
        react_offline(old, fan[5], LIKE_EMOJIS[1])
        reaction_reads = "/channels/*/messages/*/reactions/*"

        # `python -m bot sync` starts no background work: nothing is read or changed.
        await sync_commands(world)
        assert world.discord.find_requests("GET", reaction_reads) == []

        async with running_music_bot(world) as bot:
            expected = {
                (fan[0].id, a1): 1,
                (fan[2].id, a3): 1,
                (fan[3].id, a1): 1,
                (fan[4].id, a2): -1,
                (fan[0].id, c1): 1,  # beyond the bound: kept although taken back
                **{(member.id, a1): 1 for member in crowd},
            }
            await wait_ratings(bot, world, expected)
            reads = world.discord.find_requests("GET", reaction_reads)
            assert reads and all(f"/messages/{recent.id}/" in r.path for r in reads)
            assert not world.discord.find_requests("GET", f"/channels/*/messages/{old.id}")
            # Paged 100 at a time after the last id, as Discord pages reactors.
            pages = [r for r in reads if r.query.get("after")]
            assert pages and all(r.query.get("limit") == "100" for r in reads)
            # No rating came from the bot's own reactions.
            assert world.discord.bot_user.id not in {
                user for user, _ in await ratings_of(bot, world)
            }
            assert (fan[5].id, c2) not in await ratings_of(bot, world)
