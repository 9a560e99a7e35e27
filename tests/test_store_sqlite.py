"""The SQLite file itself: pragmas, migrations, transactions, schema guards.

What every backend must do (restarts, all-or-nothing writes, concurrency) is the
store contract in tests/store_contract/, which runs against this backend too.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.store import (
    LATEST_VERSION,
    SchemaTooNewError,
    SqliteStore,
    Store,
    StoreError,
)
from bot.store.migrations import MIGRATIONS, migrate
from recommender.cache import TrackCache
from recommender.track import Track
from tests.test_store_support import T0, source, track


def sidecar_files(path: Path) -> list[str]:
    """WAL/SHM files SQLite created beside the database (none if it never wrote)."""
    return sorted(p.name for p in path.parent.glob(f"{path.name}-*"))


async def test_open_creates_parent_directories_and_is_a_store(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    async with SqliteStore.open(path) as store:
        assert isinstance(store, Store)
        assert isinstance(store, TrackCache)
    assert path.is_file()


async def test_wal_foreign_keys_and_busy_timeout_are_on(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path, busy_timeout_ms=1234) as store:
        assert await store.pragma("journal_mode") == "wal"
        assert await store.pragma("foreign_keys") == 1
        assert await store.pragma("busy_timeout") == 1234
        assert await store.pragma("user_version") == LATEST_VERSION
        # Foreign keys are enforced, not merely declared: membership cannot point
        # at a source that does not exist.
        with pytest.raises(sqlite3.IntegrityError):
            async with store._write() as db:
                await db.execute(
                    "INSERT INTO source_tracks (source_id, position, track_id) VALUES (999, 0, 'x')"
                )
    # WAL is a property of the file: another connection sees it too.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_old_schema_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA foreign_keys = ON")
        assert await migrate(db, target=1) == 0
        await db.execute("INSERT INTO guilds (guild_id, created_at) VALUES (1, 'then')")
        await db.execute(
            "INSERT INTO ratings (guild_id, user_id, track_id, value, updated_at) "
            "VALUES (1, 7, 'abc', 1, '2025-01-01T00:00:00.000000+00:00')"
        )
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "guild_departures" not in tables

    async with SqliteStore.open(path) as store:
        assert await store.pragma("user_version") == LATEST_VERSION == len(MIGRATIONS)
        assert [r.value for r in await store.list_guild_ratings(1)] == [1]
        await store.mark_guild_left(1, at=T0)  # the v2 table works
        assert await store.purge_departed_guilds(older_than=dt.timedelta(0), now=T0) == [1]


async def test_newer_schema_is_refused_and_the_file_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE from_the_future (x)")
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    before = path.read_bytes()

    with pytest.raises(SchemaTooNewError) as caught:
        async with SqliteStore.open(path):
            pass
    error = caught.value
    assert (error.found, error.supported) == (LATEST_VERSION + 5, LATEST_VERSION)
    assert f"schema version {LATEST_VERSION + 5}" in str(error)
    assert f"up to {LATEST_VERSION}" in str(error)
    assert path.read_bytes() == before
    assert sidecar_files(path) == []


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="is corrupt"):
        await SqliteStore.connect(path)


async def test_a_failing_transaction_leaves_data_unchanged(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        await store.put_tracks([track(1)])
        with pytest.raises(RuntimeError):
            async with store._write() as db:
                await db.execute("DELETE FROM tracks")
                raise RuntimeError("boom")
        assert await store.count_tracks() == 1

        # A constraint failure half-way through a batch: none of the batch lands.
        bad = Track(id="bad", name="x", popularity=101)
        with pytest.raises(sqlite3.IntegrityError):
            await store.put_tracks([track(2), bad])
        assert set(await store.get_tracks(["track000000000000000002", "bad"])) == set()
        assert await store.count_tracks() == 1


async def test_in_memory_database_for_other_tests() -> None:
    async with SqliteStore.open(":memory:") as store:
        await store.put_tracks([track(1)])
        assert await store.count_tracks() == 1
        assert await store.pragma("foreign_keys") == 1


async def test_an_uploaded_row_cannot_belong_to_another_guilds_source(tmp_path: Path) -> None:
    # Moved from tests/test_store_uploads.py (the rest of it is the store contract).
    upload = Track(id=track(0).id, name="uploaded")
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        await store.save_upload(source(1001, "csv:a0", kind="csv", snapshot_id=None), [upload])
        async with store._read() as db:
            (source_id,) = next(iter(await db.execute_fetchall("SELECT source_id FROM sources")))
        with pytest.raises(sqlite3.IntegrityError):
            async with store._write() as db:
                await db.execute(
                    "INSERT INTO uploaded_tracks (guild_id, id, source_id, name, artists, "
                    "album, uploaded_at) VALUES (?, 'x', ?, 'x', '[]', '', 'now')",
                    (2002, source_id),
                )
        assert len(await store.load_guild_catalogue(2002)) == 0
