"""Reconciling reactions after a restart: what is added, removed, left alone and skipped.

``reconcile_reactions`` with a reader that plays Discord's answers, on a real SQLite
store; ``DiscordReactionReader`` through discord.py's HTTP client against the fake
Discord (pages, the bot's own reactions, a missing message, pacing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import discord
import pytest

from bot.infra.discord_urls import DEFAULT_GATEWAY_URL, apply_discord_urls, current_discord_urls
from bot.render.rating_scheme import DISLIKE_EMOJIS, LIKE_EMOJIS
from bot.services.rating import RatingService
from bot.services.reconcile import (
    DiscordReactionReader,
    MessageUnreadable,
    ReactionCount,
    ReconcileReport,
    reconcile_reactions,
)
from bot.store import RecommendationItem, RecommendationMessage, SqliteStore
from tests.fake_time import FakeTime
from tests.fakes.discord import FakeMessage, running_fake_discord
from tests.fakes.discord.models import emoji_key

GUILD, OTHER_GUILD = 1, 2
ALICE, BOB, CAROL = 11, 12, 13
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DAYS = dt.timedelta(days=3)
BOT_MESSAGE_ID = 1_300_000_000_000_000_001


def recommendation(
    message_id: int, *, age: dt.timedelta = dt.timedelta(hours=1), guild_id: int = GUILD
) -> RecommendationMessage:
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=7,
        message_id=message_id,
        user_id=ALICE,
        seed_track_ids=(),
        created_at=NOW - age,
        items=tuple(
            RecommendationItem(p, f"m{message_id}t{p}", LIKE_EMOJIS[p - 1]) for p in (1, 2, 3)
        ),
    )


class PlayedDiscord:
    """A ReactionReader answering from a table: message id -> emoji -> member ids."""

    def __init__(self, reactions: dict[int, dict[str, set[int]]]) -> None:
        self.reactions_of = reactions
        self.read: list[int] = []
        self.unreadable: set[int] = set()
        self.while_reading: Callable[[], Awaitable[None]] | None = None

    async def reactions(self, channel_id: int, message_id: int) -> dict[str, ReactionCount]:
        self.read.append(message_id)
        if message_id in self.unreadable:
            raise MessageUnreadable("HTTP 404 (code 10008)")
        return {e: ReactionCount(len(u)) for e, u in self.reactions_of.get(message_id, {}).items()}

    async def reactors(
        self, channel_id: int, message_id: int, emoji: str, *, burst: bool = False
    ) -> set[int]:
        if self.while_reading is not None:
            await self.while_reading()
        return set(self.reactions_of[message_id][emoji])


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(":memory:") as opened:
        yield opened


async def ratings(store: SqliteStore) -> dict[tuple[int, str], int]:
    return {(r.user_id, r.track_id): r.value for r in await store.list_guild_ratings(GUILD)}


async def reconcile(
    store: SqliteStore,
    service: RatingService,
    discord_now: PlayedDiscord,
    *,
    max_messages: int = 50,
    serves: Callable[[int], bool] = lambda guild_id: True,
) -> ReconcileReport:
    return await reconcile_reactions(
        store, service, discord_now, max_age=DAYS, max_messages=max_messages, serves=serves, now=NOW
    )


async def test_missing_reactions_are_added_and_gone_ones_removed(store: SqliteStore) -> None:
    await store.save_recommendation(recommendation(100))
    await store.save_recommendation(recommendation(200))
    # Before the restart: ALICE liked t1 and BOB t2 on message 100; CAROL disliked
    # message 200's t1.
    await store.set_rating(GUILD, ALICE, "m100t1", 1, message_id=100)
    await store.set_rating(GUILD, BOB, "m100t2", 1, message_id=100)
    await store.set_rating(GUILD, CAROL, "m200t1", -1, message_id=200)
    # A rating of m100t3 that did not come from message 100 (e.g. from an import).
    await store.set_rating(GUILD, ALICE, "m100t3", -1)
    discord_now = PlayedDiscord(
        {
            100: {
                LIKE_EMOJIS[0]: {ALICE},  # still there
                DISLIKE_EMOJIS[1]: {BOB, CAROL},  # BOB: like taken back, dislike added
                LIKE_EMOJIS[2]: {ALICE, CAROL},  # ALICE rated t3 otherwise: that stays
                DISLIKE_EMOJIS[2]: {CAROL},  # CAROL liked and disliked t3: unknown order
            },
            200: {},  # CAROL took her dislike back
        }
    )
    report = await reconcile(store, RatingService(store), discord_now)
    assert await ratings(store) == {
        (ALICE, "m100t1"): 1,
        (BOB, "m100t2"): -1,
        (CAROL, "m100t2"): -1,
        (ALICE, "m100t3"): -1,
    }
    assert (report.messages, report.skipped, report.added, report.removed) == (2, 0, 2, 2)


async def test_only_recent_messages_of_this_process_newest_first(store: SqliteStore) -> None:
    await store.save_recommendation(recommendation(100, age=dt.timedelta(days=5)))  # too old
    await store.save_recommendation(recommendation(200, age=dt.timedelta(hours=3)))
    await store.save_recommendation(recommendation(300, age=dt.timedelta(hours=2)))
    await store.save_recommendation(recommendation(400, age=dt.timedelta(hours=1)))
    await store.save_recommendation(recommendation(500, guild_id=OTHER_GUILD))
    discord_now = PlayedDiscord({m: {LIKE_EMOJIS[0]: {ALICE}} for m in (100, 200, 300, 400, 500)})
    await reconcile(
        store,
        RatingService(store),
        discord_now,
        max_messages=3,
        serves=lambda guild_id: guild_id == GUILD,  # OTHER_GUILD is another process's
    )
    # The three newest (500 among them, but not served here), never the old one.
    assert discord_now.read == [400, 300]
    assert set(await ratings(store)) == {(ALICE, "m400t1"), (ALICE, "m300t1")}


async def test_a_message_that_cannot_be_read_is_left_as_it_is(store: SqliteStore) -> None:
    await store.save_recommendation(recommendation(100))
    await store.set_rating(GUILD, ALICE, "m100t1", 1, message_id=100)
    discord_now = PlayedDiscord({})
    discord_now.unreadable.add(100)  # deleted, or the bot lost access
    report = await reconcile(store, RatingService(store), discord_now)
    assert await ratings(store) == {(ALICE, "m100t1"): 1}
    assert (report.messages, report.skipped) == (1, 1)


async def test_a_live_reaction_during_the_reading_wins(store: SqliteStore) -> None:
    await store.save_recommendation(recommendation(100))
    await store.set_rating(GUILD, ALICE, "m100t1", 1, message_id=100)
    service = RatingService(store)
    # Discord's picture: ALICE's like is gone, BOB likes t2. While it is being read,
    # both act live: ALICE likes t1 again, BOB takes his like back.
    discord_now = PlayedDiscord({100: {LIKE_EMOJIS[1]: {BOB}, DISLIKE_EMOJIS[2]: {CAROL}}})

    async def live() -> None:
        if discord_now.while_reading is None:
            return
        discord_now.while_reading = None
        await service.reaction_added(GUILD, ALICE, 100, LIKE_EMOJIS[0], on_bot_message=True)
        await service.reaction_added(GUILD, BOB, 100, LIKE_EMOJIS[1], on_bot_message=True)
        await service.reaction_removed(GUILD, BOB, 100, LIKE_EMOJIS[1])

    discord_now.while_reading = live
    await reconcile(store, service, discord_now)
    await service.join()
    assert await ratings(store) == {(ALICE, "m100t1"): 1, (CAROL, "m100t3"): -1}


# -- DiscordReactionReader against the fake Discord -------------------------------------------


async def test_the_reader_pages_through_reactors_and_leaves_the_bot_out() -> None:
    async with running_fake_discord(guilds=["Rock Club"]) as fake:
        guild = fake.guild("Rock Club")
        members = [fake.add_member(guild, f"fan{i}") for i in range(230)]
        # One of the bot's messages (as if posted before the restart).
        message = FakeMessage(
            id=BOT_MESSAGE_ID,
            channel_id=guild.default_channel.id,
            guild_id=guild.id,
            author=fake.bot_user,
            content="suggestions",
        )
        fake.messages[message.id] = message
        emoji = LIKE_EMOJIS[0]
        # Reactions made while no bot was connected (Discord keeps them; nobody is told).
        message.reactions[emoji_key(emoji)] = [fake.bot_user.id, *(m.id for m in members)]
        message.reactions[emoji_key(DISLIKE_EMOJIS[0])] = [fake.bot_user.id]
        previous_api, previous_gateway = current_discord_urls()
        apply_discord_urls(fake.api_url, fake.gateway_url)
        http = discord.http.HTTPClient(asyncio.get_running_loop())
        try:
            await http.static_login("fake-token")
            time = FakeTime()
            reader = DiscordReactionReader(
                http, fake.bot_user.id, pace=0.5, clock=time, sleep=time.sleep
            )
            counts = await reader.reactions(message.channel_id, message.id)
            assert counts == {
                emoji: ReactionCount(normal=230),
                DISLIKE_EMOJIS[0]: ReactionCount(normal=0),
            }
            users = await reader.reactors(message.channel_id, message.id, emoji)
            assert users == {m.id for m in members}
            pages = fake.find_requests("GET", "/channels/*/messages/*/reactions/*")
            assert [p.query.get("limit") for p in pages] == ["100", "100", "100"]
            assert "after" not in pages[0].query
            ids = sorted([fake.bot_user.id, *(m.id for m in members)])
            assert [int(p.query["after"]) for p in pages[1:]] == [ids[99], ids[199]]
            # One request at a time, paced: a pause before every request but the first.
            assert time.sleeps == [0.5, 0.5, 0.5] and reader.requests == 4
            with pytest.raises(MessageUnreadable):
                await reader.reactions(message.channel_id, 123456789)
        finally:
            await http.close()
            apply_discord_urls(
                previous_api,
                None if previous_gateway == DEFAULT_GATEWAY_URL else previous_gateway,
            )
