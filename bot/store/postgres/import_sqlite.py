"""``python -m bot migrate-db``: copy the bot's SQLite database into PostgreSQL.

Table by table, in one PostgreSQL transaction: either every row arrives and the
row counts of every table match the SQLite file's, or nothing is written. So a
copy that failed half-way (a lost connection, a full disk) can simply be run
again. A target that already holds data is refused unless ``force`` is given, and
then replaced (not merged), so running the copy twice gives the same database.

The SQLite file is first brought to the current schema (as starting the bot would)
and then read in one snapshot; the PostgreSQL database is created or upgraded by
:class:`~bot.store.postgres.PostgresStore`. Columns must match name for name: a
column one backend has and the other lacks is a bug, and stops the copy before any
row moves. Stop the bot while copying: ratings given meanwhile would not be copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from dotenv import load_dotenv

from bot.settings import BotSettings
from bot.store.errors import StoreError
from bot.store.postgres.errors import server_errors
from bot.store.postgres.rows import clean_text
from bot.store.postgres.store import PostgresStore, redact_url
from bot.store.rows import from_db_time
from bot.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

#: Every table of the store, parents before children (the order of the copy).
TABLES: tuple[str, ...] = (
    "guilds",
    "guild_settings",
    "guild_departures",
    "tracks",
    "sources",
    "source_tracks",
    "uploaded_tracks",
    "rec_messages",
    "rec_items",
    "ratings",
)
BATCH = 10_000  # rows read from SQLite and sent with COPY at a time


class TargetNotEmptyError(StoreError):
    """The PostgreSQL database already holds the bot's data (and ``force`` was not given)."""

    def __init__(self, where: str, counts: dict[str, int]) -> None:
        self.counts = counts
        held = ", ".join(f"{table} {n}" for table, n in counts.items() if n)
        super().__init__(
            f"database {where} already holds data ({held}); copying would mix two "
            "databases. Use --force to replace it with the SQLite file's data."
        )


class CopyMismatchError(StoreError):
    """The copy does not match its source (columns or row counts); nothing was kept."""


@dataclass(frozen=True)
class CopyReport:
    """What ``migrate-db`` copied: rows per table, the same on both sides."""

    source: str
    target: str
    rows: dict[str, int]
    replaced: bool

    def lines(self) -> list[str]:
        """One line per table, then the total, for the terminal."""
        width = max(len(t) for t in self.rows)
        out = [f"copied {self.source} to {self.target}" + (" (replaced)" if self.replaced else "")]
        out += [f"  {table:<{width}}  {n:>10,}" for table, n in self.rows.items()]
        out.append(f"  {'total':<{width}}  {sum(self.rows.values()):>10,}")
        return out


# -- conversions from SQLite's storage to PostgreSQL's types -------------------------

Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _time(value: Any) -> Any:
    return None if value is None else from_db_time(value)


def _json_list(value: Any) -> Any:
    if value is None:
        return None
    return [clean_text(str(item)) for item in json.loads(value)]


def _text(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _converter(pg_type: str) -> Convert:
    if pg_type == "timestamp with time zone":
        return _time
    if pg_type == "ARRAY":
        return _json_list
    if pg_type in ("text", "jsonb"):
        return _text
    return _identity


# -- the copy ------------------------------------------------------------------------


async def _target_columns(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    rows = await conn.fetch(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = $1
           ORDER BY ordinal_position""",
        table,
    )
    return {row[0]: row[1] for row in rows}


def _source_columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _rows(
    db: sqlite3.Connection, table: str, columns: Sequence[str], converters: Sequence[Convert]
) -> Iterator[list[tuple[Any, ...]]]:
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor = db.execute(f"SELECT {quoted} FROM {table}")
    while batch := cursor.fetchmany(BATCH):
        yield [
            tuple(convert(value) for convert, value in zip(converters, row, strict=True))
            for row in batch
        ]


async def _counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}


async def _copy_table(conn: asyncpg.Connection, db: sqlite3.Connection, table: str) -> int:
    target = await _target_columns(conn, table)
    source = _source_columns(db, table)
    if set(source) != set(target):
        raise CopyMismatchError(
            f"table {table} has columns {sorted(set(source) - set(target))} only in SQLite "
            f"and {sorted(set(target) - set(source))} only in PostgreSQL: this version of "
            "the bot cannot copy it (nothing was written)"
        )
    columns = list(target)
    converters = [_converter(target[c]) for c in columns]
    for records in _rows(db, table, columns, converters):
        await conn.copy_records_to_table(table, records=records, columns=columns)
    expected = int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    copied = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    if copied != expected:
        raise CopyMismatchError(
            f"table {table}: {expected} rows in SQLite but {copied} in PostgreSQL "
            "(nothing was written)"
        )
    return copied


def _existing(path: Path) -> Path:
    # Checked first: SQLiteStore.open would create an empty file and copy nothing.
    if not path.is_file():
        raise StoreError(f"there is no SQLite database at {path} to copy")
    return path


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


async def copy_sqlite_to_postgres(
    source: str | Path, url: str, *, force: bool = False
) -> CopyReport:
    """Copy the SQLite database at ``source`` into the PostgreSQL database at ``url``.

    Raises :class:`TargetNotEmptyError` when the target holds data and ``force`` is
    false, :class:`CopyMismatchError` when a table's columns or row count differ,
    and the store's errors for a file or server that cannot be used. In every
    failure the target is left as it was.
    """
    path = _existing(Path(source))
    # Bring the file to the current schema, exactly as starting the bot would.
    async with SqliteStore.open(path):
        pass
    where = redact_url(url)
    async with PostgresStore.open(url, statement_timeout=0, pool_size=1):
        pass  # creates or upgrades the schema; the copy runs on a connection of its own
    with contextlib.closing(_open_read_only(path)) as db:
        db.execute("BEGIN")  # one snapshot of every table (WAL keeps it while we read)
        with server_errors(where):
            conn = await asyncpg.connect(url, server_settings={"statement_timeout": "0"})
            try:
                async with conn.transaction():
                    before = await _counts(conn)
                    replaced = any(before.values())
                    if replaced and not force:
                        raise TargetNotEmptyError(where, before)
                    if replaced:
                        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
                    rows = {table: await _copy_table(conn, db, table) for table in TABLES}
                    # New sources continue after the copied ids.
                    await conn.execute(
                        """SELECT setval(pg_get_serial_sequence('sources', 'source_id'),
                                         coalesce(max(source_id), 0) + 1, false)
                           FROM sources"""
                    )
            finally:
                await conn.close()
    log.info("copied %s to %s: %s", path, where, rows)
    return CopyReport(source=str(path), target=where, rows=rows, replaced=replaced)


def run_migrate_db(
    source: str | Path | None, url: str | None, *, force: bool, env_file: str | None = ".env"
) -> int:
    """The ``migrate-db`` command: copy, print what was copied; 0 on success, 2 if not.

    ``source`` defaults to ``DATABASE_PATH`` and ``url`` to ``DATABASE_URL`` (from the
    environment or ``env_file``); no Discord token is needed.
    """
    if env_file is not None and Path(env_file).is_file():
        load_dotenv(env_file, override=False)
    default_path = BotSettings.model_fields["database_path"].default
    source = source or os.environ.get("DATABASE_PATH") or default_path
    url = url or os.environ.get("DATABASE_URL") or None
    if not url:
        print("error: give the PostgreSQL database with --to postgresql://...", file=sys.stderr)
        return 2
    if not url.startswith(("postgresql://", "postgres://")):
        print("error: --to must be a postgresql://user:password@host/db URL", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(copy_sqlite_to_postgres(source, url, force=force))
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 0


__all__ = [
    "TABLES",
    "CopyMismatchError",
    "CopyReport",
    "TargetNotEmptyError",
    "copy_sqlite_to_postgres",
    "run_migrate_db",
]
