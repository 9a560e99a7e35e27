"""SQL for the values a guild uploaded (CSV sources) and for a guild's view of tracks.

Uploaded values belong to one CSV source of one guild (``uploaded_tracks``) and are
never written to, or read as, the shared cache of upstream values (``tracks``). A
guild sees a track as its newest upload of the id (``uploaded_at``, then
``source_id``), else as the shared upstream row; another guild's uploads are never
part of it. Everything runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from bot.store.postgres.rows import record_to_track, track_arrays, track_select, unnest_tracks
from bot.store.rows import TRACK_COLUMNS, chunks, decode_off_loop
from recommender.track import Track

_BATCH = 5000
_FROM, _SELECT_VALUES = unnest_tracks(4)
_INSERT = (
    "INSERT INTO uploaded_tracks (guild_id, source_id, uploaded_at, "
    + ", ".join(f'"{c}"' for c in TRACK_COLUMNS)
    + f") SELECT $1, $2, $3, {_SELECT_VALUES} FROM {_FROM}"
)
# DISTINCT ON keeps the first row per id: the newest upload (then the newest source).
_SELECT = f"""SELECT DISTINCT ON (u.id) s.source_key, {track_select("u")}
    FROM uploaded_tracks u JOIN sources s ON s.source_id = u.source_id
    WHERE u.guild_id = $1 AND ($2::text[] IS NULL OR u.id = ANY($2::text[]))
    ORDER BY u.id, u.uploaded_at DESC, u.source_id DESC"""

Uploads = dict[str, tuple[Track, str]]
"""A guild's uploaded values by track id: the record and the key of its CSV source."""


async def replace_uploads(
    conn: asyncpg.Connection,
    guild_id: int,
    source_id: int,
    tracks: Sequence[Track],
    uploaded_at: dt.datetime,
) -> None:
    """Make ``tracks`` the values the source uploaded (dropping any earlier ones)."""
    await conn.execute(
        "DELETE FROM uploaded_tracks WHERE source_id = $1 AND guild_id = $2", source_id, guild_id
    )
    latest = {track.id: track for track in tracks}  # a file naming an id twice: later wins
    for batch in chunks(list(latest.values()), _BATCH):
        await conn.execute(_INSERT, guild_id, source_id, uploaded_at, *track_arrays(batch))


def _decode(rows: Iterable[Sequence[Any]]) -> Uploads:
    return {row[1]: (record_to_track(row, 1), row[0]) for row in rows}


async def guild_uploads(
    conn: asyncpg.Connection, guild_id: int, track_ids: Sequence[str] | None = None
) -> Uploads:
    """The guild's newest upload of each id (of every id it uploaded, or of these)."""
    only = None if track_ids is None else list(dict.fromkeys(track_ids))
    rows = await conn.fetch(_SELECT, guild_id, only)
    return await decode_off_loop(rows, _decode)
