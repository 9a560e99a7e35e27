"""SQL for the shared track cache (runs inside the caller's transaction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from bot.store.postgres.rows import (
    affected,
    records_to_tracks,
    track_arrays,
    track_select,
    unnest_tracks,
)
from bot.store.rows import TRACK_COLUMNS, chunks, decode_off_loop
from recommender.track import Track

# Rows per upsert statement: one round trip each, a few MB of parameters at most.
UPSERT_BATCH = 5000

# Advisory lock key of "the cache is being pruned" (ASCII "recbot-p"). Whoever makes
# a row refer to a cached track holds it shared until commit; pruning holds it
# exclusively. So a prune never deletes a track that a playlist saved a moment ago
# (in another process) points at, while savers never wait for each other.
PRUNE_LOCK_KEY = 0x7265_6362_6F74_2D70

_FROM, _SELECT = unnest_tracks(2)
_COLUMN_LIST = ", ".join(f'"{c}"' for c in (*TRACK_COLUMNS, "fetched_at"))
_UPDATES = ", ".join(f'"{c}" = excluded."{c}"' for c in (*TRACK_COLUMNS[1:], "fetched_at"))
_UPSERT = (
    f"INSERT INTO tracks ({_COLUMN_LIST}) SELECT {_SELECT}, $1 FROM {_FROM} "
    f"ON CONFLICT (id) DO UPDATE SET {_UPDATES}"
)


async def put_tracks(
    conn: asyncpg.Connection, tracks: Sequence[Track], fetched_at: dt.datetime
) -> None:
    """Insert or update the records; a later duplicate in ``tracks`` wins."""
    # One statement cannot update a row twice, so duplicates are settled here; and
    # rows go in id order, so two concurrent batches lock shared rows in the same
    # order and cannot deadlock.
    latest = {track.id: track for track in tracks}
    ordered = [latest[track_id] for track_id in sorted(latest)]
    for batch in chunks(ordered, UPSERT_BATCH):
        await conn.execute(_UPSERT, fetched_at, *track_arrays(batch))


async def get_tracks(conn: asyncpg.Connection, track_ids: Sequence[str]) -> dict[str, Track]:
    """The cached records among ``track_ids``, by id."""
    rows = await conn.fetch(
        f"SELECT {track_select()} FROM tracks t WHERE t.id = ANY($1::text[])",
        list(dict.fromkeys(track_ids)),
    )
    return await decode_off_loop(rows, records_to_tracks)


async def missing_track_ids(conn: asyncpg.Connection, track_ids: Sequence[str]) -> list[str]:
    """The ids among ``track_ids`` that are not cached, in input order."""
    unique = list(dict.fromkeys(track_ids))
    rows = await conn.fetch(
        """SELECT u.id FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n)
           WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE t.id = u.id)
           ORDER BY u.n""",
        unique,
    )
    return [row[0] for row in rows]


async def count_tracks(conn: asyncpg.Connection) -> int:
    """Number of cached records."""
    return int(await conn.fetchval("SELECT count(*) FROM tracks"))


async def hold_tracks(conn: asyncpg.Connection) -> None:
    """Keep any prune out until this transaction ends (see :data:`PRUNE_LOCK_KEY`)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", PRUNE_LOCK_KEY)


async def prune_tracks(
    conn: asyncpg.Connection, fetched_before: dt.datetime, limit: int | None
) -> int:
    """Delete old records nothing refers to, at most ``limit`` (``None``: all); return
    how many."""
    # Waits for every transaction that references tracks to commit; the DELETE
    # below then runs on a snapshot that sees what they wrote.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", PRUNE_LOCK_KEY)
    status = await conn.execute(
        """DELETE FROM tracks WHERE id IN (
               SELECT t.id FROM tracks t
               WHERE t.fetched_at < $1
                 AND NOT EXISTS (SELECT 1 FROM source_tracks st WHERE st.track_id = t.id)
                 AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.track_id = t.id)
                 AND NOT EXISTS (SELECT 1 FROM rec_items i WHERE i.track_id = t.id)
               LIMIT $2)""",
        fetched_before,
        limit,  # NULL: no limit
    )
    return affected(status)
