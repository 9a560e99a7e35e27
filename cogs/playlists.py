"""/setplaylist, /playlists, /removeplaylist, /refreshplaylists.

Imports are jobs (:mod:`bot.services.import_jobs`): deferred at once, with progress and a
Cancel button for the admin who started them, a deadline (``INGEST_DEADLINE``), and
a summary at the end, on the reply or, past the 15 minutes Discord gives a reply,
on a channel message the bot owns (:mod:`bot.render.job_message`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.infra import guards
from bot.infra.offload import fewer_collections
from bot.render import rendering
from bot.render.job_message import JobMessage
from bot.render.storage_replies import storage_reply
from bot.services.import_jobs import CancelAnswer, ImportJob, ImportJobs, JobStopped
from bot.services.sources import PreparedSource
from bot.store.errors import StorageError

if TYPE_CHECKING:
    from bot.client import MusicBot

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
CANCEL_ANSWERS = {
    CancelAnswer.CANCELLING: "Cancelling: the playlist keeps its previous tracks.",
    CancelAnswer.TOO_LATE: "Too late to cancel: what was read is being saved.",
    CancelAnswer.NOT_YOURS: "Only the admin who started this import can cancel it.",
    CancelAnswer.UNKNOWN: "That import is not running any more.",
}


class CancelImportButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"import-cancel:(?P<job>[0-9a-f]{16})",
):
    """The Cancel button of an import's progress message.

    Dynamic (the job id is in its ``custom_id``), so a press is answered even on a
    message whose job ended or was lost to a restart.
    """

    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Cancel",
                style=discord.ButtonStyle.secondary,
                custom_id=f"import-cancel:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CancelImportButton:
        """Rebuild the button from a press."""
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Cancel the job if the presser started it; answer privately either way."""
        cog = interaction.client.get_cog(PlaylistsCog.__cog_name__)
        answer = CancelAnswer.UNKNOWN
        if isinstance(cog, PlaylistsCog):
            answer = cog.jobs.cancel(self.job_id, interaction.guild_id, interaction.user.id)
        await interaction.response.send_message(CANCEL_ANSWERS[answer], ephemeral=True)


def cancel_view(job: ImportJob) -> discord.ui.View:
    """A view holding the job's Cancel button."""
    view = discord.ui.View(timeout=None)
    view.add_item(CancelImportButton(job.id))
    return view


class PlaylistsCog(commands.Cog):
    """Admins manage where the guild's catalogue comes from; everyone can list it."""

    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot
        self.jobs = ImportJobs()

    async def cog_unload(self) -> None:
        """At shutdown, running imports stop (each still ends with its summary)."""
        self.jobs.interrupt_all()

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
        user_id = interaction.user.id
        sources = self.bot.sources

        async def prepare(job: ImportJob, message: JobMessage) -> PreparedSource:
            if file is not None:
                await message.show("Reading the file…")
                data = await job.step(file.read())
                return await job.step(sources.prepare_csv(guild_id, user_id, file.filename, data))
            assert playlist is not None
            await message.show("Reading the playlist…")
            return await job.step(
                sources.prepare_spotify(guild_id, user_id, playlist, message.progress)
            )

        async def work(job: ImportJob, message: JobMessage) -> str:
            prepared = await prepare(job, message)
            message.view = None  # a cancel would come too late from here on
            await message.show("Saving…")
            result = await sources.save(prepared)
            return rendering.source_added_text(result.source, result.lines)

        await self._run_job(interaction, "import", work)

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
        # Acknowledged first: the removal may queue behind another guild's import. The
        # catalogue is rebuilt in the background (bot.sources), after this reply.
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.sources.remove(guild_id, playlist)
        await interaction.edit_original_response(content=rendering.source_removed_text(removed))

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

        async def work(job: ImportJob, message: JobMessage) -> str:
            lines = await self.bot.sources.refresh_all(guild_id, message.progress, job.step)
            return rendering.summary_text("Playlists refreshed", lines)

        await self._run_job(interaction, "refresh", work)

    async def _run_job(
        self,
        interaction: discord.Interaction,
        what: str,
        work: Callable[[ImportJob, JobMessage], Awaitable[str]],
    ) -> None:
        """Run an import job and always end with its summary (see the module docs)."""
        guild_id = guards.guild_id(interaction)
        deadline = self.bot.settings.spotify.ingest_deadline
        job = self.jobs.start(guild_id, interaction.user.id, deadline)
        message = JobMessage(
            interaction, what=what, starter_id=interaction.user.id, view=cancel_view(job)
        )
        try:
            with fewer_collections():
                summary = await work(job, message)
        except JobStopped as stopped:
            summary = rendering.summary_text("Nothing was changed", [str(stopped)])
        except (UserFacingError, StorageError) as error:
            if message.moved_to is None:
                raise  # the reply still works: the command's error handler answers
            summary = self._failure_text(interaction, error)
        finally:
            self.jobs.finish(job)
        await message.finish(summary)

    @staticmethod
    def _failure_text(interaction: discord.Interaction, error: Exception) -> str:
        """What the error handler would have said, for a job that left its reply."""
        command = interaction.command.qualified_name if interaction.command else "?"
        if isinstance(error, StorageError):
            log.error("command /%s: %s", command, error)
            return storage_reply(error, admin=True)
        return str(error)


async def setup(bot: MusicBot) -> None:
    """Extension entry point."""
    bot.add_dynamic_items(CancelImportButton)
    await bot.add_cog(PlaylistsCog(bot))
