"""Settings of the Spotify client and the feature providers, read from the environment.

A ``.env`` file is read the same way by the bot (``python -m bot``) and the command
line (``python -m recommender``): :func:`load_env_file` puts its values into the
environment, where real environment variables win. Every default is written once,
on the :class:`SpotifySettings` field; ``.env.example`` shows the same values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_RECCOBEATS_URL = "https://api.reccobeats.com/v1"
# Long enough for a 10,000-track playlist through a rolling limit (a few minutes),
# short enough that an admin hears back well within an hour.
DEFAULT_INGEST_DEADLINE = 600.0


class SettingsError(ValueError):
    """A setting has a value the client cannot use; the message names the variable."""


DEFAULT_ENV_FILE = ".env"


def load_env_file(path: str | Path | None = DEFAULT_ENV_FILE, *, required: bool = False) -> bool:
    """Read a ``.env`` file into ``os.environ``; variables already set are kept.

    Returns whether a file was read. A missing file is fine (settings may come from
    the environment alone) unless ``required``: then :class:`SettingsError` names it.
    """
    if path is None:
        return False
    file = Path(path)
    if not file.is_file():
        if required:
            raise SettingsError(f"settings file {file} does not exist")
        return False
    try:
        load_dotenv(file, override=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read settings file {file}: {error}") from None
    return True


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {text!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {text!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {text!r}")
    return value


@dataclass(frozen=True)
class SpotifySettings:
    """Everything the ingestion layer needs to know about its surroundings.

    Secrets (``client_secret``, ``refresh_token``) are excluded from ``repr`` so a
    settings object can be logged. ``max_retry_after`` is the longest server-requested
    wait (``Retry-After``) the client sleeps through before failing fast;
    ``rate_window`` is the length of Spotify's rolling rate-limit window;
    ``ingest_deadline`` the most seconds one playlist import may take, waits for
    rate limits included (``None``: no deadline).
    """

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    reccobeats_url: str | None = DEFAULT_RECCOBEATS_URL
    feature_datasets: tuple[Path, ...] = ()
    market: str | None = None
    max_concurrency: int = 8
    request_timeout: float = 15.0
    max_retry_after: float = 5.0
    max_attempts: int = 4
    backoff_base: float = 0.5
    rate_window: float = 30.0
    ingest_deadline: float | None = DEFAULT_INGEST_DEADLINE

    @property
    def has_client_credentials(self) -> bool:
        """True when both the client id and secret are set."""
        return bool(self.client_id and self.client_secret)

    @property
    def has_user_token(self) -> bool:
        """True when a refresh token (from ``spotify-login``) is set."""
        return bool(self.client_id and self.refresh_token)

    @classmethod
    def from_env(cls, mapping: Mapping[str, str] | None = None) -> SpotifySettings:
        """Read the settings from ``mapping`` (default: ``os.environ``).

        Variables: ``SPOTIFY_CLIENT_ID``, ``SPOTIFY_CLIENT_SECRET``,
        ``SPOTIFY_REFRESH_TOKEN``, ``SPOTIFY_API_URL``, ``SPOTIFY_ACCOUNTS_URL``,
        ``RECCOBEATS_API_URL`` (empty or ``off`` disables ReccoBeats),
        ``FEATURE_DATASETS`` (paths separated by ``os.pathsep`` or commas),
        ``SPOTIFY_MARKET``, ``SPOTIFY_MAX_CONCURRENCY``, ``SPOTIFY_TIMEOUT``,
        ``SPOTIFY_MAX_RETRY_AFTER``, ``SPOTIFY_MAX_ATTEMPTS``, ``SPOTIFY_BACKOFF_BASE``,
        ``SPOTIFY_RATE_WINDOW``, ``INGEST_DEADLINE`` (seconds; ``0`` for none).
        """
        env = os.environ if mapping is None else mapping

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        recco = env.get("RECCOBEATS_API_URL")
        if recco is None:
            reccobeats_url: str | None = DEFAULT_RECCOBEATS_URL
        elif recco.strip().lower() in ("", "off", "none", "0", "false"):
            reccobeats_url = None
        else:
            reccobeats_url = recco.strip().rstrip("/")
        datasets_text = env.get("FEATURE_DATASETS", "")
        parts = [p.strip() for chunk in datasets_text.split(os.pathsep) for p in chunk.split(",")]
        return cls(
            client_id=text("SPOTIFY_CLIENT_ID"),
            client_secret=text("SPOTIFY_CLIENT_SECRET"),
            refresh_token=text("SPOTIFY_REFRESH_TOKEN"),
            api_url=(text("SPOTIFY_API_URL") or DEFAULT_API_URL).rstrip("/"),
            accounts_url=(text("SPOTIFY_ACCOUNTS_URL") or DEFAULT_ACCOUNTS_URL).rstrip("/"),
            reccobeats_url=reccobeats_url,
            feature_datasets=tuple(Path(p).expanduser() for p in parts if p),
            market=text("SPOTIFY_MARKET"),
            max_concurrency=_int(env, "SPOTIFY_MAX_CONCURRENCY", _default("max_concurrency")),
            request_timeout=_float(env, "SPOTIFY_TIMEOUT", _default("request_timeout")),
            max_retry_after=_float(env, "SPOTIFY_MAX_RETRY_AFTER", _default("max_retry_after")),
            max_attempts=_int(env, "SPOTIFY_MAX_ATTEMPTS", _default("max_attempts")),
            backoff_base=_float(env, "SPOTIFY_BACKOFF_BASE", _default("backoff_base")),
            rate_window=_float(env, "SPOTIFY_RATE_WINDOW", _default("rate_window")),
            ingest_deadline=_float(env, "INGEST_DEADLINE", _default("ingest_deadline")) or None,
        )


def _default(name: str) -> Any:
    """A field's default, as declared on :class:`SpotifySettings` (written once)."""
    return next(f.default for f in fields(SpotifySettings) if f.name == name)
