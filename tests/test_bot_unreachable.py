"""A Discord that cannot be reached ends ``python -m bot`` (``make bot``) with one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [[], ["sync"]])
def test_unreachable_discord_is_one_error_line_not_a_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    port = closed_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "DATABASE_", "SPOTIFY_", "SHARD_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN="not.a.real-token",
        DATABASE_PATH=str(tmp_path / "bot.sqlite3"),
        DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10",
        DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [done.stderr.strip().splitlines()[-1]]  # one line, and the last
    (line,) = errors
    assert f"cannot reach Discord (http://127.0.0.1:{port}/api/v10)" in line
    assert "not.a.real-token" not in done.stderr
    assert done.stdout == ""
