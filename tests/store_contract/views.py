"""Reading a guild's data back the way the bot does (through its catalogue), for asserts."""

from __future__ import annotations

from bot.store import Store
from recommender.track import Track


async def members(store: Store, guild_id: int, key: str) -> list[str]:
    """A source's track ids in playlist order (duplicates kept), from the guild's
    catalogue; ``KeyError`` when the guild has no such source."""
    return (await store.load_guild_catalogue(guild_id)).memberships[key]


async def catalogue_tracks(store: Store, guild_id: int) -> dict[str, Track]:
    """The guild's catalogue by id: each track as the guild sees it."""
    return {track.id: track for track in (await store.load_guild_catalogue(guild_id)).tracks}
