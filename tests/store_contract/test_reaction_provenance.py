"""Which message's reaction gave a rating, and the recent messages to reconcile.

The store methods behind reconciling reactions after a restart (bot.reconcile).
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.infra.sharding import ShardLayout
from bot.store import DISLIKE, LIKE, Store
from tests.store_contract.test_ratings import ALICE, BOB, GUILD, OTHER, message
from tests.test_store_support import T0, track


@pytest.fixture
async def store(store: Store) -> Store:
    """The backend's store with ten cached tracks."""
    await store.put_tracks([track(i) for i in range(10)])
    return store


async def test_a_rating_remembers_the_message_whose_reaction_gave_it(store: Store) -> None:
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE, message_id=900)
    await store.set_rating(GUILD, BOB, track(1).id, DISLIKE, message_id=900)
    await store.set_rating(GUILD, ALICE, track(2).id, LIKE)  # not from a reaction
    from_900 = await store.list_message_ratings(GUILD, 900)
    assert [(r.user_id, r.track_id, r.value) for r in from_900] == [
        (ALICE, track(1).id, LIKE),
        (BOB, track(1).id, DISLIKE),
    ]
    # Another guild asking about the same message id sees nothing.
    assert await store.list_message_ratings(OTHER, 900) == []
    assert await store.list_message_ratings(GUILD, 901) == []


async def test_a_later_rating_takes_over_the_message(store: Store) -> None:
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE, message_id=900)
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE, message_id=901)
    assert await store.list_message_ratings(GUILD, 900) == []
    assert len(await store.list_message_ratings(GUILD, 901)) == 1
    await store.set_rating(GUILD, ALICE, track(1).id, DISLIKE)  # e.g. an import
    assert await store.list_message_ratings(GUILD, 901) == []


async def test_removing_only_what_that_message_gave(store: Store) -> None:
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE, message_id=901)
    # A reaction gone from message 900 must not remove what message 901 gave.
    assert not await store.remove_rating(GUILD, ALICE, track(1).id, value=LIKE, message_id=900)
    assert not await store.remove_rating(GUILD, ALICE, track(1).id, value=DISLIKE, message_id=901)
    assert await store.get_rating(GUILD, ALICE, track(1).id) is not None
    assert await store.remove_rating(GUILD, ALICE, track(1).id, value=LIKE, message_id=901)
    assert await store.get_rating(GUILD, ALICE, track(1).id) is None


async def test_recent_messages_of_every_guild_newest_first(store: Store) -> None:
    for minutes, (guild, message_id) in enumerate([(GUILD, 1), (OTHER, 2), (GUILD, 3)]):
        await store.save_recommendation(
            message(guild, message_id, at=T0 + dt.timedelta(minutes=minutes))
        )
    recent = await store.list_recent_recommendations(T0, limit=10)
    # Created strictly after the cutoff: message 1 (created at T0) is out.
    assert [m.message_id for m in recent] == [3, 2]
    assert recent[0] == message(GUILD, 3, at=T0 + dt.timedelta(minutes=2))
    assert recent[1].guild_id == OTHER and len(recent[1].items) == 3
    newest = await store.list_recent_recommendations(T0 - dt.timedelta(days=1), limit=1)
    assert [m.message_id for m in newest] == [3]
    assert await store.list_recent_recommendations(T0 + dt.timedelta(hours=1), limit=10) == []


def guild_on_shard(shard: int, shard_count: int = 4, n: int = 0) -> int:
    """A guild id (a snowflake) that Discord routes to ``shard`` of ``shard_count``."""
    return ((shard + n * shard_count) << 22) | 1234


async def test_recent_messages_of_a_cluster_process_are_those_of_its_shards(store: Store) -> None:
    # Eight guilds, two on each of four shards; one message each, newest last.
    guilds = [guild_on_shard(shard, n=n) for n in range(2) for shard in range(4)]
    for minutes, guild in enumerate(guilds):
        await store.save_recommendation(
            message(guild, 100 + minutes, at=T0 + dt.timedelta(minutes=minutes + 1))
        )
    mine = ShardLayout(4, (0, 2))
    recent = await store.list_recent_recommendations(T0, limit=10, shards=mine)
    assert [m.message_id for m in recent] == [106, 104, 102, 100]
    assert all(mine.owns(m.guild_id) for m in recent) and len(recent[0].items) == 3
    # The limit counts this process's messages only: the newest two of its own.
    newest = await store.list_recent_recommendations(T0, limit=2, shards=ShardLayout(4, (3,)))
    assert [m.message_id for m in newest] == [107, 103]
    # Every shard, or no ids: every guild.
    for every in (ShardLayout(4, (0, 1, 2, 3)), ShardLayout(4), ShardLayout(), None):
        everything = await store.list_recent_recommendations(T0, limit=10, shards=every)
        assert [m.message_id for m in everything] == list(range(107, 99, -1))
    # Guild ids near the top of the snowflake range route like any other.
    top = (2**63 - 1) >> 22 << 22
    await store.save_recommendation(message(top, 200, at=T0 + dt.timedelta(hours=1)))
    shard = (top >> 22) % 4
    only_top = await store.list_recent_recommendations(
        T0 + dt.timedelta(minutes=30), limit=10, shards=ShardLayout(4, (shard,))
    )
    assert [m.message_id for m in only_top] == [200]
