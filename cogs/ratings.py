"""Ratings by reaction, and /myratings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering

if TYPE_CHECKING:
    from bot.client import MusicBot

MY_RATINGS_SHOWN = 25


class RatingsCog(commands.Cog):
    """Raw reaction events work after a restart, when no message is cached."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    def _is_member_reaction(self, payload: discord.RawReactionActionEvent) -> bool:
        return (
            payload.guild_id is not None
            and self.bot.user is not None
            and payload.user_id != self.bot.user.id  # the bot's own rating buttons
        )

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self._is_member_reaction(payload):
            assert payload.guild_id is not None
            await self.bot.ratings.reaction_added(
                payload.guild_id, payload.user_id, payload.message_id, str(payload.emoji)
            )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if self._is_member_reaction(payload):
            assert payload.guild_id is not None
            await self.bot.ratings.reaction_removed(
                payload.guild_id, payload.user_id, payload.message_id, str(payload.emoji)
            )

    @app_commands.command(name="myratings", description="Your likes and dislikes in this server")
    @app_commands.guild_only()
    async def myratings(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        ratings = await self.bot.store.list_member_ratings(
            interaction.guild_id, interaction.user.id
        )
        embed = rendering.ratings_embed(ratings[:MY_RATINGS_SHOWN], len(ratings))
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(RatingsCog(bot))
