"""Shard settings, the IDENTIFY pacer and ``check``'s shard lines (bot/infra/sharding.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.infra.sharding import (
    IDENTIFY_MARGIN,
    IDENTIFY_WINDOW,
    IdentifyPacer,
    SessionBudgetError,
    ShardLayout,
    ShardSettingError,
    check_session_budget,
    format_shard_ids,
    parse_shard_ids,
    shard_of,
)
from bot.settings import SettingsError, load_settings
from tests.fake_time import FakeTime
from tests.fakes.discord import SessionStartLimit, new_id_on_shard, running_fake_discord

# ---------------------------------------------------------------------- shard ids


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("0", (0,)),
        ("0-3", (0, 1, 2, 3)),
        (" 2-3 , 0 ", (0, 2, 3)),
        ("0-1,6,8-9", (0, 1, 6, 8, 9)),
        ("5-5", (5,)),
    ],
)
def test_shard_ids_are_read_from_ranges_and_lists(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids
    assert parse_shard_ids(format_shard_ids(ids)) == ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a shard id"),
        ("a-b", "is not a shard id"),
        ("-1", "is not a shard id"),
        ("1-", "is not a shard id"),
        ("0,,1", "is not a shard id"),
        ("0-1-2", "is not a shard id"),
        ("1.5", "is not a shard id"),
        ("3-1", "runs backwards"),
        ("0-2,1", "listed twice"),
        ("0-99999999999", "beyond"),
    ],
)
def test_unreadable_shard_ids_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ShardSettingError, match=message):
        parse_shard_ids(text)


def test_format_shard_ids_joins_runs() -> None:
    assert format_shard_ids([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert format_shard_ids([]) == ""


@pytest.mark.parametrize(
    ("count", "ids", "message"),
    [
        (0, None, "1 to"),
        (None, "0-1", "need a shard count"),
        (4, "3-4", "shard id 4 does not exist with 4 shards"),
    ],
)
def test_layouts_that_cannot_run_are_refused(
    count: int | None, ids: str | None, message: str
) -> None:
    with pytest.raises(ShardSettingError, match=message):
        ShardLayout.parse(count, ids)


def test_a_layout_owns_the_guilds_of_its_shards() -> None:
    layout = ShardLayout.parse(4, "0-1")
    assert layout.is_cluster_member
    for shard in range(4):
        guild_id = new_id_on_shard(shard, 4)
        assert shard_of(guild_id, 4) == shard
        assert layout.owns(guild_id) == (shard in (0, 1))
    assert layout.describe() == "shards 0-1 of 4 (other processes run the rest)"
    everything = ShardLayout.parse(4, "0-3")
    assert not everything.is_cluster_member and everything.owns(new_id_on_shard(3, 4))
    assert everything.describe() == "all 4 shards (one process)"
    assert ShardLayout(1).describe() == "1 shard (one process)"
    assert ShardLayout().owns(new_id_on_shard(1, 2))  # Discord's count, all here
    assert "as many as Discord recommends" in ShardLayout().describe()


# ---------------------------------------------------------------------- settings and flags


def _settings_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    for name in ("SHARD_COUNT", "SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_shard_settings_are_read_and_empty_means_unset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _settings_env(monkeypatch, SHARD_COUNT="4", SHARD_IDS=" 2-3 ")
    layout = load_settings(tmp_path / "absent.env").bot.shard_layout
    assert (layout.shard_count, layout.shard_ids) == (4, (2, 3))
    _settings_env(monkeypatch, SHARD_COUNT="", SHARD_IDS="")
    assert load_settings(tmp_path / "absent.env").bot.shard_layout == ShardLayout()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "four"}, "SHARD_COUNT"),
        ({"SHARD_IDS": "0-1"}, "SHARD_IDS: Value error, shard ids need a shard count"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1-2"}, "SHARD_IDS: Value error, shard id 2"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "zero"}, "SHARD_IDS: Value error, 'zero'"),
    ],
)
def test_bad_shard_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, values: dict[str, str], message: str
) -> None:
    _settings_env(monkeypatch, **values)
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path / "absent.env")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--shards", "0-1"], "--shard-count/--shards: shard ids need a shard count"),
        (["run", "--shard-count", "2", "--shards", "2"], "shard id 2 does not exist"),
        (["run", "--shard-count", "0"], "the shard count must be 1 to"),
        (["check", "--shard-count", "4", "--shards", "x"], "'x' is not a shard id"),
    ],
)
def test_shard_flags_that_cannot_run_exit_2_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    _settings_env(monkeypatch)
    assert main(["--env-file", str(tmp_path / "absent.env"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# ---------------------------------------------------------------------- session budget


def test_the_session_budget_must_cover_the_shards_to_start() -> None:
    check_session_budget({"remaining": 2, "reset_after": 0}, 2)
    with pytest.raises(SessionBudgetError, match=r"1 more .* next 2\.0 h .* would start 2"):
        check_session_budget({"remaining": 1, "reset_after": 7_200_000}, 2)


# ---------------------------------------------------------------------- the pacer


async def test_the_pacer_lets_each_key_identify_once_per_window() -> None:
    time = FakeTime(100.0)
    pacer = IdentifyPacer(2, clock=time, sleep=time.sleep)
    for shard in (0, 1):  # two keys: both at once
        await pacer.wait(shard)
    assert time.sleeps == []
    time.now += 1.0
    await pacer.wait(2)  # key 0 again, 1 s after its last IDENTIFY
    assert time.sleeps == [pytest.approx(IDENTIFY_WINDOW + IDENTIFY_MARGIN - 1.0)]
    await pacer.wait(3)  # key 1: its window ended while key 0 waited
    assert len(time.sleeps) == 1


async def test_a_refused_identify_is_retried_a_whole_window_later() -> None:
    """discord.py identifies again after Invalid Session; the retry waits a window."""
    time = FakeTime(100.0)
    pacer = IdentifyPacer(1, clock=time, sleep=time.sleep)
    await pacer.wait(0)  # refused by Discord: another process had the slot
    await pacer.wait(0)
    assert time.sleeps == [pytest.approx(IDENTIFY_WINDOW + IDENTIFY_MARGIN)]
    time.now += 60.0  # long after: no wait
    await pacer.wait(0)
    assert len(time.sleeps) == 1


async def test_concurrent_identifies_of_one_key_queue_up() -> None:
    time = FakeTime(100.0)
    pacer = IdentifyPacer(1, clock=time, sleep=time.sleep)
    await asyncio.gather(*(pacer.wait(shard) for shard in range(3)))
    assert time.sleeps == [pytest.approx(IDENTIFY_WINDOW + IDENTIFY_MARGIN)] * 2
    assert pacer.key(5) == 0 and IdentifyPacer(0).max_concurrency == 1


# ---------------------------------------------------------------------- python -m bot check


async def _check(tmp_path: Path, env: dict[str, str], *flags: str) -> tuple[int, str, str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPOTIFY_", "DISCORD_", "SHARD_", "DATABASE_"))
    }
    full_env.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check", *flags, cwd=tmp_path, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_check_reports_this_processs_shards_and_discords_advice(tmp_path: Path) -> None:
    limit = SessionStartLimit(total=1000, remaining=900, max_concurrency=2)
    async with running_fake_discord(shard_count=8, session_start_limit=limit) as fake:
        env = {
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "SHARD_COUNT": "8",
        }
        code, out, err = await _check(tmp_path, env, "--shard-count", "4", "--shards", "0-1")
    assert code == 0, out + err
    assert "[ok]   shards: this process runs shards 0-1 of 4 (other processes run the rest)" in out
    assert (
        "[warn] shards: other processes run the other shards, but the database is a SQLite" in out
    )
    assert "Discord recommends 8 shard(s); 900 of 1000 session starts left" in out
    assert "[warn] shards: SHARD_COUNT 4 is below the 8 Discord recommends" in out
    assert not fake.connected and fake.identifies == []  # check never opens the gateway


async def test_check_fails_when_the_session_budget_cannot_start_the_shards(tmp_path: Path) -> None:
    limit = SessionStartLimit(remaining=1, reset_after=3600.0)
    async with running_fake_discord(shard_count=2, session_start_limit=limit) as fake:
        env = {
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        }
        code, out, _err = await _check(tmp_path, env)
    assert code == 2
    assert "[ok]   shards: this process runs all shards, as many as Discord recommends" in out
    assert "[FAIL] shards: Discord allows 1 more gateway session starts" in out
    assert "would start 2" in out


async def _run_bot(tmp_path: Path, env: dict[str, str], *flags: str) -> tuple[int, str]:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPOTIFY_", "DISCORD_", "SHARD_", "DATABASE_"))
    }
    full_env.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *flags, cwd=tmp_path, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_run_exits_2_with_one_line_when_discord_requires_more_shards(
    tmp_path: Path,
) -> None:
    # Discord's limit is 2,500 servers a shard; the same rule with a limit of 1.
    async with running_fake_discord(guilds=(), max_guilds_per_shard=1, shard_count=2) as fake:
        for _ in range(2):
            fake.add_guild(shard=0)
        env = {
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        }
        code, err = await _run_bot(tmp_path, env, "--shard-count", "1")
        refusals = [r.close_code for r in fake.identify_refusals]
    assert refusals == [4011]
    assert code == 2, err
    assert "error: Discord requires more shards (4011)" in err
    assert "Traceback" not in err and "fake-token" not in err
