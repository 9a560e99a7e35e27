"""Retention (bot.retention): old recommendation messages and unused cached tracks go;
ratings, playlists' tracks and what recent messages name stay; once per cluster."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.services.retention import Pruned, RetentionPolicy, prune, run_retention
from bot.store import LIKE, RecommendationItem, RecommendationMessage, Store
from bot.store.postgres import PostgresStore
from tests.store_contract.conftest import Backend
from tests.test_store_support import T0, source, track

GUILD, OTHER = 1001, 2002
ALICE = 11
NOW = T0 + dt.timedelta(days=400)
POLICY = RetentionPolicy(recommendation_days=180, track_cache_days=90)
OLD = NOW - dt.timedelta(days=200)  # past both settings
RECENT = NOW - dt.timedelta(days=10)  # within both


def posted(guild_id: int, message_id: int, numbers: list[int], at: dt.datetime):
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=555,
        message_id=message_id,
        user_id=ALICE,
        seed_track_ids=(),
        created_at=at,
        items=tuple(
            RecommendationItem(position, track(n).id, f"{position}\N{COMBINING ENCLOSING KEYCAP}")
            for position, n in enumerate(numbers, start=1)
        ),
    )


async def _a_year_of_use(store: Store) -> None:
    """Tracks 0-9 fetched long ago, 10-11 lately; what refers to which is below."""
    await store.put_tracks([track(i) for i in range(10)], at=OLD)
    await store.put_tracks([track(10), track(11)], at=RECENT)
    await store.save_source(source(GUILD), [track(0).id])  # 0: in a playlist
    await store.save_upload(
        source(GUILD, "csv:ab", kind="csv", snapshot_id=None), [track(9)]
    )  # 9: uploaded (a playlist of the guild names the id: its upstream row stays too)
    # Old messages in two guilds: 1, 2, 3 named only by them; Alice liked 1 by reaction.
    await store.save_recommendation(posted(GUILD, 100, [1, 2], OLD))
    await store.save_recommendation(posted(OTHER, 200, [3], OLD - dt.timedelta(days=1)))
    await store.set_rating(GUILD, ALICE, track(1).id, LIKE, at=OLD, message_id=100)
    await store.save_recommendation(posted(GUILD, 101, [4], RECENT))  # 4: a recent message
    await store.set_rating(OTHER, ALICE, track(5).id, LIKE, at=OLD)  # 5: rated
    # 6, 7, 8: nothing refers to them; 10, 11: unused but fetched lately.


async def test_old_messages_and_unused_tracks_go_ratings_and_references_stay(
    store: Store, backend: Backend
) -> None:
    await _a_year_of_use(store)

    # batch=2: several short deletes, as with a big database.
    assert await prune(store, POLICY, now=NOW, batch=2) == Pruned(messages=2, tracks=5)

    assert await store.get_recommendation(GUILD, 100) is None
    assert await store.get_recommendation(OTHER, 200) is None
    assert await store.get_recommendation(GUILD, 101) is not None
    assert await backend.count_rows("rec_items") == 1
    # The rating a pruned message's reaction gave is kept, and so is its track.
    rating = await store.get_rating(GUILD, ALICE, track(1).id)
    assert rating is not None and rating.value == LIKE
    assert [r.track_id for r in await store.list_guild_ratings(OTHER)] == [track(5).id]
    left = await store.get_tracks([track(i).id for i in range(12)])
    assert sorted(left) == [track(i).id for i in (0, 1, 4, 5, 9, 10, 11)]
    # The upload is the guild's own, not the cache's: untouched.
    catalogue = await store.load_guild_catalogue(GUILD)
    assert {t.id for t in catalogue.tracks} == {track(0).id, track(9).id}
    assert catalogue.upload_source(track(9).id) == "csv:ab"

    assert await prune(store, POLICY, now=NOW) == Pruned()  # nothing left to do


async def test_zero_days_keeps_forever(store: Store) -> None:
    await _a_year_of_use(store)
    assert await prune(store, RetentionPolicy(0, 0), now=NOW) == Pruned()
    assert await prune(store, RetentionPolicy(0, 90), now=NOW) == Pruned(tracks=3)  # 6, 7, 8
    assert await store.get_recommendation(OTHER, 200) is not None
    assert await prune(store, RetentionPolicy(180, 0), now=NOW) == Pruned(messages=2)
    assert await store.count_tracks() == 9


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetentionPolicy(recommendation_days=-1, track_cache_days=90)


async def test_a_scheduled_run_prunes(store: Store) -> None:
    await _a_year_of_use(store)
    assert await run_retention(store, POLICY, now=NOW) == Pruned(messages=2, tracks=5)


async def test_processes_sharing_postgresql_run_it_once_per_interval(postgres_url: str) -> None:
    async with (
        PostgresStore.open(postgres_url) as first,
        PostgresStore.open(postgres_url) as second,
    ):
        await _a_year_of_use(first)
        runs = await asyncio.gather(
            run_retention(first, POLICY, now=NOW), run_retention(second, POLICY, now=NOW)
        )
        assert sorted(runs, key=lambda r: r is None) == [Pruned(messages=2, tracks=5), None]
        # Within the interval nobody runs it again; a day later one process does.
        assert await run_retention(first, POLICY, now=NOW + dt.timedelta(hours=1)) is None
        assert await run_retention(second, POLICY, now=NOW + dt.timedelta(hours=1)) is None
        assert await run_retention(second, POLICY, now=NOW + dt.timedelta(days=1)) == Pruned()
