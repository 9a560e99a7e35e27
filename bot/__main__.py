"""``python -m bot [run | sync [--guild ID] | check | migrate-db --to URL]``: start the bot,
sync its slash commands, check that the configuration can run it, or copy its SQLite
database into PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import socket
import sys
from collections.abc import Sequence

import aiohttp
import discord

from bot.check import run_check
from bot.client import MusicBot
from bot.infra.discord_urls import apply_discord_urls
from bot.infra.memory import limit_malloc_arenas
from bot.infra.sharding import SessionBudgetError, ShardLayout, ShardSettingError, ShardsTakenError
from bot.settings import Settings, SettingsError, load_settings
from bot.store import StoreError
from bot.store.open import open_store
from bot.store.postgres.import_sqlite import run_migrate_db

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
#: Failures to reach Discord at all (refused, reset, no route, DNS, timed out, no
#: gateway, a 5xx from Discord or a proxy in front of it): the start ends with one
#: line naming where it tried, not a traceback.
_UNREACHABLE = (
    aiohttp.ClientConnectionError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    discord.GatewayNotFound,
    discord.DiscordServerError,
)
#: Gateway close codes Discord ends a start with, and what the operator should do.
_SHARD_CLOSE_CODES = {
    4010: "Discord refused the shard ids or shard count (4010): check SHARD_COUNT/SHARD_IDS; "
    "a bot under large-bot sharding must use a multiple of the count Discord assigned",
    4011: "Discord requires more shards (4011): a shard may hold at most 2,500 servers; "
    "raise SHARD_COUNT, or leave it empty to use the count Discord recommends",
}


def _add_shard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard-count", type=int, metavar="N", help="total shards of the bot (SHARD_COUNT)"
    )
    parser.add_argument(
        "--shards",
        metavar="IDS",
        help="the shard ids this process runs, e.g. 0-1 or 0,2 (SHARD_IDS; needs a count)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--env-file", default=".env", help="settings file (default .env)")
    commands = parser.add_subparsers(dest="command")
    _add_shard_options(commands.add_parser("run", help="run the bot (the default)"))
    sync = commands.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument(
        "--guild", type=int, help="sync to one server only (instant; for development)"
    )
    check = commands.add_parser(
        "check",
        help="check the settings, database, Discord token and Spotify app; exit 2 if "
        "the bot cannot run",
    )
    _add_shard_options(check)
    migrate = commands.add_parser(
        "migrate-db", help="copy the SQLite database into PostgreSQL (stop the bot first)"
    )
    migrate.add_argument("--to", help="postgresql://... (default: DATABASE_URL)")
    migrate.add_argument("--from", dest="source", help="SQLite file (default: DATABASE_PATH)")
    migrate.add_argument(
        "--force", action="store_true", help="replace a PostgreSQL database that holds data"
    )
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.py's own INFO lines are useful; its DEBUG payloads may carry tokens.
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))


async def _open_database(settings: Settings) -> None:
    """Open (and migrate) the database once before contacting Discord.

    A file the bot cannot use then ends the start with one line naming it, before
    any login; the bot opens it again in ``setup_hook``.
    """
    async with open_store(settings.bot):
        pass


#: Signals that stop ``run`` cleanly: Ctrl-C, and what service managers send (systemd,
#: Docker, Kubernetes). Both are handled by the bot itself, so they work even when the
#: process started with SIGINT ignored (as anything started in the background by a
#: shell is).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _run(settings: Settings) -> None:
    await _open_database(settings)
    async with MusicBot(settings) as bot:
        received: list[signal.Signals] = []
        main = asyncio.current_task()
        assert main is not None
        loop = asyncio.get_running_loop()
        for stop_signal in STOP_SIGNALS:
            loop.add_signal_handler(stop_signal, _request_stop, main, stop_signal, received)
        try:
            await bot.start(settings.bot.discord_token.get_secret_value())
        except asyncio.CancelledError:
            if not received:
                raise
            main.uncancel()  # a requested stop, not a cancellation: close as usual
        finally:
            for stop_signal in STOP_SIGNALS:
                loop.remove_signal_handler(stop_signal)
        # Leaving the block closes the bot: queued ratings are stored, then the database.


def _request_stop(
    main: asyncio.Task[None], stop_signal: signal.Signals, received: list[signal.Signals]
) -> None:
    received.append(stop_signal)
    log.info("stopping on %s: storing queued work, then closing", stop_signal.name)
    # A second signal acts as if the bot did not handle it (Ctrl-C: KeyboardInterrupt,
    # SIGTERM: end the process): the way out of a clean-up that does not finish.
    loop = main.get_loop()
    for handled in STOP_SIGNALS:
        loop.remove_signal_handler(handled)
    main.cancel()


async def _sync(settings: Settings, guild_id: int | None) -> int:
    await _open_database(settings)
    async with MusicBot(settings, background_jobs=False) as bot:
        await bot.login(settings.bot.discord_token.get_secret_value())  # runs setup_hook
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        else:
            synced = await bot.tree.sync()
        where = f"server {guild_id}" if guild_id else "all servers (may take a while to appear)"
        print(f"synced {len(synced)} commands to {where}: {', '.join(c.name for c in synced)}")
    return 0


def _with_shard_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with ``--shard-count``/``--shards`` in place of SHARD_COUNT/SHARD_IDS.

    Raises :class:`~bot.sharding.ShardSettingError` for a layout that cannot run.
    """
    count = getattr(args, "shard_count", None)
    ids = getattr(args, "shards", None)
    if count is None and ids is None:
        return settings
    count = count if count is not None else settings.bot.shard_count
    ids = ids if ids is not None else settings.bot.shard_ids
    ShardLayout.parse(count, ids)
    bot = settings.bot.model_copy(update={"shard_count": count, "shard_ids": ids})
    return dataclasses.replace(settings, bot=bot)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    limit_malloc_arenas()  # before any thread allocates (bot.infra.memory says why)
    args = _parser().parse_args(argv)
    if args.command == "migrate-db":  # needs no Discord token
        return run_migrate_db(args.source, args.to, force=args.force, env_file=args.env_file)
    try:
        settings = _with_shard_options(load_settings(args.env_file), args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except ShardSettingError as error:
        print(f"error: --shard-count/--shards: {error}", file=sys.stderr)
        return EXIT_CONFIG
    _configure_logging(settings.bot.log_level)
    try:
        apply_discord_urls(settings.bot.discord_api_url, settings.bot.discord_gateway_url)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        if args.command == "check":
            return asyncio.run(run_check(settings))
        if args.command == "sync":
            return asyncio.run(_sync(settings, args.guild))
        asyncio.run(_run(settings))
    except discord.LoginFailure:
        print(
            "error: Discord rejected DISCORD_TOKEN; copy the bot token again from the "
            "Developer Portal (Bot → Reset Token)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except discord.PrivilegedIntentsRequired:
        print("error: Discord refused the gateway intents", file=sys.stderr)
        return EXIT_CONFIG
    except discord.ConnectionClosed as error:
        if error.code not in _SHARD_CLOSE_CODES:
            raise
        print(f"error: {_SHARD_CLOSE_CODES[error.code]}", file=sys.stderr)
        return EXIT_CONFIG
    except (SessionBudgetError, ShardsTakenError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except _UNREACHABLE as error:
        where = settings.bot.discord_api_url or "discord.com"
        reason = str(error) or type(error).__name__
        print(
            f"error: cannot reach Discord ({where}): {reason}; check the network, or "
            "DISCORD_API_URL/DISCORD_GATEWAY_URL if you set them",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    except StoreError as error:
        # Corrupt, read-only, full, locked or too new: the message names the file,
        # the problem and what to do; the file was left as it was.
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
