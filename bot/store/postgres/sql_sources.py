"""SQL for guild playlist sources, their membership and the guild catalogue.

A Spotify source's tracks are in the shared cache of upstream values; a CSV
source's tracks are its guild's uploads (:mod:`bot.store.postgres.sql_uploads`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from bot.store.errors import UncachedTracksError
from bot.store.models import PlaylistSource, StoredCatalogue
from bot.store.postgres.rows import affected, clean_text, records_to_tracks, track_select
from bot.store.postgres.sql_guilds import ensure_guild
from bot.store.postgres.sql_tracks import hold_tracks, missing_track_ids
from bot.store.postgres.sql_uploads import guild_uploads, replace_uploads
from bot.store.rows import decode_off_loop
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
        added_at=row[5],
        snapshot_id=row[6],
        track_count=row[7],
        skipped_count=row[8],
        featureless_count=row[9],
        refreshed_at=row[10],
    )


async def _source_id(conn: asyncpg.Connection, guild_id: int, key: str) -> int | None:
    value = await conn.fetchval(
        "SELECT source_id FROM sources WHERE guild_id = $1 AND source_key = $2", guild_id, key
    )
    return None if value is None else int(value)


async def get_source(conn: asyncpg.Connection, guild_id: int, key: str) -> PlaylistSource | None:
    """The guild's source with this key, or ``None``."""
    row = await conn.fetchrow(
        f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE guild_id = $1 AND source_key = $2",
        guild_id,
        key,
    )
    return None if row is None else _row_to_source(row)


async def list_sources(conn: asyncpg.Connection, guild_id: int) -> list[PlaylistSource]:
    """The guild's sources in the order they were first added."""
    rows = await conn.fetch(
        f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE guild_id = $1 ORDER BY source_id",
        guild_id,
    )
    return [_row_to_source(row) for row in rows]


async def count_sources(conn: asyncpg.Connection, guild_id: int) -> int:
    """How many sources the guild has."""
    return int(await conn.fetchval("SELECT count(*) FROM sources WHERE guild_id = $1", guild_id))


async def save_source(
    conn: asyncpg.Connection,
    source: PlaylistSource,
    track_ids: Sequence[str],
    now: dt.datetime,
) -> PlaylistSource:
    """Upsert an upstream (Spotify) source and replace its membership; every id must
    be in the shared cache (caller holds the transaction)."""
    if source.kind != "spotify":
        raise ValueError(f"a {source.kind!r} source holds uploaded values: use save_upload")
    await hold_tracks(conn)  # the ids checked next cannot be pruned before commit
    missing = await missing_track_ids(conn, track_ids)
    if missing:
        raise UncachedTracksError(missing)
    source_id = await _write_source(conn, source, track_ids, now)
    # A key that once named an upload keeps none of its uploaded values.
    await replace_uploads(conn, source.guild_id, source_id, [], now)
    return await _stored(conn, source)


async def save_upload(
    conn: asyncpg.Connection, source: PlaylistSource, tracks: Sequence[Track], now: dt.datetime
) -> PlaylistSource:
    """Upsert a CSV source, replace its membership with ``tracks`` in order and store
    their values as the guild's own uploads; the shared cache is not touched."""
    if source.kind != "csv":
        raise ValueError(f"a {source.kind!r} source holds upstream values: use save_source")
    source_id = await _write_source(conn, source, [t.id for t in tracks], now)
    await replace_uploads(conn, source.guild_id, source_id, tracks, now)
    return await _stored(conn, source)


async def _write_source(
    conn: asyncpg.Connection, source: PlaylistSource, track_ids: Sequence[str], now: dt.datetime
) -> int:
    """Upsert the source row and replace its membership; return its ``source_id``.

    The upsert locks the source's row, so two refreshes of one playlist (from two
    processes) apply one after the other instead of interleaving memberships.
    """
    await ensure_guild(conn, source.guild_id, now)
    # On conflict the first adder and date stay: a refresh is not a new addition.
    source_id = await conn.fetchval(
        f"""INSERT INTO sources ({_SOURCE_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (guild_id, source_key) DO UPDATE SET
              kind = excluded.kind, display_name = excluded.display_name,
              snapshot_id = excluded.snapshot_id, track_count = excluded.track_count,
              skipped_count = excluded.skipped_count,
              featureless_count = excluded.featureless_count,
              refreshed_at = excluded.refreshed_at
            RETURNING source_id""",
        source.guild_id,
        source.key,
        source.kind,
        clean_text(source.display_name),
        source.added_by,
        source.added_at,
        None if source.snapshot_id is None else clean_text(source.snapshot_id),
        len(track_ids),
        source.skipped_count,
        source.featureless_count,
        source.refreshed_at or now,
    )
    await conn.execute("DELETE FROM source_tracks WHERE source_id = $1", source_id)
    await conn.execute(
        """INSERT INTO source_tracks (source_id, position, track_id)
           SELECT $1, u.n - 1, u.id FROM unnest($2::text[]) WITH ORDINALITY AS u(id, n)""",
        source_id,
        list(track_ids),
    )
    return int(source_id)


async def _stored(conn: asyncpg.Connection, source: PlaylistSource) -> PlaylistSource:
    stored = await get_source(conn, source.guild_id, source.key)
    assert stored is not None  # written by the caller, in this transaction
    return stored


async def remove_source(conn: asyncpg.Connection, guild_id: int, key: str) -> bool:
    """Delete the source (its membership cascades)."""
    status = await conn.execute(
        "DELETE FROM sources WHERE guild_id = $1 AND source_key = $2", guild_id, key
    )
    return affected(status) > 0


async def load_catalogue(conn: asyncpg.Connection, guild_id: int) -> StoredCatalogue:
    """The guild's tracks and memberships in two set-based queries (no per-track I/O).

    The caller runs this in one snapshot, so both queries see the same sources.
    """
    membership_rows = await conn.fetch(
        """SELECT s.source_key, st.track_id
           FROM sources s LEFT JOIN source_tracks st ON st.source_id = s.source_id
           WHERE s.guild_id = $1
           ORDER BY s.source_id, st.position""",
        guild_id,
    )
    memberships: dict[str, list[str]] = {}
    sources_of: dict[str, list[str]] = {}  # insertion order = first appearance
    for key, track_id in membership_rows:
        members = memberships.setdefault(key, [])
        if track_id is None:  # a source with no tracks (LEFT JOIN)
            continue
        members.append(track_id)
        keys = sources_of.get(track_id)
        if keys is None:
            sources_of[track_id] = [key]
        elif keys[-1] != key:  # rows come grouped by source
            keys.append(key)
    # Upstream values for the ids of the guild's Spotify sources; a CSV source's ids
    # are always among the guild's uploads, which win over upstream values.
    track_rows = await conn.fetch(
        f"""SELECT {track_select()} FROM tracks t WHERE t.id IN (
                SELECT st.track_id FROM sources s
                JOIN source_tracks st ON st.source_id = s.source_id
                WHERE s.guild_id = $1 AND s.kind = 'spotify')""",
        guild_id,
    )
    by_id = await decode_off_loop(track_rows, records_to_tracks)
    uploads = await guild_uploads(conn, guild_id)
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
