"""SQLite: big writes in steps, a reader pool beside the writer, and crash safety.

``chunk_rows`` is made small so a few hundred rows take many steps; the code paths
are the ones a 243k-row CSV or a 50k-track playlist takes with the default of 5,000.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.store import PlaylistSource, SqliteStore, UncachedTracksError, sql_staging
from bot.store.rows import to_db_time
from tests.store_contract.views import catalogue_tracks, members
from tests.test_store_support import T0, assert_same_track, source, track

GUILD = 1001
STEP = 10


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(tmp_path / "bot.sqlite3", chunk_rows=STEP) as opened:
        yield opened


def count_rows(path: str, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def hidden_sources(path: str) -> int:
    with sqlite3.connect(path) as conn:
        query = f"SELECT count(*) FROM sources WHERE NOT {sql_staging.visible()}"
        return int(conn.execute(query).fetchone()[0])


def csv_source(key: str = "csv:0123456789abcdef", added_by: int = 111) -> PlaylistSource:
    return dataclasses.replace(source(GUILD, key, kind="csv", added_by=added_by), snapshot_id=None)


async def test_a_big_upload_lets_other_writes_through_between_its_steps(
    store: SqliteStore,
) -> None:
    finished: list[str] = []

    async def upload() -> None:
        await store.save_upload(csv_source(), [track(i) for i in range(400)])
        finished.append("upload")

    async def rate() -> None:
        await store.set_rating(GUILD, 7, "some-track", 1)
        finished.append("rating")

    task = asyncio.create_task(upload())
    # Once the upload has begun staging, a rating queues for the write lock: it waits
    # for one step (10 rows), not for the whole upload (80 steps and more).
    await wait_for(lambda: hidden_sources(store.path) == 1)
    await rate()
    await task
    assert finished == ["rating", "upload"]
    assert await members(store, GUILD, csv_source().key) == [track(i).id for i in range(400)]
    assert hidden_sources(store.path) == 0


async def test_a_read_does_not_wait_for_an_open_write(store: SqliteStore) -> None:
    await store.save_source(source(GUILD), [])
    # Hold the writer in the middle of a transaction: a read must still be answered.
    async with store._write():
        listed = await asyncio.wait_for(store.list_sources(GUILD), timeout=30)
    assert [s.key for s in listed] == [source(GUILD).key]


async def test_readers_see_every_committed_write(store: SqliteStore) -> None:
    for i in range(20):
        await store.set_rating(GUILD, i, "t", 1)
        assert len(await store.list_guild_ratings(GUILD)) == i + 1


async def test_a_big_refresh_swaps_membership_and_keeps_place_and_first_adder(
    store: SqliteStore,
) -> None:
    tracks = [track(i) for i in range(120)]
    await store.put_tracks(tracks)
    first = source(GUILD, "first", added_by=1)
    await store.save_source(first, [t.id for t in tracks[:50]])
    # Added a day later (sources list in the order they were first added).
    second = dataclasses.replace(source(GUILD, "second"), added_at=T0 + dt.timedelta(days=1))
    await store.save_source(second, [t.id for t in tracks[50:60]])

    later = dataclasses.replace(
        source(GUILD, "first", added_by=2, snapshot_id="snap-2"),
        added_at=T0 + dt.timedelta(days=30),
        display_name="Renamed",
    )
    refreshed = await store.save_source(later, [t.id for t in reversed(tracks)])
    assert (refreshed.added_by, refreshed.added_at, refreshed.track_count) == (1, T0, 120)
    assert refreshed.snapshot_id == "snap-2" and refreshed.display_name == "Renamed"
    assert [s.key for s in await store.list_sources(GUILD)] == ["first", "second"]
    assert await members(store, GUILD, "first") == [t.id for t in reversed(tracks)]
    catalogue = await store.load_guild_catalogue(GUILD)
    assert catalogue.memberships["first"] == [t.id for t in reversed(tracks)]
    assert [t.id for t in catalogue.tracks] == [t.id for t in reversed(tracks)]
    assert catalogue.sources_of(tracks[55].id) == ("first", "second")
    # The old membership is gone, not hidden: 120 + 10 rows.
    assert count_rows(store.path, "source_tracks") == 130
    assert hidden_sources(store.path) == 0


async def test_a_big_spotify_save_refuses_unknown_ids_before_writing(store: SqliteStore) -> None:
    await store.put_tracks([track(i) for i in range(30)])
    ids = [track(i).id for i in range(30)]
    with pytest.raises(UncachedTracksError) as caught:
        await store.save_source(source(GUILD), [*ids, "nope"])
    assert caught.value.missing == ["nope"]
    assert await store.count_sources(GUILD) == 0
    assert count_rows(store.path, "sources") == 0


async def test_a_failure_half_way_leaves_the_previous_upload_and_nothing_hidden(
    store: SqliteStore,
) -> None:
    before = [track(i) for i in range(25)]
    await store.save_upload(csv_source(), before)
    rows_before = count_rows(store.path, "uploaded_tracks")
    bad = dataclasses.replace(track(999), popularity=101)  # the schema refuses it
    with pytest.raises(sqlite3.IntegrityError):
        await store.save_upload(csv_source(), [track(i) for i in range(100, 160)] + [bad])
    assert await members(store, GUILD, csv_source().key) == [t.id for t in before]
    view = await catalogue_tracks(store, GUILD)
    assert_same_track(view[before[3].id], before[3])
    assert count_rows(store.path, "uploaded_tracks") == rows_before
    assert hidden_sources(store.path) == 0


async def test_a_cancelled_upload_leaves_the_previous_one(store: SqliteStore) -> None:
    before = [track(i) for i in range(30)]
    await store.save_upload(csv_source(), before)
    task = asyncio.create_task(
        store.save_upload(csv_source(), [track(i) for i in range(200, 1200)])
    )
    await wait_for(lambda: hidden_sources(store.path) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await members(store, GUILD, csv_source().key) == [t.id for t in before]
    # Wherever the cancel landed (even inside a step's BEGIN or COMMIT), the writer is
    # out of its transaction and the staged rows are deleted at once.
    assert count_rows(store.path, "uploaded_tracks") == 30
    assert hidden_sources(store.path) == 0
    await store.set_rating(GUILD, 7, "after", 1)  # and the writer still writes


async def test_what_a_killed_import_left_is_deleted_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path, chunk_rows=STEP) as store:
        await store.save_upload(csv_source(), [track(i) for i in range(15)])
        # What a process killed in the middle of a big write leaves: a staging row
        # with some members and uploads, and (after a swap) a retired one.
        old = dt.datetime.now(dt.UTC) - sql_staging_age()
        async with store._write() as db:
            staged = await sql_staging.create(db, csv_source(), "dead", to_db_time(old))
            await sql_staging.add_members(db, staged, 0, [track(i).id for i in range(40, 50)])
            young = await sql_staging.create(db, csv_source(), "alive", to_db_time(T0.now(dt.UTC)))
            retired = await sql_staging.create(db, csv_source(), "gone", to_db_time(old))
            await db.execute(
                "UPDATE sources SET source_key = ? WHERE source_id = ?",
                (sql_staging.RETIRED + "gone", retired),
            )
        assert hidden_sources(str(path)) == 3
        assert await store.count_sources(GUILD) == 1  # hidden rows are never seen
        assert len(await store.load_guild_catalogue(GUILD)) == 15
    async with SqliteStore.open(path, chunk_rows=STEP) as store:
        # The dead staging row and the retired one are gone; a young staging row may
        # belong to another process still writing, and stays.
        with sqlite3.connect(path) as conn:
            keys = [r[0] for r in conn.execute("SELECT source_key FROM sources ORDER BY 1")]
        assert keys == [csv_source().key, sql_staging.STAGING + "alive"]
        assert count_rows(str(path), "source_tracks") == 15
        assert young
        assert len(await store.load_guild_catalogue(GUILD)) == 15


async def test_removing_a_big_source_deletes_its_rows(store: SqliteStore) -> None:
    await store.save_upload(csv_source(), [track(i) for i in range(95)])
    await store.save_upload(csv_source("csv:other"), [track(i) for i in range(3)])
    assert await store.remove_source(GUILD, csv_source().key)
    assert not await store.remove_source(GUILD, csv_source().key)
    assert [s.key for s in await store.list_sources(GUILD)] == ["csv:other"]
    assert count_rows(store.path, "uploaded_tracks") == 3
    assert count_rows(store.path, "source_tracks") == 3
    assert hidden_sources(store.path) == 0


async def test_a_hidden_key_cannot_be_named_by_a_caller(store: SqliteStore) -> None:
    async with store._write() as db:
        await sql_staging.create(db, csv_source(), "x", "2999-01-01")
    hidden = sql_staging.STAGING + "x"
    assert await store.get_source(GUILD, hidden) is None
    assert not await store.remove_source(GUILD, hidden)
    assert await store.list_sources(GUILD) == []
    assert hidden_sources(store.path) == 1


async def test_a_big_batch_of_tracks_is_all_or_nothing(store: SqliteStore) -> None:
    await store.put_tracks([track(1)])
    batch = [track(i) for i in range(2, 60)]
    bad = dataclasses.replace(track(500), popularity=101)
    with pytest.raises(sqlite3.IntegrityError):
        await store.put_tracks([*batch, bad])
    assert await store.count_tracks() == 1
    # A later duplicate wins, as in a small batch.
    renamed = dataclasses.replace(track(7), name="Renamed")
    await store.put_tracks([*batch, renamed])
    assert await store.count_tracks() == 59
    assert (await store.get_tracks([track(7).id]))[track(7).id].name == "Renamed"


async def test_an_in_memory_store_reads_through_the_writer() -> None:
    async with SqliteStore.open(":memory:", chunk_rows=STEP) as store:
        await store.save_upload(csv_source(), [track(i) for i in range(35)])
        assert len(await store.load_guild_catalogue(GUILD)) == 35


def sql_staging_age() -> dt.timedelta:
    from bot.store.sqlite import STALE_STAGING

    return STALE_STAGING + dt.timedelta(minutes=1)


async def wait_for(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


async def test_the_cleanup_never_touches_a_visible_source(store: SqliteStore) -> None:
    # A cancel can land after the swap committed: the cleanup then finds the staged
    # row visible under the real key, and must leave it (and its rows) alone.
    await store.save_upload(csv_source(), [track(i) for i in range(25)])
    with sqlite3.connect(store.path) as conn:
        (source_id,) = conn.execute("SELECT source_id FROM sources").fetchone()
    async with store._write() as db:
        assert not await sql_staging.delete_some(db, source_id, STEP)
    assert await members(store, GUILD, csv_source().key) == [track(i).id for i in range(25)]
    assert count_rows(store.path, "uploaded_tracks") == 25
