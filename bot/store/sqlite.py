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

One aiosqlite connection serves the process. Its calls run one at a time on a
worker thread, but an ``await`` between two statements would let another coroutine
slip a statement into an open transaction, so every call takes an ``asyncio.Lock``
for the whole transaction: writes use ``BEGIN IMMEDIATE`` (take the write lock up
front, so a second process waits on ``busy_timeout`` instead of failing mid-way),
reads use a deferred transaction so multi-query reads see one snapshot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import (
    sql_guilds,
    sql_messages,
    sql_ratings,
    sql_sources,
    sql_tracks,
    sql_uploads,
)
from bot.store.errors import SchemaTooNewError, StoreError, storage_errors
from bot.store.guild_settings import GuildSettings
from bot.store.interface import Store
from bot.store.migrations import LATEST_VERSION, migrate, schema_version
from bot.store.models import (
    ForgetResult,
    GuildCatalogue,
    PlaylistSource,
    RatedTrack,
    Rating,
    RatingCounts,
    RatingValue,
    RecommendationItem,
    RecommendationMessage,
)
from bot.store.rows import to_db_time, utcnow
from recommender.track import Track

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000


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

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        """Wrap an open, migrated connection; use :meth:`open` or :meth:`connect`."""
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> AsyncIterator[SqliteStore]:
        """Open (creating parent directories and the file) and close on exit."""
        store = await cls.connect(path, busy_timeout_ms=busy_timeout_ms)
        try:
            yield store
        finally:
            await store.close()

    @classmethod
    async def connect(
        cls, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> SqliteStore:
        """Open and migrate the database; the caller must :meth:`close` it.

        ``":memory:"`` gives a private in-memory database (no WAL).
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
            except BaseException:
                await db.close()
                raise
        return cls(db, name)

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
        """Close the connection (waits for a running transaction to finish)."""
        async with self._lock:
            await self._db.close()

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
        async with self._lock:
            with storage_errors(self.path):
                await self._db.execute(begin)
                try:
                    yield self._db
                    await self._db.execute("COMMIT")
                except BaseException:
                    # Also on cancellation: aiosqlite runs calls in order, so this
                    # ROLLBACK follows whatever statement was still running.
                    if self._db.in_transaction:
                        await self._rollback()
                    raise

    async def _rollback(self) -> None:
        try:
            await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            # SQLite may already have rolled back (e.g. SQLITE_FULL, SQLITE_CORRUPT);
            # the error that got us here is the one to report.
            log.warning("database %s: ROLLBACK failed", self.path, exc_info=True)

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._transaction("BEGIN")

    # -- track cache -----------------------------------------------------------------

    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        async with self._read() as db:
            return await sql_tracks.get_tracks(db, track_ids)

    async def put_tracks(self, tracks: Sequence[Track], *, at: dt.datetime | None = None) -> None:
        async with self._write() as db:
            await sql_tracks.put_tracks(db, tracks, _stamp(at))

    async def count_tracks(self) -> int:
        async with self._read() as db:
            return await sql_tracks.count_tracks(db)

    async def prune_tracks(self, fetched_before: dt.datetime) -> int:
        async with self._write() as db:
            return await sql_tracks.prune_tracks(db, to_db_time(fetched_before))

    async def get_guild_tracks(self, guild_id: int, track_ids: Sequence[str]) -> dict[str, Track]:
        async with self._read() as db:
            tracks, _ = await sql_uploads.guild_view(db, guild_id, track_ids)
            return tracks

    # -- guild settings --------------------------------------------------------------

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        async with self._read() as db:
            return await sql_guilds.get_settings(db, guild_id)

    async def set_guild_settings(self, guild_id: int, settings: GuildSettings) -> None:
        async with self._write() as db:
            await sql_guilds.set_settings(db, guild_id, settings, _stamp(None))

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        async with self._write() as db:
            settings = (await sql_guilds.get_settings(db, guild_id)).replace(**changes)
            await sql_guilds.set_settings(db, guild_id, settings, _stamp(None))
            return settings

    # -- playlist sources ------------------------------------------------------------

    async def save_source(self, source: PlaylistSource, track_ids: Sequence[str]) -> PlaylistSource:
        async with self._write() as db:
            return await sql_sources.save_source(db, source, list(track_ids), _stamp(None))

    async def save_upload(self, source: PlaylistSource, tracks: Sequence[Track]) -> PlaylistSource:
        async with self._write() as db:
            return await sql_sources.save_upload(db, source, list(tracks), _stamp(None))

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
        async with self._write() as db:
            return await sql_sources.remove_source(db, guild_id, key)

    async def get_source_track_ids(self, guild_id: int, key: str) -> list[str]:
        async with self._read() as db:
            return await sql_sources.source_track_ids(db, guild_id, key)

    async def load_guild_catalogue(self, guild_id: int) -> GuildCatalogue:
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

    async def get_recommendation_item(
        self, guild_id: int, message_id: int, emoji: str
    ) -> RecommendationItem | None:
        async with self._read() as db:
            return await sql_messages.get_item(db, guild_id, message_id, emoji)

    async def recent_recommended_track_ids(
        self, guild_id: int, user_id: int, *, limit_messages: int = 10
    ) -> list[str]:
        async with self._read() as db:
            return await sql_messages.recent_track_ids(db, guild_id, user_id, limit_messages)

    async def prune_recommendations(self, created_before: dt.datetime) -> int:
        async with self._write() as db:
            return await sql_messages.prune(db, to_db_time(created_before))

    async def list_recent_recommendations(
        self, created_after: dt.datetime, *, limit: int
    ) -> list[RecommendationMessage]:
        async with self._read() as db:
            return await sql_messages.recent(db, to_db_time(created_after), limit)

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

    async def export_member_ratings(self, guild_id: int, user_id: int) -> list[RatedTrack]:
        return await self.list_member_ratings(guild_id, user_id)

    async def forget_member(self, guild_id: int, user_id: int) -> ForgetResult:
        async with self._write() as db:
            ratings = await sql_ratings.delete_for_member(db, guild_id, user_id)
            messages = await sql_messages.delete_for_member(db, guild_id, user_id)
        return ForgetResult(ratings=ratings, messages=messages)

    async def delete_guild_data(self, guild_id: int) -> None:
        async with self._write() as db:
            await sql_guilds.delete_guild(db, guild_id)

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
