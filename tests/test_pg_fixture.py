"""The throwaway PostgreSQL cluster the store tests run against (tests/pg.py)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests import pg


async def test_each_test_gets_an_empty_database_on_a_private_loopback_server(
    pg_cluster: pg.PgCluster, postgres_url: str
) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        assert await conn.fetchval("SHOW fsync") == "off"
        assert int(await conn.fetchval("SHOW server_version_num")) >= 120000
        # A real-world collation, not byte order (see PgCluster._initdb).
        assert await conn.fetchval("SELECT 'a' < 'B'")
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables == 0
        await conn.execute("CREATE TABLE left_behind (x int)")
    finally:
        await conn.close()
    # A database created next (as for the next test) does not see that table.
    other = pg_cluster.create_database()
    try:
        assert pg_cluster.sql("SELECT to_regclass('left_behind') IS NULL", other).strip() == "t"
    finally:
        pg_cluster.drop_database(other)
    assert pg_cluster.url(other) != postgres_url


def _no_binaries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pg, "DEBIAN_BIN_DIRS", str(tmp_path / "nowhere" / "*" / "bin"))
    monkeypatch.setenv(pg.BIN_DIR_ENV, str(tmp_path))  # exists, but holds no initdb
    monkeypatch.setenv("PATH", str(tmp_path))


def test_without_server_binaries_the_tests_skip_with_one_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_binaries(monkeypatch, tmp_path)
    monkeypatch.delenv(pg.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL server binaries not found"):
        pg.start_or_skip()


def test_in_ci_missing_server_binaries_fail_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_binaries(monkeypatch, tmp_path)
    monkeypatch.setenv(pg.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_POSTGRES=1 but PostgreSQL"):
        pg.start_or_skip()


def test_a_stopped_cluster_leaves_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg.REQUIRE_ENV, raising=False)
    cluster = pg.start_or_skip()
    root = cluster.root
    assert cluster.sql("SELECT 1").strip() == "1"
    cluster.stop()
    assert not root.exists()
