"""Persistent state of the bot behind one interface.

:class:`Store` is the interface the bot programs against; :class:`SqliteStore` is
the embedded backend (one SQLite file). A PostgreSQL backend for a sharded bot is a
new module implementing :class:`Store`.

Schema (version :data:`LATEST_VERSION`, see :mod:`bot.store.migrations`)::

    guilds           guild_id PK, created_at
                     parent of every guild-owned row: deleting it cascades.
    guild_settings   guild_id PK -> guilds, settings (JSON of GuildSettings), updated_at
    guild_departures guild_id PK -> guilds, left_at            (purged after a grace period)
    tracks           id PK (Spotify id), name, artists (JSON list), album, release_date,
                     release_date_precision, popularity, duration_ms, the eleven
                     features (one REAL column each, NULL = unknown), feature_source,
                     popularity_source, fetched_at
                     (shared by all guilds: upstream values only, never an upload)
    sources          source_id PK, guild_id -> guilds, source_key, kind ('spotify'|'csv'),
                     display_name, added_by, added_at, snapshot_id, track_count,
                     skipped_count, featureless_count, refreshed_at;
                     UNIQUE (guild_id, source_key), UNIQUE (source_id, guild_id)
    source_tracks    (source_id -> sources, position) PK, track_id (in tracks for a
                     'spotify' source, in uploaded_tracks for a 'csv' one)
    uploaded_tracks  (guild_id, id, source_id) PK, (source_id, guild_id) -> sources,
                     the track columns of tracks, uploaded_at
                     (a CSV source's values: its guild's alone; a guild reads its
                     newest upload of an id, else the tracks row)
    rec_messages     message_id PK, guild_id -> guilds, channel_id, user_id (requester),
                     seed_track_ids (JSON list), created_at
    rec_items        (message_id -> rec_messages, position) PK, track_id, emoji;
                     UNIQUE (message_id, emoji)
    ratings          (guild_id -> guilds, user_id, track_id) PK, value (+1/-1), updated_at,
                     message_id (the recommendation message whose reaction gave it, or NULL)

Times are ISO-8601 UTC text of fixed width (text order is time order). Every
method touching guild data takes the guild id and filters by it; provenance of a
value is its ``feature_source``/``popularity_source`` plus the table it lives in
(``StoredCatalogue.upload_source`` and ``RatedTrack.upload_source`` name the upload).
"""

from bot.store.errors import (
    DuplicateMessageError,
    InvalidGuildSettingError,
    SchemaTooNewError,
    StoreError,
    UncachedTracksError,
)
from bot.store.guild_settings import GuildSettings
from bot.store.interface import Store
from bot.store.migrations import LATEST_VERSION
from bot.store.models import (
    DISLIKE,
    LIKE,
    ForgetResult,
    PlaylistSource,
    RatedTrack,
    Rating,
    RatingCounts,
    RatingValue,
    RecommendationItem,
    RecommendationMessage,
    SourceKind,
    StoredCatalogue,
)
from bot.store.sqlite import SqliteStore

__all__ = [
    "DISLIKE",
    "LATEST_VERSION",
    "LIKE",
    "DuplicateMessageError",
    "ForgetResult",
    "GuildSettings",
    "InvalidGuildSettingError",
    "PlaylistSource",
    "RatedTrack",
    "Rating",
    "RatingCounts",
    "RatingValue",
    "RecommendationItem",
    "RecommendationMessage",
    "SchemaTooNewError",
    "SourceKind",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoredCatalogue",
    "UncachedTracksError",
]
