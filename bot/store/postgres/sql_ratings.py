"""SQL for members' ratings of tracks within a guild."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from bot.store.models import RatedTrack, Rating, RatingCounts, RatingValue
from bot.store.postgres.rows import affected, record_to_track, track_select
from bot.store.postgres.sql_guilds import ensure_guild
from bot.store.postgres.sql_tracks import hold_tracks
from bot.store.postgres.sql_uploads import guild_uploads

_SET_ATTEMPTS = 3  # each lost race means another process deleted the row meanwhile


def _check_value(value: object) -> None:
    if isinstance(value, bool) or value not in (1, -1):
        raise ValueError(f"a rating is 1 (like) or -1 (dislike), got {value!r}")


async def get(
    conn: asyncpg.Connection, guild_id: int, user_id: int, track_id: str
) -> Rating | None:
    """The member's rating of the track, or ``None``."""
    row = await conn.fetchrow(
        """SELECT value, updated_at FROM ratings
           WHERE guild_id = $1 AND user_id = $2 AND track_id = $3""",
        guild_id,
        user_id,
        track_id,
    )
    if row is None:
        return None
    return Rating(guild_id, user_id, track_id, row[0], row[1])


async def set_(
    conn: asyncpg.Connection,
    guild_id: int,
    user_id: int,
    track_id: str,
    value: RatingValue,
    now: dt.datetime,
    message_id: int | None = None,
) -> RatingValue | None:
    """Insert or replace the rating (from ``message_id``'s reaction, if given);
    return the previous value.

    Insert first; if the row exists, lock it and read the value it is replacing.
    Two processes handling reactions of one member on one track both get a true
    previous value (a read-then-upsert would let both see "none").
    """
    _check_value(value)
    await ensure_guild(conn, guild_id, now)
    await hold_tracks(conn)  # a rated track stays cached
    key = (guild_id, user_id, track_id)
    for _ in range(_SET_ATTEMPTS):
        inserted = await conn.fetchval(
            """INSERT INTO ratings (guild_id, user_id, track_id, value, updated_at, message_id)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
            *key,
            value,
            now,
            message_id,
        )
        if inserted:
            return None
        previous = await conn.fetchval(
            """SELECT value FROM ratings
               WHERE guild_id = $1 AND user_id = $2 AND track_id = $3 FOR UPDATE""",
            *key,
        )
        if previous is not None:
            await conn.execute(
                """UPDATE ratings SET value = $4, updated_at = $5, message_id = $6
                   WHERE guild_id = $1 AND user_id = $2 AND track_id = $3""",
                *key,
                value,
                now,
                message_id,
            )
            return int(previous)  # type: ignore[return-value]
    raise RuntimeError("the rating keeps being deleted while it is set")


async def remove(
    conn: asyncpg.Connection,
    guild_id: int,
    user_id: int,
    track_id: str,
    value: RatingValue | None,
    message_id: int | None = None,
) -> bool:
    """Delete the rating (only if it has ``value`` and came from ``message_id``, when
    given)."""
    if value is not None:
        _check_value(value)
    status = await conn.execute(
        """DELETE FROM ratings WHERE guild_id = $1 AND user_id = $2 AND track_id = $3
           AND ($4::smallint IS NULL OR value = $4::smallint)
           AND ($5::bigint IS NULL OR message_id = $5::bigint)""",
        guild_id,
        user_id,
        track_id,
        value,
        message_id,
    )
    return affected(status) > 0


async def list_from_message(
    conn: asyncpg.Connection, guild_id: int, message_id: int
) -> list[Rating]:
    """The guild's ratings that a reaction on ``message_id`` gave (and nothing replaced)."""
    rows = await conn.fetch(
        """SELECT user_id, track_id, value, updated_at FROM ratings
           WHERE message_id = $1 AND guild_id = $2 ORDER BY user_id, track_id""",
        message_id,
        guild_id,
    )
    return [Rating(guild_id, u, t, v, at) for u, t, v, at in rows]


async def list_member(
    conn: asyncpg.Connection, guild_id: int, user_id: int, limit: int | None
) -> list[RatedTrack]:
    """The member's ratings, newest first, with the tracks as the guild sees them."""
    rows = await conn.fetch(
        f"""SELECT r.track_id, r.value, r.updated_at, {track_select("t")}
            FROM ratings r LEFT JOIN tracks t ON t.id = r.track_id
            WHERE r.guild_id = $1 AND r.user_id = $2
            ORDER BY r.updated_at DESC, r.track_id
            LIMIT $3""",
        guild_id,
        user_id,
        None if limit is None or limit < 0 else limit,  # as SQLite: negative = no limit
    )
    uploads = await guild_uploads(conn, guild_id, [row[0] for row in rows])
    rated = []
    for row in rows:
        rating = Rating(guild_id, user_id, row[0], row[1], row[2])
        if row[0] in uploads:
            track, key = uploads[row[0]]
            rated.append(RatedTrack(rating, track, key))
        else:
            rated.append(
                RatedTrack(rating, record_to_track(row, 3) if row[3] is not None else None)
            )
    return rated


async def list_guild(conn: asyncpg.Connection, guild_id: int) -> list[Rating]:
    """Every rating in the guild, grouped by member, oldest first within a member."""
    rows = await conn.fetch(
        """SELECT user_id, track_id, value, updated_at FROM ratings
           WHERE guild_id = $1 ORDER BY user_id, updated_at, track_id""",
        guild_id,
    )
    return [Rating(guild_id, u, t, v, at) for u, t, v, at in rows]


async def counts(
    conn: asyncpg.Connection, guild_id: int, track_ids: Sequence[str] | None
) -> dict[str, RatingCounts]:
    """Likes and dislikes per track in the guild."""
    rows = await conn.fetch(
        """SELECT track_id, count(*) FILTER (WHERE value = 1),
                  count(*) FILTER (WHERE value = -1)
           FROM ratings
           WHERE guild_id = $1 AND ($2::text[] IS NULL OR track_id = ANY($2::text[]))
           GROUP BY track_id""",
        guild_id,
        None if track_ids is None else list(dict.fromkeys(track_ids)),
    )
    return {row[0]: RatingCounts(int(row[1]), int(row[2])) for row in rows}


async def delete_for_member(conn: asyncpg.Connection, guild_id: int, user_id: int) -> int:
    """Delete all of the member's ratings in the guild."""
    status = await conn.execute(
        "DELETE FROM ratings WHERE guild_id = $1 AND user_id = $2", guild_id, user_id
    )
    return affected(status)
