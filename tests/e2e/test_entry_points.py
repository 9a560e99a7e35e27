"""Entry points without surprises: ``sync`` registers commands and starts no
background work; only ``run`` purges the data of guilds that left long ago and
prunes old recommendation messages (bot.retention)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from bot.__main__ import _sync
from bot.client import MusicBot
from bot.infra.discord_urls import DEFAULT_GATEWAY_URL, apply_discord_urls, current_discord_urls
from bot.store.models import RecommendationMessage
from bot.store.sqlite import SqliteStore
from tests.e2e.world import running_music_bot, running_world

GUILD_LEFT_LONG_AGO = 424242424242424242
STAYING_GUILD = 515151515151515151
OLD_MESSAGE = 777777777777777777


async def _departed_guild_with_settings(database: Path) -> None:
    """A guild that left 60 days ago (past the 30-day grace) and set alpha 0.3; and
    in a guild that stays, a recommendation posted a year ago (past the 180 days)."""
    async with await SqliteStore.connect(database) as store:
        await store.update_guild_settings(GUILD_LEFT_LONG_AGO, alpha=0.3)
        now = dt.datetime.now(dt.UTC)
        await store.mark_guild_left(GUILD_LEFT_LONG_AGO, at=now - dt.timedelta(days=60))
        await store.save_recommendation(
            RecommendationMessage(
                STAYING_GUILD, 1, OLD_MESSAGE, 2, (), now - dt.timedelta(days=365), ()
            )
        )


async def _old_message_kept(database: Path) -> bool:
    async with await SqliteStore.connect(database) as store:
        return await store.get_recommendation(STAYING_GUILD, OLD_MESSAGE) is not None


async def _alpha(database: Path) -> float:
    async with await SqliteStore.connect(database) as store:
        return (await store.get_guild_settings(GUILD_LEFT_LONG_AGO)).alpha


async def test_sync_never_purges_departed_guilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    purges: list[object] = []
    original = MusicBot.purge_departed_guilds

    async def recording(self: MusicBot, **kwargs: object) -> list[int]:
        purges.append(kwargs)
        return await original(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MusicBot, "purge_departed_guilds", recording)
    async with running_world(tmp_path) as world:
        await _departed_guild_with_settings(world.database)
        settings = world.settings()
        previous_api, previous_gateway = current_discord_urls()
        apply_discord_urls(settings.bot.discord_api_url, settings.bot.discord_gateway_url)
        try:
            assert await _sync(settings, world.guild.id) == 0  # type: ignore[attr-defined]
        finally:
            apply_discord_urls(
                previous_api,
                None if previous_gateway == DEFAULT_GATEWAY_URL else previous_gateway,
            )
        assert world.discord.command_syncs, "sync registered nothing"
        assert purges == [], "sync started the purge job"
        assert await _alpha(world.database) == 0.3
        assert await _old_message_kept(world.database), "sync pruned old messages"


async def test_run_purges_departed_guilds(tmp_path: Path) -> None:
    """The contrast: the running bot's background job does delete that guild's data."""
    async with running_world(tmp_path) as world:
        await _departed_guild_with_settings(world.database)
        async with running_music_bot(world) as bot:
            assert isinstance(bot, MusicBot) and bot.background_jobs
            alpha = 0.3
            for _ in range(500):  # the job runs at start-up; wait for it, not for a time
                alpha = (await bot.store.get_guild_settings(GUILD_LEFT_LONG_AGO)).alpha
                if alpha != 0.3:
                    break
                await asyncio.sleep(0.02)
            assert alpha != 0.3
            for _ in range(500):  # retention too runs at start-up
                if await bot.store.get_recommendation(STAYING_GUILD, OLD_MESSAGE) is None:
                    break
                await asyncio.sleep(0.02)
            assert await bot.store.get_recommendation(STAYING_GUILD, OLD_MESSAGE) is None
