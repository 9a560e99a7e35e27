"""Choosing the backend from the settings: SQLite by default, PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from bot.store import SqliteStore
from bot.store.open import describe_store, open_store
from bot.store.postgres import LATEST_VERSION as POSTGRES_VERSION
from bot.store.postgres import PostgresStore
from bot.store.postgres.errors import DatabaseServerUnavailableError
from tests.fakes.discord import running_fake_discord


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment with a token and a SQLite path in ``tmp_path``."""
    for name in ("DATABASE_URL", "DATABASE_POOL_SIZE", "DATABASE_STATEMENT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    return monkeypatch


async def test_without_a_database_url_the_store_is_the_sqlite_file(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = load_settings(None).bot
    assert settings.database_url is None
    assert describe_store(settings) == f"SQLite file {tmp_path / 'bot.sqlite3'}"
    async with open_store(settings) as store:
        assert isinstance(store, SqliteStore)
        await store.set_rating(1, 2, "t", 1)
    assert (tmp_path / "bot.sqlite3").is_file()


async def test_a_database_url_opens_postgresql_with_the_pool_and_timeout_settings(
    env: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path
) -> None:
    env.setenv("DATABASE_URL", postgres_url)
    env.setenv("DATABASE_POOL_SIZE", "3")
    env.setenv("DATABASE_STATEMENT_TIMEOUT", "2.5")
    settings = load_settings(None).bot
    async with open_store(settings) as store:
        assert isinstance(store, PostgresStore)
        assert store.pool_size == 3
        assert await store._read(lambda c: c.fetchval("SHOW statement_timeout")) == "2500ms"
        await store.set_rating(1, 2, "t", 1)
    assert not (tmp_path / "bot.sqlite3").exists()  # the SQLite file was not used


def test_the_password_in_a_database_url_never_shows(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://bot:hunter2@db.example:5432/bot")
    settings = load_settings(None).bot
    assert describe_store(settings) == "PostgreSQL at postgresql://bot:***@db.example:5432/bot"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)


def test_bad_database_settings_name_the_setting_without_echoing_it(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("DATABASE_URL", "mysql://bot:hunter2@db/bot")
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert "DATABASE_URL" in str(caught.value) and "postgresql://" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    env.setenv("DATABASE_URL", "postgresql://bot:hunter2@db:port/bot")
    with pytest.raises(SettingsError, match="DATABASE_URL") as caught:
        load_settings(None)
    assert "hunter2" not in str(caught.value)
    env.setenv("DATABASE_URL", "")  # empty: SQLite
    for name, value in (("DATABASE_POOL_SIZE", "0"), ("DATABASE_STATEMENT_TIMEOUT", "-1")):
        env.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            load_settings(None)
        env.delenv(name)
    assert load_settings(None).bot.database_url is None


async def test_an_unreachable_database_url_is_a_storage_error(env: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env.setenv("DATABASE_URL", f"postgresql://bot:hunter2@127.0.0.1:{port}/bot")
    with pytest.raises(DatabaseServerUnavailableError) as caught:
        async with open_store(load_settings(None).bot):
            pass
    assert "hunter2" not in str(caught.value)


async def test_check_reports_the_postgresql_database_without_its_password(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:sekret-pw@")
    async with running_fake_discord(guilds=["Rock Club"]) as discord_fake:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SPOTIFY_", "DISCORD_", "DATABASE_"))
        }
        env.update(
            DISCORD_TOKEN="fake-token",
            DISCORD_API_URL=discord_fake.api_url,
            DISCORD_GATEWAY_URL=discord_fake.gateway_url,
            DATABASE_URL=url,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    out, err = stdout.decode(), stderr.decode()
    assert process.returncode == 0, out + err
    database = next(line for line in out.splitlines() if line.startswith("[ok]   database"))
    assert "PostgreSQL at postgresql://postgres:***@127.0.0.1" in database
    assert f"schema version {POSTGRES_VERSION}" in database and "pool of at most 10" in database
    assert "sekret-pw" not in out + err and "Traceback" not in out + err
    assert not (tmp_path / "data").exists()  # no SQLite file was made on the side
