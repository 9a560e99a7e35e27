"""``python -m recommender`` reads a ``.env`` like the bot: run as a subprocess in a
temporary working directory, against the fake Spotify, with no SPOTIFY_* variable in
its environment."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.settings import load_settings
from recommender.loaders import load_catalogue
from recommender.spotify.settings import SpotifySettings
from tests.fakes import FakeSpotify

ROOT = Path(__file__).resolve().parents[1]
SETTING_PREFIXES = ("SPOTIFY_", "RECCOBEATS_", "FEATURE_DATASETS", "INGEST_DEADLINE")


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any setting the CLI reads (plus ``extra``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


async def start(cwd: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "recommender", *args,
        cwd=cwd, env=clean_environment(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    process = await start(cwd, *args, **env)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    assert "Traceback" not in err.decode(), err.decode()
    return process.returncode, out.decode(), err.decode()


async def test_fetch_reads_spotify_settings_from_dot_env_in_the_working_directory(
    full: FakeSpotify, tmp_path: Path
) -> None:
    playlist = full.add_playlist(7)
    write_env(tmp_path / ".env", full.env())
    code, out, err = await run(tmp_path, "fetch", playlist, "-o", "out.csv", "--no-progress")
    assert (code, err) == (0, ""), err
    assert "wrote 7 tracks to out.csv" in out
    assert len(load_catalogue(tmp_path / "out.csv")) == 7


async def test_the_environment_wins_over_dot_env_and_env_file_names_another_file(
    full: FakeSpotify, tmp_path: Path
) -> None:
    playlist = full.add_playlist(3)
    # A wrong secret in .env, the right one in the environment: the environment wins.
    write_env(tmp_path / ".env", {**full.env(), "SPOTIFY_CLIENT_SECRET": "wrong"})
    other = write_env(tmp_path / "other.env", full.env())
    secret = full.config.client_secret
    runs = await asyncio.gather(
        run(tmp_path, "fetch", playlist, "-o", "a.csv", SPOTIFY_CLIENT_SECRET=secret),
        run(tmp_path, "fetch", playlist, "-o", "b.csv"),  # .env alone: refused
        run(tmp_path, "fetch", playlist, "-o", "c.csv", "--env-file", str(other)),
        run(tmp_path, "--env-file", str(other), "fetch", playlist, "-o", "d.csv"),
        run(tmp_path, "fetch", playlist, "-o", "e.csv", "--env-file", "absent.env"),
    )
    (a, _, a_err), (b, _, b_err), (c, _, c_err), (d, _, d_err), (e, _, e_err) = runs
    assert (a, a_err) == (0, "")
    assert b == 2 and len(b_err.strip().splitlines()) == 1  # Spotify refused the secret
    assert "wrong" not in b_err
    assert (c, c_err) == (0, "") and (d, d_err) == (0, "")
    assert e == 2 and e_err.strip() == "error: --env-file: settings file absent.env does not exist"
    written = sorted(name for name in os.listdir(tmp_path) if name.endswith(".csv"))
    assert written == ["a.csv", "c.csv", "d.csv"]


async def test_spotify_login_reads_the_client_id_from_dot_env(
    dev: FakeSpotify, tmp_path: Path
) -> None:
    write_env(
        tmp_path / ".env",
        {"SPOTIFY_CLIENT_ID": dev.config.client_id, "SPOTIFY_ACCOUNTS_URL": dev.accounts_url},
    )
    process = await start(
        tmp_path, "spotify-login", "--no-browser", "--port", "0", "--timeout", "60"
    )
    assert process.stderr is not None
    url = None
    while url is None:  # the approval page is printed to stderr, then it waits
        line = (await asyncio.wait_for(process.stderr.readline(), timeout=60)).decode()
        assert line, "spotify-login ended before printing the approval URL"
        found = re.search(r"(https?://\S+/authorize\S+)", line)
        url = found.group(1) if found else None
    assert url.startswith(dev.accounts_url)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200  # the fake approves and redirects to the CLI
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert re.fullmatch(r"SPOTIFY_REFRESH_TOKEN=\S+\n", out.decode())


def test_the_example_settings_are_the_defaults_written_once() -> None:
    """Every Spotify value .env.example shows is what the code uses when it is unset."""
    shown = dict(
        re.findall(
            r"^((?:SPOTIFY|RECCOBEATS|INGEST)_[A-Z_]+)=(.+)$",
            (ROOT / ".env.example").read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    )
    assert "SPOTIFY_MAX_CONCURRENCY" in shown and "INGEST_DEADLINE" in shown
    assert SpotifySettings.from_env(shown) == SpotifySettings.from_env({})
    assert SpotifySettings.from_env({}) == SpotifySettings()


def test_the_bot_reads_its_dot_env_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith((*SETTING_PREFIXES, "DISCORD_TOKEN")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SPOTIFY_MARKET", "SE")  # set in the environment: it wins
    env = write_env(
        tmp_path / ".env",
        {"DISCORD_TOKEN": "t", "SPOTIFY_CLIENT_ID": "from-file", "SPOTIFY_MARKET": "US"},
    )
    try:
        settings = load_settings(env)
        assert settings.spotify.client_id == "from-file"
        assert settings.spotify.market == "SE"
    finally:  # load_env_file wrote into os.environ: leave it as it was
        for name in ("DISCORD_TOKEN", "SPOTIFY_CLIENT_ID"):
            os.environ.pop(name, None)
