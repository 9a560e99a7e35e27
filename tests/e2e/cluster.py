"""A sharded test world: a fake Discord with four shards, a guild on each, and bot processes
that each run some of the shards.

Two kinds of "process", against the same fake Discord in the test's event loop:

* :func:`running_shard_process`: one :class:`~bot.client.MusicBot` instance in the
  test's event loop with its own ``SHARD_COUNT``/``SHARD_IDS`` (the test can look
  inside it: its catalogues, its store);
* :func:`running_bot_processes`: real ``python -m bot run`` subprocesses, configured
  by environment variables as an operator would, reaching the fakes over
  127.0.0.1; nothing is shared but the database and Discord, as in a real cluster.
  Each writes its log to a file (:class:`BotProcess`).

On PostgreSQL (tests/e2e/conftest.py) every process shares the one database, as a
real cluster does; on SQLite each in-process bot gets a file of its own, since a
SQLite file is not a cluster's shared store (docs: DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from pydantic import SecretStr

from bot.client import MusicBot
from bot.infra.sharding import parse_shard_ids
from bot.settings import BotSettings, Settings
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
from tests.fakes.fixtures import running_spotify_world
from tests.fakes.reccobeats import FakeReccoBeats
from tests.fakes.spotify import Entry, FakeSpotify

SHARD_COUNT = 4
#: Seconds a process may take to connect its shards: with max_concurrency 1 four
#: shards need three 5 s windows, and a loaded machine adds to that.
START_PATIENCE = 60.0
#: Seconds a subprocess may take to stop after SIGINT (stores queued reactions first).
STOP_PATIENCE = 30.0
#: The line the bot logs once every shard of the process is connected (MusicBot.on_ready).
READY_LINE = "bot.client: ready: "
#: Environment variables a subprocess keeps from the test's (everything else, e.g. a
#: developer's DATABASE_URL or SPOTIFY_* settings, must not leak into the bots).
_KEPT_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT")


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
    #: Fills in features and popularity (the world is Spotify's development mode).
    reccobeats: FakeReccoBeats | None = None

    def spotify_env(self) -> dict[str, str]:
        """Spotify and ReccoBeats settings: development mode, logged in as the playlists'
        owner (the default e2e world, tests/e2e/world.py)."""
        env = self.spotify.env(user="owner")
        if self.reccobeats is not None:
            env["RECCOBEATS_API_URL"] = self.reccobeats.url
        return env

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
        return Settings(bot=bot, spotify=SpotifySettings.from_env(self.spotify_env()))

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
        running_spotify_world("development") as (spotify_fake, recco_fake),
    ):
        names = SONG_NAMES + [f"Track {i}" for i in range(tracks - len(SONG_NAMES))]
        ids: list[Entry | str] = [spotify_fake.add_track(name=name) for name in names[:tracks]]
        world = ClusterWorld(
            discord=discord_fake,
            spotify=spotify_fake,
            playlist_id=spotify_fake.add_playlist(ids, name="Club Classics"),
            tmp_path=tmp_path,
            database_url=e2e_backend.database_url(),
            reccobeats=recco_fake,
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


# -- real processes ----------------------------------------------------------------------


def process_environment(
    world: ClusterWorld, shards: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What an operator sets for one process of the cluster: the token, where Discord
    and Spotify are, the shared database, the shard count and this process's shards."""
    if world.database_url is None:
        raise RuntimeError("a cluster of processes shares one PostgreSQL database")
    env = {name: os.environ[name] for name in _KEPT_ENVIRONMENT if name in os.environ}
    env.update(
        DISCORD_TOKEN="fake-token",
        DISCORD_API_URL=world.discord.api_url,
        DISCORD_GATEWAY_URL=world.discord.gateway_url,
        DATABASE_URL=world.database_url,
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **world.spotify_env(),
    )
    if shards is not None:
        env.update(SHARD_COUNT=str(SHARD_COUNT), SHARD_IDS=shards)
    env.update(extra or {})
    return env


@dataclass
class BotProcess:
    """One ``python -m bot ...`` of the cluster; its stdout and stderr go to ``log_path``."""

    shards: str | None
    process: asyncio.subprocess.Process
    log_path: Path

    @classmethod
    async def start(
        cls,
        world: ClusterWorld,
        shards: str | None,
        *,
        command: tuple[str, ...] = ("run",),
        env: Mapping[str, str] | None = None,
    ) -> BotProcess:
        """Start the command in ``world.tmp_path`` (no .env there) with the cluster's settings."""
        name = (shards or "all").replace(",", "+")
        log_path = world.tmp_path / f"{command[0]}-{name}-{os.urandom(3).hex()}.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *command,
                cwd=world.tmp_path, env=process_environment(world, shards, env),
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            )  # fmt: skip
        return cls(shards, process, log_path)

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def lines(self, text: str) -> list[str]:
        """The log lines containing ``text``."""
        return [line for line in self.log().splitlines() if text in line]

    async def wait_for_log(
        self,
        text: str,
        *,
        count: int = 1,
        timeout: float = START_PATIENCE,  # noqa: ASYNC109 - as in asyncio.wait_for
    ) -> list[str]:
        """Wait until ``count`` log lines contain ``text``; return them.

        Fails at once, with the log, if the process ends first.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.lines(text)) < count:
            if self.process.returncode is not None:
                raise AssertionError(
                    f"{self} ended ({self.process.returncode}) before logging {text!r}:\n"
                    + self.log()[-4000:]
                )
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self} did not log {text!r} in {timeout} s:\n" + self.log())
            await asyncio.sleep(0.05)
        return found

    async def stop(self) -> int:
        """Stop as an operator's Ctrl-C does (SIGINT: a clean shutdown); the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_PATIENCE)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                raise AssertionError(f"{self} did not stop on SIGINT:\n" + self.log()) from None
        assert self.process.returncode is not None
        return self.process.returncode

    def __str__(self) -> str:
        return f"the process running shards {self.shards}"


async def run_to_completion(
    world: ClusterWorld, *command: str, env: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """Run a one-shot command (``sync``, ``check``) with the cluster's settings."""
    shards = (env or {}).get("SHARD_IDS")
    process = await BotProcess.start(world, shards, command=command, env=env)
    try:
        await asyncio.wait_for(process.process.wait(), START_PATIENCE)
    except TimeoutError:
        process.process.kill()
        await process.process.wait()
        raise AssertionError(f"python -m bot {' '.join(command)} did not end") from None
    assert process.process.returncode is not None
    return process.process.returncode, process.log()


@contextlib.asynccontextmanager
async def running_bot_processes(
    world: ClusterWorld, *layouts: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[list[BotProcess]]:
    """``python -m bot run`` once per layout (e.g. ``"0-1", "2-3"``), all started at the
    same moment; yields once every one has logged that it is ready.

    On exit each is stopped with SIGINT; a block that ended without an error also
    requires every process to have exited 0 without a traceback in its log.
    """
    processes = list(
        await asyncio.gather(*(BotProcess.start(world, shards, env=env) for shards in layouts))
    )
    clean = False
    try:
        await asyncio.gather(*(p.wait_for_log(READY_LINE) for p in processes))
        yield processes
        clean = True
    finally:
        codes = await asyncio.gather(*(p.stop() for p in processes), return_exceptions=True)
        if not clean:
            for process in processes:  # shown by pytest beside the failure
                print(f"---- log of {process}:\n{process.log()}")
    for process, code in zip(processes, codes, strict=True):
        assert code == 0, f"{process} exited with {code!r}:\n{process.log()}"
        assert "Traceback" not in process.log(), f"{process} logged a traceback"
