"""The PostgreSQL backend: a connection pool, one transaction per call, row locks.

For a bot that outgrows one process: several processes (shards) share one
database. Compared with :class:`~bot.store.sqlite.SqliteStore`:

* Concurrency. SQLite serialises every call on one connection behind a process
  lock. Here each call takes a pooled connection (``pool_size`` at most) and runs
  in its own transaction; what must not interleave takes a row lock: the
  source's row during a refresh, the guild's settings row while it is changed,
  the rating being replaced, the guild row (``FOR KEY SHARE``) against a purge.
  A deadlock or serialization failure retries the whole call.
* Snapshots. A read of several queries (the guild catalogue, a message with its
  items) runs in one ``REPEATABLE READ READ ONLY`` transaction, so it sees one
  state of the database, as SQLite's deferred transaction does.
* Time limits. Every statement is cancelled by the server after
  ``statement_timeout`` seconds (the migrations excepted).
* Migrations are by schema version (:mod:`bot.store.postgres.migrations`); a
  database written by a newer bot is refused before anything is written.

Open with ``async with PostgresStore.open(url) as store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.infra.sharding import IdentifySlots, ShardClaims, ShardLayout
from bot.store.errors import SchemaTooNewError, StoreError
from bot.store.guild_settings import GuildSettings
from bot.store.interface import GuildChanged, GuildWatch, Store
from bot.store.models import (
    ForgetResult,
    PlaylistSource,
    RatedTrack,
    Rating,
    RatingCounts,
    RatingValue,
    RecommendationMessage,
    StoredCatalogue,
)
from bot.store.postgres import (
    sql_guilds,
    sql_messages,
    sql_ratings,
    sql_sources,
    sql_tracks,
)
from bot.store.postgres.cluster import PostgresGuildWatch, claim_job, notify_guild_changed
from bot.store.postgres.errors import (
    DatabaseServerUnavailableError,
    classify,
    server_errors,
)
from bot.store.postgres.identify import PostgresIdentifySlots
from bot.store.postgres.migrations import LATEST_VERSION, migrate, schema_version
from bot.store.postgres.rows import aware
from bot.store.postgres.shard_claims import PostgresShardClaims
from bot.store.rows import utcnow
from recommender.track import Track

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[asyncpg.Connection], Awaitable[T]]

APPLICATION_NAME = "playlist-recommender-bot"  # in pg_stat_activity
DEFAULT_POOL_SIZE = 10
DEFAULT_STATEMENT_TIMEOUT = 30.0  # seconds
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds
CLOSE_TIMEOUT = 10.0  # seconds to let running calls finish before closing anyway
RETRY_ATTEMPTS = 3
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def redact_url(url: str) -> str:
    """``url`` without its password, fit for logs and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable database URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _scrub(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (for messages that may quote it)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text


def _lost(error: BaseException, where: str) -> bool:
    """Whether ``error`` means the connection (not the statement) failed."""
    return isinstance(classify(error, where), DatabaseServerUnavailableError)


def _at(value: dt.datetime | None) -> dt.datetime:
    return aware(value) if value is not None else utcnow()


class PostgresStore(Store):
    """:class:`~bot.store.interface.Store` on PostgreSQL (see the module docs)."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        """Wrap an open pool on a migrated database; use :meth:`open` or :meth:`connect`."""
        self._pool = pool
        self._dsn = url  # with the password: for the change listener's own connection
        self.url = redact_url(url)
        # Names this store in its change notices, so it does not hear its own.
        self.origin = uuid.uuid4().hex[:16]

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> AsyncIterator[PostgresStore]:
        """Connect (see :meth:`connect`) and close on exit."""
        store = await cls.connect(
            url,
            pool_size=pool_size,
            statement_timeout=statement_timeout,
            connect_timeout=connect_timeout,
        )
        try:
            yield store
        finally:
            await store.close()

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> PostgresStore:
        """Open a pool of at most ``pool_size`` connections and migrate the database.

        ``statement_timeout`` (seconds, 0 = none) bounds every statement on the
        server. Raises :class:`SchemaTooNewError` for a database written by a newer
        bot and a :class:`~bot.store.errors.StorageError` when the server cannot be
        reached or refuses the login; no message contains the password.
        """
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        if statement_timeout < 0:
            raise ValueError("statement_timeout must not be negative")
        where = redact_url(url)
        try:
            with server_errors(where):
                pool = await asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=pool_size,
                    timeout=connect_timeout,
                    server_settings={
                        "statement_timeout": str(round(statement_timeout * 1000)),
                        "application_name": APPLICATION_NAME,
                        "TimeZone": "UTC",
                    },
                )
        except (ValueError, asyncpg.ClientConfigurationError) as error:
            # Raised while parsing the URL: its text may quote any part of it.
            detail = _scrub(str(error), url) if isinstance(error, asyncpg.InterfaceError) else ""
            raise StoreError(
                "DATABASE_URL is not a usable postgresql://user:password@host:port/database "
                "URL" + (f" ({detail})" if detail else "") + "; characters such as @ : / in "
                "the password must be percent-encoded"
            ) from None
        try:
            with server_errors(where):
                async with pool.acquire() as conn:
                    version = await schema_version(conn)
                    if version > LATEST_VERSION:
                        raise SchemaTooNewError(where, version, LATEST_VERSION)
                    old = await migrate(conn)
            if old != LATEST_VERSION:
                log.info("database %s upgraded from schema %d to %d", where, old, LATEST_VERSION)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url)

    async def close(self) -> None:
        """Close the pool, letting running calls finish (for a while)."""
        try:
            await asyncio.wait_for(self._pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("database calls still running after %.0f s; closing anyway", CLOSE_TIMEOUT)
            self._pool.terminate()

    @property
    def pool_size(self) -> int:
        """The most connections this store opens."""
        return int(self._pool.get_max_size())

    async def schema_version(self) -> int:
        """The schema version of the database (diagnostics, ``python -m bot check``)."""
        return await self._read(schema_version)

    # -- transactions ----------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; when one lost its server, every pooled connection is
        replaced before its next use.

        (After e.g. an administrator's shutdown asyncpg may still think such a
        connection is busy; the pool replaces a closed one on the next acquire.)
        """
        async with self._pool.acquire() as conn:
            try:
                yield conn
            except BaseException as error:
                if _lost(error, self.url):
                    # Already detached from the pool when asyncpg saw the loss first.
                    with contextlib.suppress(asyncpg.InterfaceError):
                        conn.terminate()
                    # One connection lost its server: the others most likely too (a
                    # restart, a failover). Replace them all rather than fail once each.
                    await self._pool.expire_connections()
                raise

    async def _run(self, work: Work[T], *, isolation: str | None, readonly: bool) -> T:
        """Run ``work`` on a pooled connection, in a transaction unless ``isolation``
        is ``None``; retry what can safely be retried.

        A deadlock or serialization failure rolled the transaction back: run it
        again. A lost connection (the server restarted, a failover) is retried once
        for reads only: a write lost at COMMIT may have been applied.
        """
        lost_once = False
        with server_errors(self.url):
            for attempt in range(1, RETRY_ATTEMPTS + 1):
                try:
                    async with self._connection() as conn:
                        if isolation is None:
                            return await work(conn)
                        async with conn.transaction(isolation=isolation, readonly=readonly):
                            return await work(conn)
                except _RETRYABLE as error:
                    if attempt == RETRY_ATTEMPTS:
                        raise
                    log.info("retrying a database call after %s", type(error).__name__)
                except Exception as error:
                    if not (readonly and not lost_once and _lost(error, self.url)):
                        raise
                    lost_once = True
                    log.warning("database connection lost (%s); reading again", error)
        raise AssertionError("unreachable")

    def _write(self, work: Work[T]) -> Awaitable[T]:
        """Run ``work`` in a read-committed transaction (row locks do the rest)."""
        return self._run(work, isolation="read_committed", readonly=False)

    def _snapshot(self, work: Work[T]) -> Awaitable[T]:
        """Run ``work`` in one read-only snapshot (reads of several queries)."""
        return self._run(work, isolation="repeatable_read", readonly=True)

    def _read(self, work: Work[T]) -> Awaitable[T]:
        """Run ``work`` (one read-only statement) outside any explicit transaction."""
        return self._run(work, isolation=None, readonly=True)

    def _write_guild(self, guild_id: int, work: Work[T]) -> Awaitable[T]:
        """:meth:`_write`, telling the other processes the guild changed (on commit)."""

        async def notifying(conn: asyncpg.Connection) -> T:
            result = await work(conn)
            await notify_guild_changed(conn, self.origin, [guild_id])
            return result

        return self._write(notifying)

    # -- several processes on one database -------------------------------------------

    async def watch_guild_changes(self, callback: GuildChanged) -> GuildWatch:
        watch = PostgresGuildWatch(self._dsn, self.origin, callback)
        with server_errors(self.url):
            await watch.start()
        return watch

    async def claim_job(
        self, name: str, every: dt.timedelta, *, now: dt.datetime | None = None
    ) -> bool:
        when = _at(now)
        claimed = await self._write(lambda c: claim_job(c, name, every, when))
        if claimed:
            # Which process ran a cluster job, in its own log.
            log.info("this process runs the job %r for every process on this database", name)
        return claimed

    def identify_slots(self) -> IdentifySlots:
        """Advisory locks on a connection of their own (bot.store.postgres.identify)."""
        return PostgresIdentifySlots(self._dsn)

    def shard_claims(self) -> ShardClaims:
        """Advisory locks on a connection of their own (bot.store.postgres.shard_claims)."""
        return PostgresShardClaims(self._dsn)

    # -- track cache -----------------------------------------------------------------

    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        return await self._read(lambda c: sql_tracks.get_tracks(c, track_ids))

    async def put_tracks(self, tracks: Sequence[Track], *, at: dt.datetime | None = None) -> None:
        await self._write(lambda c: sql_tracks.put_tracks(c, tracks, _at(at)))

    async def count_tracks(self) -> int:
        return await self._read(sql_tracks.count_tracks)

    async def prune_tracks(self, fetched_before: dt.datetime, *, limit: int | None = None) -> int:
        cutoff = aware(fetched_before)
        return await self._write(lambda c: sql_tracks.prune_tracks(c, cutoff, limit))

    # -- guild settings --------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        return await self._read(lambda c: sql_guilds.get_settings(c, guild_id))

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        GuildSettings().replace(**changes)  # unknown names fail before any I/O
        return await self._write_guild(
            guild_id, lambda c: sql_guilds.update_settings(c, guild_id, changes, utcnow())
        )

    # -- playlist sources ------------------------------------------------------------

    async def save_source(self, source: PlaylistSource, track_ids: Sequence[str]) -> PlaylistSource:
        ids = list(track_ids)
        aware(source.added_at)
        if source.refreshed_at is not None:
            aware(source.refreshed_at)
        return await self._write_guild(
            source.guild_id, lambda c: sql_sources.save_source(c, source, ids, utcnow())
        )

    async def save_upload(self, source: PlaylistSource, tracks: Sequence[Track]) -> PlaylistSource:
        records = list(tracks)
        aware(source.added_at)
        if source.refreshed_at is not None:
            aware(source.refreshed_at)
        return await self._write_guild(
            source.guild_id, lambda c: sql_sources.save_upload(c, source, records, utcnow())
        )

    async def get_source(self, guild_id: int, key: str) -> PlaylistSource | None:
        return await self._read(lambda c: sql_sources.get_source(c, guild_id, key))

    async def list_sources(self, guild_id: int) -> list[PlaylistSource]:
        return await self._read(lambda c: sql_sources.list_sources(c, guild_id))

    async def count_sources(self, guild_id: int) -> int:
        return await self._read(lambda c: sql_sources.count_sources(c, guild_id))

    async def remove_source(self, guild_id: int, key: str) -> bool:
        return await self._write_guild(
            guild_id, lambda c: sql_sources.remove_source(c, guild_id, key)
        )

    async def load_guild_catalogue(self, guild_id: int) -> StoredCatalogue:
        return await self._snapshot(lambda c: sql_sources.load_catalogue(c, guild_id))

    # -- recommendation messages -----------------------------------------------------

    async def save_recommendation(self, message: RecommendationMessage) -> None:
        aware(message.created_at)
        await self._write(lambda c: sql_messages.save(c, message, utcnow()))

    async def get_recommendation(
        self, guild_id: int, message_id: int
    ) -> RecommendationMessage | None:
        return await self._snapshot(lambda c: sql_messages.get(c, guild_id, message_id))

    async def prune_recommendations(
        self, created_before: dt.datetime, *, limit: int | None = None
    ) -> int:
        cutoff = aware(created_before)
        return await self._write(lambda c: sql_messages.prune(c, cutoff, limit))

    async def list_recent_recommendations(
        self, created_after: dt.datetime, *, limit: int, shards: ShardLayout | None = None
    ) -> list[RecommendationMessage]:
        cutoff = aware(created_after)
        return await self._snapshot(lambda c: sql_messages.recent(c, cutoff, limit, shards))

    async def list_message_ratings(self, guild_id: int, message_id: int) -> list[Rating]:
        return await self._read(lambda c: sql_ratings.list_from_message(c, guild_id, message_id))

    # -- ratings ---------------------------------------------------------------------

    async def set_rating(
        self,
        guild_id: int,
        user_id: int,
        track_id: str,
        value: RatingValue,
        *,
        at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> RatingValue | None:
        now = _at(at)
        return await self._write(
            lambda c: sql_ratings.set_(c, guild_id, user_id, track_id, value, now, message_id)
        )

    async def remove_rating(
        self,
        guild_id: int,
        user_id: int,
        track_id: str,
        *,
        value: RatingValue | None = None,
        message_id: int | None = None,
    ) -> bool:
        return await self._write(
            lambda c: sql_ratings.remove(c, guild_id, user_id, track_id, value, message_id)
        )

    async def get_rating(self, guild_id: int, user_id: int, track_id: str) -> Rating | None:
        return await self._read(lambda c: sql_ratings.get(c, guild_id, user_id, track_id))

    async def list_member_ratings(
        self, guild_id: int, user_id: int, *, limit: int | None = None
    ) -> list[RatedTrack]:
        return await self._snapshot(lambda c: sql_ratings.list_member(c, guild_id, user_id, limit))

    async def list_guild_ratings(self, guild_id: int) -> list[Rating]:
        return await self._read(lambda c: sql_ratings.list_guild(c, guild_id))

    async def count_ratings(
        self, guild_id: int, track_ids: Sequence[str] | None = None
    ) -> dict[str, RatingCounts]:
        return await self._read(lambda c: sql_ratings.counts(c, guild_id, track_ids))

    # -- privacy and guild lifecycle -------------------------------------------------

    async def forget_member(self, guild_id: int, user_id: int) -> ForgetResult:
        async def work(conn: asyncpg.Connection) -> ForgetResult:
            ratings = await sql_ratings.delete_for_member(conn, guild_id, user_id)
            messages = await sql_messages.delete_for_member(conn, guild_id, user_id)
            return ForgetResult(ratings=ratings, messages=messages)

        return await self._write(work)

    async def mark_guild_left(self, guild_id: int, *, at: dt.datetime | None = None) -> None:
        when = _at(at)
        await self._write_guild(guild_id, lambda c: sql_guilds.mark_left(c, guild_id, when))

    async def unmark_guild_left(self, guild_id: int) -> bool:
        return await self._write_guild(guild_id, lambda c: sql_guilds.unmark_left(c, guild_id))

    async def purge_departed_guilds(
        self, older_than: dt.timedelta, *, now: dt.datetime | None = None
    ) -> list[int]:
        cutoff = _at(now) - older_than

        async def purge(conn: asyncpg.Connection) -> list[int]:
            purged = await sql_guilds.purge_departed(conn, cutoff)
            await notify_guild_changed(conn, self.origin, purged)
            return purged

        return await self._write(purge)
