"""The most tracks one guild's playlists may hold together (``MAX_TRACKS_PER_GUILD``).

An import that would pass the cap is refused before anything of the guild's is
stored: a CSV once it is parsed, a Spotify playlist as soon as its first page
announces how many entries it has (so a 100,000-entry playlist is not read at all),
and again once read (the announced total may be missing, or the playlist may have
grown while it was read). Tracks in several of the guild's playlists count once.

The early check on the announced total assumes none of the new playlist's entries
is already in the guild's other playlists (Spotify does not say before the entries
are read). So near the cap it may refuse a playlist that overlaps the others: the
message gives both numbers, so the admin sees why.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.errors import UserFacingError
from bot.store import Store


class TrackCap:
    """Checks imports of one guild against the cap (reads the store, never writes)."""

    def __init__(self, store: Store, limit: int) -> None:
        if limit < 1:
            raise ValueError("the track cap must be at least 1")
        self._store = store
        self.limit = limit

    async def check_announced(self, guild_id: int, key: str, entries: int) -> None:
        """Refuse a playlist whose announced ``entries`` cannot fit next to the others.

        Raises :class:`UserFacingError`.
        """
        if entries > self.limit:
            raise UserFacingError(self._too_big(entries, "entries"))
        counted = await self._other_sources_count(guild_id, key)
        if counted + entries <= self.limit:
            return
        others = len(await self._other_track_ids(guild_id, key))
        if others + entries <= self.limit:
            return
        raise UserFacingError(
            f"That playlist has {entries:,} entries; with the {others:,} tracks of this "
            f"server's other playlists that is more than the {self.limit:,} tracks a "
            "server may have. Nothing was added. Remove a playlist with `/removeplaylist` "
            "first, or add a smaller one."
        )

    async def check_tracks(self, guild_id: int, key: str, track_ids: Iterable[str]) -> None:
        """Refuse a source whose tracks (read in full) would pass the cap.

        ``key`` is the source being added or replaced (its own previous tracks do not
        count). Raises :class:`UserFacingError`.
        """
        new = track_ids if isinstance(track_ids, set) else set(track_ids)
        counted = await self._other_sources_count(guild_id, key)
        if counted + len(new) <= self.limit:
            return  # even if nothing overlapped, it fits: no need to read the ids
        total = len(await self._other_track_ids(guild_id, key) | new)
        if total <= self.limit:
            return
        if len(new) > self.limit:
            raise UserFacingError(self._too_big(len(new), "tracks"))
        raise UserFacingError(
            f"With its {len(new):,} tracks this server would have {total:,}, more than the "
            f"{self.limit:,} a server may have. Nothing was added. Remove a playlist with "
            "`/removeplaylist` first, or add a smaller one."
        )

    def _too_big(self, count: int, what: str) -> str:
        return (
            f"That playlist has {count:,} {what}, more than the {self.limit:,} tracks a "
            "server may have. Nothing was added. Split it, or ask the bot's operator to "
            "raise MAX_TRACKS_PER_GUILD."
        )

    async def _other_sources_count(self, guild_id: int, key: str) -> int:
        """An upper bound of the tracks the guild's other sources hold (no overlap)."""
        return sum(s.track_count for s in await self._store.list_sources(guild_id) if s.key != key)

    async def _other_track_ids(self, guild_id: int, key: str) -> set[str]:
        """The ids of the guild's other sources (read only near the cap)."""
        stored = await self._store.load_guild_catalogue(guild_id)
        ids: set[str] = set()
        for source_key, track_ids in stored.memberships.items():
            if source_key != key:
                ids.update(track_ids)
        return ids
