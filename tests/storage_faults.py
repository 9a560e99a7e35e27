"""Real storage faults for tests: corrupt, truncated, read-only, too-new and locked files.

Each fault is made the way it happens to an operator (bytes overwritten, permissions
removed, another process holding the lock), never by mocking SQLite.

Read-only and root: tests often run as root, and root ignores file modes
(``CAP_DAC_OVERRIDE``). :func:`without_root_override` is a ``preexec_fn`` that drops
that capability (and ``CAP_DAC_READ_SEARCH``) from the child's bounding set before
it executes, so a ``chmod 444`` file really cannot be opened for writing by the bot
under test even as root. For a non-root user it changes nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.discord import FakeDiscord

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def without_root_override() -> None:
    """``preexec_fn``: the child process obeys file modes even when it runs as root."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def child_can_write(path: Path) -> bool:
    """Whether a child started with :func:`without_root_override` may open ``path`` to
    write (creating it when it does not exist: the test for a directory)."""
    probe = (
        "import os, sys\n"
        "try:\n"
        "    os.close(os.open(sys.argv[1], os.O_RDWR | os.O_CREAT))\n"
        "except OSError:\n"
        "    sys.exit(1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)],
        preexec_fn=without_root_override,
        check=False,
    )
    return done.returncode == 0


def make_read_only(path: Path) -> None:
    """Remove every write bit of ``path`` (a file or a directory)."""
    mode = path.stat().st_mode
    path.chmod(stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(path: Path) -> None:
    """Give the owner write access back (so pytest can clean up)."""
    path.chmod(stat.S_IMODE(path.stat().st_mode) | stat.S_IWUSR)


def write_random_bytes(path: Path, size: int = 8192) -> None:
    """A file that is not a SQLite database at all."""
    path.write_bytes(os.urandom(size))


def truncate_header(path: Path, keep: int = 50) -> None:
    """Cut a real database inside its 100-byte header (a torn copy)."""
    data = path.read_bytes()
    path.write_bytes(data[:keep])


def set_user_version(path: Path, version: int) -> None:
    """Stamp the file with a schema version (e.g. one newer than the code)."""
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {int(version):d}")
    conn.close()


def corrupt_table_root_page(path: Path, table: str) -> int:
    """Overwrite the root page of ``table`` with garbage; return its page number.

    The file must be checkpointed (no ``-wal`` with frames), so the page read is the
    one in the main file. The header and the schema stay intact: the file opens,
    and only reading that table fails with SQLITE_CORRUPT.
    """
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        row = conn.execute(
            "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    conn.close()
    if row is None:
        raise LookupError(f"no table {table!r} in {path}")
    page = int(row[0])
    with path.open("r+b") as file:
        file.seek((page - 1) * page_size)
        # 0xFF is no valid b-tree page type: the first read of the page fails.
        file.write(b"\xff" * page_size)
    return page


@dataclass(frozen=True)
class Fingerprint:
    """What "the file is untouched" means: same bytes, same modification time."""

    data: bytes
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        """The file's current bytes and mtime."""
        return cls(path.read_bytes(), path.stat().st_mtime_ns)


def sidecar_files(path: Path) -> list[str]:
    """``-wal``/``-shm``/``-journal`` files next to the database."""
    return sorted(p.name for p in path.parent.glob(f"{path.name}-*"))


@dataclass(frozen=True)
class BotOutcome:
    """What a ``python -m bot`` subprocess said and returned."""

    code: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def bot_environment(database: Path, discord_fake: FakeDiscord) -> dict[str, str]:
    """This process's environment without Spotify or Discord settings, pointed at the
    fake Discord and ``database`` (what ``python -m bot`` subprocesses of tests get)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DISCORD_"))}
    env.update(
        DISCORD_TOKEN="fake-token",
        DISCORD_API_URL=discord_fake.api_url,
        DISCORD_GATEWAY_URL=discord_fake.gateway_url,
        DATABASE_PATH=str(database),
    )
    return env


async def run_bot_command(
    command: str, database: Path, discord_fake: FakeDiscord, cwd: Path
) -> BotOutcome:
    """``python -m bot <command>`` on ``database``, pointed at the fake Discord.

    Runs with :func:`without_root_override`; fails the test if it does not end
    within a minute (a start that wrongly succeeded keeps running).
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, cwd=cwd, env=bot_environment(database, discord_fake),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=without_root_override,  # file modes hold even when tests run as root
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"`python -m bot {command}` kept running on a bad file") from None
    assert process.returncode is not None
    return BotOutcome(process.returncode, stdout.decode(), stderr.decode())
