"""Recommendation messages, ratings, privacy and the guild lifecycle."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.store import (
    DISLIKE,
    LIKE,
    DuplicateMessageError,
    ForgetResult,
    GuildSettings,
    RatingCounts,
    RecommendationItem,
    RecommendationMessage,
    Store,
)
from tests.store_contract.conftest import Backend
from tests.test_store_support import T0, source, track

GUILD, OTHER = 1001, 2002
ALICE, BOB = 11, 22
EMOJI = ("1️⃣", "2️⃣", "3️⃣")


@pytest.fixture
async def store(store: Store) -> Store:
    """The backend's store with ten cached tracks."""
    await store.put_tracks([track(i) for i in range(10)])
    return store


def message(
    guild_id: int, message_id: int, user_id: int = ALICE, *, at: dt.datetime = T0
) -> RecommendationMessage:
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=555,
        message_id=message_id,
        user_id=user_id,
        seed_track_ids=(track(0).id,),
        created_at=at,
        items=tuple(
            RecommendationItem(position, track(position).id, emoji)
            for position, emoji in enumerate(EMOJI, start=1)
        ),
    )


# -- recommendation messages -----------------------------------------------------------


async def test_a_reaction_maps_to_a_track(store: Store) -> None:
    await store.save_recommendation(message(GUILD, 900))
    stored = await store.get_recommendation(GUILD, 900)
    assert stored == message(GUILD, 900)
    assert stored is not None
    assert [i for i in stored.items if i.emoji == "2️⃣"] == [RecommendationItem(2, track(2).id, "2️⃣")]
    assert await store.get_recommendation(GUILD, 901) is None
    with pytest.raises(DuplicateMessageError):
        await store.save_recommendation(message(GUILD, 900))


async def test_messages_are_only_visible_in_their_guild(store: Store) -> None:
    await store.save_recommendation(message(GUILD, 900))
    assert await store.get_recommendation(OTHER, 900) is None
    # Nor can another guild overwrite it.
    with pytest.raises(DuplicateMessageError):
        await store.save_recommendation(message(OTHER, 900))
    assert (await store.get_recommendation(GUILD, 900)) is not None


async def test_pruning_old_messages_in_every_guild(store: Store, backend: Backend) -> None:
    await store.save_recommendation(message(GUILD, 1, at=T0))
    newer = dataclass_items(message(GUILD, 2, at=T0 + dt.timedelta(hours=1)), [5, 1])
    await store.save_recommendation(newer)
    await store.save_recommendation(message(GUILD, 3, BOB))
    await store.save_recommendation(message(OTHER, 4, at=T0 - dt.timedelta(days=1)))
    cutoff = T0 + dt.timedelta(minutes=1)
    # Oldest first, at most the limit: the other guild's day-old message goes first.
    assert await store.prune_recommendations(created_before=cutoff, limit=1) == 1
    assert await store.get_recommendation(OTHER, 4) is None
    assert await store.get_recommendation(GUILD, 1) is not None
    assert await store.prune_recommendations(created_before=cutoff) == 2
    assert await store.prune_recommendations(created_before=cutoff) == 0
    assert [await store.get_recommendation(GUILD, i) is None for i in (1, 2, 3)] == [
        True,
        False,
        True,
    ]
    assert await backend.count_rows("rec_items") == 2  # the items went with them


def dataclass_items(msg: RecommendationMessage, numbers: list[int]) -> RecommendationMessage:
    items = tuple(
        RecommendationItem(p, track(n).id, EMOJI[p - 1]) for p, n in enumerate(numbers, 1)
    )
    return RecommendationMessage(
        msg.guild_id, msg.channel_id, msg.message_id, msg.user_id, (), msg.created_at, items
    )


# -- ratings ---------------------------------------------------------------------------


async def test_set_replace_and_remove_a_rating(store: Store) -> None:
    tid = track(1).id
    assert await store.set_rating(GUILD, ALICE, tid, LIKE) is None
    assert await store.set_rating(GUILD, ALICE, tid, DISLIKE) == LIKE  # changed mind
    rating = await store.get_rating(GUILD, ALICE, tid)
    assert rating is not None and rating.value == DISLIKE
    assert len(await store.list_guild_ratings(GUILD)) == 1

    # Removing the stale like reaction does not undo the newer dislike.
    assert not await store.remove_rating(GUILD, ALICE, tid, value=LIKE)
    assert await store.remove_rating(GUILD, ALICE, tid, value=DISLIKE)
    assert await store.get_rating(GUILD, ALICE, tid) is None
    assert not await store.remove_rating(GUILD, ALICE, tid)
    with pytest.raises(ValueError):
        await store.set_rating(GUILD, ALICE, tid, 2)  # type: ignore[arg-type]


async def test_member_ratings_newest_first_with_track_names(store: Store) -> None:
    for minutes, number in enumerate([3, 1, 2]):
        await store.set_rating(
            GUILD, ALICE, track(number).id, LIKE, at=T0 + dt.timedelta(minutes=minutes)
        )
    await store.set_rating(GUILD, ALICE, "not-cached", DISLIKE, at=T0 + dt.timedelta(hours=1))
    rated = await store.list_member_ratings(GUILD, ALICE)
    assert [r.name for r in rated] == ["not-cached", track(2).name, track(1).name, track(3).name]
    assert rated[0].track is None and rated[1].track == track(2)
    assert rated[1].track.features == track(2).features
    assert len(await store.list_member_ratings(GUILD, ALICE, limit=2)) == 2


async def test_counts_per_track(store: Store) -> None:
    for user in (1, 2, 3):
        await store.set_rating(GUILD, user, track(1).id, LIKE)
    await store.set_rating(GUILD, 4, track(1).id, DISLIKE)
    await store.set_rating(GUILD, 1, track(2).id, DISLIKE)
    await store.set_rating(OTHER, 1, track(1).id, LIKE)
    assert await store.count_ratings(GUILD) == {
        track(1).id: RatingCounts(likes=3, dislikes=1),
        track(2).id: RatingCounts(likes=0, dislikes=1),
    }
    many = [track(2).id, *(f"x{i}" for i in range(2000))]  # several IN chunks
    assert await store.count_ratings(GUILD, many) == {track(2).id: RatingCounts(0, 1)}


async def test_ratings_are_isolated_between_guilds(store: Store) -> None:
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE)
    await store.set_rating(OTHER, ALICE, track(1).id, DISLIKE)
    assert [r.value for r in await store.list_guild_ratings(GUILD)] == [LIKE]
    assert [r.rating.value for r in await store.list_member_ratings(OTHER, ALICE)] == [DISLIKE]
    await store.remove_rating(OTHER, ALICE, track(1).id)
    assert (await store.get_rating(GUILD, ALICE, track(1).id)) is not None
    assert await store.count_ratings(OTHER) == {}


# -- privacy and lifecycle -------------------------------------------------------------


async def test_forget_member_deletes_their_ratings_and_messages_here_only(
    store: Store,
) -> None:
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE)
    await store.set_rating(GUILD, ALICE, track(2).id, DISLIKE)
    await store.set_rating(GUILD, BOB, track(1).id, LIKE)
    await store.set_rating(OTHER, ALICE, track(1).id, LIKE)
    await store.save_recommendation(message(GUILD, 1, ALICE))
    await store.save_recommendation(message(GUILD, 2, BOB))
    await store.save_recommendation(message(OTHER, 3, ALICE))

    assert await store.forget_member(GUILD, ALICE) == ForgetResult(ratings=2, messages=1)
    assert await store.list_member_ratings(GUILD, ALICE) == []
    assert await store.get_recommendation(GUILD, 1) is None
    assert len(await store.list_guild_ratings(GUILD)) == 1  # Bob's
    assert await store.get_recommendation(GUILD, 2) is not None
    assert len(await store.list_member_ratings(OTHER, ALICE)) == 1
    assert await store.get_recommendation(OTHER, 3) is not None


async def test_purging_a_departed_guild_removes_everything_of_that_guild(
    store: Store, backend: Backend
) -> None:
    for guild in (GUILD, OTHER):
        await store.update_guild_settings(guild, alpha=0.9)
        await store.save_source(source(guild, "pl"), [track(1).id, track(2).id])
        await store.save_recommendation(message(guild, guild * 10))
        await store.set_rating(guild, ALICE, track(1).id, LIKE)

    await store.mark_guild_left(GUILD, at=T0)
    assert await store.purge_departed_guilds(dt.timedelta(0), now=T0) == [GUILD]

    assert await store.list_sources(GUILD) == []
    assert len(await store.load_guild_catalogue(GUILD)) == 0
    assert await store.get_guild_settings(GUILD) == GuildSettings()
    assert await store.get_recommendation(GUILD, GUILD * 10) is None
    assert await store.list_guild_ratings(GUILD) == []
    # Cascades really ran (no orphaned membership or items left in the database).
    assert await backend.count_rows("source_tracks") == 2
    assert await backend.count_rows("rec_items") == len(EMOJI)
    # The other guild and the shared cache are untouched.
    assert len(await store.load_guild_catalogue(OTHER)) == 2
    assert (await store.get_guild_settings(OTHER)).alpha == 0.9
    assert await store.count_tracks() == 10


async def test_departed_guilds_are_purged_after_the_grace_period(store: Store) -> None:
    grace = dt.timedelta(days=30)
    for guild in (1, 2, 3):
        await store.set_rating(guild, ALICE, track(1).id, LIKE)
    await store.mark_guild_left(1, at=T0)
    await store.mark_guild_left(1, at=T0 + dt.timedelta(days=20))  # first departure kept
    await store.mark_guild_left(2, at=T0)
    await store.mark_guild_left(3, at=T0 + dt.timedelta(days=10))
    assert await store.unmark_guild_left(2)  # the bot came back
    assert not await store.unmark_guild_left(2)

    assert await store.purge_departed_guilds(grace, now=T0 + dt.timedelta(days=29)) == []
    assert await store.purge_departed_guilds(grace, now=T0 + dt.timedelta(days=31)) == [1]
    assert await store.list_guild_ratings(1) == []
    assert len(await store.list_guild_ratings(2)) == 1
    assert len(await store.list_guild_ratings(3)) == 1
    assert await store.purge_departed_guilds(grace, now=T0 + dt.timedelta(days=41)) == [3]
    assert await store.purge_departed_guilds(grace, now=T0 + dt.timedelta(days=99)) == []


async def test_ties_are_ordered_by_the_bytes_of_track_ids(store: Store) -> None:
    # Byte order (SQLite's), whatever the database's collation: "B" < "Z9" < "_x" < "a".
    names = ["a", "_x", "Z9", "B"]
    for name in names:
        await store.set_rating(GUILD, ALICE, name, LIKE, at=T0)
        await store.set_rating(GUILD, BOB, name, DISLIKE, at=T0)
    expected = sorted(names, key=lambda n: n.encode())
    assert expected == ["B", "Z9", "_x", "a"]
    assert [r.rating.track_id for r in await store.list_member_ratings(GUILD, ALICE)] == expected
    assert [r.track_id for r in await store.list_guild_ratings(GUILD)] == expected * 2
