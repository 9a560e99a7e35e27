"""Several bot processes on one PostgreSQL database: change notices and job claims.

* Change notices. A write that changes what another process may hold in memory
  (a guild's sources, settings, departure) sends ``NOTIFY bot_guild_changed`` in its
  own transaction, so it is heard only if it commits, and in commit order. Each
  process listens on one dedicated connection and calls back for the guilds that
  *other* processes changed (a notice names the store that sent it).
* Job claims. ``claim_job`` lets one process run a periodic job (the purge of
  departed guilds, retention) once per period for the whole cluster: the claim is
  an upsert of the job's row that succeeds only when the last run is old enough,
  so of any number of processes asking at once exactly one gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

import asyncpg

from bot.store.interface import GuildChanged, GuildWatch

log = logging.getLogger(__name__)

CHANNEL = "bot_guild_changed"
LISTENER_NAME = "playlist-recommender-bot-listen"  # application_name, in pg_stat_activity
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # then every 30 s


async def notify_guild_changed(
    conn: asyncpg.Connection, origin: str, guild_ids: Iterable[int]
) -> None:
    """Tell the other processes (inside the caller's transaction: sent on commit)."""
    for guild_id in dict.fromkeys(guild_ids):
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{origin} {int(guild_id)}")


def parse_notice(payload: str) -> tuple[str, int] | None:
    """``(origin, guild_id)`` of a notice, or ``None`` for anything else on the channel."""
    origin, _, guild = payload.partition(" ")
    if not origin or not guild.isdigit():
        return None
    return origin, int(guild)


async def claim_job(
    conn: asyncpg.Connection, name: str, every: dt.timedelta, now: dt.datetime
) -> bool:
    """Record a run of ``name`` at ``now`` unless one ran less than ``every`` ago."""
    claimed = await conn.fetchval(
        """INSERT INTO cluster_jobs (name, last_run_at) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at
           WHERE cluster_jobs.last_run_at <= excluded.last_run_at - $3::interval
           RETURNING true""",
        name,
        now,
        every,
    )
    return bool(claimed)


class PostgresGuildWatch(GuildWatch):
    """Calls back for other processes' notices until closed; reconnects when the
    listening connection is lost (notices sent meanwhile are missed: a WARNING says
    when, so an operator knows a catalogue may be stale until its next change)."""

    def __init__(self, url: str, origin: str, callback: GuildChanged) -> None:
        """Prepare a watch; :meth:`start` connects."""
        self._url = url
        self._origin = origin
        self._callback = callback
        self._conn: asyncpg.Connection | None = None
        self._closing = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect and listen (raises the driver's error if the server is unreachable)."""
        conn = await asyncpg.connect(
            self._url, timeout=10, server_settings={"application_name": LISTENER_NAME}
        )
        await conn.add_listener(CHANNEL, self._heard)
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _heard(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        notice = parse_notice(payload)
        if notice is None or notice[0] == self._origin or self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._call(notice[1]))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, guild_id: int) -> None:
        try:
            await self._callback(guild_id)
        except Exception:
            log.exception("handling another process's change of guild %s failed", guild_id)

    def _lost(self, _conn: Any) -> None:
        if self._closing or self._reconnecting is not None:
            return
        log.warning("lost the database connection that hears other processes' changes")
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._closing:
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
            await asyncio.sleep(delay)
            try:
                await self.start()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                attempt += 1
                log.debug("listening again failed (%s); retrying", error)
                continue
            log.warning(
                "listening for other processes' changes again; changes made while "
                "disconnected were missed"
            )
            break
        self._reconnecting = None

    async def close(self) -> None:
        """Stop listening and wait for callbacks already running."""
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                await self._conn.remove_listener(CHANNEL, self._heard)
            await self._conn.close()
        await asyncio.gather(*self._calls, return_exceptions=True)
