"""Changing a guild's settings, and rebuilding what depends on them."""

from __future__ import annotations

from bot.catalogues import CatalogueService
from bot.store import Store
from bot.store.guild_settings import GuildSettings


class SettingsService:
    """Reads and updates a guild's :class:`GuildSettings`."""

    def __init__(self, store: Store, catalogues: CatalogueService) -> None:
        self._store = store
        self._catalogues = catalogues

    async def update(self, guild_id: int, changes: dict[str, float | int]) -> GuildSettings:
        """Apply ``changes`` (validated; none: just read) and return the settings."""
        if not changes:
            return await self._store.get_guild_settings(guild_id)
        before = await self._store.get_guild_settings(guild_id)
        after = await self._store.update_guild_settings(guild_id, **changes)
        # The half-life is baked into the catalogue's popularity column.
        if after.popularity_half_life_days != before.popularity_half_life_days:
            await self._catalogues.reload(guild_id)
        return after
