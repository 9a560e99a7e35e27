"""IDENTIFY slots shared by the processes of a cluster: a PostgreSQL advisory lock per key.

Discord lets a bot start ``max_concurrency`` shards per 5 seconds, one per
rate-limit key ``shard_id % max_concurrency``, whichever process starts them
(https://discord.com/developers/docs/events/gateway#sharding-max-concurrency).
Processes sharing one database take a session-level advisory lock
``(IDENTIFY_LOCK_SPACE, key)`` before a shard of that key IDENTIFYs and keep it for
the window (:class:`bot.infra.sharding.IdentifyPacer`), so two processes starting at
once take turns instead of one of them meeting an Invalid Session.

The locks live on one connection of their own, apart from the store's pool: a
session lock belongs to the connection that took it, and a pooled connection
goes back to others. Several shards of one process may wait at once (different
keys), so the lock is tried (``pg_try_advisory_lock``) every :data:`POLL` seconds
rather than waited for on the one connection. A process that dies loses its
connection and with it its locks: no slot stays taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)

#: First key of ``pg_try_advisory_lock(int, int)`` for IDENTIFY slots (the second is
#: the rate-limit key). Any fixed int4; this one spells "idfy" in ASCII.
IDENTIFY_LOCK_SPACE = 0x6964_6679
#: Seconds between two tries of a slot another process holds.
POLL = 0.2
APPLICATION_NAME = "playlist-recommender-bot-identify"  # in pg_stat_activity
#: What the database connection may raise when it fails (not a refused lock).
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresIdentifySlots:
    """:class:`bot.infra.sharding.IdentifySlots` on advisory locks of one PostgreSQL database.

    Connects on first use. When the database cannot be reached, :meth:`take`
    answers ``False`` (the pacer then paces this process alone) and logs a warning.
    """

    def __init__(self, url: str, *, poll: float = POLL, connect_timeout: float = 10.0) -> None:
        """``url`` with its password (never logged)."""
        self._url = url
        self._poll = poll
        self._connect_timeout = connect_timeout
        self._conn: asyncpg.Connection | None = None
        #: One statement at a time on the connection.
        self._query = asyncio.Lock()
        self._closed = False

    async def take(self, key: int) -> bool:
        """Wait until this process holds ``key``'s slot (``False``: not usable now)."""
        while not self._closed:
            try:
                async with self._query:
                    conn = await self._connection()
                    if await conn.fetchval(
                        "SELECT pg_try_advisory_lock($1, $2)", IDENTIFY_LOCK_SPACE, key
                    ):
                        return True
            except _CONNECTION_ERRORS as error:
                log.warning(
                    "cannot share IDENTIFY pacing through the database (%s); pacing this "
                    "process's shards alone, another process may start one at the same time",
                    type(error).__name__,
                )
                await self._drop()
                return False
            await asyncio.sleep(self._poll)
        return False

    async def give_back(self, key: int) -> None:
        """Release ``key``'s slot. A failure drops the connection, which releases it too."""
        try:
            async with self._query:
                if self._conn is not None and not self._conn.is_closed():
                    await self._conn.fetchval(
                        "SELECT pg_advisory_unlock($1, $2)", IDENTIFY_LOCK_SPACE, key
                    )
        except _CONNECTION_ERRORS:
            await self._drop()

    async def close(self) -> None:
        """Disconnect; the server releases every slot still held."""
        self._closed = True
        await self._drop()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._url,
                timeout=self._connect_timeout,
                server_settings={"application_name": APPLICATION_NAME},
            )
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await conn.close(timeout=5)
