"""The MusicBot: a ``commands.AutoShardedBot`` holding the store, the catalogues and the services.

Sharded always, as RoboDanny and Red are: without shard settings it runs as many
shards as Discord recommends (one for a bot under ~1,000 servers: one gateway
connection, the same events as a plain ``Bot``), so a bot that outgrows 2,500
servers a shard restarts into more shards instead of being refused (4011). With
``SHARD_COUNT``/``SHARD_IDS`` it runs its part of a cluster (:mod:`bot.infra.sharding`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import REFUSED_ANSWER, UserFacingError
from bot.infra.guards import NOT_IN_A_SERVER, GuardedTree, NotInGuildError
from bot.infra.sharding import IdentifyPacer, ShardClaims, ShardLayout, check_session_budget
from bot.render.discord_limits import fit_content
from bot.render.storage_replies import storage_reply
from bot.render.untrusted_text import plain
from bot.services.catalogues import CatalogueService
from bot.services.guild_settings import GuildSettingsService
from bot.services.insights import InsightService
from bot.services.privacy import PrivacyService
from bot.services.rating import RatingService
from bot.services.recommending import RecommendationService
from bot.services.reconcile import reconcile_after_start
from bot.services.retention import RetentionPolicy, run_retention_periodically
from bot.services.sources import SourceService
from bot.settings import Settings
from bot.store import Store
from bot.store.errors import StorageError
from bot.store.interface import GuildWatch
from bot.store.open import connect_store
from recommender.ingest.service import Ingestion

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "cogs.recommend",
    "cogs.playlists",
    "cogs.ratings",
    "cogs.settings",
    "cogs.insights",
    "cogs.privacy",
    "cogs.help",
)
PURGE_INTERVAL = dt.timedelta(hours=6)
LOGGED_ERROR_WIDTH = 300  # Discord's error body can echo the whole refused payload
#: ``interaction.extras`` key: a command that deferred publicly but answers failures
#: privately (e.g. /recommend, which defers before it knows whether it can answer).
PRIVATE_ERRORS = "private_errors"


def bot_intents() -> discord.Intents:
    """Only what the bot needs: guild events and reactions; no privileged intents."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    return intents


class MusicBot(commands.AutoShardedBot):
    """The running service. Services are created in :meth:`setup_hook`."""

    store: Store
    catalogues: CatalogueService
    recommendations: RecommendationService
    ratings: RatingService
    sources: SourceService
    guild_settings: GuildSettingsService
    insights: InsightService
    privacy: PrivacyService
    ingestion: Ingestion | None

    def __init__(self, settings: Settings, *, background_jobs: bool = True) -> None:
        """``background_jobs=False`` (``python -m bot sync``) starts no periodic work:
        registering commands must never purge a departed guild's data."""
        layout = settings.bot.shard_layout
        super().__init__(
            shard_count=layout.shard_count,
            # None (every shard of the count) is discord.py's own default; its
            # TypedDict only spells the list.
            shard_ids=list(layout.shard_ids) if layout.shard_ids is not None else None,  # type: ignore[arg-type]
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=MusicTree,
            # Installed to servers only: no user-installed copy in servers without the bot.
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.settings = settings
        self.background_jobs = background_jobs
        self.ingestion = None
        self._background: set[asyncio.Task[Any]] = set()
        self._guild_watch: GuildWatch | None = None
        #: Paces IDENTIFYs by Discord's max_concurrency (set in :meth:`connect`).
        self.identify_pacer = IdentifyPacer()
        self._shard_claims: ShardClaims | None = None

    async def setup_hook(self) -> None:
        """Open the store, build the services, load the cogs (one failure doesn't stop others)."""
        config = self.settings.bot
        self.store = await connect_store(config)  # SQLite, or PostgreSQL by DATABASE_URL
        spotify = self.settings.spotify
        if spotify.has_client_credentials or spotify.has_user_token:
            self.ingestion = Ingestion(spotify, cache=self.store)
        else:
            log.warning("no Spotify credentials: only CSV sources and datasets will work")
        # 0 = no budget (every catalogue stays in memory).
        budget = config.catalogue_memory_mb or None
        self.catalogues = CatalogueService(self.store, memory_budget_mb=budget)
        self.recommendations = RecommendationService(self.store, self.catalogues, self.ingestion)
        self.ratings = RatingService(self.store)
        self.guild_settings = GuildSettingsService(self.store, self.catalogues)
        self.insights = InsightService(self.store, self.catalogues)
        self.privacy = PrivacyService(self.store)
        self.sources = SourceService(
            self.store,
            self.catalogues,
            self.ingestion,
            max_sources=config.max_sources_per_guild,
            max_tracks=config.max_tracks_per_guild,
        )
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except Exception:
                log.exception("could not load extension %s", extension)
        if self.background_jobs:
            # What other processes of a cluster (one PostgreSQL) change reaches this one.
            self._guild_watch = await self.store.watch_guild_changes(self.refresh_guild)
            self.spawn(self._purge_departed_guilds_periodically())
            # Old recommendation messages and unused cached tracks (bot.retention).
            policy = RetentionPolicy.from_settings(config)
            self.spawn(run_retention_periodically(self.store, policy))
            # Reactions made while the bot was down (bot.reconcile), once connected.
            self.spawn(reconcile_after_start(self))

    # -- shards --------------------------------------------------------------------------

    async def connect(self, *, reconnect: bool = True) -> None:
        """Ask Discord for the shard count it recommends and the session limits, then connect.

        One ``GET /gateway/bot`` (discord.py would make it too when the count is
        left to Discord). The gateway URL stays the configured one (a proxy's, or
        discord.py's default), not the one in the answer (:mod:`bot.infra.discord_urls`).
        """
        recommended, _url, limit = await self.http.get_bot_gateway()
        if self.shard_count is None:
            self.shard_count = recommended
        elif recommended > self.shard_count:
            log.warning(
                "Discord recommends %d shards for this bot; SHARD_COUNT is %d",
                recommended,
                self.shard_count,
            )
        shard_ids = self.shard_ids or range(self.shard_count)
        check_session_budget(limit, len(shard_ids))
        if self._shard_claims is None:
            # No other process on this database may run these shards (or another count).
            claims = self.store.shard_claims()
            if claims is not None:
                await claims.claim(self.shard_count, list(shard_ids))
                self._shard_claims = claims
        await self.identify_pacer.close()
        # Shared with the cluster's other processes when the store is (PostgreSQL).
        slots = self.store.identify_slots()
        self.identify_pacer = IdentifyPacer(int(limit.get("max_concurrency", 1)), slots=slots)
        log.info(
            "connecting shards %s of %d (max_concurrency %d, %s session starts left today; "
            "IDENTIFY paced %s)",
            list(shard_ids),
            self.shard_count,
            self.identify_pacer.max_concurrency,
            limit.get("remaining", "?"),
            "across the processes sharing the database" if slots else "in this process",
        )
        await super().connect(reconnect=reconnect)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for the shard's IDENTIFY slot (Discord: max_concurrency per 5 s).

        Replaces discord.py's flat 5 s before every IDENTIFY but the first.
        """
        await self.identify_pacer.wait(shard_id or 0)

    @property
    def served_shards(self) -> ShardLayout:
        """This process's shards, with the count in use (Discord's, when left to it)."""
        layout = self.settings.bot.shard_layout
        return ShardLayout(layout.shard_count or self.shard_count, layout.shard_ids)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process's shards receive the guild's events (so it serves it)."""
        return self.settings.bot.shard_layout.owns(guild_id, self.shard_count)

    async def refresh_guild(self, guild_id: int) -> None:
        """Another process changed a guild's data: rebuild its catalogue if we serve it.

        The consumer of a cluster's "guild changed" notifications (PostgreSQL
        LISTEN/NOTIFY); a guild of another process's shards is left to that process.
        """
        if self.owns_guild(guild_id):
            await self.catalogues.reload_all([guild_id])

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run work in the background, keeping a reference and logging its failure."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._background.discard(finished)
            if finished.cancelled() or finished.exception() is None:
                return
            if self.is_closed():
                # Work cut short by shutdown (e.g. reactions after the HTTP session closed).
                log.debug("background task ended by shutdown: %r", finished.exception())
            else:
                log.error("background task failed", exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    async def close(self) -> None:
        """Stop background work, then close Discord, Spotify and the database, in that order."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._guild_watch is not None:
            await self._guild_watch.close()
        await super().close()
        await self.identify_pacer.close()  # gives back a cluster IDENTIFY slot still held
        if self._shard_claims is not None:
            await self._shard_claims.close()  # the shards are free for another process
        if hasattr(self, "ratings"):
            await self.ratings.close()  # store queued reactions before the database closes
        if self.ingestion is not None:
            await self.ingestion.close()
        if hasattr(self, "catalogues"):
            await self.catalogues.close()  # background rebuilds read the store
        if hasattr(self, "store"):
            await self.store.close()

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Event handlers (reactions, guild events): a storage failure is one line."""
        error = sys.exc_info()[1]
        if isinstance(error, StorageError):
            log.error("event %s: %s", event_method, error)
            return
        await super().on_error(event_method, *args, **kwargs)

    # -- guild lifecycle ---------------------------------------------------------------

    async def on_ready(self) -> None:
        """One line once every shard of this process is connected (again after a full
        reconnect): the operator's sign that the process serves its servers."""
        log.info("ready: %d servers on %s", len(self.guilds), self.served_shards.describe())

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Build the guild's catalogue from the store when the guild comes online (while
        the catalogues fit their memory budget; past it, when the guild first asks)."""
        try:
            await self.catalogues.preload(guild.id)
        except StorageError as error:
            # Members hear about it when they ask; the operator reads it here.
            log.error("guild %s: could not load its catalogue: %s", guild.id, error)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """A guild that re-adds the bot within the grace period keeps its data."""
        if await self.store.unmark_guild_left(guild.id):
            log.info("guild %s re-added the bot; its data is kept", guild.id)
        await self.catalogues.reload_all([guild.id])

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Start the grace period after which the guild's data is deleted."""
        await self.store.mark_guild_left(guild.id)
        self.catalogues.forget(guild.id)

    async def purge_departed_guilds(self, *, now: dt.datetime | None = None) -> list[int]:
        """Delete the data of guilds the bot left more than GUILD_DATA_GRACE_DAYS ago."""
        grace = dt.timedelta(days=self.settings.bot.guild_data_grace_days)
        purged = await self.store.purge_departed_guilds(grace, now=now)
        if purged:
            log.info("deleted the data of %d guilds that left", len(purged))
        return purged

    async def _purge_departed_guilds_periodically(self) -> None:
        while True:
            try:
                # Once per period for the whole cluster, by whichever process comes first.
                if await self.store.claim_job("purge-departed-guilds", PURGE_INTERVAL * 0.9):
                    await self.purge_departed_guilds()
            except StorageError as error:  # classified: the file and what to do, one line
                log.error("purging departed guilds failed: %s", error)
            except Exception:
                log.exception("purging departed guilds failed")
            await asyncio.sleep(PURGE_INTERVAL.total_seconds())

    # -- errors ------------------------------------------------------------------------

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """One place that turns every failure into a short ephemeral message."""
        original = getattr(error, "original", error)
        command = interaction.command.qualified_name if interaction.command else "?"
        if isinstance(original, app_commands.NoPrivateMessage):
            # A guild-only command outside a server (bot.guards): expected, not a failure.
            log.info("command /%s refused: %s", command, original)
            message = str(original) if isinstance(original, NotInGuildError) else NOT_IN_A_SERVER
        elif isinstance(original, StorageError):
            # The operator's line; the member or admin gets words they can act on.
            log.error("command /%s: %s", command, original)
            message = storage_reply(original, admin=interaction.permissions.manage_guild)
        elif isinstance(original, UserFacingError):
            message = str(original)
        elif isinstance(original, discord.HTTPException):
            # Discord refused an answer (e.g. a payload over a limit): one line, no
            # traceback, and the member still hears back.
            log.warning("command /%s: Discord refused the answer: %s", command, _describe(original))
            message = REFUSED_ANSWER
        elif isinstance(error, app_commands.MissingPermissions):
            message = "Only members with the **Manage Server** permission can do that."
        elif isinstance(error, app_commands.CheckFailure):
            message = "You can't use this command here."
        else:
            log.error("command /%s failed", command, exc_info=original)
            message = "Something went wrong on my side. The details are in the bot's log."
        await send_error(interaction, message)


class MusicTree(GuardedTree):
    """The bot's command tree: the context guard of :mod:`bot.infra.guards`, one error handler."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Every command failure goes to :meth:`MusicBot.on_app_command_error`."""
        # The only client this tree is built for (MusicBot's tree_cls).
        await cast(MusicBot, self.client).on_app_command_error(interaction, error)


async def send_error(interaction: discord.Interaction, message: str) -> None:
    """Answer with ``message`` ephemerally, or replace a deferred "thinking" reply.

    ``message`` is cut to Discord's 2,000 characters. If Discord still refuses it,
    a short fixed answer goes out as a followup: the member never waits in silence.
    """
    text = fit_content(message)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
        elif interaction.extras.get(PRIVATE_ERRORS):
            await replace_with_private(interaction, text)
        else:
            await interaction.edit_original_response(
                content=text, embed=None, attachments=[], view=None
            )
        return
    except discord.HTTPException as error:
        log.warning("could not deliver an error message: %s", _describe(error))
    try:
        if interaction.response.is_done():
            await interaction.followup.send(REFUSED_ANSWER, ephemeral=True)
        else:
            await interaction.response.send_message(REFUSED_ANSWER, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not deliver the fallback answer either: %s", _describe(error))


async def replace_with_private(interaction: discord.Interaction, text: str) -> None:
    """Turn a public "thinking" reply into an answer only the member sees.

    Discord keeps the first followup after a defer as public as the defer, so the
    "thinking" message is first edited (the private followup is then a message of its
    own) and deleted once the private answer is out.
    """
    await interaction.edit_original_response(content="…", embed=None, attachments=[], view=None)
    await interaction.followup.send(text, ephemeral=True)
    try:
        await interaction.delete_original_response()
    except discord.HTTPException as error:
        log.warning("could not delete the placeholder reply: %s", _describe(error))


def _describe(error: discord.HTTPException) -> str:
    """One log line for a refused request: status, Discord's code, its message (bounded)."""
    return f"HTTP {error.status} (code {error.code}): {plain(error.text, LOGGED_ERROR_WIDTH)}"
