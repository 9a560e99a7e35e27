"""``python -m bot migrate-db``: a populated SQLite database copied into PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.__main__ import main
from bot.store import (
    DISLIKE,
    LIKE,
    RecommendationItem,
    RecommendationMessage,
    SqliteStore,
    Store,
)
from bot.store.postgres import PostgresStore, import_sqlite
from bot.store.postgres.import_sqlite import (
    TABLES,
    CopyMismatchError,
    TargetNotEmptyError,
    copy_sqlite_to_postgres,
)
from tests.test_store_support import T0, source, track

GUILDS = (1001, 2002, 3003)


def csv_source(guild_id: int, key: str):
    return source(guild_id, key, kind="csv", snapshot_id=None)


async def populate(store: Store) -> None:
    """A bit of everything, in three guilds, as the bot would have written it."""
    await store.put_tracks([track(i, with_features=i % 4 != 0) for i in range(60)], at=T0)
    for n, guild in enumerate(GUILDS):
        await store.save_source(source(guild, f"pl-{n}"), [track(i).id for i in range(n, 40, 2)])
        upload = [dataclasses.replace(track(i), name=f"uploaded {guild} {i}") for i in range(5)]
        upload.append(dataclasses.replace(track(99), name="only uploaded – ñ"))
        await store.save_upload(csv_source(guild, f"csv:{n:08x}"), upload)
        await store.update_guild_settings(guild, alpha=0.1 * (n + 1), max_per_artist=n)
        for user in range(4):
            message_id = guild * 100 + user
            await store.save_recommendation(
                RecommendationMessage(
                    guild,
                    55,
                    message_id,
                    user,
                    (track(1).id,),
                    T0 + dt.timedelta(minutes=user),
                    tuple(RecommendationItem(p, track(p).id, f"{p}️⃣") for p in (1, 2, 3)),
                )
            )
            value = LIKE if user % 2 else DISLIKE
            await store.set_rating(guild, user, track(user).id, value, at=T0, message_id=message_id)
    await store.mark_guild_left(GUILDS[2], at=T0)


async def snapshot(store: Store) -> dict[str, object]:
    """Everything the bot can read back, per guild (what must survive the move)."""
    seen: dict[str, object] = {}
    for guild in GUILDS:
        catalogue = await store.load_guild_catalogue(guild)
        seen[f"{guild} catalogue"] = [(t, t.features) for t in catalogue.tracks]
        seen[f"{guild} memberships"] = catalogue.memberships
        seen[f"{guild} uploads"] = {t.id: catalogue.upload_source(t.id) for t in catalogue.tracks}
        seen[f"{guild} sources"] = await store.list_sources(guild)
        seen[f"{guild} settings"] = await store.get_guild_settings(guild)
        seen[f"{guild} ratings"] = await store.list_guild_ratings(guild)
        seen[f"{guild} member"] = [
            (r.rating, r.track, r.upload_source) for r in await store.list_member_ratings(guild, 1)
        ]
        seen[f"{guild} messages"] = [
            await store.get_recommendation(guild, guild * 100 + user) for user in range(4)
        ]
        seen[f"{guild} from message"] = await store.list_message_ratings(guild, guild * 100 + 1)
    shared = await store.get_tracks([track(i).id for i in range(100)])
    seen["shared"] = sorted((t.id, t, t.features) for t in shared.values())
    return seen


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


async def pg_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    finally:
        await conn.close()


@pytest.fixture
async def populated(tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    async with SqliteStore.open(path) as store:
        await populate(store)
    return path


async def test_a_populated_database_arrives_whole(populated: Path, postgres_url: str) -> None:
    async with SqliteStore.open(populated) as store:
        before = await snapshot(store)
    report = await copy_sqlite_to_postgres(populated, postgres_url)

    expected = sqlite_counts(populated)
    assert all(expected[t] > 0 for t in TABLES), expected  # every table was exercised
    assert report.rows == expected == await pg_counts(postgres_url)
    assert not report.replaced
    async with PostgresStore.open(postgres_url) as store:
        after = await snapshot(store)
        assert after == before
        # The copy is a working database: new rows get new ids, a purge still works.
        saved = await store.save_upload(csv_source(GUILDS[0], "csv:new"), [track(7)])
        assert saved.key == "csv:new"
        assert await store.count_sources(GUILDS[0]) == 3
        assert await store.purge_departed_guilds(dt.timedelta(0), now=T0) == [GUILDS[2]]
    assert "total" in report.lines()[-1]


async def test_a_target_with_data_is_refused_unless_forced(
    populated: Path, postgres_url: str
) -> None:
    async with PostgresStore.open(postgres_url) as store:
        await store.set_rating(1, 2, "already-here", LIKE)
    with pytest.raises(TargetNotEmptyError, match="--force") as caught:
        await copy_sqlite_to_postgres(populated, postgres_url)
    assert caught.value.counts["ratings"] == 1
    assert (await pg_counts(postgres_url))["ratings"] == 1  # untouched

    report = await copy_sqlite_to_postgres(populated, postgres_url, force=True)
    assert report.replaced
    # Replaced, not merged: run twice, the same database.
    again = await copy_sqlite_to_postgres(populated, postgres_url, force=True)
    assert report.rows == again.rows == sqlite_counts(populated) == await pg_counts(postgres_url)


async def test_a_copy_that_fails_half_way_leaves_nothing_and_can_be_run_again(
    populated: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = import_sqlite._copy_table

    async def fail_at_ratings(conn: asyncpg.Connection, db: sqlite3.Connection, table: str) -> int:
        if table == "ratings":
            raise ConnectionResetError("the network went away")
        return await real(conn, db, table)

    monkeypatch.setattr(import_sqlite, "_copy_table", fail_at_ratings)
    with pytest.raises(Exception, match="network went away"):
        await copy_sqlite_to_postgres(populated, postgres_url)
    assert set((await pg_counts(postgres_url)).values()) == {0}

    monkeypatch.undo()
    report = await copy_sqlite_to_postgres(populated, postgres_url)  # no --force needed
    assert report.rows == sqlite_counts(populated)


async def test_a_column_only_one_backend_has_stops_the_copy(
    populated: Path, postgres_url: str
) -> None:
    with sqlite3.connect(populated) as conn:
        conn.execute("ALTER TABLE ratings ADD COLUMN mood TEXT")
    with pytest.raises(CopyMismatchError, match=r"ratings has columns \['mood'\] only in SQLite"):
        await copy_sqlite_to_postgres(populated, postgres_url)
    assert set((await pg_counts(postgres_url)).values()) == {0}


def test_the_command_copies_and_reports_per_table(
    populated: Path, postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    no_env = str(tmp_path / "absent.env")
    code = main(
        ["--env-file", no_env, "migrate-db", "--from", str(populated), "--to", postgres_url]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    for table, count in sqlite_counts(populated).items():
        assert any(line.split() == [table, f"{count:,}"] for line in out.splitlines()), out

    # Again without --force: refused, exit 2, one line that says what to do.
    code = main(
        ["--env-file", no_env, "migrate-db", "--from", str(populated), "--to", postgres_url]
    )
    err = capsys.readouterr().err
    assert code == 2 and "already holds data" in err and "--force" in err
    assert asyncio.run(pg_counts(postgres_url)) == sqlite_counts(populated)


def test_the_command_needs_a_target_and_an_existing_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    no_env = str(tmp_path / "absent.env")
    assert main(["--env-file", no_env, "migrate-db", "--from", str(tmp_path / "x")]) == 2
    assert "--to postgresql://" in capsys.readouterr().err
    args = ["migrate-db", "--from", str(tmp_path / "missing.sqlite3"), "--to", "mysql://x/y"]
    assert main(["--env-file", no_env, *args]) == 2
    assert "postgresql://" in capsys.readouterr().err
    args[-1] = "postgresql://bot:pw@127.0.0.1:1/bot"
    assert main(["--env-file", no_env, *args]) == 2
    assert "no SQLite database at" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite3").exists()  # not created by the attempt
