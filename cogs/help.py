"""/help: what the bot does, how to rate, admin commands, where the data comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.render import help_text

if TYPE_CHECKING:
    from bot.client import MusicBot


class HelpCog(commands.Cog):
    """One static embed; works in servers and in DMs."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What this bot does and how to use it")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=help_text.help_embed(), ephemeral=True)


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(HelpCog(bot))
