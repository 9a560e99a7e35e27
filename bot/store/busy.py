"""Work that meets a busy database waits and tries again instead of failing.

Another process holding the write lock (a backup, a ``sqlite3`` shell with an open
transaction, a second copy of the bot during a deploy) makes SQLite answer
SQLITE_BUSY ("database is locked") once its ``busy_timeout`` has passed, which the
store raises as :class:`~bot.store.errors.DatabaseLockedError`; another backend
marks its own passing troubles the same way (``StorageError.transient``). A
member's rating must not be lost to that: :func:`retry_when_busy` runs the
operation again with exponential backoff for a bounded time, holding nothing
between attempts (so reads and other guilds' work go on), and only then gives up
by re-raising the last error for the caller to report.

The backoff has jitter so that writers that met the same lock do not all retry in
the same instant. One WARNING line says when writes start waiting, one INFO line
when they get through again: a lock held for a minute logs two lines, not one per
waiting write.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.store.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a write keeps trying by default, seconds.
DEFAULT_BUDGET = 60.0
#: The first pause after a busy answer, doubled after each further one up to MAX_DELAY.
FIRST_DELAY = 0.05
MAX_DELAY = 2.0

# Primary result codes from sqlite3.h (an aiosqlite error that escaped classification).
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says the database is busy for now (waiting can help)."""
    if isinstance(error, StorageError):
        return error.transient
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
        return "database is locked" in str(error)
    return False


class _Waiting:
    """How many operations are waiting for a busy database right now (for the log)."""

    count = 0
    waited = 0  # operations that waited during the current episode

    @classmethod
    def begin(cls, what: str, error: BaseException, budget: float) -> None:
        if cls.count == 0:
            cls.waited = 0
            log.warning(
                "the database is busy (%s); %s and other writes wait and retry for up to %.0f s",
                error,
                what,
                budget,
            )
        cls.count += 1
        cls.waited += 1

    @classmethod
    def end(cls, succeeded: bool, seconds: float) -> None:
        cls.count -= 1
        if cls.count == 0 and succeeded:
            log.info(
                "the database accepts writes again (%d writes waited, the last %.1f s)",
                cls.waited,
                seconds,
            )


async def retry_when_busy(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    budget: float = DEFAULT_BUDGET,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation`` (a fresh awaitable per call) until it is not refused as busy.

    Each call must be a whole transaction, safe to run again after a busy refusal
    (the store rolls a refused transaction back). Errors other than a busy
    database are raised at once. After ``budget`` seconds of busy answers the last
    one is raised. ``what`` names the work in the log ("a rating").
    """
    started = clock()
    delay = first_delay
    waiting = False
    succeeded = False
    try:
        while True:
            try:
                result = await operation()
            except Exception as error:
                if not is_busy(error):
                    raise
                pause = min(delay, max_delay) * random.uniform(0.5, 1.0)
                if clock() - started + pause > budget:
                    raise
                if not waiting:
                    waiting = True
                    _Waiting.begin(what, error, budget)
                await sleep(pause)
                delay *= 2
            else:
                succeeded = True
                return result
    finally:
        if waiting:
            _Waiting.end(succeeded, clock() - started)
