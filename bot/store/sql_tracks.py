"""SQL for the shared track cache (runs inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.rows import (
    TRACK_COLUMNS,
    chunks,
    decode_off_loop,
    rows_to_tracks,
    track_select,
    track_to_row,
)
from recommender.track import Track

# Bound parameters per IN (...) query. SQLite before 3.32 allowed 999 variables;
# staying under that keeps the store correct on any build, and ~100 round trips
# for 100k ids cost far less than building the records.
MAX_VARIABLES = 900

_COLUMN_LIST = ", ".join(f'"{c}"' for c in (*TRACK_COLUMNS, "fetched_at"))
_PLACEHOLDERS = ", ".join("?" for _ in (*TRACK_COLUMNS, "fetched_at"))
_UPDATES = ", ".join(f'"{c}" = excluded."{c}"' for c in (*TRACK_COLUMNS[1:], "fetched_at"))
# An upsert, not INSERT OR REPLACE: REPLACE deletes the old row first, which would
# cascade or trip the foreign keys of the playlists that contain it.
_UPSERT = (
    f"INSERT INTO tracks ({_COLUMN_LIST}) VALUES ({_PLACEHOLDERS}) "
    f"ON CONFLICT(id) DO UPDATE SET {_UPDATES}"
)


async def put_tracks(db: aiosqlite.Connection, tracks: Sequence[Track], fetched_at: str) -> None:
    """Insert or update the records; rows are applied in order, so a later duplicate wins."""
    await db.executemany(_UPSERT, (track_to_row(t, fetched_at) for t in tracks))


async def stage(
    db: aiosqlite.Connection, table: str, tracks: Sequence[Track], fetched_at: str
) -> None:
    """Add records to the TEMP table ``table`` (created on first use) for :func:`put_staged`.

    A TEMP table is the connection's own: filling it takes no lock on the database.
    """
    await db.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {table} AS SELECT {_COLUMN_LIST} FROM tracks WHERE 0"
    )
    await db.executemany(
        f"INSERT INTO temp.{table} ({_COLUMN_LIST}) VALUES ({_PLACEHOLDERS})",
        (track_to_row(t, fetched_at) for t in tracks),
    )


async def put_staged(db: aiosqlite.Connection, table: str) -> None:
    """Upsert everything staged in ``table`` in one statement (all or nothing).

    In key order (one pass down the B-tree instead of a jump per row), and in staging
    order among duplicates of an id, so the later one wins as in :func:`put_tracks`.
    """
    await db.execute(
        f"INSERT INTO tracks ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM temp.{table} "
        f"WHERE true ORDER BY id, rowid ON CONFLICT(id) DO UPDATE SET {_UPDATES}"
    )


async def drop_staged(db: aiosqlite.Connection, table: str) -> None:
    """Forget the TEMP table ``table``."""
    await db.execute(f"DROP TABLE IF EXISTS temp.{table}")


async def get_tracks(db: aiosqlite.Connection, track_ids: Sequence[str]) -> dict[str, Track]:
    """The cached records among ``track_ids``, by id."""
    unique = list(dict.fromkeys(track_ids))
    rows: list[Any] = []
    for chunk in chunks(unique, MAX_VARIABLES):
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT {track_select()} FROM tracks t WHERE t.id IN ({marks})"
        rows.extend(await db.execute_fetchall(sql, chunk))
    return await decode_off_loop(rows, rows_to_tracks)


async def missing_track_ids(db: aiosqlite.Connection, track_ids: Sequence[str]) -> list[str]:
    """The ids among ``track_ids`` that are not cached, in input order."""
    unique = list(dict.fromkeys(track_ids))
    present: set[str] = set()
    for chunk in chunks(unique, MAX_VARIABLES):
        marks = ", ".join("?" * len(chunk))
        rows = await db.execute_fetchall(f"SELECT id FROM tracks WHERE id IN ({marks})", chunk)
        present.update(row[0] for row in rows)
    return [i for i in unique if i not in present]


async def count_tracks(db: aiosqlite.Connection) -> int:
    """Number of cached records."""
    rows = list(await db.execute_fetchall("SELECT count(*) FROM tracks"))
    return int(rows[0][0])


async def prune_tracks(db: aiosqlite.Connection, fetched_before: str, limit: int | None) -> int:
    """Delete old records nothing refers to, at most ``limit`` (``None``: all); return
    how many."""
    # NOT IN over uncorrelated subqueries: each is materialised once, instead of a
    # per-row probe of ratings/rec_items, which have no index on track_id alone.
    cursor = await db.execute(
        """DELETE FROM tracks WHERE id IN (
               SELECT id FROM tracks
               WHERE fetched_at < ?
                 AND id NOT IN (SELECT track_id FROM source_tracks)
                 AND id NOT IN (SELECT track_id FROM ratings)
                 AND id NOT IN (SELECT track_id FROM rec_items)
               LIMIT ?)""",
        (fetched_before, -1 if limit is None else limit),  # SQLite: negative = no limit
    )
    return cursor.rowcount
