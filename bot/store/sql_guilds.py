"""SQL for guild rows, settings and departures (inside the caller's transaction)."""

from __future__ import annotations

import json

import aiosqlite

from bot.store.guild_settings import GuildSettings


async def ensure_guild(db: aiosqlite.Connection, guild_id: int, now: str) -> None:
    """Create the guild's parent row if needed (every guild-owned row references it)."""
    await db.execute(
        "INSERT INTO guilds (guild_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (guild_id, now),
    )


async def get_settings(db: aiosqlite.Connection, guild_id: int) -> GuildSettings:
    """Stored settings, or defaults; invalid stored values fall back to defaults."""
    rows = list(
        await db.execute_fetchall(
            "SELECT settings FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
    )
    if not rows:
        return GuildSettings()
    return GuildSettings.from_dict(json.loads(rows[0][0]), lenient=True)


async def set_settings(
    db: aiosqlite.Connection, guild_id: int, settings: GuildSettings, now: str
) -> None:
    """Store the settings document, replacing the previous one."""
    await ensure_guild(db, guild_id, now)
    await db.execute(
        """INSERT INTO guild_settings (guild_id, settings, updated_at) VALUES (?, ?, ?)
           ON CONFLICT(guild_id) DO UPDATE
           SET settings = excluded.settings, updated_at = excluded.updated_at""",
        (guild_id, json.dumps(settings.to_dict(), sort_keys=True), now),
    )


async def delete_guild(db: aiosqlite.Connection, guild_id: int) -> None:
    """Delete the guild row; foreign keys cascade to everything it owns."""
    await db.execute("DELETE FROM guilds WHERE guild_id = ?", (guild_id,))


async def mark_left(db: aiosqlite.Connection, guild_id: int, at: str) -> None:
    """Record a departure; an earlier recorded departure is kept."""
    await ensure_guild(db, guild_id, at)
    await db.execute(
        "INSERT INTO guild_departures (guild_id, left_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (guild_id, at),
    )


async def unmark_left(db: aiosqlite.Connection, guild_id: int) -> bool:
    """Forget a departure; ``True`` if one was recorded."""
    cursor = await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,))
    return cursor.rowcount > 0


async def purge_departed(db: aiosqlite.Connection, cutoff: str) -> list[int]:
    """Delete every guild that left at or before ``cutoff``; return their ids."""
    rows = await db.execute_fetchall(
        "SELECT guild_id FROM guild_departures WHERE left_at <= ? ORDER BY guild_id", (cutoff,)
    )
    guild_ids = [int(row[0]) for row in rows]
    for guild_id in guild_ids:
        await delete_guild(db, guild_id)
    return guild_ids
