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

# The constants below are part of the frozen step _V3 (never edit them).
# Provenance names the upstream providers write (recommender.providers: "spotify",
# "reccobeats", "dataset:<file>"). _V3 uses them to tell which values of an old
# shared row an ingest wrote; an upload could name them too, so this is a heuristic
# for old data, never a trust decision about new data.
_UPSTREAM_SOURCE = "({column} IN ('spotify', 'reccobeats') OR {column} LIKE 'dataset:%')"
_VALUE_COLUMNS = (
    "name", "artists", "album", "release_date", "release_date_precision", "popularity",
    "duration_ms", "danceability", "energy", "key", "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "feature_source",
    "popularity_source",
)  # fmt: skip


def _columns(prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{column}"' for column in _VALUE_COLUMNS)


_IN_SPOTIFY_SOURCE = """SELECT st.track_id FROM source_tracks st
    JOIN sources s ON s.source_id = st.source_id WHERE s.kind = 'spotify'"""
_IN_CSV_SOURCE = """SELECT st.track_id FROM source_tracks st
    JOIN sources s ON s.source_id = st.source_id WHERE s.kind = 'csv'"""
_LOOKS_UPSTREAM = f"""(
    (feature_source IS NULL OR {_UPSTREAM_SOURCE.format(column="feature_source")})
    AND (popularity_source IS NULL OR {_UPSTREAM_SOURCE.format(column="popularity_source")})
    AND (feature_source IS NOT NULL OR popularity_source IS NOT NULL))"""

_V3 = Migration(
    3,
    "trust boundary: uploaded values are the guild's own (uploaded_tracks); the shared "
    "track cache holds upstream values only",
    (
        # Membership no longer references the shared cache: a CSV source's tracks may
        # exist only as its guild's uploaded values. Nothing references source_tracks,
        # so it can be rebuilt with foreign keys on.
        """CREATE TABLE source_tracks_v3 (
            source_id INTEGER NOT NULL REFERENCES sources(source_id) ON DELETE CASCADE,
            position  INTEGER NOT NULL,
            track_id  TEXT NOT NULL,
            PRIMARY KEY (source_id, position)
        ) WITHOUT ROWID""",
        """INSERT INTO source_tracks_v3 (source_id, position, track_id)
           SELECT source_id, position, track_id FROM source_tracks""",
        "DROP TABLE source_tracks",
        "ALTER TABLE source_tracks_v3 RENAME TO source_tracks",
        "CREATE INDEX source_tracks_track ON source_tracks(track_id)",
        # The parent key of uploaded_tracks' (source_id, guild_id) foreign key: an
        # uploaded row can only belong to a source of the same guild.
        "CREATE UNIQUE INDEX sources_id_guild ON sources(source_id, guild_id)",
        # One row per (guild, track, CSV source): the values that upload gave the
        # track. Deleting the source (or the guild, through its sources) deletes
        # them. A guild reads its newest upload of an id (uploaded_at, source_id).
        """CREATE TABLE uploaded_tracks (
            guild_id               INTEGER NOT NULL,
            id                     TEXT NOT NULL,
            source_id              INTEGER NOT NULL,
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
            uploaded_at            TEXT NOT NULL,
            PRIMARY KEY (guild_id, id, source_id),
            FOREIGN KEY (source_id, guild_id) REFERENCES sources(source_id, guild_id)
                ON DELETE CASCADE
        ) WITHOUT ROWID""",
        # The child key of the foreign key: cascades and per-source rewrites use it.
        "CREATE INDEX uploaded_tracks_source ON uploaded_tracks(source_id, guild_id)",
        # Existing data. Each guild keeps seeing what it saw: every CSV source's
        # tracks are copied, with the values the shared row holds now, into that
        # guild's uploads (which upload wrote a shared row last cannot be known).
        f"""INSERT INTO uploaded_tracks (guild_id, id, source_id, {_columns()}, uploaded_at)
            SELECT DISTINCT s.guild_id, t.id, s.source_id, {_columns("t.")},
                   coalesce(s.refreshed_at, s.added_at)
            FROM sources s
            JOIN source_tracks st ON st.source_id = s.source_id
            JOIN tracks t ON t.id = st.track_id
            WHERE s.kind = 'csv'""",
        # Then the shared cache keeps only what can be upstream. A row no Spotify
        # source holds goes if a CSV source holds it or its provenance is not an
        # upstream provider (it may have been uploaded; an upstream row is refetched
        # on demand). A row a Spotify source holds stays, minus features and
        # popularity an upload wrote, so no ingest reuses them as upstream values;
        # its name and album are the playlist's again at the next refresh.
        f"""DELETE FROM tracks
            WHERE id NOT IN ({_IN_SPOTIFY_SOURCE})
              AND (id IN ({_IN_CSV_SOURCE}) OR NOT {_LOOKS_UPSTREAM})""",
        f"""UPDATE tracks SET
              danceability = NULL, energy = NULL, "key" = NULL, loudness = NULL,
              "mode" = NULL, speechiness = NULL, acousticness = NULL,
              instrumentalness = NULL, liveness = NULL, valence = NULL, tempo = NULL,
              feature_source = NULL
            WHERE feature_source IS NOT NULL
              AND NOT {_UPSTREAM_SOURCE.format(column="feature_source")}""",
        f"""UPDATE tracks SET popularity = NULL, popularity_source = NULL
            WHERE popularity_source IS NOT NULL
              AND NOT {_UPSTREAM_SOURCE.format(column="popularity_source")}""",
    ),
)

_V4 = Migration(
    4,
    "ratings name the recommendation message whose reaction gave them (reconciled "
    "from Discord after a restart)",
    (
        # NULL: not from a reaction (or from before schema 4). A later rating of the
        # same track replaces the message with its own.
        "ALTER TABLE ratings ADD COLUMN message_id INTEGER",
        "CREATE INDEX ratings_message ON ratings(message_id) WHERE message_id IS NOT NULL",
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4)
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
