"""Ratings by reaction, and /myratings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.infra import guards
from bot.render import rendering

if TYPE_CHECKING:
    from bot.client import MusicBot

MY_RATINGS_SHOWN = 25


class RatingsCog(commands.Cog):
    """Raw reaction events work after a restart, when no message is cached."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    def _member_reaction_guild(self, payload: discord.RawReactionActionEvent) -> int | None:
        """The server of a member's reaction; ``None`` for DMs and the bot's own."""
        if self.bot.user is None or payload.user_id == self.bot.user.id:
            return None  # the bot's own rating buttons
        return payload.guild_id

    def _on_bot_message(self, payload: discord.RawReactionActionEvent) -> bool | None:
        """Whether the reacted message is the bot's (``None``: Discord did not say)."""
        author = payload.message_author_id
        if author is None or self.bot.user is None:
            return None
        return author == self.bot.user.id

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        # Queued before the first await: the arrival order is the order stored.
        guild_id = self._member_reaction_guild(payload)
        if guild_id is not None:
            await self.bot.ratings.reaction_added(
                guild_id,
                payload.user_id,
                payload.message_id,
                str(payload.emoji),
                on_bot_message=self._on_bot_message(payload),
            )

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        guild_id = self._member_reaction_guild(payload)
        if guild_id is not None:
            await self.bot.ratings.reaction_removed(
                guild_id, payload.user_id, payload.message_id, str(payload.emoji)
            )

    @app_commands.command(name="myratings", description="Your likes and dislikes in this server")
    @app_commands.guild_only()
    async def myratings(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        ratings = await self.bot.privacy.ratings(guild_id, interaction.user.id)
        embed = rendering.ratings_embed(ratings[:MY_RATINGS_SHOWN], len(ratings))
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(RatingsCog(bot))
