"""``python -m bot run`` stops cleanly on Ctrl-C and on what service managers send.

systemd, Docker and Kubernetes stop a service with SIGTERM; a shell starts anything
run in the background with SIGINT ignored. Either way the bot closes as on Ctrl-C:
one log line, queued work stored, the database closed, exit code 0, no traceback.
The bot runs as a subprocess against the fake Discord, on a SQLite file.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.store import SqliteStore
from tests.fakes.discord import running_fake_discord
from tests.storage_faults import bot_environment

READY = "ready: 1 servers"


def _ignore_sigint() -> None:
    # As a non-interactive shell does for `command &`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("stop", "inherited"),
    [
        (signal.SIGTERM, "default"),
        (signal.SIGINT, "default"),
        (signal.SIGINT, "ignored"),
    ],
)
async def test_run_stops_cleanly(tmp_path: Path, stop: signal.Signals, inherited: str) -> None:
    database = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(database):
        pass
    async with running_fake_discord(guilds=["Rock Club"]) as discord_fake:
        env = bot_environment(database, discord_fake) | {"LOG_LEVEL": "INFO"}
        log_path = tmp_path / "bot.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                preexec_fn=_ignore_sigint if inherited == "ignored" else None,
            )  # fmt: skip
        try:
            for _ in range(600):
                if READY in log_path.read_text() or process.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            assert READY in log_path.read_text(), log_path.read_text()
            process.send_signal(stop)
            code = await asyncio.wait_for(process.wait(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = log_path.read_text()
    assert code == 0, log
    assert f"stopping on {stop.name}" in log
    assert "Traceback" not in log
    # Closed properly: SQLite's write-ahead log was checkpointed and removed.
    assert not (tmp_path / "bot.sqlite3-wal").exists()
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
