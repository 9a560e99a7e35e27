"""retry_when_busy: a busy database makes work wait and try again, within a bound."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.store import SqliteStore
from bot.store.busy import is_busy, retry_when_busy
from bot.store.errors import DatabaseCorruptError, DatabaseLockedError
from tests.fake_time import FakeTime


def locked() -> DatabaseLockedError:
    return DatabaseLockedError("bot.sqlite3", "SQLite: database is locked [SQLITE_BUSY]")


def flaky(failures: list[BaseException], result: str = "stored"):
    """An operation that raises each of ``failures`` in turn, then returns ``result``."""
    calls: list[int] = []

    async def operation() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return operation, calls


async def test_busy_answers_are_retried_with_growing_pauses() -> None:
    time = FakeTime()
    operation, calls = flaky([locked() for _ in range(5)])
    result = await retry_when_busy(operation, what="a rating", sleep=time.sleep, clock=time)
    assert result == "stored" and len(calls) == 6
    assert len(time.sleeps) == 5
    # Exponential backoff with jitter in [0.5, 1] of the nominal pause.
    for n, pause in enumerate(time.sleeps):
        nominal = 0.05 * 2**n
        assert nominal / 2 <= pause <= nominal


async def test_pauses_are_capped() -> None:
    time = FakeTime()
    operation, _ = flaky([locked() for _ in range(12)])
    await retry_when_busy(operation, what="a rating", max_delay=1.0, sleep=time.sleep, clock=time)
    assert max(time.sleeps) <= 1.0


async def test_after_the_budget_the_last_busy_error_is_raised() -> None:
    time = FakeTime()
    operation, calls = flaky([locked() for _ in range(1000)])
    with pytest.raises(DatabaseLockedError):
        await retry_when_busy(operation, what="a rating", budget=10.0, sleep=time.sleep, clock=time)
    assert time.now <= 10.0
    assert len(calls) > 5  # it kept trying until the budget was spent


async def test_other_errors_are_not_retried() -> None:
    time = FakeTime()
    corrupt = DatabaseCorruptError("bot.sqlite3", "SQLite: file is not a database")
    operation, calls = flaky([corrupt])
    with pytest.raises(DatabaseCorruptError):
        await retry_when_busy(operation, what="a rating", sleep=time.sleep, clock=time)
    operation, calls = flaky([ValueError("a bug")])
    with pytest.raises(ValueError):
        await retry_when_busy(operation, what="a rating", sleep=time.sleep, clock=time)
    assert len(calls) == 1 and time.sleeps == []


def test_what_counts_as_busy() -> None:
    assert is_busy(locked())
    assert not is_busy(DatabaseCorruptError("x", "y"))
    assert is_busy(sqlite3.OperationalError("database is locked"))
    assert not is_busy(sqlite3.OperationalError("no such table: ratings"))
    assert not is_busy(RuntimeError("database is locked"))


async def test_one_warning_per_busy_episode_then_one_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    caplog.set_level(logging.INFO, logger="bot.store.busy")
    operation, _ = flaky([locked() for _ in range(3)])
    await retry_when_busy(operation, what="a rating", sleep=time.sleep, clock=time)
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.WARNING, logging.INFO]
    assert "busy" in caplog.records[0].getMessage()


async def test_a_real_lock_held_by_another_connection(tmp_path: Path) -> None:
    """Against a real file: another connection's write lock, released later."""
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path, busy_timeout_ms=50) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        attempts: list[int] = []

        async def operation() -> object:
            attempts.append(1)
            if len(attempts) == 3:
                other.execute("COMMIT")  # the other process finishes
            return await store.set_rating(1, 2, "track", 1)

        assert await retry_when_busy(operation, what="a rating") is None
        assert len(attempts) >= 3
        rating = await store.get_rating(1, 2, "track")
        assert rating is not None and rating.value == 1
        other.close()
