"""/profile and /stats: a member's taste and the server's catalogue, as charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.infra import guards
from bot.render import insight_embeds

if TYPE_CHECKING:
    from bot.client import MusicBot

PROFILE_PNG = "taste.png"
STATS_PNG = "catalogue.png"


class InsightsCog(commands.Cog):
    """Thin front-ends; the data and the rendering live in bot.insights."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="profile", description="Your taste here, as a chart (only you see it)"
    )
    @app_commands.guild_only()
    async def profile(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        # Rendering runs in a worker thread but may queue behind other charts: defer.
        await interaction.response.defer(thinking=True, ephemeral=True)
        insights = self.bot.insights
        profile = await insights.member_profile(guild_id, interaction.user.id)
        embed = insight_embeds.profile_embed(profile, interaction.user.display_name)
        png = await insights.profile_chart(guild_id, profile) if profile.total else None
        files = insight_embeds.with_chart(embed, png, PROFILE_PNG)
        await interaction.edit_original_response(embed=embed, attachments=files)

    @app_commands.command(name="stats", description="What this server's catalogue holds")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        # Ephemeral: the numbers name the most active raters; nobody is pinged either way.
        await interaction.response.defer(thinking=True, ephemeral=True)
        insights = self.bot.insights
        stats = await insights.catalogue_stats(guild_id)
        embed = insight_embeds.stats_embed(stats)
        png = await insights.stats_chart(stats) if stats.total_tracks else None
        files = insight_embeds.with_chart(embed, png, STATS_PNG)
        await interaction.edit_original_response(embed=embed, attachments=files)


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(InsightsCog(bot))
