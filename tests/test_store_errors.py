"""Storage errors are classified from SQLite's own codes, in the store's every call."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from bot.render.storage_replies import ADMIN_FALLBACK, ADMIN_REPLIES, MEMBER_REPLY, storage_reply
from bot.store import SqliteStore, StoreError
from bot.store.errors import (
    DatabaseCorruptError,
    DatabaseFullError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    StorageError,
    classify,
)
from tests.storage_faults import Fingerprint, corrupt_table_root_page, sidecar_files
from tests.test_store_support import source, track


def _sqlite_error(statement: str, setup: tuple[str, ...] = ()) -> sqlite3.Error:
    conn = sqlite3.connect(":memory:")
    for line in setup:
        conn.execute(line)
    try:
        conn.execute(statement)
    except sqlite3.Error as error:
        return error
    finally:
        conn.close()
    raise AssertionError(f"{statement!r} did not fail")


def test_sqlite_codes_map_to_the_problem_an_operator_fixes() -> None:
    read_only = _sqlite_error(
        "INSERT INTO t VALUES (1)", ("CREATE TABLE t (x)", "PRAGMA query_only = 1")
    )
    assert isinstance(classify(read_only, "db"), DatabaseReadOnlyError)

    full = _sqlite_error(
        "INSERT INTO t SELECT randomblob(100000)",
        ("CREATE TABLE t (x)", "PRAGMA max_page_count = 3"),
    )
    error = classify(full, "/srv/bot.sqlite3")
    assert isinstance(error, DatabaseFullError)
    assert str(error).startswith("database /srv/bot.sqlite3 cannot grow, the disk is full")
    assert "SQLITE_FULL" in str(error) and "free space" in str(error)


def test_errors_that_are_not_about_the_file_stay_as_they_are() -> None:
    constraint = _sqlite_error(
        "INSERT INTO t VALUES (1)", ("CREATE TABLE t (x PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    )
    assert classify(constraint, "db") is None
    assert classify(_sqlite_error("SELEC 1"), "db") is None
    assert classify(ValueError("x"), "db") is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (errno.EACCES, DatabaseReadOnlyError),
        (errno.EROFS, DatabaseReadOnlyError),
        (errno.ENOSPC, DatabaseFullError),
        (errno.ENOTDIR, DatabaseUnavailableError),
    ],
)
def test_os_errors_on_the_path_are_classified(code: int, kind: type[StorageError]) -> None:
    error = classify(OSError(code, "boom", "/srv/data"), "/srv/data/bot.sqlite3")
    assert isinstance(error, kind)
    assert "boom: /srv/data" in str(error)


async def test_a_corrupt_page_fails_the_read_as_corrupt_not_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path) as store:
        await store.put_tracks([track(i) for i in range(1, 60)])
        await store.save_source(source(1, "p1"), [track(i).id for i in range(1, 60)])
    corrupt_table_root_page(path, "tracks")
    async with SqliteStore.open(path) as store:  # the header and schema are intact
        with pytest.raises(DatabaseCorruptError, match="is corrupt"):
            await store.load_guild_catalogue(1)
        # The error is a StoreError: callers that catch the store's errors see it.
        with pytest.raises(StoreError):
            await store.get_tracks([track(1).id])


async def test_a_full_disk_fails_the_write_and_keeps_the_data(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        await store.put_tracks([track(1)])
        pages = await store.pragma("page_count")
        await store._db.execute(f"PRAGMA max_page_count = {int(pages):d}")
        with pytest.raises(DatabaseFullError):
            await store.put_tracks([track(i) for i in range(2, 400)])
        assert await store.count_tracks() == 1  # rolled back, the store still works


async def test_a_locked_file_is_named_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = Fingerprint.of(path)
        with pytest.raises(DatabaseLockedError, match="is locked by another process"):
            await SqliteStore.connect(path, busy_timeout_ms=50)
        assert Fingerprint.of(path) == before
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_path_that_is_a_directory_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.mkdir()
    with pytest.raises(DatabaseUnavailableError, match="cannot be opened"):
        await SqliteStore.connect(path)
    assert sidecar_files(path) == []


def test_members_hear_to_wait_and_admins_hear_what_to_ask_for() -> None:
    full = DatabaseFullError("db", "x")
    assert storage_reply(full, admin=False) == MEMBER_REPLY
    assert "disk is full" in storage_reply(full, admin=True)
    assert "operator" in storage_reply(full, admin=True)
    assert "read-only" in storage_reply(DatabaseReadOnlyError("db", "x"), admin=True)
    assert storage_reply(DatabaseUnavailableError("db", "x"), admin=True) == ADMIN_FALLBACK
    for text in [*ADMIN_REPLIES.values(), MEMBER_REPLY, ADMIN_FALLBACK]:
        assert len(text) < 200 and "\n" not in text
