"""A sharded test world: a fake Discord with four shards, a guild on each, and bot processes
that each run some of the shards.

"Process" here is one :class:`~bot.client.MusicBot` instance in the test's event
loop with its own ``SHARD_COUNT``/``SHARD_IDS``: exactly what a separate OS
process would run, against the same fake Discord. On PostgreSQL
(tests/e2e/conftest.py) every process shares the one database, as a real cluster
does; on SQLite each process gets a file of its own, since a SQLite file is not a
cluster's shared store (docs: DATABASE_URL).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from pydantic import SecretStr

from bot.client import MusicBot
from bot.settings import BotSettings, Settings
from bot.sharding import parse_shard_ids
from recommender.spotify.settings import SpotifySettings
from tests.e2e import backend as e2e_backend
from tests.e2e.world import BOT_MISTAKES, SONG_NAMES
from tests.fakes.discord import (
    MANAGE_GUILD,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    SessionStartLimit,
    running_bot,
    running_fake_discord,
    shard_of,
)
from tests.fakes.spotify import Entry, FakeSpotify, FakeSpotifyConfig, running_fake_spotify

SHARD_COUNT = 4
#: Seconds a process may take to connect its shards: with max_concurrency 1 four
#: shards need three 5 s windows, and a loaded machine adds to that.
START_PATIENCE = 60.0


class RecordingBot(MusicBot):
    """The real bot, noting every guild whose catalogue it reads from the store."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.catalogues_loaded: list[int] = []

    async def setup_hook(self) -> None:
        """The bot's own setup, then a recorder around the one catalogue read."""
        await super().setup_hook()
        read = self.store.load_guild_catalogue

        async def recording(guild_id: int) -> Any:
            self.catalogues_loaded.append(guild_id)
            return await read(guild_id)

        # The instance attribute shadows the method for CatalogueService's calls.
        self.store.load_guild_catalogue = recording  # type: ignore[method-assign]


@dataclass
class ClusterWorld:
    """The fakes, one guild per shard (``guilds[k]`` is on shard ``k``), and where data goes."""

    discord: FakeDiscord
    spotify: FakeSpotify
    playlist_id: str
    tmp_path: Path
    guilds: list[FakeGuild] = field(default_factory=list)
    admins: dict[int, FakeMember] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    #: PostgreSQL shared by every process; ``None``: a SQLite file per process.
    database_url: str | None = None

    def settings(self, shards: str) -> Settings:
        """Settings of the process running ``shards`` (e.g. ``"0-1"``) of :data:`SHARD_COUNT`."""
        bot = BotSettings(
            discord_token=SecretStr("fake-token"),
            database_path=self.tmp_path / f"shards-{shards}.sqlite3",
            database_url=SecretStr(self.database_url) if self.database_url else None,
            discord_api_url=self.discord.api_url,
            discord_gateway_url=self.discord.gateway_url,
            shard_count=SHARD_COUNT,
            shard_ids=shards,
        )
        return Settings(bot=bot, spotify=SpotifySettings.from_env(self.spotify.env()))

    def guilds_of(self, shards: str) -> list[FakeGuild]:
        """The guilds a process running ``shards`` serves."""
        ids = parse_shard_ids(shards)
        return [g for g in self.guilds if shard_of(g.id, SHARD_COUNT) in ids]


@contextlib.asynccontextmanager
async def running_cluster_world(
    tmp_path: Path, *, max_concurrency: int = SHARD_COUNT, tracks: int = 30
) -> AsyncIterator[ClusterWorld]:
    """Fakes with :data:`SHARD_COUNT` shards, one guild on each with an admin and a member.

    ``max_concurrency`` is what ``GET /gateway/bot`` reports (the default lets every
    shard IDENTIFY at once). No request of the bots may be refused for one of
    :data:`~tests.e2e.world.BOT_MISTAKES`.
    """
    limit = SessionStartLimit(max_concurrency=max_concurrency)
    async with (
        running_fake_discord(
            guilds=(), shard_count=SHARD_COUNT, session_start_limit=limit
        ) as discord_fake,
        running_fake_spotify(FakeSpotifyConfig(mode="full")) as spotify_fake,
    ):
        names = SONG_NAMES + [f"Track {i}" for i in range(tracks - len(SONG_NAMES))]
        ids: list[Entry | str] = [spotify_fake.add_track(name=name) for name in names[:tracks]]
        world = ClusterWorld(
            discord=discord_fake,
            spotify=spotify_fake,
            playlist_id=spotify_fake.add_playlist(ids, name="Club Classics"),
            tmp_path=tmp_path,
            database_url=e2e_backend.database_url(),
        )
        for shard in range(SHARD_COUNT):
            guild = discord_fake.add_guild(f"Club on shard {shard}", shard=shard)
            world.guilds.append(guild)
            world.admins[guild.id] = discord_fake.add_member(
                guild, f"admin-{shard}", permissions=MANAGE_GUILD
            )
            world.members[guild.id] = discord_fake.add_member(guild, f"member-{shard}")
        yield world
        mistakes = [(r.route, r.status, r.error) for r in discord_fake.refusals(*BOT_MISTAKES)]
        assert not mistakes, f"Discord would have refused the bots: {mistakes}"


@contextlib.asynccontextmanager
async def running_shard_process(world: ClusterWorld, shards: str) -> AsyncIterator[RecordingBot]:
    """The real bot running ``shards`` of the world, commands synced to its guilds."""
    bot = RecordingBot(world.settings(shards))
    async with running_bot(bot, world.discord, timeout=START_PATIENCE):
        for guild in world.guilds_of(shards):
            target = discord.Object(id=guild.id)
            bot.tree.copy_global_to(guild=target)
            await bot.tree.sync(guild=target)
        yield bot
