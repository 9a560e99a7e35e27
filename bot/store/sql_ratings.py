"""SQL for members' ratings of tracks within a guild."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.store.models import RatedTrack, Rating, RatingCounts, RatingValue
from bot.store.rows import chunks, from_db_time, row_to_track, track_select
from bot.store.sql_guilds import ensure_guild
from bot.store.sql_tracks import MAX_VARIABLES
from bot.store.sql_uploads import guild_uploads


def _check_value(value: object) -> None:
    if isinstance(value, bool) or value not in (1, -1):
        raise ValueError(f"a rating is 1 (like) or -1 (dislike), got {value!r}")


async def get(
    db: aiosqlite.Connection, guild_id: int, user_id: int, track_id: str
) -> Rating | None:
    """The member's rating of the track, or ``None``."""
    rows = list(
        await db.execute_fetchall(
            """SELECT value, updated_at FROM ratings
               WHERE guild_id = ? AND user_id = ? AND track_id = ?""",
            (guild_id, user_id, track_id),
        )
    )
    if not rows:
        return None
    return Rating(guild_id, user_id, track_id, rows[0][0], from_db_time(rows[0][1]))


async def set_(
    db: aiosqlite.Connection,
    guild_id: int,
    user_id: int,
    track_id: str,
    value: RatingValue,
    now: str,
    message_id: int | None = None,
) -> RatingValue | None:
    """Insert or replace the rating (from ``message_id``'s reaction, if given);
    return the previous value."""
    _check_value(value)
    previous = await get(db, guild_id, user_id, track_id)
    await ensure_guild(db, guild_id, now)
    await db.execute(
        """INSERT INTO ratings (guild_id, user_id, track_id, value, updated_at, message_id)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(guild_id, user_id, track_id) DO UPDATE
           SET value = excluded.value, updated_at = excluded.updated_at,
               message_id = excluded.message_id""",
        (guild_id, user_id, track_id, value, now, message_id),
    )
    return previous.value if previous else None


async def remove(
    db: aiosqlite.Connection,
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
    cursor = await db.execute(
        """DELETE FROM ratings WHERE guild_id = ?1 AND user_id = ?2 AND track_id = ?3
           AND (?4 IS NULL OR value = ?4) AND (?5 IS NULL OR message_id = ?5)""",
        (guild_id, user_id, track_id, value, message_id),
    )
    return cursor.rowcount > 0


async def list_from_message(
    db: aiosqlite.Connection, guild_id: int, message_id: int
) -> list[Rating]:
    """The guild's ratings that a reaction on ``message_id`` gave (and nothing replaced)."""
    rows = await db.execute_fetchall(
        """SELECT user_id, track_id, value, updated_at FROM ratings
           WHERE message_id = ? AND guild_id = ? ORDER BY user_id, track_id""",
        (message_id, guild_id),
    )
    return [Rating(guild_id, u, t, v, from_db_time(at)) for u, t, v, at in rows]


async def list_member(
    db: aiosqlite.Connection, guild_id: int, user_id: int, limit: int | None
) -> list[RatedTrack]:
    """The member's ratings, newest first, with the tracks as the guild sees them."""
    rows = list(
        await db.execute_fetchall(
            f"""SELECT r.track_id, r.value, r.updated_at, {track_select("t")}
                FROM ratings r LEFT JOIN tracks t ON t.id = r.track_id
                WHERE r.guild_id = ? AND r.user_id = ?
                ORDER BY r.updated_at DESC, r.track_id
                LIMIT ?""",
            (guild_id, user_id, -1 if limit is None else limit),
        )
    )
    uploads = await guild_uploads(db, guild_id, [row[0] for row in rows])
    rated = []
    for row in rows:
        rating = Rating(guild_id, user_id, row[0], row[1], from_db_time(row[2]))
        if row[0] in uploads:
            track, key = uploads[row[0]]
            rated.append(RatedTrack(rating, track, key))
        else:
            rated.append(RatedTrack(rating, row_to_track(row, 3) if row[3] is not None else None))
    return rated


async def list_guild(db: aiosqlite.Connection, guild_id: int) -> list[Rating]:
    """Every rating in the guild, grouped by member, oldest first within a member."""
    rows = await db.execute_fetchall(
        """SELECT user_id, track_id, value, updated_at FROM ratings
           WHERE guild_id = ? ORDER BY user_id, updated_at, track_id""",
        (guild_id,),
    )
    return [Rating(guild_id, u, t, v, from_db_time(at)) for u, t, v, at in rows]


async def counts(
    db: aiosqlite.Connection, guild_id: int, track_ids: Sequence[str] | None
) -> dict[str, RatingCounts]:
    """Likes and dislikes per track in the guild."""
    base = """SELECT track_id, sum(value = 1), sum(value = -1) FROM ratings
              WHERE guild_id = ?{filter} GROUP BY track_id"""
    if track_ids is None:
        queries = [(base.format(filter=""), (guild_id,))]
    else:
        queries = [
            (
                base.format(filter=f" AND track_id IN ({', '.join('?' * len(chunk))})"),
                (guild_id, *chunk),
            )
            for chunk in chunks(list(dict.fromkeys(track_ids)), MAX_VARIABLES - 1)
        ]
    result: dict[str, RatingCounts] = {}
    for sql, params in queries:
        for track_id, likes, dislikes in await db.execute_fetchall(sql, params):
            result[track_id] = RatingCounts(int(likes), int(dislikes))
    return result


async def delete_for_member(db: aiosqlite.Connection, guild_id: int, user_id: int) -> int:
    """Delete all of the member's ratings in the guild."""
    cursor = await db.execute(
        "DELETE FROM ratings WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return cursor.rowcount
