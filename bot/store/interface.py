"""The storage interface the bot programs against.

The contract is one small protocol per area, each sized to its callers:

* :class:`TrackStore`: the shared track cache (the ingest, ``check``, retention);
* :class:`SourceStore`: a guild's playlist sources, uploads and catalogue
  (``SourceService``, ``CatalogueService``, ``InsightService``);
* :class:`GuildStore`: a guild's settings and departure (``GuildSettingsService``,
  ``CatalogueService``, ``MusicBot``'s guild events and purge);
* :class:`RecommendationStore`: posted recommendation messages (answers, reactions,
  reconciliation, retention);
* :class:`RatingStore`: members' ratings (reactions, taste, /myratings, /forgetme);
* :class:`ClusterStore`: several processes on one database (change notices, claims
  of periodic jobs, IDENTIFY turns), with the defaults of a database only one
  process uses.

:class:`Store` is their union. A backend (SQLite: :mod:`bot.store.sqlite`,
PostgreSQL: :mod:`bot.store.postgres`) subclasses :class:`Store` and is done when
``tests/store_contract`` passes for it. Every method that touches a guild's data
takes the guild id and never returns another guild's rows.

Adding an operation: declare it in its area's protocol here, implement it in each
backend (the SQL in its ``sql_<area>.py``, the transaction in its store class), and
test it in ``tests/store_contract`` (which runs on every backend).

Trust boundary: the track cache is shared by all guilds and holds upstream values
only (Spotify, ReccoBeats, configured datasets), so a playlist used by many guilds
is fetched once; it implements ``recommender.cache.TrackCache``. What a guild
uploads (CSV sources) is stored as that guild's own values and is never written
to, or read back from, the shared cache. Every guild-scoped read of track records
(catalogue, ratings) gives the guild's newest upload of an id, else the upstream
values; the catalogue and rated tracks also say which (``upload_source``).

All timestamps are timezone-aware UTC datetimes. Methods that record a time take
an optional ``at``/``now`` so callers and tests can pin the clock.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bot.infra.sharding import IdentifySlots, ShardClaims, ShardLayout
from bot.store.guild_settings import GuildSettings
from bot.store.models import (
    ForgetResult,
    PlaylistSource,
    RatedTrack,
    Rating,
    RatingCounts,
    RatingValue,
    RecommendationMessage,
    StoredCatalogue,
)
from recommender.cache import TrackCache
from recommender.closing import AsyncClosing
from recommender.track import Track

GuildChanged = Callable[[int], Awaitable[None]]
"""Called with a guild's id when another process changed that guild's data."""


class GuildWatch(AsyncClosing):
    """Stops calling back when closed (see :meth:`ClusterStore.watch_guild_changes`)."""

    async def close(self) -> None:
        """Stop watching (here: nothing was watched)."""


class TrackStore(TrackCache, Protocol):
    """The track cache: upstream values shared across guilds (``TrackCache``)."""

    @abc.abstractmethod
    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        """Return the cached upstream records among ``track_ids`` (missing ids are
        absent). Never a guild's uploaded values (those are read through the guild's
        catalogue and ratings)."""

    @abc.abstractmethod
    async def put_tracks(self, tracks: Sequence[Track], *, at: dt.datetime | None = None) -> None:
        """Insert or replace upstream records (a later value for the same id wins).

        Only for values an upstream service gave (an ingest, a track lookup); a
        guild's uploads go through :meth:`save_upload`.
        """

    @abc.abstractmethod
    async def count_tracks(self) -> int:
        """Number of cached upstream track records."""

    @abc.abstractmethod
    async def prune_tracks(self, fetched_before: dt.datetime, *, limit: int | None = None) -> int:
        """Delete cached tracks fetched before the cutoff that no source, rating or
        stored recommendation refers to, at most ``limit`` (``None``: all); return how
        many were deleted (the retention job calls again until fewer than ``limit``)."""


class SourceStore(Protocol):
    """A guild's playlist sources (Spotify playlists, uploaded CSV files) and the
    catalogue they make."""

    @abc.abstractmethod
    async def save_source(self, source: PlaylistSource, track_ids: Sequence[str]) -> PlaylistSource:
        """Add or refresh an upstream (``kind="spotify"``) source and replace its
        membership, in one transaction.

        ``track_ids`` is the playlist in order and must already be in the shared
        track cache (``UncachedTracksError`` otherwise); a CSV source is refused with
        ``ValueError`` (use :meth:`save_upload`). On a refresh the original
        ``added_by``/``added_at`` are kept; ``track_count`` becomes
        ``len(track_ids)`` and ``refreshed_at`` defaults to now. On any error the
        previous source and membership are left intact. Returns the stored record.
        """

    @abc.abstractmethod
    async def save_upload(self, source: PlaylistSource, tracks: Sequence[Track]) -> PlaylistSource:
        """Add or refresh a ``kind="csv"`` source from the records its file gave, in
        one transaction (``ValueError`` for another kind).

        The membership is ``tracks`` in order; their values become the source
        guild's own uploads (provenance: this source, now), replacing what this
        source uploaded before, and are never written to the shared cache. Other
        fields behave as in :meth:`save_source`. Returns the stored record.
        """

    @abc.abstractmethod
    async def get_source(self, guild_id: int, key: str) -> PlaylistSource | None:
        """The guild's source with this key, or ``None``."""

    @abc.abstractmethod
    async def list_sources(self, guild_id: int) -> list[PlaylistSource]:
        """The guild's sources, oldest first."""

    @abc.abstractmethod
    async def count_sources(self, guild_id: int) -> int:
        """How many sources the guild has (the caller enforces its cap with this)."""

    @abc.abstractmethod
    async def remove_source(self, guild_id: int, key: str) -> bool:
        """Delete a source, its membership and the values it uploaded (the guild's
        other uploads of the same ids stay); ``False`` if it did not exist."""

    @abc.abstractmethod
    async def load_guild_catalogue(self, guild_id: int) -> StoredCatalogue:
        """All tracks of the guild's sources as the guild sees them (its own newest
        upload of an id, else the shared upstream values; never another guild's
        upload), deduplicated, with memberships (every source, in playlist order,
        an empty one too) and provenance."""


class GuildStore(Protocol):
    """A guild's settings and its lifecycle (the bot leaving, rejoining, the purge)."""

    @abc.abstractmethod
    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """The guild's settings (defaults when it never changed any)."""

    @abc.abstractmethod
    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        """Apply ``changes`` to the stored settings atomically; return the result.

        Raises ``InvalidGuildSettingError`` (nothing stored) for an unknown name or an
        out-of-range value.
        """

    @abc.abstractmethod
    async def mark_guild_left(self, guild_id: int, *, at: dt.datetime | None = None) -> None:
        """Record that the bot left the guild (kept if already recorded)."""

    @abc.abstractmethod
    async def unmark_guild_left(self, guild_id: int) -> bool:
        """Forget a departure (the bot rejoined); ``False`` if none was recorded."""

    @abc.abstractmethod
    async def purge_departed_guilds(
        self, older_than: dt.timedelta, *, now: dt.datetime | None = None
    ) -> list[int]:
        """Delete the data of guilds the bot left more than ``older_than`` ago;
        return their ids."""


class RecommendationStore(Protocol):
    """Posted recommendation messages, so a reaction maps to a track after a restart."""

    @abc.abstractmethod
    async def save_recommendation(self, message: RecommendationMessage) -> None:
        """Store a posted recommendation and its items (``DuplicateMessageError``
        if the message id is already stored)."""

    @abc.abstractmethod
    async def get_recommendation(
        self, guild_id: int, message_id: int
    ) -> RecommendationMessage | None:
        """The guild's recommendation message with this id, or ``None``."""

    @abc.abstractmethod
    async def list_recent_recommendations(
        self, created_after: dt.datetime, *, limit: int, shards: ShardLayout | None = None
    ) -> list[RecommendationMessage]:
        """Recommendation messages of every guild created after the cutoff, newest
        first, at most ``limit``, with their items (reactions made while the bot was
        down are read back from these).

        ``shards``: only guilds of those shards (a cluster process's own, so that
        ``limit`` counts its messages only); ``None`` or no ``shard_ids``: every guild.
        """

    @abc.abstractmethod
    async def prune_recommendations(
        self, created_before: dt.datetime, *, limit: int | None = None
    ) -> int:
        """Delete recommendation messages (and their items) created before the cutoff,
        in every guild, at most ``limit`` (``None``: all); return how many. The
        ratings their reactions gave stay."""


class RatingStore(Protocol):
    """Members' likes and dislikes, per guild."""

    @abc.abstractmethod
    async def set_rating(
        self,
        guild_id: int,
        user_id: int,
        track_id: str,
        value: RatingValue,
        *,
        at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> RatingValue | None:
        """Record a like (+1) or dislike (-1), replacing an earlier one; return the
        previous value (``None`` if there was none).

        ``message_id`` names the recommendation message whose reaction gave the
        rating (``None``: not from a reaction); it replaces the earlier rating's.
        """

    @abc.abstractmethod
    async def remove_rating(
        self,
        guild_id: int,
        user_id: int,
        track_id: str,
        *,
        value: RatingValue | None = None,
        message_id: int | None = None,
    ) -> bool:
        """Delete a rating; with ``value``, only if the stored rating has that value
        (removing a stale like reaction must not undo a newer dislike); with
        ``message_id``, only if that message's reaction gave it."""

    @abc.abstractmethod
    async def get_rating(self, guild_id: int, user_id: int, track_id: str) -> Rating | None:
        """The member's rating of the track in the guild, or ``None``."""

    @abc.abstractmethod
    async def list_member_ratings(
        self, guild_id: int, user_id: int, *, limit: int | None = None
    ) -> list[RatedTrack]:
        """The member's ratings in the guild, newest first, with the track records as
        the guild sees them (as in :meth:`SourceStore.load_guild_catalogue`, else
        ``track`` is ``None``): /myratings, /profile, the CSV export."""

    @abc.abstractmethod
    async def list_guild_ratings(self, guild_id: int) -> list[Rating]:
        """Every rating in the guild (for co-likes and taste profiles)."""

    @abc.abstractmethod
    async def count_ratings(
        self, guild_id: int, track_ids: Sequence[str] | None = None
    ) -> dict[str, RatingCounts]:
        """Likes and dislikes per rated track in the guild (optionally only these)."""

    @abc.abstractmethod
    async def list_message_ratings(self, guild_id: int, message_id: int) -> list[Rating]:
        """The guild's ratings that a reaction on ``message_id`` gave and that no later
        rating of the same track replaced (see ``set_rating(message_id=...)``)."""

    @abc.abstractmethod
    async def forget_member(self, guild_id: int, user_id: int) -> ForgetResult:
        """Delete the member's ratings and the recommendation messages they requested."""


class ClusterStore(Protocol):
    """Several processes on one database (PostgreSQL).

    The defaults are those of a database only one process uses (SQLite): nothing
    to hear from others, and every periodic job is this process's to run.
    """

    async def watch_guild_changes(self, callback: GuildChanged) -> GuildWatch:
        """Call ``callback(guild_id)`` whenever another process changes the guild's
        sources, settings or departure; close the returned watch to stop."""
        return GuildWatch()

    async def claim_job(
        self, name: str, every: dt.timedelta, *, now: dt.datetime | None = None
    ) -> bool:
        """Whether this process runs the background job ``name`` now: ``True`` for at
        most one caller per ``every`` among all processes sharing the database."""
        return True

    def identify_slots(self) -> IdentifySlots | None:
        """IDENTIFY slots shared with every process using the database (the caller
        closes them), or ``None``: this process paces its shards alone."""
        return None

    def shard_claims(self) -> ShardClaims | None:
        """Claims on shards shared with every process using the database (the caller
        closes them), or ``None``: only one process uses the database."""
        return None


class Store(
    TrackStore,
    SourceStore,
    GuildStore,
    RecommendationStore,
    RatingStore,
    ClusterStore,
    AsyncClosing,
):
    """Persistent state of the bot: every area's protocol. Use as ``async with``
    (closes on exit); a backend subclasses this."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection(s); the store is unusable afterwards."""
