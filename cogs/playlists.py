"""/setplaylist, /playlists, /removeplaylist, /refreshplaylists."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import guards, rendering
from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.client import MusicBot

MAX_UPLOAD_BYTES = 8 * 1024 * 1024


class PlaylistsCog(commands.Cog):
    """Admins manage where the guild's catalogue comes from; everyone can list it."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="setplaylist", description="Add a Spotify playlist (or an exported CSV) to this server"
    )
    @app_commands.describe(
        playlist="Spotify playlist link, spotify:playlist: URI or id",
        file="Or: a playlist exported to CSV (Exportify or a Kaggle-style file)",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def setplaylist(
        self,
        interaction: discord.Interaction,
        playlist: str | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        guild_id = guards.guild_id(interaction)
        if (playlist is None) == (file is None):
            raise UserFacingError("Give either a playlist link or a CSV file (one of the two).")
        if file is not None and file.size > MAX_UPLOAD_BYTES:
            raise UserFacingError("That file is larger than 8 MB.")
        await interaction.response.defer(thinking=True)

        report = _progress_editor(interaction)
        if file is not None:
            data = await file.read()
            result = await self.bot.sources.add_csv(
                guild_id, interaction.user.id, file.filename, data
            )
        else:
            assert playlist is not None
            await report("Reading the playlist…")
            result = await self.bot.sources.add_spotify(
                guild_id, interaction.user.id, playlist, report
            )
        await interaction.edit_original_response(
            content=rendering.source_added_text(result.source, result.lines)
        )

    @app_commands.command(name="playlists", description="The playlists this server recommends from")
    @app_commands.guild_only()
    async def playlists(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        sources = await self.bot.sources.list_sources(guild_id)
        embed = rendering.sources_embed(sources, self.bot.settings.bot.max_sources_per_guild)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="removeplaylist", description="Remove a playlist from this server")
    @app_commands.describe(playlist="The playlist to remove (start typing)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def removeplaylist(self, interaction: discord.Interaction, playlist: str) -> None:
        guild_id = guards.guild_id(interaction)
        removed = await self.bot.sources.remove(guild_id, playlist)
        await interaction.response.send_message(
            rendering.source_removed_text(removed), ephemeral=True
        )

    @removeplaylist.autocomplete("playlist")
    async def playlist_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        sources = await self.bot.sources.list_sources(interaction.guild_id or 0)
        return rendering.playlist_choices(sources, current)

    @app_commands.command(
        name="refreshplaylists", description="Fetch this server's Spotify playlists again"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def refreshplaylists(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        await interaction.response.defer(thinking=True)

        report = _progress_editor(interaction)
        lines = await self.bot.sources.refresh_all(guild_id, report)
        await interaction.edit_original_response(
            content=rendering.summary_text("Playlists refreshed", lines)
        )


def _progress_editor(interaction: discord.Interaction) -> Callable[[str], Awaitable[None]]:
    """Edits the deferred reply with a progress line; a failed edit is ignored."""

    async def report(text: str) -> None:
        # Progress is a courtesy: the final edit is what matters.
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(content=text)

    return report


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(PlaylistsCog(bot))
