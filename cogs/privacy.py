"""/exportmyratings and /forgetme: members take their data back."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.infra import guards

if TYPE_CHECKING:
    from bot.client import MusicBot

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 60.0  # seconds; after that the buttons stop working and nothing is deleted


class ForgetConfirmation(discord.ui.View):
    """Confirm / Cancel for /forgetme; only the member who asked may press."""

    def __init__(
        self, bot: MusicBot, guild_id: int, user_id: int, *, timeout: float = CONFIRM_TIMEOUT
    ) -> None:
        super().__init__(timeout=timeout)
        self.bot = bot
        self.guild_id = guild_id
        self.user_id = user_id
        self.original: discord.Interaction | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """The reply is ephemeral already; this also holds if it ever is not."""
        if interaction.user.id == self.user_id:
            return True
        await interaction.response.send_message(
            "Only the member who asked can confirm this.", ephemeral=True
        )
        return False

    @discord.ui.button(label="Delete my data", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        result = await self.bot.privacy.forget(self.guild_id, self.user_id)
        log.info("guild %s: a member deleted their data", self.guild_id)
        await interaction.response.edit_message(
            content=(
                f"Done: deleted {result.ratings} ratings and {result.messages} recommendation "
                "records of yours in this server. Reactions you add from now on count again."
            ),
            view=None,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: nothing was deleted.", view=None
        )

    async def on_timeout(self) -> None:
        if self.original is None:
            return
        # The reply may be dismissed or its token expired: then there is nothing to tidy.
        with contextlib.suppress(discord.HTTPException):
            await self.original.edit_original_response(
                content="No answer: nothing was deleted.", view=None
            )

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        log.error("/forgetme button failed", exc_info=error)
        message = "Something went wrong on my side; nothing may have been deleted. Try again."
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)


class PrivacyCog(commands.Cog):
    """A member's own data in this server."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        #: Seconds the /forgetme buttons stay live (tests shorten it).
        self.confirm_timeout = CONFIRM_TIMEOUT

    @app_commands.command(
        name="exportmyratings", description="Get your ratings in this server as a CSV file"
    )
    @app_commands.guild_only()
    async def exportmyratings(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        export = await self.bot.privacy.export(guild_id, interaction.user.id)
        file = discord.File(io.BytesIO(export.data), filename="my-ratings.csv")
        shown = (
            f"Your {export.total} ratings"
            if export.rows == export.total
            else f"Your newest {export.rows} of {export.total} ratings (a file is limited to 10 MB)"
        )
        await interaction.response.send_message(
            f"{shown} in this server (only you see this).", file=file, ephemeral=True
        )

    @app_commands.command(
        name="forgetme", description="Delete your ratings and recommendation history here"
    )
    @app_commands.guild_only()
    async def forgetme(self, interaction: discord.Interaction) -> None:
        guild_id = guards.guild_id(interaction)
        count = await self.bot.privacy.count(guild_id, interaction.user.id)
        view = ForgetConfirmation(
            self.bot, guild_id, interaction.user.id, timeout=self.confirm_timeout
        )
        view.original = interaction
        await interaction.response.send_message(
            f"This deletes your **{count} ratings** in this server and the record of the "
            "recommendations you asked for (the messages stay, their reactions stop "
            "counting). It cannot be undone; `/exportmyratings` first if you want a copy.",
            view=view,
            ephemeral=True,
        )


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    await bot.add_cog(PrivacyCog(bot))
