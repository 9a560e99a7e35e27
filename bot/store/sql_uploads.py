"""SQL for the values a guild uploaded (CSV sources) and for a guild's view of tracks.

Uploaded values belong to one CSV source of one guild (``uploaded_tracks``) and are
never written to, or read as, the shared cache of upstream values (``tracks``). A
guild sees a track as its newest upload of the id (``uploaded_at``, then
``source_id``), else as the shared upstream row; another guild's uploads are never
part of it. Everything runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from bot.store.rows import (
    TRACK_COLUMNS,
    chunks,
    decode_off_loop,
    row_to_track,
    track_select,
    track_to_row,
)
from bot.store.sql_staging import visible
from bot.store.sql_tracks import MAX_VARIABLES
from recommender.track import Track

_COLUMNS = ("guild_id", "source_id", *TRACK_COLUMNS, "uploaded_at")
_COLUMN_LIST = ", ".join(f'"{c}"' for c in _COLUMNS)
_INSERT = (
    f"INSERT INTO uploaded_tracks ({_COLUMN_LIST}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
    # A file naming an id twice: the later row wins, as everywhere else.
    "ON CONFLICT (guild_id, id, source_id) DO UPDATE SET "
    + ", ".join(f'"{c}" = excluded."{c}"' for c in (*TRACK_COLUMNS[1:], "uploaded_at"))
)
# The source key first, then the track columns (row_to_track(row, 1)); oldest upload
# first so that, decoded in order, a guild's newest upload of an id wins.
_SELECT = f"""SELECT s.source_key, {track_select("u")}
    FROM uploaded_tracks u JOIN sources s ON s.source_id = u.source_id
    WHERE u.guild_id = ? AND {visible("s")}{{only}}
    ORDER BY u.uploaded_at, u.source_id"""

Uploads = dict[str, tuple[Track, str]]
"""A guild's uploaded values by track id: the record and the key of its CSV source."""


async def replace_uploads(
    db: aiosqlite.Connection,
    guild_id: int,
    source_id: int,
    tracks: Sequence[Track],
    uploaded_at: str,
) -> None:
    """Make ``tracks`` the values the source uploaded (dropping any earlier ones)."""
    await db.execute(
        "DELETE FROM uploaded_tracks WHERE source_id = ? AND guild_id = ?", (source_id, guild_id)
    )
    await insert_uploads(db, guild_id, source_id, tracks, uploaded_at)


async def insert_uploads(
    db: aiosqlite.Connection,
    guild_id: int,
    source_id: int,
    tracks: Sequence[Track],
    uploaded_at: str,
) -> None:
    """Add ``tracks`` to the values the source uploaded (a later row of an id wins)."""
    await db.executemany(
        _INSERT, ((guild_id, source_id, *track_to_row(t, uploaded_at)) for t in tracks)
    )


def _decode(rows: Iterable[Sequence[Any]]) -> Uploads:
    return {row[1]: (row_to_track(row, 1), row[0]) for row in rows}


async def guild_uploads(
    db: aiosqlite.Connection, guild_id: int, track_ids: Sequence[str] | None = None
) -> Uploads:
    """The guild's newest upload of each id (of every id it uploaded, or of these)."""
    rows: list[Any] = []
    if track_ids is None:
        rows.extend(await db.execute_fetchall(_SELECT.format(only=""), (guild_id,)))
    else:
        for chunk in chunks(list(dict.fromkeys(track_ids)), MAX_VARIABLES - 1):
            only = f" AND u.id IN ({', '.join('?' * len(chunk))})"
            rows.extend(await db.execute_fetchall(_SELECT.format(only=only), (guild_id, *chunk)))
        # Chunks each come in upload order; across chunks an id appears in one only.
    return await decode_off_loop(rows, _decode)
