"""Schema versions of the SQLite store and the steps between them.

The version lives in ``PRAGMA user_version``. Each :class:`Migration` upgrades from
``version - 1`` to ``version``; all pending steps run in one ``BEGIN IMMEDIATE``
transaction together with the version bump, so a failed upgrade leaves the file at
its old version with its old data. A step is frozen once released: change the
schema by appending a step, never by editing one (an old file must replay the same
history).

A future step that rebuilds a referenced table must turn ``foreign_keys`` off
around its transaction (SQLite ignores that pragma inside a transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: the version it produces and the statements that build it."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1 = Migration(
    1,
    "guilds, settings, track cache, sources, membership, messages, ratings",
    (
        # Parent row of everything a guild owns: deleting it cascades to all of it,
        # so a table added later cannot be forgotten by "delete this guild's data".
        """CREATE TABLE guilds (
            guild_id   INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE guild_settings (
            guild_id   INTEGER PRIMARY KEY REFERENCES guilds(guild_id) ON DELETE CASCADE,
            settings   TEXT NOT NULL CHECK (json_valid(settings)),
            updated_at TEXT NOT NULL
        )""",
        # Shared by all guilds. WITHOUT ROWID: lookups by Spotify id (the only key)
        # touch one B-tree instead of an index plus the table.
        """CREATE TABLE tracks (
            id                     TEXT PRIMARY KEY,
            name                   TEXT NOT NULL,
            artists                TEXT NOT NULL CHECK (json_valid(artists)),
            album                  TEXT NOT NULL,
            release_date           TEXT,
            release_date_precision TEXT CHECK (release_date_precision IN ('year','month','day')),
            popularity             INTEGER CHECK (popularity BETWEEN 0 AND 100),
            duration_ms            INTEGER,
            danceability           REAL,
            energy                 REAL,
            "key"                  REAL,
            loudness               REAL,
            "mode"                 REAL,
            speechiness            REAL,
            acousticness           REAL,
            instrumentalness       REAL,
            liveness               REAL,
            valence                REAL,
            tempo                  REAL,
            feature_source         TEXT,
            popularity_source      TEXT,
            fetched_at             TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE sources (
            source_id         INTEGER PRIMARY KEY,
            guild_id          INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
            source_key        TEXT NOT NULL CHECK (source_key <> ''),
            kind              TEXT NOT NULL CHECK (kind IN ('spotify','csv')),
            display_name      TEXT NOT NULL,
            added_by          INTEGER NOT NULL,
            added_at          TEXT NOT NULL,
            snapshot_id       TEXT,
            track_count       INTEGER NOT NULL DEFAULT 0 CHECK (track_count >= 0),
            skipped_count     INTEGER NOT NULL DEFAULT 0 CHECK (skipped_count >= 0),
            featureless_count INTEGER NOT NULL DEFAULT 0 CHECK (featureless_count >= 0),
            refreshed_at      TEXT,
            UNIQUE (guild_id, source_key)
        )""",
        # Membership is per guild source (not per Spotify playlist) so one guild's
        # refresh never changes what another guild sees. It references the cache,
        # so every member can be rebuilt offline.
        """CREATE TABLE source_tracks (
            source_id INTEGER NOT NULL REFERENCES sources(source_id) ON DELETE CASCADE,
            position  INTEGER NOT NULL,
            track_id  TEXT NOT NULL REFERENCES tracks(id),
            PRIMARY KEY (source_id, position)
        ) WITHOUT ROWID""",
        # For cache pruning and "which sources hold this track".
        "CREATE INDEX source_tracks_track ON source_tracks(track_id)",
        # Discord message ids are globally unique snowflakes, hence the primary key;
        # lookups still filter by guild so one guild cannot read another's message.
        """CREATE TABLE rec_messages (
            message_id     INTEGER PRIMARY KEY,
            guild_id       INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
            channel_id     INTEGER NOT NULL,
            user_id        INTEGER NOT NULL,
            seed_track_ids TEXT NOT NULL CHECK (json_valid(seed_track_ids)),
            created_at     TEXT NOT NULL
        )""",
        "CREATE INDEX rec_messages_guild_user ON rec_messages(guild_id, user_id, created_at)",
        "CREATE INDEX rec_messages_created ON rec_messages(created_at)",
        # No foreign key to tracks: a suggestion stays ratable even if the cache
        # entry is pruned.
        """CREATE TABLE rec_items (
            message_id INTEGER NOT NULL REFERENCES rec_messages(message_id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            track_id   TEXT NOT NULL,
            emoji      TEXT NOT NULL,
            PRIMARY KEY (message_id, position),
            UNIQUE (message_id, emoji)
        ) WITHOUT ROWID""",
        """CREATE TABLE ratings (
            guild_id   INTEGER NOT NULL REFERENCES guilds(guild_id) ON DELETE CASCADE,
            user_id    INTEGER NOT NULL,
            track_id   TEXT NOT NULL,
            value      INTEGER NOT NULL CHECK (value IN (-1, 1)),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (guild_id, user_id, track_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX ratings_member_time ON ratings(guild_id, user_id, updated_at)",
        "CREATE INDEX ratings_guild_track ON ratings(guild_id, track_id, value)",
    ),
)

_V2 = Migration(
    2,
    "guild departures: when the bot left a guild, for purging after a grace period",
    (
        """CREATE TABLE guild_departures (
            guild_id INTEGER PRIMARY KEY REFERENCES guilds(guild_id) ON DELETE CASCADE,
            left_at  TEXT NOT NULL
        )""",
        "CREATE INDEX guild_departures_left_at ON guild_departures(left_at)",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)
"""Every schema step, oldest first; ``MIGRATIONS[i].version == i + 1``."""

LATEST_VERSION: int = MIGRATIONS[-1].version
"""The schema version this code writes and reads."""

assert all(m.version == i + 1 for i, m in enumerate(MIGRATIONS)), "versions must be 1..N"


async def schema_version(db: aiosqlite.Connection) -> int:
    """The schema version recorded in the database file (0 for a new file)."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, target: int = LATEST_VERSION) -> int:
    """Upgrade the database to ``target`` in one transaction; return the old version.

    The connection must be in autocommit mode (``isolation_level=None``). The
    version is re-read after ``BEGIN IMMEDIATE`` so two processes opening the same
    new file cannot both run a step. The caller refuses versions above
    :data:`LATEST_VERSION` before calling this.
    """
    if not 0 <= target <= LATEST_VERSION:
        raise ValueError(f"target version must be between 0 and {LATEST_VERSION}")
    await db.execute("BEGIN IMMEDIATE")
    try:
        current = await schema_version(db)
        for step in MIGRATIONS[current:target]:
            for statement in step.statements:
                await db.execute(statement)
            # PRAGMA user_version is part of the transaction: rolled back with it.
            await db.execute(f"PRAGMA user_version = {step.version:d}")
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    return current
