"""Changing a guild's settings, and rebuilding what depends on them."""

from __future__ import annotations

from bot.services.catalogues import CatalogueService
from bot.store.guild_settings import GuildSettings
from bot.store.interface import GuildStore


class GuildSettingsService:
    """Reads and updates a guild's :class:`GuildSettings`."""

    def __init__(self, store: GuildStore, catalogues: CatalogueService) -> None:
        self._store = store
        self._catalogues = catalogues

    async def update(self, guild_id: int, changes: dict[str, float | int]) -> GuildSettings:
        """Apply ``changes`` (validated; none: just read) and return the settings.

        A change the catalogue depends on starts its rebuild in the background
        (:meth:`~bot.catalogues.CatalogueService.refresh_soon`): the settings are
        stored and answered at once, suggestions follow once the rebuild is done.
        """
        if not changes:
            return await self._store.get_guild_settings(guild_id)
        before = await self._store.get_guild_settings(guild_id)
        after = await self._store.update_guild_settings(guild_id, **changes)
        if needs_rebuild(before, after):
            self._catalogues.refresh_soon(guild_id)
        return after


def needs_rebuild(before: GuildSettings, after: GuildSettings) -> bool:
    """Whether the catalogue must be rebuilt: the half-life is baked into its
    popularity column."""
    return after.popularity_half_life_days != before.popularity_half_life_days
