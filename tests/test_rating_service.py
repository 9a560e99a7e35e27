"""Reactions become ratings in arrival order, early ones are held, a busy store waits.

The pieces (OrderedLanes, EarlyReactions) and RatingService on a real SQLite store.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.render.rating_scheme import DISLIKE_EMOJIS, LIKE_EMOJIS
from bot.services.early_reactions import EarlyReactions, ReactionEvent
from bot.services.ordered_lanes import OrderedLanes
from bot.services.rating import RatingService
from bot.store import RecommendationItem, RecommendationMessage, SqliteStore
from bot.store.errors import DatabaseLockedError

GUILD, OTHER_GUILD = 1, 2
ALICE, BOB = 11, 12
MESSAGE = 500


def recommendation(message_id: int = MESSAGE, guild_id: int = GUILD) -> RecommendationMessage:
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=7,
        message_id=message_id,
        user_id=ALICE,
        seed_track_ids=(),
        created_at=dt.datetime.now(dt.UTC),
        items=tuple(RecommendationItem(p, f"track{p}", LIKE_EMOJIS[p - 1]) for p in (1, 2, 3)),
    )


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(":memory:") as opened:
        yield opened


async def ratings(store: SqliteStore, guild_id: int = GUILD) -> dict[tuple[int, str], int]:
    return {(r.user_id, r.track_id): r.value for r in await store.list_guild_ratings(guild_id)}


# -- OrderedLanes ---------------------------------------------------------------------------


async def test_lanes_keep_order_per_key_and_run_keys_side_by_side() -> None:
    lanes: OrderedLanes[str] = OrderedLanes("test", max_pending=100)
    done: list[str] = []
    slow_started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> None:
        slow_started.set()
        await release.wait()
        done.append("a1")

    def quick(name: str):
        async def job() -> None:
            done.append(name)

        return job

    assert lanes.submit("a", slow)
    assert lanes.submit("a", quick("a2"))
    assert lanes.submit("b", quick("b1"))
    await slow_started.wait()
    await asyncio.sleep(0)  # b's lane is not behind a's slow job
    for _ in range(10):
        if "b1" in done:
            break
        await asyncio.sleep(0)
    assert done == ["b1"]
    release.set()
    await lanes.join()
    assert done == ["b1", "a1", "a2"] and lanes.pending == 0


async def test_lanes_are_bounded_and_a_failing_job_does_not_stop_its_lane() -> None:
    lanes: OrderedLanes[str] = OrderedLanes("test", max_pending=2)
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("a bug")

    async def ok() -> None:
        done.append(1)

    assert lanes.submit("a", boom) and lanes.submit("a", ok)
    assert not lanes.submit("a", ok)  # full
    await lanes.join()
    assert done == [1]
    await lanes.close(grace=1.0)
    assert not lanes.submit("a", ok)  # closed


# -- EarlyReactions -------------------------------------------------------------------------


def event(user: int, message: int = MESSAGE, *, added: bool = True, seq: int = 0) -> ReactionEvent:
    return ReactionEvent(GUILD, user, message, 1, 1, added, seq)


def test_held_reactions_come_back_per_member_in_order_and_expire() -> None:
    now = [0.0]
    early = EarlyReactions(max_events=10, max_age=120.0, clock=lambda: now[0])
    early.hold(event(ALICE, seq=1))
    early.hold(event(BOB, seq=2))
    early.hold(event(ALICE, added=False, seq=3))
    assert early.waiting(MESSAGE) and len(early) == 3
    assert early.members(MESSAGE) == [(GUILD, ALICE), (GUILD, BOB)]
    assert [e.seq for e in early.take(MESSAGE, ALICE)] == [1, 3]
    assert early.take(MESSAGE, ALICE) == []
    now[0] = 121.0  # BOB's reaction is too old now: the message was never stored
    assert not early.waiting(MESSAGE) and len(early) == 0


def test_held_reactions_are_bounded_oldest_message_first() -> None:
    early = EarlyReactions(max_events=3, max_age=120.0, clock=lambda: 0.0)
    for message in (1, 1, 2, 3):
        early.hold(event(ALICE, message))
    assert len(early) == 2  # message 1's two reactions made room
    assert not early.waiting(1) and early.waiting(2) and early.waiting(3)


# -- RatingService --------------------------------------------------------------------------


async def test_reactions_before_the_message_is_stored_are_applied_in_order(
    store: SqliteStore,
) -> None:
    service = RatingService(store)
    await service.reaction_added(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0], on_bot_message=True)
    await service.reaction_added(GUILD, ALICE, MESSAGE, DISLIKE_EMOJIS[0], on_bot_message=True)
    await service.reaction_added(GUILD, BOB, MESSAGE, LIKE_EMOJIS[1], on_bot_message=True)
    await service.reaction_removed(GUILD, BOB, MESSAGE, LIKE_EMOJIS[1])
    await service.join()
    assert service.held == 4 and await ratings(store) == {}

    await store.save_recommendation(recommendation())
    service.recommendation_saved(MESSAGE)
    await service.join()
    assert service.held == 0
    assert await ratings(store) == {(ALICE, "track1"): -1}
    # The rating remembers which message's reaction gave it.
    assert [r.user_id for r in await store.list_message_ratings(GUILD, MESSAGE)] == [ALICE]


async def test_a_later_reaction_applies_the_held_ones_first(store: SqliteStore) -> None:
    """Stored, but recommendation_saved not called yet: the next reaction catches up."""
    service = RatingService(store)
    await service.reaction_added(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0], on_bot_message=True)
    await service.join()
    await store.save_recommendation(recommendation())
    await service.reaction_removed(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0])
    await service.join()
    assert await ratings(store) == {} and service.held == 0
    service.recommendation_saved(MESSAGE)  # nothing left to apply
    await service.join()
    assert await ratings(store) == {}


async def test_what_is_never_held(store: SqliteStore) -> None:
    service = RatingService(store)
    # Another member's message (Discord says whose it is): never a recommendation.
    await service.reaction_added(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0], on_bot_message=False)
    # A removal with nothing held before it.
    await service.reaction_removed(GUILD, BOB, MESSAGE, LIKE_EMOJIS[0])
    # Not a rating emoji.
    await service.reaction_added(GUILD, BOB, MESSAGE, "🎉", on_bot_message=True)
    await service.join()
    assert service.held == 0


async def test_another_guild_cannot_rate_through_a_message_id(store: SqliteStore) -> None:
    service = RatingService(store)
    await service.reaction_added(OTHER_GUILD, BOB, MESSAGE, LIKE_EMOJIS[0], on_bot_message=True)
    await service.join()
    await store.save_recommendation(recommendation())
    service.recommendation_saved(MESSAGE)
    await service.join()
    assert await ratings(store, OTHER_GUILD) == {} and await ratings(store) == {}


async def test_a_busy_store_delays_a_rating_without_reordering(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save_recommendation(recommendation())
    service = RatingService(store)
    set_rating = store.set_rating
    refusals = [DatabaseLockedError(":memory:", "SQLite: database is locked") for _ in range(3)]

    async def busy_then_ok(*args: object, **kwargs: object) -> object:
        if refusals:
            raise refusals.pop()
        return await set_rating(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "set_rating", busy_then_ok)
    await service.reaction_added(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0], on_bot_message=True)
    await service.reaction_removed(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0])
    await service.reaction_added(GUILD, ALICE, MESSAGE, DISLIKE_EMOJIS[0], on_bot_message=True)
    await service.join()
    assert refusals == []
    assert await ratings(store) == {(ALICE, "track1"): -1}


async def test_a_rating_given_up_on_is_one_error_line(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await store.save_recommendation(recommendation())
    service = RatingService(store, busy_budget=0.2)

    async def always_busy(*args: object, **kwargs: object) -> object:
        raise DatabaseLockedError("bot.sqlite3", "SQLite: database is locked")

    monkeypatch.setattr(store, "set_rating", always_busy)
    await service.reaction_added(GUILD, ALICE, MESSAGE, LIKE_EMOJIS[0], on_bot_message=True)
    await service.join()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is None
    assert "was not stored" in errors[0].getMessage() and "locked" in errors[0].getMessage()
