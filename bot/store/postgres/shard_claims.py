"""Which process runs which shard: PostgreSQL advisory locks on a connection of its own.

A process takes a session-level advisory lock ``(SHARD_LOCK_SPACE, shard_id)`` for
each shard it runs, and a shared one on ``(SHARD_COUNT_LOCK_SPACE, shard_count)``;
a shard another process holds, or a lock another process holds under a different
shard count (``pg_locks``), means the layout overlaps
(:class:`bot.infra.sharding.ShardClaims` says why that matters). Advisory locks
belong to one database and to the connection that took them, so the locks live on
a connection apart from the store's pool, and the server drops them with the
connection when the process ends, however it ends. A process restarted at once may
find its predecessor's locks for a moment (the server notices the closed connection
shortly after), so a taken shard is retried for :data:`PATIENCE` seconds before
start-up fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import asyncpg

from bot.infra.sharding import ShardsTakenError, format_shard_ids

log = logging.getLogger(__name__)

#: First keys of ``pg_try_advisory_lock(int, int)``; any fixed int4 ("shrd", "scnt").
SHARD_LOCK_SPACE = 0x7368_7264
SHARD_COUNT_LOCK_SPACE = 0x7363_6E74
#: Seconds a shard held by another process is waited for before start-up fails.
PATIENCE = 15.0
POLL = 0.5
APPLICATION_NAME = "playlist-recommender-bot-shards"  # in pg_stat_activity

_OTHER_COUNTS = """
SELECT DISTINCT objid::bigint
FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 2
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = $1::bigint::oid AND objid <> $2::bigint::oid
ORDER BY 1
"""


class PostgresShardClaims:
    """:class:`bot.infra.sharding.ShardClaims` on advisory locks of one PostgreSQL database."""

    def __init__(
        self, url: str, *, patience: float = PATIENCE, poll: float = POLL, timeout: float = 10.0
    ) -> None:
        """``url`` with its password (never logged)."""
        self._url = url
        self._patience = patience
        self._poll = poll
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def claim(self, shard_count: int, shard_ids: Sequence[int]) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._url,
                timeout=self._timeout,
                server_settings={"application_name": APPLICATION_NAME},
            )
        conn = self._conn
        deadline = time.monotonic() + self._patience
        await conn.execute(
            "SELECT pg_advisory_lock_shared($1, $2)", SHARD_COUNT_LOCK_SPACE, shard_count
        )
        waiting: list[int] = list(shard_ids)
        warned = False
        while True:
            rows = await conn.fetch(_OTHER_COUNTS, SHARD_COUNT_LOCK_SPACE, shard_count)
            others = [int(row[0]) for row in rows]
            if not others:
                waiting = [s for s in waiting if not await self._take(conn, s)]
                if not waiting:
                    return
            if time.monotonic() >= deadline:
                await self.close()
                raise ShardsTakenError(_message(shard_count, others, waiting))
            if not warned:
                problem = _message(shard_count, others, waiting)
                log.warning("%s; waiting up to %.0f s", problem, self._patience)
                warned = True
            await asyncio.sleep(self._poll)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(OSError, TimeoutError, asyncpg.PostgresError):
                await conn.close(timeout=5)

    @staticmethod
    async def _take(conn: asyncpg.Connection, shard_id: int) -> bool:
        return bool(
            await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", SHARD_LOCK_SPACE, shard_id)
        )


def _message(shard_count: int, other_counts: Sequence[int], taken: Sequence[int]) -> str:
    if other_counts:
        counts = ", ".join(str(c) for c in other_counts)
        return (
            f"another process on this database runs with SHARD_COUNT={counts}, this one with "
            f"{shard_count}; every process of a cluster needs the same SHARD_COUNT"
        )
    return (
        f"shards {format_shard_ids(taken)} of {shard_count} are already run by another "
        "process on this database; give each process its own SHARD_IDS"
    )
