"""SQL for guild rows, settings and departures (inside the caller's transaction)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from bot.store.guild_settings import GuildSettings
from bot.store.postgres.rows import affected

# A guild row deleted by another process between our insert and our lock is
# created again; twice in a row would take a purge racing a flood of writes.
_ENSURE_ATTEMPTS = 3


async def ensure_guild(conn: asyncpg.Connection, guild_id: int, now: dt.datetime) -> None:
    """Create the guild's parent row if needed and hold it until the transaction ends.

    The ``FOR KEY SHARE`` lock lets every writer of the guild proceed at once but
    makes a concurrent purge of the guild wait, so the rows written next cannot
    lose their parent half-way (SQLite gets this from its single writer).
    """
    for _ in range(_ENSURE_ATTEMPTS):
        await conn.execute(
            "INSERT INTO guilds (guild_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            guild_id,
            now,
        )
        if await conn.fetchval(
            "SELECT true FROM guilds WHERE guild_id = $1 FOR KEY SHARE", guild_id
        ):
            return
    raise RuntimeError(f"guild {guild_id} keeps being deleted while it is written to")


def _decode(document: Any) -> GuildSettings:
    data = json.loads(document) if isinstance(document, str) else document
    return GuildSettings.from_dict(data if isinstance(data, dict) else {}, lenient=True)


async def get_settings(conn: asyncpg.Connection, guild_id: int) -> GuildSettings:
    """Stored settings, or defaults; invalid stored values fall back to defaults."""
    document = await conn.fetchval(
        "SELECT settings FROM guild_settings WHERE guild_id = $1", guild_id
    )
    return GuildSettings() if document is None else _decode(document)


async def set_settings(
    conn: asyncpg.Connection, guild_id: int, settings: GuildSettings, now: dt.datetime
) -> None:
    """Store the settings document, replacing the previous one."""
    await ensure_guild(conn, guild_id, now)
    await conn.execute(
        """INSERT INTO guild_settings (guild_id, settings, updated_at) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (guild_id) DO UPDATE
           SET settings = excluded.settings, updated_at = excluded.updated_at""",
        guild_id,
        json.dumps(settings.to_dict(), sort_keys=True),
        now,
    )


async def update_settings(
    conn: asyncpg.Connection, guild_id: int, changes: dict[str, Any], now: dt.datetime
) -> GuildSettings:
    """Read, change and write the settings under the row's lock (no lost update)."""
    await ensure_guild(conn, guild_id, now)
    # An empty document reads as the defaults; it exists only to be locked, and an
    # invalid change rolls it back with everything else.
    await conn.execute(
        """INSERT INTO guild_settings (guild_id, settings, updated_at) VALUES ($1, '{}', $2)
           ON CONFLICT DO NOTHING""",
        guild_id,
        now,
    )
    document = await conn.fetchval(
        "SELECT settings FROM guild_settings WHERE guild_id = $1 FOR UPDATE", guild_id
    )
    settings = _decode(document).replace(**changes)
    await set_settings(conn, guild_id, settings, now)
    return settings


async def mark_left(conn: asyncpg.Connection, guild_id: int, at: dt.datetime) -> None:
    """Record a departure; an earlier recorded departure is kept."""
    await ensure_guild(conn, guild_id, at)
    await conn.execute(
        "INSERT INTO guild_departures (guild_id, left_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        guild_id,
        at,
    )


async def unmark_left(conn: asyncpg.Connection, guild_id: int) -> bool:
    """Forget a departure; ``True`` if one was recorded."""
    status = await conn.execute("DELETE FROM guild_departures WHERE guild_id = $1", guild_id)
    return affected(status) > 0


async def purge_departed(conn: asyncpg.Connection, cutoff: dt.datetime) -> list[int]:
    """Delete every guild that left at or before ``cutoff``; return their ids.

    ``SKIP LOCKED``: a departure another process is purging (or a rejoin is
    removing) right now is left to it, so each guild is purged once.
    """
    rows = await conn.fetch(
        """DELETE FROM guilds WHERE guild_id IN (
               SELECT guild_id FROM guild_departures WHERE left_at <= $1
               FOR UPDATE SKIP LOCKED)
           RETURNING guild_id""",
        cutoff,
    )
    return sorted(int(row[0]) for row in rows)
