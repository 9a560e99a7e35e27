"""SQL for recommendation messages and their items."""

from __future__ import annotations

import json

import aiosqlite

from bot.infra.sharding import ShardLayout
from bot.store.errors import DuplicateMessageError
from bot.store.models import RecommendationItem, RecommendationMessage
from bot.store.rows import chunks, from_db_time, to_db_time
from bot.store.sql_guilds import ensure_guild
from bot.store.sql_tracks import MAX_VARIABLES


async def save(db: aiosqlite.Connection, message: RecommendationMessage, now: str) -> None:
    """Insert the message and its items."""
    rows = list(
        await db.execute_fetchall(
            "SELECT 1 FROM rec_messages WHERE message_id = ?", (message.message_id,)
        )
    )
    if rows:
        raise DuplicateMessageError(message.message_id)
    await ensure_guild(db, message.guild_id, now)
    await db.execute(
        """INSERT INTO rec_messages
           (message_id, guild_id, channel_id, user_id, seed_track_ids, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (
            message.message_id,
            message.guild_id,
            message.channel_id,
            message.user_id,
            json.dumps(list(message.seed_track_ids)),
            to_db_time(message.created_at),
        ),
    )
    await db.executemany(
        "INSERT INTO rec_items (message_id, position, track_id, emoji) VALUES (?, ?, ?, ?)",
        ((message.message_id, i.position, i.track_id, i.emoji) for i in message.items),
    )


async def get(
    db: aiosqlite.Connection, guild_id: int, message_id: int
) -> RecommendationMessage | None:
    """The guild's message with its items in position order, or ``None``."""
    rows = list(
        await db.execute_fetchall(
            """SELECT channel_id, user_id, seed_track_ids, created_at FROM rec_messages
               WHERE message_id = ? AND guild_id = ?""",
            (message_id, guild_id),
        )
    )
    if not rows:
        return None
    channel_id, user_id, seeds, created_at = rows[0]
    item_rows = await db.execute_fetchall(
        "SELECT position, track_id, emoji FROM rec_items WHERE message_id = ? ORDER BY position",
        (message_id,),
    )
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=channel_id,
        message_id=message_id,
        user_id=user_id,
        seed_track_ids=tuple(json.loads(seeds)),
        created_at=from_db_time(created_at),
        items=tuple(RecommendationItem(p, t, e) for p, t, e in item_rows),
    )


async def recent(
    db: aiosqlite.Connection, created_after: str, limit: int, shards: ShardLayout | None = None
) -> list[RecommendationMessage]:
    """Messages created after the cutoff, newest first, at most ``limit``: of every
    guild, or only of guilds on ``shards`` (Discord's ``(guild_id >> 22) % count``)."""
    only = shards.guild_filter() if shards is not None else None
    on_shards = ""
    parameters: list[object] = []
    if only is not None:
        # One JSON parameter, whatever the number of shard ids (SQLite caps parameters).
        on_shards = " AND (guild_id >> 22) % ? IN (SELECT value FROM json_each(?))"
        parameters = [only[0], json.dumps(list(only[1]))]
    rows = list(
        await db.execute_fetchall(
            f"""SELECT message_id, guild_id, channel_id, user_id, seed_track_ids, created_at
               FROM rec_messages WHERE created_at > ?{on_shards}
               ORDER BY created_at DESC, message_id DESC LIMIT ?""",
            (created_after, *parameters, limit),
        )
    )
    items: dict[int, list[RecommendationItem]] = {}
    for chunk in chunks([row[0] for row in rows], MAX_VARIABLES):
        item_rows = await db.execute_fetchall(
            f"""SELECT message_id, position, track_id, emoji FROM rec_items
                WHERE message_id IN ({", ".join("?" * len(chunk))})
                ORDER BY message_id, position""",
            chunk,
        )
        for message_id, position, track_id, emoji in item_rows:
            items.setdefault(message_id, []).append(RecommendationItem(position, track_id, emoji))
    return [
        RecommendationMessage(
            guild_id=guild_id,
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            seed_track_ids=tuple(json.loads(seeds)),
            created_at=from_db_time(created_at),
            items=tuple(items.get(message_id, ())),
        )
        for message_id, guild_id, channel_id, user_id, seeds, created_at in rows
    ]


async def delete_for_member(db: aiosqlite.Connection, guild_id: int, user_id: int) -> int:
    """Delete the messages the member requested in the guild (items cascade)."""
    cursor = await db.execute(
        "DELETE FROM rec_messages WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return cursor.rowcount


async def prune(db: aiosqlite.Connection, created_before: str, limit: int | None) -> int:
    """Delete messages older than the cutoff in every guild (items cascade), the
    oldest first, at most ``limit`` (``None``: all)."""
    cursor = await db.execute(
        """DELETE FROM rec_messages WHERE message_id IN (
               SELECT message_id FROM rec_messages WHERE created_at < ?
               ORDER BY created_at LIMIT ?)""",
        (created_before, -1 if limit is None else limit),  # SQLite: negative = no limit
    )
    return cursor.rowcount
