"""Which process runs which shard: PostgreSQL shard claims on a real server.

Two processes are two claim objects, each with its own connection, as in a cluster.
A second process on a shard already run, or with another shard count, is refused
with a message naming what to change; a claim released (or whose process ended)
frees its shards.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from bot.infra.sharding import ShardsTakenError
from bot.store.postgres.shard_claims import (
    APPLICATION_NAME,
    SHARD_LOCK_SPACE,
    PostgresShardClaims,
)
from bot.store.sqlite import SqliteStore


def claims(url: str, patience: float = 0.3) -> PostgresShardClaims:
    return PostgresShardClaims(url, patience=patience, poll=0.05)


async def held_shards(url: str) -> dict[int, int]:
    """Shard id -> the server process (pid) holding its claim, as PostgreSQL sees it."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT objid::bigint AS shard, pid FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND classid = $1::bigint::oid AND objsubid = 2",
            SHARD_LOCK_SPACE,
        )
    finally:
        await conn.close()
    return {int(row["shard"]): int(row["pid"]) for row in rows}


async def test_disjoint_shards_of_one_count_run_side_by_side(postgres_url: str) -> None:
    first, second = claims(postgres_url), claims(postgres_url)
    try:
        await first.claim(4, [0, 1])
        await second.claim(4, [2, 3])
        held = await held_shards(postgres_url)
        assert sorted(held) == [0, 1, 2, 3]
        # Two connections, each holding its own process's shards.
        assert held[0] == held[1] != held[2] == held[3]
    finally:
        await first.close()
        await second.close()
    # Closing let them go (the server ends the backend a moment after the disconnect).
    async with asyncio.timeout(5):
        while await held_shards(postgres_url):  # noqa: ASYNC110 - state in another process
            await asyncio.sleep(0.02)


async def test_a_shard_already_run_is_refused_naming_it(postgres_url: str) -> None:
    first, second = claims(postgres_url), claims(postgres_url)
    try:
        await first.claim(4, [0, 1])
        with pytest.raises(ShardsTakenError, match=r"shards 1 of 4 .* own SHARD_IDS"):
            await second.claim(4, [1, 2])
        # Refused means holding nothing: shard 2 is still free.
        third = claims(postgres_url)
        await third.claim(4, [2, 3])
        await third.close()
    finally:
        await first.close()
        await second.close()


async def test_another_shard_count_is_refused(postgres_url: str) -> None:
    first, second = claims(postgres_url), claims(postgres_url)
    try:
        await first.claim(4, [0, 1])
        with pytest.raises(ShardsTakenError, match="SHARD_COUNT=4, this one with 8"):
            await second.claim(8, [4, 5])
    finally:
        await first.close()
        await second.close()


async def test_released_shards_are_free_again_even_when_the_process_died(
    postgres_url: str,
) -> None:
    first = claims(postgres_url)
    await first.claim(2, [0, 1])
    await first.close()
    second = claims(postgres_url)
    await second.claim(2, [0, 1])
    # A process that dies without closing: the server ends its connection, and with
    # it the locks (terminated here as an operator or a crash would).
    admin = await asyncpg.connect(postgres_url)
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            APPLICATION_NAME,
        )
        assert ended == 1
    finally:
        await admin.close()
    third = claims(postgres_url, patience=5.0)  # the server notices within moments
    try:
        await third.claim(2, [0, 1])
    finally:
        await third.close()
        await second.close()


async def test_a_claim_waits_for_a_predecessor_still_letting_go(postgres_url: str) -> None:
    first, second = claims(postgres_url), claims(postgres_url, patience=10.0)
    await first.claim(2, [0, 1])

    async def release_soon() -> None:
        await asyncio.sleep(0.5)
        await first.close()

    releasing = asyncio.create_task(release_soon())
    try:
        await second.claim(2, [0, 1])  # waits, then holds both
        assert releasing.done()
    finally:
        await releasing
        await second.close()


async def test_sqlite_has_no_claims(tmp_path: Path) -> None:
    # One process per SQLite file: nothing to share (docs/operator-guide.md, section 9).
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        assert store.shard_claims() is None
