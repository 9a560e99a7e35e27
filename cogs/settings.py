"""/settings: a server's defaults for /recommend (admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.infra import guards
from bot.render import rendering
from bot.store.errors import InvalidGuildSettingError
from bot.store.guild_settings import MAX_LIKED_HERE_WEIGHT, MAX_PLAYLIST_WEIGHT

if TYPE_CHECKING:
    from bot.client import MusicBot


REBUILD_NOTE = "Suggestions follow the new half-life in a moment (recomputing popularity)."


class GuildSettingsCog(commands.Cog):
    """Shows the settings; changes the ones given."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="This server's defaults for /recommend")
    @app_commands.describe(
        alpha="Sounding alike (1) against recent & popular (0); the weights below add on top",
        playlist_weight="Weight of 'often in this server's playlists together' (0 = off)",
        liked_here_weight="Weight of 'liked together by members here' (0 = off)",
        half_life_years="Years after which a release's popularity counts half",
        diversity="0 = most relevant first, 1 = as varied as possible",
        max_per_artist="At most this many suggestions by one artist (0 = no limit)",
        count="Suggestions per /recommend",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: discord.Interaction,
        alpha: app_commands.Range[float, 0.0, 1.0] | None = None,
        half_life_years: app_commands.Range[float, 0.1, 100.0] | None = None,
        diversity: app_commands.Range[float, 0.0, 1.0] | None = None,
        max_per_artist: app_commands.Range[int, 0, 10] | None = None,
        count: app_commands.Range[int, 1, 10] | None = None,
        playlist_weight: app_commands.Range[float, 0.0, MAX_PLAYLIST_WEIGHT] | None = None,
        liked_here_weight: app_commands.Range[float, 0.0, MAX_LIKED_HERE_WEIGHT] | None = None,
    ) -> None:
        guild_id = guards.guild_id(interaction)
        changes: dict[str, float | int] = {}
        if alpha is not None:
            changes["alpha"] = alpha
        if half_life_years is not None:
            changes["popularity_half_life_days"] = half_life_years * 365.25
        if diversity is not None:
            changes["diversity"] = diversity
        if max_per_artist is not None:
            changes["max_per_artist"] = max_per_artist
        if count is not None:
            changes["default_count"] = count
        if playlist_weight is not None:
            changes["playlist_weight"] = playlist_weight
        if liked_here_weight is not None:
            changes["liked_here_weight"] = liked_here_weight
        # Acknowledged before touching the store: a write may queue behind another
        # guild's import, and Discord allows 3 s. The catalogue rebuild a new
        # half-life needs runs in the background (bot.guild_settings).
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            current = await self.bot.guild_settings.update(guild_id, changes)
        except InvalidGuildSettingError as error:
            raise UserFacingError(str(error)) from None
        title = "Settings updated" if changes else "Settings"
        note = REBUILD_NOTE if "popularity_half_life_days" in changes else None
        await interaction.edit_original_response(
            content=note, embed=rendering.settings_embed(title, current)
        )


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(GuildSettingsCog(bot))
