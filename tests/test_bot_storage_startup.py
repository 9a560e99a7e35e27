"""Start-up with a database the bot cannot use: one line, exit 2, the file untouched.

``python -m bot run``, ``sync`` and ``check`` run as subprocesses against the fake
Discord (so nothing can reach discord.com if a start wrongly succeeds), each on a
corrupt, truncated, read-only, too-new or locked file made as an operator would
meet it (see tests/storage_faults.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.store import LATEST_VERSION, SqliteStore
from tests.fakes.discord import FakeDiscord, running_fake_discord
from tests.storage_faults import (
    BotOutcome,
    Fingerprint,
    child_can_write,
    make_read_only,
    make_writable,
    run_bot_command,
    set_user_version,
    sidecar_files,
    truncate_header,
    write_random_bytes,
)


async def _healthy_database(path: Path) -> None:
    async with SqliteStore.open(path):
        pass  # a migrated file in WAL mode, as the bot leaves it


def _corrupt(path: Path) -> None:
    write_random_bytes(path)


def _truncated(path: Path) -> None:
    truncate_header(path)


def _too_new(path: Path) -> None:
    set_user_version(path, LATEST_VERSION + 5)


@contextlib.asynccontextmanager
async def _world(tmp_path: Path) -> AsyncIterator[tuple[Path, FakeDiscord]]:
    database = tmp_path / "data" / "bot.sqlite3"
    await _healthy_database(database)
    async with running_fake_discord(guilds=["Rock Club"]) as discord_fake:
        yield database, discord_fake


def _assert_refused(outcome: BotOutcome, command: str, database: Path, words: str) -> None:
    if command == "check":
        assert outcome.code == 2, outcome.stdout + outcome.stderr
        failed = [line for line in outcome.stdout.splitlines() if line.startswith("[FAIL]")]
        assert len(failed) == 1, outcome.stdout
        assert str(database) in failed[0] and words in failed[0]
    else:
        assert outcome.code == 2, outcome.stderr
        lines = outcome.error_lines()
        assert len(lines) == 1, outcome.stderr
        assert lines[0].startswith("error: database ")
        assert str(database) in lines[0] and words in lines[0]
    assert "Traceback" not in outcome.stdout + outcome.stderr


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "random bytes": (_corrupt, "is corrupt"),
    "truncated header": (_truncated, "is corrupt"),
    "newer schema": (_too_new, f"schema version {LATEST_VERSION + 5}"),
}


@pytest.mark.parametrize("command", ["run", "sync", "check"])
@pytest.mark.parametrize("fault", list(BROKEN))
async def test_a_broken_file_is_named_in_one_line_and_left_untouched(
    tmp_path: Path, fault: str, command: str
) -> None:
    break_it, words = BROKEN[fault]
    async with _world(tmp_path) as (database, discord_fake):
        break_it(database)
        before = Fingerprint.of(database)
        outcome = await run_bot_command(command, database, discord_fake, tmp_path)
        if command != "check":
            # Refused before logging in: Discord never heard from this start.
            assert discord_fake.find_requests() == []
    _assert_refused(outcome, command, database, words)
    assert Fingerprint.of(database) == before
    assert sidecar_files(database) == []


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize("what", ["file", "directory"])
async def test_a_read_only_database_is_named_and_left_untouched(
    tmp_path: Path, what: str, command: str
) -> None:
    async with _world(tmp_path) as (database, discord_fake):
        target = database if what == "file" else database.parent
        make_read_only(target)
        try:
            # The precondition is real: a child like the bot cannot open it to write.
            assert not child_can_write(database if what == "file" else target / "new-file")
            before = Fingerprint.of(database)
            outcome = await run_bot_command(command, database, discord_fake, tmp_path)
        finally:
            make_writable(target)
    _assert_refused(outcome, command, database, "is read-only")
    assert Fingerprint.of(database) == before
    assert sidecar_files(database) == []


@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_database_locked_by_another_process_is_named_and_left_untouched(
    tmp_path: Path, command: str
) -> None:
    async with _world(tmp_path) as (database, discord_fake):
        # Another program (a sqlite3 shell, a second bot) holds the write lock.
        holder = sqlite3.connect(database, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            before = Fingerprint.of(database)
            outcome = await run_bot_command(command, database, discord_fake, tmp_path)
            after = Fingerprint.of(database)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    _assert_refused(outcome, command, database, "is locked by another process")
    assert after == before


async def test_a_healthy_database_still_starts(tmp_path: Path) -> None:
    """The probes above do not refuse a good file: ``check`` passes on it."""
    async with _world(tmp_path) as (database, discord_fake):
        outcome = await run_bot_command("check", database, discord_fake, tmp_path)
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    assert "[ok]   database" in outcome.stdout


@pytest.mark.parametrize("command", ["run", "check"])
async def test_a_new_database_in_a_read_only_directory_is_named(
    tmp_path: Path, command: str
) -> None:
    directory = tmp_path / "data"
    directory.mkdir()
    database = directory / "bot.sqlite3"
    async with running_fake_discord(guilds=["Rock Club"]) as discord_fake:
        make_read_only(directory)
        try:
            assert not child_can_write(directory / "probe")
            outcome = await run_bot_command(command, database, discord_fake, tmp_path)
        finally:
            make_writable(directory)
    _assert_refused(outcome, command, database, "is read-only")
    assert list(directory.iterdir()) == []
