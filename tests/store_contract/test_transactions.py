"""All-or-nothing writes, concurrency within and across processes, and restarts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.store import (
    DISLIKE,
    LIKE,
    DuplicateMessageError,
    RatingValue,
    RecommendationItem,
    RecommendationMessage,
    SqliteStore,
    Store,
    UncachedTracksError,
)
from bot.store.postgres import PostgresStore
from recommender.cache import TrackCache
from recommender.track import Track
from tests.store_contract.conftest import Backend
from tests.store_contract.views import members
from tests.test_store_support import T0, source, track


def test_the_interface_is_fully_implemented() -> None:
    # A backend that forgets a method cannot be instantiated.
    for backend in (SqliteStore, PostgresStore):
        assert not getattr(backend, "__abstractmethods__", frozenset()), backend
    assert {"get_tracks", "put_tracks", "load_guild_catalogue"} <= Store.__abstractmethods__


async def test_the_store_is_a_store_and_a_track_cache(store: Store) -> None:
    assert isinstance(store, Store)
    assert isinstance(store, TrackCache)


async def test_a_constraint_failure_half_way_through_a_batch_stores_none_of_it(
    store: Store, backend: Backend
) -> None:
    await store.put_tracks([track(1)])
    bad = Track(id="bad", name="x", popularity=101)
    with pytest.raises(backend.integrity_errors):
        await store.put_tracks([track(2), bad])
    assert set(await store.get_tracks([track(2).id, "bad"])) == set()
    assert await store.count_tracks() == 1


async def test_a_failed_refresh_keeps_the_previous_membership(
    store: Store, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracks = [track(i) for i in range(5)]
    await store.put_tracks(tracks)
    ids = [t.id for t in tracks]
    await store.save_source(source(1), ids[:3])

    # Unknown ids are refused before anything is written.
    with pytest.raises(UncachedTracksError) as caught:
        await store.save_source(source(1, snapshot_id="snap-2"), [*ids[3:], "nope"])
    assert caught.value.missing == ["nope"]

    # A failure after the old membership was deleted rolls everything back.
    async def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(backend.sql_module("sql_sources"), "get_source", explode)
    with pytest.raises(RuntimeError):
        await store.save_source(source(1, snapshot_id="snap-2"), ids[3:])
    monkeypatch.undo()

    assert await members(store, 1, source(1).key) == ids[:3]
    stored = await store.get_source(1, source(1).key)
    assert stored is not None
    assert (stored.snapshot_id, stored.track_count) == ("snap-1", 3)


async def test_concurrent_writers_do_not_share_a_transaction(store: Store) -> None:
    await asyncio.gather(
        *(store.set_rating(1, user, f"t{user % 7}", 1) for user in range(200)),
        *(store.put_tracks([track(i)]) for i in range(50)),
    )
    assert len(await store.list_guild_ratings(1)) == 200
    assert await store.count_tracks() == 50


async def test_everything_survives_a_restart(backend: Backend) -> None:
    tracks = [track(i) for i in range(10)]
    async with backend.open() as store:
        await store.put_tracks(tracks)
        await store.save_source(source(1), [t.id for t in tracks])
        await store.update_guild_settings(1, alpha=0.8)
        await store.save_recommendation(
            RecommendationMessage(
                1, 20, 30, 7, (tracks[0].id,), T0, (RecommendationItem(1, tracks[1].id, "1️⃣"),)
            )
        )
        await store.set_rating(1, 7, tracks[1].id, 1, at=T0)
        await store.mark_guild_left(2, at=T0)

    assert await backend.count_rows("tracks") == 10  # committed, not just in memory
    async with backend.open() as store:
        catalogue = await store.load_guild_catalogue(1)
        assert [t.id for t in catalogue.tracks] == [t.id for t in tracks]
        assert catalogue.tracks[3].features == tracks[3].features
        assert (await store.get_guild_settings(1)).alpha == 0.8
        stored = await store.get_recommendation(1, 30)
        assert stored is not None and stored.items[0].track_id == tracks[1].id
        assert [r.rating.value for r in await store.list_member_ratings(1, 7)] == [1]
        assert await store.purge_departed_guilds(older_than=dt.timedelta(0), now=T0) == [2]


# -- two processes on one database (two stores opened on the same target) -------------


async def test_replacing_one_rating_from_two_processes_reports_each_previous_value(
    backend: Backend,
) -> None:
    # Each call returns the value it replaced; with every change seen exactly once,
    # the answers chain: one call found nothing, every other found its predecessor.
    async with backend.open() as first, backend.open() as second:
        values: list[RatingValue] = [LIKE if i % 2 else DISLIKE for i in range(40)]
        stores = [first, second] * 20
        previous = await asyncio.gather(
            *(s.set_rating(5, 7, "shared", v) for s, v in zip(stores, values, strict=True))
        )
        assert previous.count(None) == 1
        final = await first.get_rating(5, 7, "shared")
        assert final is not None
        # Count transitions: every value written but the last was replaced once.
        written = sorted(values)
        replaced = sorted([p for p in previous if p is not None] + [final.value])
        assert replaced == written


async def test_refreshing_one_playlist_from_two_processes_never_mixes_memberships(
    backend: Backend,
) -> None:
    async with backend.open() as first, backend.open() as second:
        await first.put_tracks([track(i) for i in range(40)])
        versions = [[track(i).id for i in range(v, v + 10)] for v in range(0, 30, 3)]
        await asyncio.gather(
            *(
                (first if n % 2 else second).save_source(source(1, snapshot_id=f"s{n}"), ids)
                for n, ids in enumerate(versions)
            )
        )
        stored = await first.get_source(1, source(1).key)
        assert stored is not None and stored.snapshot_id is not None
        winner = versions[int(stored.snapshot_id[1:])]
        assert await members(second, 1, source(1).key) == winner
        assert stored.track_count == len(winner)


async def test_one_message_id_saved_by_two_processes_is_stored_once(backend: Backend) -> None:
    async with backend.open() as first, backend.open() as second:
        message = RecommendationMessage(
            1, 20, 30, 7, (), T0, (RecommendationItem(1, track(1).id, "1️⃣"),)
        )
        results = await asyncio.gather(
            *((first, second)[n % 2].save_recommendation(message) for n in range(6)),
            return_exceptions=True,
        )
        assert results.count(None) == 1
        assert all(isinstance(r, DuplicateMessageError) for r in results if r is not None)
        assert await backend.count_rows("rec_items") == 1


async def test_departed_guilds_purged_by_two_processes_are_purged_once(
    backend: Backend,
) -> None:
    async with backend.open() as first, backend.open() as second:
        for guild in range(1, 21):
            await first.set_rating(guild, 7, track(1).id, 1)
            await first.mark_guild_left(guild, at=T0)
        purged = await asyncio.gather(
            first.purge_departed_guilds(dt.timedelta(0), now=T0),
            second.purge_departed_guilds(dt.timedelta(0), now=T0),
        )
        assert sorted(purged[0] + purged[1]) == list(range(1, 21))
        assert not set(purged[0]) & set(purged[1])
        assert await backend.count_rows("ratings") == 0


# -- several processes on one database ------------------------------------------------


async def test_the_first_claim_of_a_periodic_job_is_granted(store: Store) -> None:
    # (PostgreSQL also refuses a second claim within the period: test_store_postgres.py.)
    assert await store.claim_job("purge-departed-guilds", dt.timedelta(hours=6), now=T0)


async def test_a_watch_for_other_processes_changes_opens_and_closes(store: Store) -> None:
    heard: list[int] = []

    async def changed(guild_id: int) -> None:
        heard.append(guild_id)

    async with await store.watch_guild_changes(changed):
        await store.update_guild_settings(1, alpha=0.4)  # this process's own change
    await store.update_guild_settings(1, alpha=0.5)
    assert (await store.get_guild_settings(1)).alpha == 0.5
    assert heard == []  # a process never hears its own changes
