"""SQL for guild playlist sources, their membership and the guild catalogue.

A Spotify source's tracks are in the shared cache of upstream values; a CSV
source's tracks are its guild's uploads (:mod:`bot.store.sql_uploads`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.errors import UncachedTracksError
from bot.store.models import PlaylistSource, StoredCatalogue
from bot.store.rows import (
    DECODE_IN_THREAD_ABOVE,
    decode_off_loop,
    from_db_time,
    optional_time,
    release_in_slices,
    rows_to_tracks,
    to_db_time,
    track_select,
)
from bot.store.sql_guilds import ensure_guild
from bot.store.sql_staging import visible
from bot.store.sql_tracks import missing_track_ids
from bot.store.sql_uploads import Uploads, guild_uploads, replace_uploads
from recommender.track import Track

_SOURCE_COLUMNS = (
    "guild_id, source_key, kind, display_name, added_by, added_at, snapshot_id, "
    "track_count, skipped_count, featureless_count, refreshed_at"
)


def _row_to_source(row: Sequence[Any]) -> PlaylistSource:
    return PlaylistSource(
        guild_id=row[0],
        key=row[1],
        kind=row[2],
        display_name=row[3],
        added_by=row[4],
        added_at=from_db_time(row[5]),
        snapshot_id=row[6],
        track_count=row[7],
        skipped_count=row[8],
        featureless_count=row[9],
        refreshed_at=optional_time(row[10]),
    )


async def _source_id(db: aiosqlite.Connection, guild_id: int, key: str) -> int | None:
    rows = list(
        await db.execute_fetchall(
            f"SELECT source_id FROM sources WHERE guild_id = ? AND source_key = ? AND {visible()}",
            (guild_id, key),
        )
    )
    return int(rows[0][0]) if rows else None


async def get_source(db: aiosqlite.Connection, guild_id: int, key: str) -> PlaylistSource | None:
    """The guild's source with this key, or ``None``."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_SOURCE_COLUMNS} FROM sources "
            f"WHERE guild_id = ? AND source_key = ? AND {visible()}",
            (guild_id, key),
        )
    )
    return _row_to_source(rows[0]) if rows else None


async def list_sources(db: aiosqlite.Connection, guild_id: int) -> list[PlaylistSource]:
    """The guild's sources in the order they were first added."""
    # added_at first: a big source swapped in by sql_staging has a new source_id but
    # keeps its first adder's date, so it keeps its place.
    rows = await db.execute_fetchall(
        f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE guild_id = ? AND {visible()} "
        "ORDER BY added_at, source_id",
        (guild_id,),
    )
    return [_row_to_source(row) for row in rows]


async def count_sources(db: aiosqlite.Connection, guild_id: int) -> int:
    """How many sources the guild has."""
    rows = list(
        await db.execute_fetchall(
            f"SELECT count(*) FROM sources WHERE guild_id = ? AND {visible()}", (guild_id,)
        )
    )
    return int(rows[0][0])


async def save_source(
    db: aiosqlite.Connection, source: PlaylistSource, track_ids: Sequence[str], now: str
) -> PlaylistSource:
    """Upsert an upstream (Spotify) source and replace its membership; every id must
    be in the shared cache (caller holds the transaction)."""
    check_kind(source, "spotify")
    # Checked up front so the error names the ids (membership has no foreign key to
    # the cache: a CSV source's tracks live in its guild's uploads).
    missing = await missing_track_ids(db, track_ids)
    if missing:
        raise UncachedTracksError(missing)
    source_id = await _write_source(db, source, track_ids, now)
    # A key that once named an upload keeps none of its uploaded values.
    await replace_uploads(db, source.guild_id, source_id, [], now)
    return await _stored(db, source)


async def save_upload(
    db: aiosqlite.Connection, source: PlaylistSource, tracks: Sequence[Track], now: str
) -> PlaylistSource:
    """Upsert a CSV source, replace its membership with ``tracks`` in order and store
    their values as the guild's own uploads; the shared cache is not touched."""
    check_kind(source, "csv")
    source_id = await _write_source(db, source, [t.id for t in tracks], now)
    await replace_uploads(db, source.guild_id, source_id, tracks, now)
    return await _stored(db, source)


def check_kind(source: PlaylistSource, kind: str) -> None:
    """Refuse a source saved through the other door (upstream vs uploaded values)."""
    if source.kind == kind:
        return
    if kind == "spotify":
        raise ValueError(f"a {source.kind!r} source holds uploaded values: use save_upload")
    raise ValueError(f"a {source.kind!r} source holds upstream values: use save_source")


async def _write_source(
    db: aiosqlite.Connection, source: PlaylistSource, track_ids: Sequence[str], now: str
) -> int:
    """Upsert the source row and replace its membership; return its ``source_id``."""
    await ensure_guild(db, source.guild_id, now)
    refreshed_at = to_db_time(source.refreshed_at) if source.refreshed_at else now
    # On conflict the first adder and date stay: a refresh is not a new addition.
    await db.execute(
        f"""INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(guild_id, source_key) DO UPDATE SET
              kind = excluded.kind, display_name = excluded.display_name,
              snapshot_id = excluded.snapshot_id, track_count = excluded.track_count,
              skipped_count = excluded.skipped_count,
              featureless_count = excluded.featureless_count,
              refreshed_at = excluded.refreshed_at""",
        (
            source.guild_id,
            source.key,
            source.kind,
            source.display_name,
            source.added_by,
            to_db_time(source.added_at),
            source.snapshot_id,
            len(track_ids),
            source.skipped_count,
            source.featureless_count,
            refreshed_at,
        ),
    )
    source_id = await _source_id(db, source.guild_id, source.key)
    assert source_id is not None  # written above, in this transaction
    await db.execute("DELETE FROM source_tracks WHERE source_id = ?", (source_id,))
    await db.executemany(
        "INSERT INTO source_tracks (source_id, position, track_id) VALUES (?, ?, ?)",
        ((source_id, position, track_id) for position, track_id in enumerate(track_ids)),
    )
    return source_id


async def _stored(db: aiosqlite.Connection, source: PlaylistSource) -> PlaylistSource:
    stored = await get_source(db, source.guild_id, source.key)
    assert stored is not None  # written by the caller, in this transaction
    return stored


async def remove_source(db: aiosqlite.Connection, guild_id: int, key: str) -> bool:
    """Delete the source (its membership cascades)."""
    cursor = await db.execute(
        f"DELETE FROM sources WHERE guild_id = ? AND source_key = ? AND {visible()}",
        (guild_id, key),
    )
    return cursor.rowcount > 0


async def load_catalogue(db: aiosqlite.Connection, guild_id: int) -> StoredCatalogue:
    """The guild's tracks as it sees them, and its memberships, in set-based queries (no
    per-track I/O); putting 100k rows together runs off the event loop."""
    # Sources first, then each one's members in key order: no sort of every row.
    sources = await db.execute_fetchall(
        f"SELECT source_id, source_key FROM sources WHERE guild_id = ? AND {visible()} "
        "ORDER BY added_at, source_id",
        (guild_id,),
    )
    members: list[tuple[str, list[Any]]] = []
    for source_id, key in sources:
        rows = await db.execute_fetchall(
            "SELECT track_id FROM source_tracks WHERE source_id = ? ORDER BY position",
            (source_id,),
        )
        members.append((key, list(rows)))
    # Upstream values for the ids of the guild's Spotify sources (DISTINCT in the
    # subquery, primary-key lookups into the shared cache: the cost grows with this
    # guild's catalogue, not with the whole cache); a CSV source's ids are always
    # among the guild's uploads, which win over upstream values.
    track_rows = await db.execute_fetchall(
        f"""SELECT {track_select()} FROM tracks t WHERE t.id IN (
                SELECT st.track_id FROM sources s
                JOIN source_tracks st ON st.source_id = s.source_id
                WHERE s.guild_id = ? AND s.kind = 'spotify' AND {visible("s")})""",
        (guild_id,),
    )
    by_id = await decode_off_loop(list(track_rows), rows_to_tracks)
    uploads = await guild_uploads(db, guild_id)
    assemble = functools.partial(_assemble, members, by_id, uploads)
    if sum(len(rows) for _, rows in members) < DECODE_IN_THREAD_ABOVE:
        return assemble()
    return await asyncio.to_thread(assemble)


def _assemble(
    members: list[tuple[str, list[Any]]], by_id: dict[str, Track], uploads: Uploads
) -> StoredCatalogue:
    """The catalogue from each source's member rows (in source order) and the records."""
    memberships: dict[str, list[str]] = {}
    sources_of: dict[str, list[str]] = {}  # insertion order = first appearance
    for key, rows in members:
        ids = memberships[key] = [row[0] for row in rows]
        release_in_slices(rows)  # here, not as one long free on the event loop
        for track_id in ids:
            keys = sources_of.get(track_id)
            if keys is None:
                sources_of[track_id] = [key]
            elif keys[-1] != key:  # one source's rows come together
                keys.append(key)
    by_id.update((track_id, track) for track_id, (track, _) in uploads.items())
    return StoredCatalogue(
        # An id with no record at all cannot be rebuilt offline; it is left out
        # rather than failing the whole guild.
        tracks=[by_id[track_id] for track_id in sources_of if track_id in by_id],
        memberships=memberships,
        _sources_of={track_id: tuple(keys) for track_id, keys in sources_of.items()},
        _uploads={
            track_id: key for track_id, (_, key) in uploads.items() if track_id in sources_of
        },
    )
