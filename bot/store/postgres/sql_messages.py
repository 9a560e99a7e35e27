"""SQL for recommendation messages and their items."""

from __future__ import annotations

import datetime as dt

import asyncpg

from bot.infra.sharding import ShardLayout
from bot.store.errors import DuplicateMessageError
from bot.store.models import RecommendationItem, RecommendationMessage
from bot.store.postgres.rows import affected
from bot.store.postgres.sql_guilds import ensure_guild
from bot.store.postgres.sql_tracks import hold_tracks


async def save(conn: asyncpg.Connection, message: RecommendationMessage, now: dt.datetime) -> None:
    """Insert the message and its items (``DuplicateMessageError`` if the id is taken)."""
    await ensure_guild(conn, message.guild_id, now)
    await hold_tracks(conn)  # a suggested track stays cached
    # ON CONFLICT instead of a prior SELECT: two processes saving the same id
    # cannot both pass a check; the second finds the row and inserts nothing.
    inserted = await conn.fetchval(
        """INSERT INTO rec_messages
           (message_id, guild_id, channel_id, user_id, seed_track_ids, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (message_id) DO NOTHING
           RETURNING true""",
        message.message_id,
        message.guild_id,
        message.channel_id,
        message.user_id,
        list(message.seed_track_ids),
        message.created_at,
    )
    if not inserted:
        raise DuplicateMessageError(message.message_id)
    await conn.execute(
        """INSERT INTO rec_items (message_id, position, track_id, emoji)
           SELECT $1, u.position, u.track_id, u.emoji
           FROM unnest($2::integer[], $3::text[], $4::text[]) AS u(position, track_id, emoji)""",
        message.message_id,
        [i.position for i in message.items],
        [i.track_id for i in message.items],
        [i.emoji for i in message.items],
    )


async def get(
    conn: asyncpg.Connection, guild_id: int, message_id: int
) -> RecommendationMessage | None:
    """The guild's message with its items in position order, or ``None``."""
    row = await conn.fetchrow(
        """SELECT channel_id, user_id, seed_track_ids, created_at FROM rec_messages
           WHERE message_id = $1 AND guild_id = $2""",
        message_id,
        guild_id,
    )
    if row is None:
        return None
    item_rows = await conn.fetch(
        "SELECT position, track_id, emoji FROM rec_items WHERE message_id = $1 ORDER BY position",
        message_id,
    )
    return RecommendationMessage(
        guild_id=guild_id,
        channel_id=row[0],
        message_id=message_id,
        user_id=row[1],
        seed_track_ids=tuple(row[2]),
        created_at=row[3],
        items=tuple(RecommendationItem(p, t, e) for p, t, e in item_rows),
    )


async def recent(
    conn: asyncpg.Connection,
    created_after: dt.datetime,
    limit: int,
    shards: ShardLayout | None = None,
) -> list[RecommendationMessage]:
    """Messages created after the cutoff, newest first, at most ``limit``: of every
    guild, or only of guilds on ``shards`` (Discord's ``(guild_id >> 22) % count``)."""
    only = shards.guild_filter() if shards is not None else None
    rows = await conn.fetch(
        """SELECT message_id, guild_id, channel_id, user_id, seed_track_ids, created_at
           FROM rec_messages
           WHERE created_at > $1 AND ($3 OR (guild_id >> 22) % $4 = ANY($5::bigint[]))
           ORDER BY created_at DESC, message_id DESC LIMIT $2""",
        created_after,
        None if limit < 0 else limit,  # as SQLite: negative = no limit
        only is None,
        only[0] if only is not None else None,
        list(only[1]) if only is not None else None,
    )
    item_rows = await conn.fetch(
        """SELECT message_id, position, track_id, emoji FROM rec_items
           WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, position""",
        [row[0] for row in rows],
    )
    items: dict[int, list[RecommendationItem]] = {}
    for message_id, position, track_id, emoji in item_rows:
        items.setdefault(message_id, []).append(RecommendationItem(position, track_id, emoji))
    return [
        RecommendationMessage(
            guild_id=guild_id,
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            seed_track_ids=tuple(seeds),
            created_at=created_at,
            items=tuple(items.get(message_id, ())),
        )
        for message_id, guild_id, channel_id, user_id, seeds, created_at in rows
    ]


async def delete_for_member(conn: asyncpg.Connection, guild_id: int, user_id: int) -> int:
    """Delete the messages the member requested in the guild (items cascade)."""
    status = await conn.execute(
        "DELETE FROM rec_messages WHERE guild_id = $1 AND user_id = $2", guild_id, user_id
    )
    return affected(status)


async def prune(conn: asyncpg.Connection, created_before: dt.datetime, limit: int | None) -> int:
    """Delete messages older than the cutoff in every guild (items cascade), the
    oldest first, at most ``limit`` (``None``: all)."""
    status = await conn.execute(
        """DELETE FROM rec_messages WHERE message_id IN (
               SELECT message_id FROM rec_messages WHERE created_at < $1
               ORDER BY created_at LIMIT $2)""",
        created_before,
        limit,  # NULL: no limit
    )
    return affected(status)
