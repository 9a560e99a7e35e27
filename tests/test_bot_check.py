"""``python -m bot check`` as a subprocess against the fake Discord and the fake Spotify."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.store import SqliteStore
from tests.fakes.discord import running_fake_discord
from tests.fakes.spotify import FakeSpotifyConfig, running_fake_spotify

SECRET_TOKEN = "fake-token"


async def _check(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DISCORD_"))}
    full_env.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", cwd=tmp_path, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("full", "full API"), ("development", "development mode")],
)
async def test_check_reports_the_spotify_world_and_hides_secrets(
    tmp_path: Path, mode: str, expected: str
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(database):
        pass  # an existing, migrated file
    async with (
        running_fake_discord(guilds=["Rock Club"]) as discord_fake,
        running_fake_spotify(FakeSpotifyConfig(mode=mode)) as spotify_fake,  # type: ignore[arg-type]
    ):
        env = {
            "DISCORD_TOKEN": SECRET_TOKEN,
            "DISCORD_API_URL": discord_fake.api_url,
            "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
            "DATABASE_PATH": str(database),
            **spotify_fake.env(),
        }
        code, out, err = await _check(tmp_path, env)
        secret = spotify_fake.config.client_secret
    assert code == 0, out + err
    assert "[ok]   database" in out and "schema version" in out and "journal wal" in out
    assert "[ok]   discord: token accepted" in out
    assert expected in out
    if mode == "full":
        assert "audio features come from Spotify" in out
    else:
        assert "no audio features from Spotify" in out
        assert "spotify-login" in out
    assert "Traceback" not in out + err
    for hidden in (SECRET_TOKEN, secret):
        assert hidden not in out and hidden not in err


async def test_check_fails_with_exit_2_for_a_rejected_discord_token(tmp_path: Path) -> None:
    async with running_fake_discord(guilds=["Rock Club"]) as discord_fake:
        discord_fake.valid_tokens = {"another-token"}
        env = {
            "DISCORD_TOKEN": SECRET_TOKEN,
            "DISCORD_API_URL": discord_fake.api_url,
            "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
            "DATABASE_PATH": str(tmp_path / "new" / "bot.sqlite3"),
        }
        code, out, err = await _check(tmp_path, env)
    assert code == 2
    assert "[FAIL] discord: Discord rejected DISCORD_TOKEN" in out
    assert "does not exist yet" in out  # a new database is fine
    assert "[warn] spotify: no credentials" in out
    assert not (tmp_path / "new").exists()  # the check creates nothing
    assert SECRET_TOKEN not in out + err


async def test_check_without_a_token_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = await _check(tmp_path, {})
    assert code == 2
    assert "DISCORD_TOKEN is not set" in err
    assert "Traceback" not in out + err
