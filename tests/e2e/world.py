"""A complete test world: fake Discord + fake Spotify + fake ReccoBeats + the real MusicBot
on a real SQLite file (or PostgreSQL).

The default world is the one an operator who registers a Spotify app today lives in:
Spotify's development mode (no audio features, no popularity, no batch endpoints;
playlists read with the owner's user token) with ReccoBeats filling in features and
popularity. ``running_world(..., mode="full")`` is the variant for an app with the full
API. The fake ReccoBeats knows every track of the fake Spotify as it is when asked, so
tracks a test adds after the bot started get features too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord

from bot.client import MusicBot
from bot.render import rating_scheme
from bot.settings import BotSettings, Settings
from bot.store.models import Rating, RecommendationMessage
from recommender.spotify.settings import SpotifySettings
from tests.e2e import backend as e2e_backend
from tests.fakes.discord import (
    MANAGE_GUILD,
    FakeDiscord,
    FakeMessage,
    InteractionHandle,
    running_bot,
    running_fake_discord,
)
from tests.fakes.discord.errors import (
    ALREADY_ACKNOWLEDGED,
    EMPTY_MESSAGE,
    INVALID_FORM_BODY,
    INVALID_WEBHOOK_TOKEN,
    MAX_REACTIONS,
    REQUEST_TOO_LARGE,
    UNKNOWN_INTERACTION,
)
from tests.fakes.fixtures import running_spotify_world
from tests.fakes.reccobeats import FakeReccoBeats
from tests.fakes.spotify import FakeSpotify, Mode

SONG_NAMES = [
    "Midnight Drive", "Golden Hour", "Paper Planes", "Neon Lights", "Slow Burn",
    "Ocean Eyes", "City of Stars", "Fever Dream", "Wildfire", "Afterglow",
    "Lost in Tokyo", "Velvet Sky", "Halo", "Sunday Morning", "Electric Love",
    "Blue Monday", "Heartbeat", "Satellite", "Northern Lights", "Daydream",
]  # fmt: skip


@dataclass
class World:
    """Everything a bot end-to-end test needs."""

    discord: FakeDiscord
    spotify: FakeSpotify
    reccobeats: FakeReccoBeats
    database: Path
    playlist_id: str
    guild: object
    other_guild: object
    admin: object
    member: object
    other_member: object
    #: PostgreSQL instead of ``database`` (tests/e2e/conftest.py runs each test on both).
    database_url: str | None = None
    #: The fake Spotify's behaviour: an app in development mode (default) or with the full API.
    mode: Mode = "development"
    #: Operator settings for the bot, e.g. ``{"catalogue_memory_mb": 0.05}`` (set before
    #: the bot starts).
    bot_settings: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        """Settings pointing the real bot at the fakes and the test database."""
        bot = BotSettings(
            discord_token="fake-token",
            database_path=self.database,
            database_url=self.database_url,
            discord_api_url=self.discord.api_url,
            discord_gateway_url=self.discord.gateway_url,
            **self.bot_settings,
        )
        # In development mode only the playlist owner's token reads its items: the
        # operator has run `spotify-login` as the owner of the playlists added here.
        env = self.spotify.env(user="owner" if self.mode == "development" else None)
        env["RECCOBEATS_API_URL"] = self.reccobeats.url
        return Settings(bot=bot, spotify=SpotifySettings.from_env(env))


#: Refusals that mean the bot broke one of Discord's rules (a payload over a limit, a
#: late or second acknowledgement, an expired token). Real Discord would have left a
#: member without an answer, so a test that passes must not have caused any.
BOT_MISTAKES = (
    INVALID_FORM_BODY,
    EMPTY_MESSAGE,
    REQUEST_TOO_LARGE,
    MAX_REACTIONS,
    UNKNOWN_INTERACTION,
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
)


@contextlib.asynccontextmanager
async def running_world(
    tmp_path: Path,
    tracks: int = 40,
    *,
    expect_refusals: bool = False,
    mode: Mode = "development",
) -> AsyncIterator[World]:
    """Fakes with two guilds (an admin and a member each side) and one Spotify playlist.

    ``mode``: the fake Spotify's behaviour, development mode with ReccoBeats by default
    (``"full"``: an app with the full API, ReccoBeats still configured).

    The fake Discord is as strict as Discord (payload limits, rate limits, the 3 s
    acknowledgement, the 15-minute token). When the block ends without an error, no
    request of the bot may have been refused for one of :data:`BOT_MISTAKES`; a test
    that provokes such a refusal on purpose passes ``expect_refusals=True``.
    """
    async with (
        running_fake_discord(guilds=["Rock Club", "Jazz Club"]) as discord_fake,
        running_spotify_world(mode) as (spotify_fake, recco_fake),
    ):
        guild, other = list(discord_fake.guilds.values())[:2]
        names = SONG_NAMES + [f"Track {i}" for i in range(tracks - len(SONG_NAMES))]
        ids = [spotify_fake.add_track(name=name) for name in names[:tracks]]
        playlist_id = spotify_fake.add_playlist(ids, name="Club Classics")
        yield World(
            discord=discord_fake,
            spotify=spotify_fake,
            reccobeats=recco_fake,
            database=tmp_path / "bot.sqlite3",
            playlist_id=playlist_id,
            guild=guild,
            other_guild=other,
            admin=discord_fake.add_member(guild, "alice", permissions=MANAGE_GUILD),
            member=discord_fake.add_member(guild, "bob"),
            other_member=discord_fake.add_member(other, "carol", permissions=MANAGE_GUILD),
            database_url=e2e_backend.database_url(),
            mode=mode,
        )
        if not expect_refusals:
            mistakes = [(r.route, r.status, r.error) for r in discord_fake.refusals(*BOT_MISTAKES)]
            assert not mistakes, f"Discord would have refused the bot: {mistakes}"


@contextlib.asynccontextmanager
async def running_music_bot(world: World) -> AsyncIterator[MusicBot]:
    """The real bot, started against the world's fakes, commands synced to both guilds."""
    async with running_bot(MusicBot(world.settings()), world.discord) as bot:
        for guild in (world.guild, world.other_guild):
            target = discord.Object(id=guild.id)  # type: ignore[attr-defined]
            bot.tree.copy_global_to(guild=target)
            await bot.tree.sync(guild=target)
        yield bot


async def add_playlist(world: World, bot: MusicBot) -> None:
    """The admin adds the world's Spotify playlist; returns once the summary is shown."""
    handle = await world.discord.invoke(
        world.guild, world.admin, "setplaylist", options={"playlist": world.playlist_id}
    )
    final = await handle.wait_final(lambda m: "Added" in (m.content or ""))
    assert "Club Classics" in final.content


async def recommend_answer(handle: InteractionHandle, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
    """/recommend's answer as the member sees it: the public suggestions, or the reply
    only they see (the bot defers publicly first, so a failure replaces the placeholder)."""
    return await handle.wait_final(
        lambda m: not m.deleted and (bool(m.embeds) or m.ephemeral), timeout=timeout
    )


async def stored_recommendation(
    bot: MusicBot, guild_id: int, message_id: int, within: float = 10.0
) -> RecommendationMessage:
    """The stored answer, once the bot has stored it (it posts first, then stores)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        stored = await bot.store.get_recommendation(guild_id, message_id)
        if stored is not None:
            return stored
        assert asyncio.get_running_loop().time() < deadline, f"message {message_id} never stored"
        await asyncio.sleep(0.02)


async def wait_rating(
    bot: MusicBot,
    guild_id: int,
    user_id: int,
    track_id: str,
    value: int | None = 1,
    within: float = 5.0,
) -> Rating | None:
    """Poll the store until the rating has ``value`` (None: absent)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        rating = await bot.store.get_rating(guild_id, user_id, track_id)
        current = rating.value if rating else None
        if current == value or asyncio.get_running_loop().time() > deadline:
            return rating
        await asyncio.sleep(0.02)


async def recommend_and_rate(
    world: World, bot: MusicBot, member: object, song: str, count: int
) -> RecommendationMessage:
    """``member`` asks for ``song``, likes the first suggestion and dislikes the second."""
    handle = await world.discord.invoke(
        world.guild, member, "recommend", options={"song": song, "count": count}
    )
    message = await handle.wait_final()
    stored = await stored_recommendation(bot, world.guild.id, message.id)  # type: ignore[attr-defined]
    await world.discord.react(member, message, rating_scheme.LIKE_EMOJIS[0])
    await world.discord.react(member, message, rating_scheme.DISLIKE_EMOJIS[1])
    user_id = member.id  # type: ignore[attr-defined]
    await wait_rating(bot, world.guild.id, user_id, stored.items[0].track_id)  # type: ignore[attr-defined]
    await wait_rating(bot, world.guild.id, user_id, stored.items[1].track_id, -1)  # type: ignore[attr-defined]
    return stored
