"""``python -m bot check``: can this configuration run the bot, and what will work?

Checks, in order: the settings (already loaded by the caller) and the shards this
process runs, the SQLite file (opened exactly as the bot opens it: schema version,
WAL, integrity, counts), the Discord token (a REST login, no gateway) and
``GET /gateway/bot`` (recommended shards, session starts left), and the Spotify
credentials (a token,
then one probe of ``/audio-features`` and of the batch ``/tracks`` endpoint to
tell the full API from 2026 development mode; see docs/spotify.md).

Exit status 0 when the bot can run (Spotify problems only limit what it can do),
2 otherwise. Secrets are never printed: only whether they are set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot.infra.sharding import SessionBudgetError, ShardLayout, check_session_budget
from bot.settings import Settings
from bot.store import SqliteStore
from bot.store.errors import DatabaseCorruptError, DatabaseReadOnlyError, StoreError
from bot.store.migrations import LATEST_VERSION
from bot.store.open import describe_store, probe_postgres
from recommender.providers.spotify_features import SpotifyAudioFeatures
from recommender.spotify.client import SpotifyClient
from recommender.spotify.errors import SpotifyError
from recommender.spotify.tracks import get_tracks

# Two real track ids: the batch endpoint is only tried for more than one id.
PROBE_TRACK_IDS = ("11dFghVXANMlKmJXsNCbNl", "4uLU6hMCjMI75M1A2tKUQC")


@dataclass
class Report:
    """Lines of ``[ok]``/``[warn]``/``[FAIL]`` results; any FAIL means the bot cannot run."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def ok(self, what: str, text: str) -> None:
        self.lines.append(f"[ok]   {what}: {text}")

    def warn(self, what: str, text: str) -> None:
        self.lines.append(f"[warn] {what}: {text}")

    def fail(self, what: str, text: str) -> None:
        self.failed = True
        self.lines.append(f"[FAIL] {what}: {text}")


def check_settings(settings: Settings, report: Report) -> None:
    """What was read (never the values of secrets)."""
    bot, spotify = settings.bot, settings.spotify
    where = "a proxy or test server" if bot.discord_api_url else "discord.com"
    report.ok(
        "settings",
        f"DISCORD_TOKEN set (hidden), Discord API at {where}, database {describe_store(bot)}, "
        f"at most {bot.max_sources_per_guild} playlists per server, data of servers the bot "
        f"left deleted after {bot.guild_data_grace_days} days",
    )
    parts = [
        f"SPOTIFY_CLIENT_ID {'set' if spotify.client_id else 'not set'}",
        f"SPOTIFY_CLIENT_SECRET {'set (hidden)' if spotify.client_secret else 'not set'}",
        f"SPOTIFY_REFRESH_TOKEN {'set (hidden)' if spotify.refresh_token else 'not set'}",
        f"ReccoBeats {'on' if spotify.reccobeats_url else 'off'}",
        f"{len(spotify.feature_datasets)} feature datasets",
    ]
    report.ok("feature sources", ", ".join(parts))
    for path in spotify.feature_datasets:
        if not path.is_file():
            report.warn("feature sources", f"FEATURE_DATASETS file {path} does not exist")
    check_shards(settings, report)


def check_shards(settings: Settings, report: Report) -> None:
    """Which shards this process runs, and whether its database can be shared."""
    layout = settings.bot.shard_layout
    report.ok("shards", f"this process runs {layout.describe()}")
    if layout.is_cluster_member and settings.bot.database_url is None:
        # Each process would keep its own file: a server served by another process
        # after a re-layout would find none of its data.
        report.warn(
            "shards",
            "other processes run the other shards, but the database is a SQLite file of "
            "this process; a cluster shares one PostgreSQL database (DATABASE_URL)",
        )


def _missing_database(path: Path, report: Report) -> bool:
    """Report on a file that does not exist yet (fine if it can be created); ``True`` then."""
    if path.exists():
        return False
    parent = next((p for p in path.parents if p.exists()), Path("."))
    if os.access(parent, os.W_OK):
        report.ok("database", f"{path} does not exist yet; the bot creates it on first run")
    else:
        # The same words as the bot's start-up line for this case.
        error = DatabaseReadOnlyError(path, f"no permission to create files in: {parent}")
        report.fail("database", str(error))
    return True


async def check_database(path: Path, report: Report) -> None:
    """Open the file as the bot would (a one-shot command: blocking stat calls are fine)."""
    if _missing_database(path, report):
        return
    try:
        async with SqliteStore.open(path) as store:
            version = await store.pragma("user_version")
            journal = await store.pragma("journal_mode")
            # The whole file, not just what opening it reads: a damaged page of any
            # table is found here rather than when a server's music is first loaded.
            integrity = str(await store.pragma("quick_check"))
            if integrity != "ok":
                first = integrity.splitlines()[0] if integrity else "no answer"
                raise DatabaseCorruptError(path, f"quick_check: {first}")
            tracks = await store.count_tracks()
    except StoreError as error:
        # The same words as the bot's start-up line (bot.store.errors).
        report.fail("database", str(error))
        return
    report.ok(
        "database",
        f"{path}: schema version {version} (this bot: {LATEST_VERSION}), journal {journal}, "
        f"{tracks} cached tracks",
    )
    if journal != "wal":
        report.warn("database", "not in WAL mode (a network filesystem?): slower, still correct")


async def check_discord(token: str, report: Report, layout: ShardLayout | None = None) -> None:
    """A REST login with the token: the same first step as ``python -m bot``.

    Then ``GET /gateway/bot``: the shard count Discord recommends and whether
    today's session starts can pay for this process's shards (``layout``).
    """
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        user = client.user
        report.ok("discord", f"token accepted: bot user {user} (id {user.id if user else '?'})")
        recommended, _url, limit = await client.http.get_bot_gateway()
        _report_gateway(recommended, limit, layout or ShardLayout(), report)
    except discord.LoginFailure:
        report.fail(
            "discord",
            "Discord rejected DISCORD_TOKEN; copy it again (Developer Portal → Bot → Reset Token)",
        )
    except (aiohttp.ClientError, OSError, discord.HTTPException) as error:
        report.fail("discord", f"could not reach Discord: {type(error).__name__}")
    finally:
        await client.close()


def _report_gateway(
    recommended: int, limit: Mapping[str, Any], layout: ShardLayout, report: Report
) -> None:
    count = layout.shard_count or recommended
    starting = len(layout.shard_ids) if layout.shard_ids is not None else count
    report.ok(
        "discord",
        f"Discord recommends {recommended} shard(s); {limit.get('remaining')} of "
        f"{limit.get('total')} session starts left today, max_concurrency "
        f"{limit.get('max_concurrency')}",
    )
    if layout.shard_count is not None and layout.shard_count < recommended:
        report.warn(
            "shards",
            f"SHARD_COUNT {layout.shard_count} is below the {recommended} Discord recommends; "
            "past 2,500 servers a shard Discord refuses to connect it (4011)",
        )
    try:
        check_session_budget(limit, starting)
    except SessionBudgetError as error:
        report.fail("shards", str(error))


async def check_spotify(settings: Settings, report: Report) -> None:
    """Which Spotify world the app lives in, and what that means for the bot."""
    spotify = settings.spotify
    sources = (["ReccoBeats"] if spotify.reccobeats_url else []) + [
        f"{len(spotify.feature_datasets)} dataset file(s)"
    ]
    fallback = " and ".join(sources)
    if not (spotify.has_client_credentials or spotify.has_user_token):
        report.warn(
            "spotify",
            "no credentials: /setplaylist takes CSV exports only (Exportify); "
            "Spotify links will not work. See docs/spotify.md.",
        )
        return
    async with SpotifyClient(spotify) as client:  # learns the app's capabilities afresh
        try:
            assert client.auth is not None
            await client.auth.token()
            await SpotifyAudioFeatures(client).features(list(PROBE_TRACK_IDS[:1]))
            await get_tracks(client, list(PROBE_TRACK_IDS))
        except SpotifyError as error:
            # The error texts are written to be shown and never contain credentials.
            report.warn("spotify", f"credentials not usable: {error}; Spotify links will not work")
            return
        caps = client.capabilities
        who = "a logged-in user's token" if client.has_user_token else "the app's own token"
    report.ok("spotify", f"token obtained ({who}); mode: {caps.mode}")
    if caps.audio_features:
        report.ok("spotify", "audio features come from Spotify; batch track lookups work")
        report.ok("spotify", "any public playlist link can be added")
        return
    report.warn(
        "spotify",
        f"no audio features from Spotify: they come from {fallback}; tracks without "
        "any still count for popularity and ratings",
    )
    if caps.batch_tracks is False:
        report.warn("spotify", "no batch track lookups: one request per track (slower fetches)")
    if client.has_user_token:
        report.ok("spotify", "playlists the logged-in user owns or collaborates on can be added")
    else:
        report.warn(
            "spotify",
            "only playlists of the app owner can be read, and only after "
            "`python -m recommender spotify-login` (SPOTIFY_REFRESH_TOKEN); others: CSV export",
        )


async def run_check(settings: Settings) -> int:
    """Run every check, print the report, return the exit status."""
    report = Report()
    check_settings(settings, report)
    if settings.bot.database_url is not None:
        try:
            report.ok("database", await probe_postgres(settings.bot))
        except StoreError as error:
            report.fail("database", str(error))
    else:
        await check_database(settings.bot.database_path, report)
    await check_discord(
        settings.bot.discord_token.get_secret_value(), report, settings.bot.shard_layout
    )
    await check_spotify(settings, report)
    print("\n".join(report.lines))
    if report.failed:
        print("\nThe bot cannot run with this configuration (fix the [FAIL] lines).")
        return 2
    print("\nThe bot can run. [warn] lines say what will not work.")
    return 0
