"""Settings of the running bot, from the environment and a ``.env`` file.

"Settings" here always means the process's configuration (environment variables,
``.env``): :class:`Settings` holds the bot's own (:class:`BotSettings`) and the
engine's Spotify and feature-provider settings
(:class:`~recommender.spotify.settings.SpotifySettings`), read from the same
environment, so ``.env.example`` documents both in one place. What a server's admins
choose with ``/settings`` is a different thing with its own name:
:class:`~bot.store.guild_settings.GuildSettings` (served by
:class:`~bot.guild_settings.GuildSettingsService`).

Only ``DISCORD_TOKEN`` is required. Invalid settings raise
:class:`~recommender.spotify.settings.SettingsError` (one for every entry point).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.infra.sharding import MAX_SHARD_COUNT, ShardLayout, ShardSettingError
from recommender.spotify.settings import SettingsError, SpotifySettings, load_env_file


class BotSettings(BaseSettings):
    """The bot's own settings (see ``.env.example`` for each one)."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    discord_token: SecretStr = Field(min_length=1)
    database_path: Path = Path("data/bot.sqlite3")
    # Set: PostgreSQL (bot.store.postgres) instead of the SQLite file above. A
    # SecretStr, since the URL usually carries the password.
    database_url: SecretStr | None = None
    database_pool_size: int = Field(default=10, ge=1, le=100)
    database_statement_timeout: float = Field(default=30.0, ge=0, le=3600)
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    log_level: str = "INFO"
    max_sources_per_guild: int = Field(default=10, ge=1, le=100)
    # Tracks one server's playlists may hold together: ten full Spotify playlists
    # (10,000 tracks each, Spotify's own limit) at the default of ten sources. One such
    # catalogue takes ~120 MB and a rebuild some seconds (docs/benchmarks.md), so no
    # server takes more than about an eighth of the default catalogue memory below.
    max_tracks_per_guild: int = Field(default=100_000, ge=1, le=10_000_000)
    # Memory the servers' catalogues may take together (estimated, MB); past it the
    # least recently used are evicted and rebuilt from the store when next asked for.
    # 0 = no limit.
    catalogue_memory_mb: float = Field(default=1024.0, ge=0, le=1_048_576)
    guild_data_grace_days: int = Field(default=30, ge=0, le=3650)
    # Retention (bot.retention; 0 = keep forever). Ratings are always kept.
    recommendation_retention_days: int = Field(default=180, ge=0, le=3650)
    track_cache_retention_days: int = Field(default=90, ge=0, le=3650)
    # Reactions made while the bot was down, read back from Discord at start-up
    # (bot.reconcile): recommendation messages younger than this many days, at most
    # this many, newest first. 0 (either) = off.
    reconcile_reactions_days: float = Field(default=3.0, ge=0, le=365)
    reconcile_reactions_messages: int = Field(default=500, ge=0, le=100_000)
    # Sharding (bot.sharding). Unset: as many shards as Discord recommends, all in
    # this process. In a cluster every process has the same count and its own ids.
    shard_count: int | None = Field(default=None, ge=1, le=MAX_SHARD_COUNT)
    shard_ids: str | None = None

    @field_validator("shard_count", "shard_ids", mode="before")
    @classmethod
    def _unset_shard_setting(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids")
    @classmethod
    def _runnable_shard_ids(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "shard_count" not in info.data:
            return value  # a bad SHARD_COUNT is reported on its own
        try:
            # shard_count is declared first, so it is validated by now.
            ShardLayout.parse(info.data.get("shard_count"), value)
        except ShardSettingError as error:
            raise ValueError(str(error)) from None
        return value.strip()

    @property
    def shard_layout(self) -> ShardLayout:
        """The shards this process runs (validated above, so this cannot fail)."""
        return ShardLayout.parse(self.shard_count, self.shard_ids)

    @field_validator("discord_api_url", "discord_gateway_url", "database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        # The message must not echo the value: it holds the password.
        if value is None:
            return None
        text = value.get_secret_value()
        if not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql://user:password@host:port/database URL")
        try:
            _ = urlsplit(text).port  # a malformed host or port raises here
        except ValueError:
            raise ValueError("is not a valid URL (percent-encode @ : / in the password)") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


@dataclass(frozen=True)
class Settings:
    """Everything the service needs: the bot's settings and the engine's."""

    bot: BotSettings
    spotify: SpotifySettings


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read ``env_file`` (if it exists; real environment variables win) and validate.

    Raises :class:`SettingsError` with a one-line, secret-free message.
    """
    load_env_file(env_file)  # the same reading as `python -m recommender`
    try:
        bot = BotSettings()  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    return Settings(bot=bot, spotify=SpotifySettings.from_env(os.environ))


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        if item["type"] == "missing":
            problems.append(f"{name} is not set (put it in .env or the environment)")
        else:
            # item["msg"] never contains the input value, so no secret can leak.
            problems.append(f"{name}: {item['msg']}")
    return "; ".join(problems)
