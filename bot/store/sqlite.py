"""The SQLite backend: one file, WAL, foreign keys, one transaction per call.

Connection set-up, in this order (the order matters):

1. ``busy_timeout``, then read ``user_version`` and the schema. A schema newer than
   this code is refused with :class:`~bot.store.errors.SchemaTooNewError`, and a
   damaged first page with :class:`~bot.store.errors.DatabaseCorruptError`, *before*
   anything writes to the file (even switching to WAL rewrites the header).
2. ``journal_mode=WAL`` (readers never block the writer), ``synchronous=NORMAL``
   (safe with WAL; at worst the last commit is lost on power failure),
   ``foreign_keys=ON`` (per connection, and a no-op inside a transaction).
3. Pending migrations (:mod:`bot.store.migrations`) in one transaction.
4. A write that is rolled back: SQLite opens a file it may not write read-only
   without a word, so only a write tells (nothing reaches the file).

Any SQLite or OS error about the file itself (corrupt, read-only, full, locked,
cannot open) is raised as the matching :class:`~bot.store.errors.StorageError`,
at start-up and in every later call.

One aiosqlite connection writes. Its calls run one at a time on a worker thread,
but an ``await`` between two statements would let another coroutine slip a
statement into an open transaction, so every write takes an ``asyncio.Lock`` for
the whole transaction and uses ``BEGIN IMMEDIATE`` (take the write lock up front, so
a second process waits on ``busy_timeout`` instead of failing mid-way).

Reads never wait behind a write: a small pool of read-only connections
(``query_only``) beside the writer, each read a deferred transaction on one of them
so multi-query reads see one snapshot; in WAL mode a reader sees the last commit and
never blocks on the writer. (An in-memory database, or a file without WAL, has no
pool: reads then share the writer's lock.)

Big writes go in steps of :data:`CHUNK_ROWS` rows so other guilds' writes
interleave: a big source is staged under a hidden key and swapped in by one short
transaction (:mod:`bot.store.sql_staging`; a crash leaves the previous state, and the
hidden leftovers are deleted at the next start); a removed source is hidden in one
step and its rows deleted in steps; a big batch of tracks is staged in a TEMP table
and upserted by one SQL statement, so it stays all or nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import logging
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.infra.sharding import ShardLayout
from bot.store import (
    sql_guilds,
    sql_messages,
    sql_ratings,
    sql_sources,
    sql_staging,
    sql_tracks,
    sql_uploads,
)
from bot.store.errors import SchemaTooNewError, StoreError, UncachedTracksError, storage_errors
from bot.store.guild_settings import GuildSettings
from bot.store.interface import Store
from bot.store.migrations import LATEST_VERSION, migrate, schema_version
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
from bot.store.rows import to_db_time, utcnow
from recommender.track import Track

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000
DEFAULT_READERS = 4
"""Read-only connections beside the writer (each is one worker thread)."""
CHUNK_ROWS = 5000
"""Rows per transaction step of a big write (tens of milliseconds of write lock)."""
STALE_STAGING = dt.timedelta(hours=1)
"""A hidden staging row older than this at start-up belongs to an import that died."""


def _stamp(value: dt.datetime | None) -> str:
    return to_db_time(value if value is not None else utcnow())


def _check_file_access(path: Path) -> None:
    """Create the parent directories; fail if the file or its directory is not writable.

    SQLite opens a file it may not write read-only without a word, and creates its
    ``-wal``/``-shm`` files with the database's mode, so they would stay read-only
    after the operator fixes the file. Asking the OS first leaves nothing behind.
    Opening for writing changes neither the bytes nor the times of the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.close(os.open(path, os.O_RDWR))
    elif not os.access(path.parent, os.W_OK):
        raise PermissionError(errno.EACCES, "no permission to create files in", str(path.parent))


class SqliteStore(Store):
    """:class:`~bot.store.interface.Store` on one SQLite file (see the module docs).

    Open with ``async with SqliteStore.open(path) as store``.
    """

    def __init__(
        self,
        db: aiosqlite.Connection,
        path: str,
        readers: Sequence[aiosqlite.Connection] = (),
        *,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        """Wrap an open, migrated connection (and read-only ones); use :meth:`open` or
        :meth:`connect`. ``chunk_rows``: rows per step of a big write."""
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()
        self._readers = list(readers)
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in self._readers:
            self._idle.put_nowait(reader)
        self.chunk_rows = chunk_rows

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        readers: int = DEFAULT_READERS,
        chunk_rows: int = CHUNK_ROWS,
    ) -> AsyncIterator[SqliteStore]:
        """Open (creating parent directories and the file) and close on exit."""
        store = await cls.connect(
            path, busy_timeout_ms=busy_timeout_ms, readers=readers, chunk_rows=chunk_rows
        )
        try:
            yield store
        finally:
            await store.close()

    @classmethod
    async def connect(
        cls,
        path: str | Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        readers: int = DEFAULT_READERS,
        chunk_rows: int = CHUNK_ROWS,
    ) -> SqliteStore:
        """Open and migrate the database; the caller must :meth:`close` it.

        ``readers`` read-only connections serve reads (none for ``":memory:"``, a
        private in-memory database without WAL, or a file that cannot use WAL).
        Raises :class:`SchemaTooNewError` for a file written by a newer bot and a
        :class:`~bot.store.errors.StorageError` for a file that is corrupt,
        read-only, full, locked or cannot be opened; the file is left as it was.
        """
        name = str(path)
        with storage_errors(name):
            if name != ":memory:":
                _check_file_access(Path(name))
            # isolation_level=None: the sqlite3 module must not open transactions behind
            # our back; the store issues BEGIN/COMMIT itself.
            db = await aiosqlite.connect(name, isolation_level=None)
            try:
                await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
                version = await schema_version(db)
                if version > LATEST_VERSION:
                    raise SchemaTooNewError(name, version, LATEST_VERSION)
                # Parses page 1: a damaged one fails here, before the WAL switch writes.
                async with db.execute("SELECT count(*) FROM sqlite_schema") as cursor:
                    await cursor.fetchone()
                await cls._configure(db, name)
                old = await migrate(db)
                if old != LATEST_VERSION:
                    log.info("database %s upgraded from schema %d to %d", name, old, LATEST_VERSION)
                await cls._check_writable(db)
                pool = await cls._open_readers(name, readers, busy_timeout_ms, db)
            except BaseException:
                await db.close()
                raise
        store = cls(db, name, pool, chunk_rows=chunk_rows)
        try:
            await store._delete_leftovers()
        except BaseException:
            await store.close()
            raise
        return store

    @staticmethod
    async def _open_readers(
        name: str, count: int, busy_timeout_ms: int, writer: aiosqlite.Connection
    ) -> list[aiosqlite.Connection]:
        """``count`` read-only connections, or none where they could not share the file."""
        async with writer.execute("PRAGMA journal_mode") as cursor:
            row = await cursor.fetchone()
        if name == ":memory:" or not row or str(row[0]).lower() != "wal":
            return []
        readers: list[aiosqlite.Connection] = []
        try:
            for _ in range(count):
                reader = await aiosqlite.connect(name, isolation_level=None)
                readers.append(reader)
                await reader.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
                # A read connection that cannot write by mistake.
                await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            for reader in readers:
                await reader.close()
            raise
        return readers

    @staticmethod
    async def _check_writable(db: aiosqlite.Connection) -> None:
        """Fail now, not at the first member's rating, if the file cannot be written."""
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Rewrites page 1 with the same value: a real write, rolled back unseen.
            await db.execute(f"PRAGMA user_version = {LATEST_VERSION:d}")
        finally:
            await db.execute("ROLLBACK")

    @staticmethod
    async def _configure(db: aiosqlite.Connection, name: str) -> None:
        async with db.execute("PRAGMA journal_mode = WAL") as cursor:
            row = await cursor.fetchone()
        mode = str(row[0]).lower() if row else ""
        if mode != "wal" and name != ":memory:":
            # e.g. a network filesystem without shared memory: still correct, slower.
            log.warning("database %s could not use WAL (journal_mode=%s)", name, mode)
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        async with db.execute("PRAGMA foreign_keys") as cursor:
            row = await cursor.fetchone()
        if not row or row[0] != 1:
            raise StoreError("this SQLite build does not enforce foreign keys")

    async def close(self) -> None:
        """Close the connections (waits for running transactions to finish)."""
        async with self._lock:
            await self._db.close()
        readers, self._readers = self._readers, []
        for _ in readers:
            reader = await self._idle.get()
            await reader.close()

    async def pragma(self, name: str) -> Any:
        """The value of a read-only ``PRAGMA`` (diagnostics, ``python -m bot check``)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a pragma name: {name!r}")
        async with self._lock:
            with storage_errors(self.path):
                async with self._db.execute(f"PRAGMA {name}") as cursor:
                    row = await cursor.fetchone()
        return row[0] if row else None

    # -- transactions ----------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self, begin: str) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock, self._in_transaction(self._db, begin) as db:
            yield db

    @asynccontextmanager
    async def _in_transaction(
        self, db: aiosqlite.Connection, begin: str
    ) -> AsyncIterator[aiosqlite.Connection]:
        with storage_errors(self.path):
            try:
                await db.execute(begin)
                yield db
                await db.execute("COMMIT")
            except asyncio.CancelledError:
                # aiosqlite runs calls in order on its thread, and a call it was given
                # still runs after the caller is cancelled: even a BEGIN not answered
                # yet, or a COMMIT. This ROLLBACK runs after it, so the connection is
                # never left inside a transaction (holding SQLite's write lock).
                await self._rollback(db, quiet=True)
                raise
            except BaseException:
                if db.in_transaction:
                    await self._rollback(db)
                raise

    async def _rollback(self, db: aiosqlite.Connection, *, quiet: bool = False) -> None:
        try:
            await db.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            if quiet and "no transaction is active" in str(error):
                return  # the cancelled statement was a COMMIT, or the BEGIN failed
            log.warning("database %s: ROLLBACK failed", self.path, exc_info=True)
        except sqlite3.Error:
            # SQLite may already have rolled back (e.g. SQLITE_FULL, SQLITE_CORRUPT);
            # the error that got us here is the one to report.
            log.warning("database %s: ROLLBACK failed", self.path, exc_info=True)

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        if not self._readers:
            return self._transaction("BEGIN")
        return self._pooled_read()

    @asynccontextmanager
    async def _pooled_read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read transaction on an idle reader: it never waits for the writer."""
        reader = await self._idle.get()
        try:
            async with self._in_transaction(reader, "BEGIN") as db:
                yield db
        finally:
            self._idle.put_nowait(reader)

    # -- big writes in steps (module docs) -------------------------------------------

    async def _save_staged(
        self, source: PlaylistSource, track_ids: list[str], tracks: list[Track] | None
    ) -> PlaylistSource:
        """Write a big source in steps and swap it in (``tracks``: a CSV's values)."""
        now = _stamp(None)
        token = uuid.uuid4().hex
        step = self.chunk_rows
        try:
            async with self._write() as db:
                staging_id = await sql_staging.create(db, source, token, now)
            for start in range(0, len(track_ids), step):
                async with self._write() as db:
                    await sql_staging.add_members(
                        db, staging_id, start, track_ids[start : start + step]
                    )
            if tracks is not None:
                # In key order: each step appends to the B-tree instead of jumping
                # around it (~3x faster for 243k rows); the last row of an id wins.
                unique = await asyncio.to_thread(_sorted_unique, tracks)
                for start in range(0, len(unique), step):
                    async with self._write() as db:
                        await sql_uploads.insert_uploads(
                            db, source.guild_id, staging_id, unique[start : start + step], now
                        )
            async with self._write() as db:
                retired = await sql_staging.swap(db, source, staging_id, len(track_ids), token, now)
                saved = await sql_sources.get_source(db, source.guild_id, source.key)
        except BaseException:
            # By the write's token, not by id: a cancel can land after a COMMIT went
            # through (the staging row exists, or the swap happened and the retired
            # source is left), and the id may never have reached this coroutine.
            await self._discard(token)
            raise
        if retired is not None:
            await self._delete_hidden(retired)
        assert saved is not None  # swapped in above
        return saved

    async def _discard(self, token: str) -> None:
        """Delete what the big write ``token`` left hidden (never a visible source)."""
        try:
            async with self._read() as db:
                hidden = await sql_staging.of_token(db, token)
        except Exception as error:
            log.warning("database %s: hidden rows left for the next start: %s", self.path, error)
            return
        for source_id in hidden:
            await self._delete_hidden(source_id)

    async def _delete_hidden(self, source_id: int) -> None:
        """Delete a hidden source in steps; a failure is logged (the rows stay hidden
        and are deleted at the next start)."""
        try:
            more = True
            while more:
                async with self._write() as db:
                    more = await sql_staging.delete_some(db, source_id, self.chunk_rows)
        except Exception as error:
            log.warning("database %s: hidden rows left for the next start: %s", self.path, error)

    async def _delete_leftovers(self) -> None:
        """Delete what a crashed or killed big write left behind (hidden rows)."""
        async with self._write() as db:
            leftovers = await sql_staging.leftovers(db, to_db_time(utcnow() - STALE_STAGING))
        for source_id in leftovers:
            await self._delete_hidden(source_id)
        if leftovers:
            log.info("database %s: deleted %d unfinished writes", self.path, len(leftovers))

    async def _put_tracks_staged(self, tracks: Sequence[Track], fetched_at: str) -> None:
        """Stage a big batch in a TEMP table in steps, then upsert it in one statement."""
        table = "staged_tracks_" + uuid.uuid4().hex
        step = self.chunk_rows
        try:
            for start in range(0, len(tracks), step):
                # The writer's own TEMP table: no database lock, but the connection
                # must not be inside another coroutine's transaction meanwhile.
                async with self._lock:
                    with storage_errors(self.path):
                        await sql_tracks.stage(
                            self._db, table, tracks[start : start + step], fetched_at
                        )
            async with self._write() as db:
                await sql_tracks.put_staged(db, table)
        finally:
            async with self._lock:
                with storage_errors(self.path):
                    await sql_tracks.drop_staged(self._db, table)

    # -- track cache -----------------------------------------------------------------

    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        async with self._read() as db:
            return await sql_tracks.get_tracks(db, track_ids)

    async def put_tracks(self, tracks: Sequence[Track], *, at: dt.datetime | None = None) -> None:
        if len(tracks) > self.chunk_rows:
            await self._put_tracks_staged(tracks, _stamp(at))
            return
        async with self._write() as db:
            await sql_tracks.put_tracks(db, tracks, _stamp(at))

    async def count_tracks(self) -> int:
        async with self._read() as db:
            return await sql_tracks.count_tracks(db)

    async def prune_tracks(self, fetched_before: dt.datetime, *, limit: int | None = None) -> int:
        async with self._write() as db:
            return await sql_tracks.prune_tracks(db, to_db_time(fetched_before), limit)

    # -- guild settings --------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        async with self._read() as db:
            return await sql_guilds.get_settings(db, guild_id)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        async with self._write() as db:
            settings = (await sql_guilds.get_settings(db, guild_id)).replace(**changes)
            await sql_guilds.set_settings(db, guild_id, settings, _stamp(None))
            return settings

    # -- playlist sources ------------------------------------------------------------

    async def save_source(self, source: PlaylistSource, track_ids: Sequence[str]) -> PlaylistSource:
        ids = list(track_ids)
        if len(ids) <= self.chunk_rows:
            async with self._write() as db:
                return await sql_sources.save_source(db, source, ids, _stamp(None))
        sql_sources.check_kind(source, "spotify")
        async with self._read() as db:
            missing = await sql_tracks.missing_track_ids(db, ids)
        if missing:
            raise UncachedTracksError(missing)
        return await self._save_staged(source, ids, None)

    async def save_upload(self, source: PlaylistSource, tracks: Sequence[Track]) -> PlaylistSource:
        rows = list(tracks)
        if len(rows) <= self.chunk_rows:
            async with self._write() as db:
                return await sql_sources.save_upload(db, source, rows, _stamp(None))
        sql_sources.check_kind(source, "csv")
        return await self._save_staged(source, [t.id for t in rows], rows)

    async def get_source(self, guild_id: int, key: str) -> PlaylistSource | None:
        async with self._read() as db:
            return await sql_sources.get_source(db, guild_id, key)

    async def list_sources(self, guild_id: int) -> list[PlaylistSource]:
        async with self._read() as db:
            return await sql_sources.list_sources(db, guild_id)

    async def count_sources(self, guild_id: int) -> int:
        async with self._read() as db:
            return await sql_sources.count_sources(db, guild_id)

    async def remove_source(self, guild_id: int, key: str) -> bool:
        # Hidden in one step (gone for every reader), its rows deleted in steps.
        async with self._write() as db:
            retired = await sql_staging.retire(db, guild_id, key, uuid.uuid4().hex)
        if retired is None:
            return False
        await self._delete_hidden(retired)
        return True

    async def load_guild_catalogue(self, guild_id: int) -> StoredCatalogue:
        async with self._read() as db:
            return await sql_sources.load_catalogue(db, guild_id)

    # -- recommendation messages -----------------------------------------------------

    async def save_recommendation(self, message: RecommendationMessage) -> None:
        async with self._write() as db:
            await sql_messages.save(db, message, _stamp(None))

    async def get_recommendation(
        self, guild_id: int, message_id: int
    ) -> RecommendationMessage | None:
        async with self._read() as db:
            return await sql_messages.get(db, guild_id, message_id)

    async def prune_recommendations(
        self, created_before: dt.datetime, *, limit: int | None = None
    ) -> int:
        async with self._write() as db:
            return await sql_messages.prune(db, to_db_time(created_before), limit)

    async def list_recent_recommendations(
        self, created_after: dt.datetime, *, limit: int, shards: ShardLayout | None = None
    ) -> list[RecommendationMessage]:
        async with self._read() as db:
            return await sql_messages.recent(db, to_db_time(created_after), limit, shards)

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
        async with self._write() as db:
            return await sql_ratings.set_(
                db, guild_id, user_id, track_id, value, _stamp(at), message_id
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
        async with self._write() as db:
            return await sql_ratings.remove(db, guild_id, user_id, track_id, value, message_id)

    async def list_message_ratings(self, guild_id: int, message_id: int) -> list[Rating]:
        async with self._read() as db:
            return await sql_ratings.list_from_message(db, guild_id, message_id)

    async def get_rating(self, guild_id: int, user_id: int, track_id: str) -> Rating | None:
        async with self._read() as db:
            return await sql_ratings.get(db, guild_id, user_id, track_id)

    async def list_member_ratings(
        self, guild_id: int, user_id: int, *, limit: int | None = None
    ) -> list[RatedTrack]:
        async with self._read() as db:
            return await sql_ratings.list_member(db, guild_id, user_id, limit)

    async def list_guild_ratings(self, guild_id: int) -> list[Rating]:
        async with self._read() as db:
            return await sql_ratings.list_guild(db, guild_id)

    async def count_ratings(
        self, guild_id: int, track_ids: Sequence[str] | None = None
    ) -> dict[str, RatingCounts]:
        async with self._read() as db:
            return await sql_ratings.counts(db, guild_id, track_ids)

    # -- privacy and guild lifecycle -------------------------------------------------

    async def forget_member(self, guild_id: int, user_id: int) -> ForgetResult:
        async with self._write() as db:
            ratings = await sql_ratings.delete_for_member(db, guild_id, user_id)
            messages = await sql_messages.delete_for_member(db, guild_id, user_id)
        return ForgetResult(ratings=ratings, messages=messages)

    async def mark_guild_left(self, guild_id: int, *, at: dt.datetime | None = None) -> None:
        async with self._write() as db:
            await sql_guilds.mark_left(db, guild_id, _stamp(at))

    async def unmark_guild_left(self, guild_id: int) -> bool:
        async with self._write() as db:
            return await sql_guilds.unmark_left(db, guild_id)

    async def purge_departed_guilds(
        self, older_than: dt.timedelta, *, now: dt.datetime | None = None
    ) -> list[int]:
        cutoff = (now if now is not None else utcnow()) - older_than
        async with self._write() as db:
            return await sql_guilds.purge_departed(db, to_db_time(cutoff))


def _sorted_unique(tracks: Sequence[Track]) -> list[Track]:
    """One record per id (the last one), in id order."""
    last = {track.id: track for track in tracks}
    return [last[track_id] for track_id in sorted(last)]
