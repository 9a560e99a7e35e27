"""SQL for big source writes in steps: stage under a hidden key, swap in one statement.

A source of many tracks (a 243k-row CSV, a 50k-track playlist) is not written in one
transaction that holds SQLite's write lock for seconds. Its rows go in under a
*hidden* source row of the same guild, a few thousand per transaction, so other
writes interleave; one short transaction then swaps it in: the visible source (if
any) is renamed to a hidden *retired* key and the staged row takes the real key and
the first adder. The retired rows are deleted afterwards, again in steps.

Hidden rows are part of no guild's view: every query of :mod:`bot.store.sql_sources`
and :mod:`bot.store.sql_uploads` filters them with :func:`visible`. A crash at any
point leaves the previous state intact (before the swap: the source as it was, plus
a hidden staging row; after it: the new source, plus hidden retired rows), and
:func:`leftovers` finds the hidden rows to delete at the next start.

Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.store.models import PlaylistSource
from bot.store.rows import to_db_time
from bot.store.sql_guilds import ensure_guild

HIDDEN = "~"
"""First character of a hidden source key (no Spotify id or ``csv:`` key starts with it)."""
STAGING = HIDDEN + "staging:"
RETIRED = HIDDEN + "retired:"


def visible(alias: str = "") -> str:
    """SQL condition: the source row (``alias`` of ``sources``) is one a guild sees."""
    column = f"{alias}.source_key" if alias else "source_key"
    return f"substr({column}, 1, 1) <> '{HIDDEN}'"


async def create(db: aiosqlite.Connection, source: PlaylistSource, token: str, now: str) -> int:
    """Insert the hidden staging row for ``source``; return its ``source_id``."""
    await ensure_guild(db, source.guild_id, now)
    cursor = await db.execute(
        """INSERT INTO sources (guild_id, source_key, kind, display_name, added_by, added_at,
                                refreshed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (
            source.guild_id,
            STAGING + token,
            source.kind,
            source.display_name,
            source.added_by,
            to_db_time(source.added_at),
            now,  # when staging began: how old a leftover is
        ),
    )
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


async def add_members(
    db: aiosqlite.Connection, source_id: int, first_position: int, track_ids: Sequence[str]
) -> None:
    """Membership rows ``first_position``, ``first_position + 1``... of the staged source."""
    await db.executemany(
        "INSERT INTO source_tracks (source_id, position, track_id) VALUES (?, ?, ?)",
        ((source_id, first_position + i, track_id) for i, track_id in enumerate(track_ids)),
    )


async def swap(
    db: aiosqlite.Connection,
    source: PlaylistSource,
    staging_id: int,
    track_count: int,
    token: str,
    now: str,
) -> int | None:
    """Make the staged row the guild's source ``source.key``; return the retired
    ``source_id`` (the previous source of that key), if there was one.

    Two single-row updates: the cost does not grow with the source. On a refresh
    the first adder and date stay, as in an in-place save.
    """
    rows = list(
        await db.execute_fetchall(
            f"""SELECT source_id, added_by, added_at FROM sources
                WHERE guild_id = ? AND source_key = ? AND {visible()}""",
            (source.guild_id, source.key),
        )
    )
    retired: int | None = None
    added_by, added_at = source.added_by, to_db_time(source.added_at)
    if rows:
        retired, added_by, added_at = int(rows[0][0]), rows[0][1], rows[0][2]
        await db.execute(
            "UPDATE sources SET source_key = ? WHERE source_id = ?", (RETIRED + token, retired)
        )
    refreshed_at = to_db_time(source.refreshed_at) if source.refreshed_at else now
    await db.execute(
        """UPDATE sources SET source_key = ?, kind = ?, display_name = ?, added_by = ?,
                  added_at = ?, snapshot_id = ?, track_count = ?, skipped_count = ?,
                  featureless_count = ?, refreshed_at = ?
           WHERE source_id = ?""",
        (
            source.key,
            source.kind,
            source.display_name,
            added_by,
            added_at,
            source.snapshot_id,
            track_count,
            source.skipped_count,
            source.featureless_count,
            refreshed_at,
            staging_id,
        ),
    )
    return retired


async def retire(db: aiosqlite.Connection, guild_id: int, key: str, token: str) -> int | None:
    """Hide the guild's source ``key`` (one row update); return its ``source_id``."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT source_id FROM sources WHERE guild_id = ? AND source_key = ? AND {visible()}",
            (guild_id, key),
        )
    )
    if not rows:
        return None
    source_id = int(rows[0][0])
    await db.execute(
        "UPDATE sources SET source_key = ? WHERE source_id = ?", (RETIRED + token, source_id)
    )
    return source_id


async def delete_some(db: aiosqlite.Connection, source_id: int, limit: int) -> bool:
    """Delete up to ``limit`` rows of a hidden source (its uploads first, then its
    membership, then the row itself); return whether anything is left to delete.

    A source that is not hidden (any more) is never touched.
    """
    hidden = list(
        await db.execute_fetchall(
            f"SELECT 1 FROM sources WHERE source_id = ? AND NOT {visible()}", (source_id,)
        )
    )
    if not hidden:
        return False
    # Primary-key lookups for each step (guild, id, source), not a scan of the source.
    cursor = await db.execute(
        """DELETE FROM uploaded_tracks
           WHERE guild_id = (SELECT guild_id FROM sources WHERE source_id = ?)
             AND source_id = ?
             AND id IN (SELECT id FROM uploaded_tracks WHERE source_id = ? LIMIT ?)""",
        (source_id, source_id, source_id, limit),
    )
    if cursor.rowcount > 0:
        return True
    cursor = await db.execute(
        """DELETE FROM source_tracks WHERE source_id = ? AND position IN (
               SELECT position FROM source_tracks WHERE source_id = ? LIMIT ?)""",
        (source_id, source_id, limit),
    )
    if cursor.rowcount > 0:
        return True
    await db.execute(f"DELETE FROM sources WHERE source_id = ? AND NOT {visible()}", (source_id,))
    return False


async def of_token(db: aiosqlite.Connection, token: str) -> list[int]:
    """The hidden rows one big write left: its staging row, or the source it retired."""
    rows = await db.execute_fetchall(
        "SELECT source_id FROM sources WHERE source_key IN (?, ?)",
        (STAGING + token, RETIRED + token),
    )
    return [int(row[0]) for row in rows]


async def leftovers(db: aiosqlite.Connection, staged_before: str) -> list[int]:
    """Hidden rows nothing will finish: every retired source, and staged ones that
    began before ``staged_before`` (their import crashed or was killed)."""
    rows = await db.execute_fetchall(
        "SELECT source_id FROM sources WHERE source_key >= ? AND source_key < ? "
        "   OR (source_key >= ? AND source_key < ? AND refreshed_at < ?)",
        (RETIRED, RETIRED + "\U0010ffff", STAGING, STAGING + "\U0010ffff", staged_before),
    )
    return [int(row[0]) for row in rows]
