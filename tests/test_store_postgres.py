"""The PostgreSQL backend's own machinery: schema versions, pool, timeouts, locks, errors.

What every backend must do is the store contract (tests/store_contract/), which
runs against this backend too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from bot.store import SchemaTooNewError, StoreError
from bot.store.postgres import LATEST_VERSION, PostgresStore, cluster, redact_url, sql_sources
from bot.store.postgres import migrations as pg_migrations
from bot.store.postgres.errors import DatabaseServerUnavailableError, DatabaseTimeoutError
from bot.store.postgres.store import APPLICATION_NAME
from tests.test_store_support import T0, source, track

# Every wait below is on a condition, with this much patience before failing.
PATIENCE = 30.0


@pytest.fixture
async def raw(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database: another process's view of it."""
    conn = await asyncpg.connect(postgres_url)
    try:
        yield conn
    finally:
        await conn.close()


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait until ``condition()`` holds (fails the test after :data:`PATIENCE`)."""
    async with asyncio.timeout(PATIENCE):
        # Polling: the condition is in another process, no event can signal it.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def waiting_on_locks(raw: asyncpg.Connection) -> int:
    """How many of the store's connections wait for a lock right now."""
    return int(
        await raw.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE application_name = $1 AND datname = current_database()
                 AND wait_event_type = 'Lock'""",
            APPLICATION_NAME,
        )
    )


# -- schema versions -------------------------------------------------------------------


async def test_a_new_database_is_migrated_to_the_latest_version(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore.open(postgres_url) as store:
        assert await store.schema_version() == LATEST_VERSION
    rows = await raw.fetch("SELECT version, description FROM schema_version ORDER BY version")
    assert [r["version"] for r in rows] == list(range(1, LATEST_VERSION + 1))
    assert all(r["description"] for r in rows)
    tables = {r[0] for r in await raw.fetch("SELECT tablename FROM pg_tables")}
    assert {"guilds", "tracks", "sources", "source_tracks", "uploaded_tracks"} <= tables
    assert {"rec_messages", "rec_items", "ratings", "guild_settings", "guild_departures"} <= tables


async def test_processes_starting_together_on_a_new_database_migrate_it_once(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    stores = await asyncio.gather(*(PostgresStore.connect(postgres_url) for _ in range(4)))
    try:
        assert [await s.schema_version() for s in stores] == [LATEST_VERSION] * 4
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert await raw.fetchval("SELECT count(*) FROM schema_version") == LATEST_VERSION


async def test_a_newer_schema_is_refused_before_anything_is_written(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute(
        "CREATE TABLE schema_version (version integer PRIMARY KEY, description text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await raw.execute(
        "INSERT INTO schema_version (version, description) VALUES ($1, 'future')",
        LATEST_VERSION + 5,
    )
    with pytest.raises(SchemaTooNewError) as caught:
        await PostgresStore.connect(postgres_url)
    assert (caught.value.found, caught.value.supported) == (LATEST_VERSION + 5, LATEST_VERSION)
    tables = {r[0] for r in await raw.fetch("SELECT tablename FROM pg_tables")}
    assert "tracks" not in tables  # nothing of this version's schema was created


async def test_a_failed_upgrade_keeps_the_old_version_and_its_data(
    postgres_url: str, raw: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore.open(postgres_url) as store:
        await store.set_rating(1, 7, "abc", 1)
    broken = pg_migrations.Migration(
        LATEST_VERSION + 1,
        "a step that fails half-way",
        ("CREATE TABLE half_done (x int)", "DELETE FROM ratings", "SELECT 1/0"),
    )
    monkeypatch.setattr(pg_migrations, "MIGRATIONS", (*pg_migrations.MIGRATIONS, broken))
    monkeypatch.setattr(pg_migrations, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pg_migrations.migrate(raw, target=LATEST_VERSION + 1)
    assert await pg_migrations.schema_version(raw) == LATEST_VERSION
    assert await raw.fetchval("SELECT to_regclass('half_done')") is None
    assert await raw.fetchval("SELECT count(*) FROM ratings") == 1


# -- pool, timeouts, locks -------------------------------------------------------------


async def test_the_pool_never_opens_more_connections_than_its_size(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    await raw.execute("SELECT pg_advisory_lock(42)")
    async with PostgresStore.open(postgres_url, pool_size=3) as store:
        assert store.pool_size == 3
        # Ten calls that all wait for the lock this test holds.
        blocked = [
            asyncio.create_task(
                store._write(lambda c: c.execute("SELECT pg_advisory_xact_lock(42)"))
            )
            for _ in range(10)
        ]

        async def three_waiting() -> bool:
            return await waiting_on_locks(raw) == 3

        await until(three_waiting)
        opened = await raw.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE application_name = $1 AND datname = current_database()""",
            APPLICATION_NAME,
        )
        assert opened == 3
        await raw.execute("SELECT pg_advisory_unlock(42)")
        await asyncio.gather(*blocked)  # the other seven got their turn


async def test_a_statement_past_the_timeout_is_cancelled_with_a_clear_error(
    postgres_url: str,
) -> None:
    async with PostgresStore.open(postgres_url, statement_timeout=0.2) as store:
        assert await store._read(lambda c: c.fetchval("SHOW statement_timeout")) == "200ms"
        with pytest.raises(DatabaseTimeoutError, match="answered too slowly"):
            await store._read(lambda c: c.execute("SELECT pg_sleep(30)"))
        assert await store.count_tracks() == 0  # the pool is still usable


async def test_a_locked_guild_row_holds_up_that_guild_only(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    # SQLite serialises every call behind one lock; here only what touches the same
    # row waits: another process holds guild 1's settings row.
    async with PostgresStore.open(postgres_url) as store:
        await store.update_guild_settings(1, alpha=0.5)
        async with raw.transaction():
            await raw.execute("SELECT 1 FROM guild_settings WHERE guild_id = 1 FOR UPDATE")
            change = asyncio.create_task(store.update_guild_settings(1, diversity=0.9))

            async def change_waits() -> bool:
                return await waiting_on_locks(raw) == 1

            await until(change_waits)
            # Meanwhile everything else goes on.
            await store.update_guild_settings(2, alpha=0.1)
            await store.set_rating(1, 7, track(1).id, 1)
            await store.put_tracks([track(1)])
            assert (await store.get_guild_settings(2)).alpha == 0.1
            assert not change.done()
        changed = await change
        assert (changed.alpha, changed.diversity) == (0.5, 0.9)  # no lost update


async def test_a_prune_waits_for_a_playlist_being_saved_and_keeps_its_tracks(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore.open(postgres_url) as store:
        later = T0.replace(year=2030)
        await store.put_tracks([track(1), track(2)], at=T0)
        # Another process is saving a playlist of track 1 and has not committed yet.
        saving = raw.transaction()
        await saving.start()
        await sql_sources.save_source(raw, source(5), [track(1).id], T0)
        prune = asyncio.create_task(store.prune_tracks(fetched_before=later))

        async def prune_waits() -> bool:
            return await waiting_on_locks(raw) == 1

        await until(prune_waits)
        await saving.commit()
        assert await prune == 1  # track 2 only: track 1 is in the playlist now
        assert set(await store.get_tracks([track(1).id, track(2).id])) == {track(1).id}
        catalogue = await store.load_guild_catalogue(5)
        assert catalogue.memberships[source(5).key] == [track(1).id]


async def test_a_failing_transaction_leaves_data_unchanged(postgres_url: str) -> None:
    async with PostgresStore.open(postgres_url) as store:
        await store.put_tracks([track(1)])

        async def delete_then_fail(conn: asyncpg.Connection) -> None:
            await conn.execute("DELETE FROM tracks")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await store._write(delete_then_fail)
        assert await store.count_tracks() == 1


async def test_an_uploaded_row_cannot_belong_to_another_guilds_source(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with PostgresStore.open(postgres_url) as store:
        upload = dataclasses.replace(track(0), name="uploaded")
        await store.save_upload(source(1001, "csv:a0", kind="csv", snapshot_id=None), [upload])
        source_id = await raw.fetchval("SELECT source_id FROM sources")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await raw.execute(
                "INSERT INTO uploaded_tracks (guild_id, id, source_id, name, artists, album, "
                "uploaded_at) VALUES ($1, 'x', $2, 'x', '{}', '', now())",
                2002,
                source_id,
            )
        assert len(await store.load_guild_catalogue(2002)) == 0


# -- errors an operator reads ----------------------------------------------------------


def test_urls_are_redacted_for_logs() -> None:
    assert redact_url("postgresql://bot:s3cret@db:5432/bot") == "postgresql://bot:***@db:5432/bot"
    assert redact_url("postgresql://bot@db/bot") == "postgresql://bot@db/bot"
    assert redact_url("postgresql://:p%40ss@db/bot") == "postgresql://:***@db/bot"
    assert "pw" not in redact_url("postgresql://u:pw@[::1:5432/x")  # unparsable


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://bot:hunter2-secret@127.0.0.1:{port}/bot"
    with pytest.raises(DatabaseServerUnavailableError) as caught:
        await PostgresStore.connect(url, connect_timeout=5)
    message = str(caught.value)
    assert "hunter2-secret" not in message
    assert f"127.0.0.1:{port}" in message and "DATABASE_URL" in message
    assert isinstance(caught.value, StoreError)


async def test_a_missing_database_is_a_clear_error(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(DatabaseServerUnavailableError, match="no_such_database"):
        await PostgresStore.connect(url)


async def test_connections_the_server_dropped_are_replaced(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async def drop_all() -> None:
        await raw.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )

    async with PostgresStore.open(postgres_url, pool_size=2) as store:
        await store.put_tracks([track(1)])
        await drop_all()
        # A read is retried once on a new connection: a server restart goes unnoticed.
        assert await store.count_tracks() == 1
        await drop_all()
        # A write is not (it may have been applied before the loss): a StorageError
        # that says so, never a raw driver error; the next write works.
        with contextlib.suppress(DatabaseServerUnavailableError):
            await store.set_rating(1, 7, track(1).id, 1)
        await store.set_rating(1, 7, track(1).id, -1)
        rating = await store.get_rating(1, 7, track(1).id)
        assert rating is not None and rating.value == -1


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot:hunter2@[::1:5432/bot",  # broken IPv6 host
        "postgresql://bot:hunter2@db:notaport/bot",
        "postgresql://bot:hunter2@127.0.0.1:5432/bot?sslmode=hunter2",
    ],
)
async def test_a_malformed_url_is_a_clear_error_without_the_password(url: str) -> None:
    with pytest.raises(StoreError, match="DATABASE_URL is not a usable") as caught:
        await PostgresStore.connect(url)
    assert "hunter2" not in str(caught.value)


# -- several processes on one database -------------------------------------------------


class Heard:
    """The guild ids a watch called back with, and a way to wait for one."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._changed = asyncio.Condition()

    async def __call__(self, guild_id: int) -> None:
        async with self._changed:
            self.ids.append(guild_id)
            self._changed.notify_all()

    async def until(self, guild_id: int) -> None:
        async with asyncio.timeout(PATIENCE), self._changed:
            await self._changed.wait_for(lambda: guild_id in self.ids)


async def test_a_process_hears_the_guild_changes_other_processes_commit(
    postgres_url: str,
) -> None:
    async with (
        PostgresStore.open(postgres_url) as mine,
        PostgresStore.open(postgres_url) as other,
    ):
        heard = Heard()
        watch = await mine.watch_guild_changes(heard)
        try:
            await other.put_tracks([track(1)])  # the shared cache: no guild changed
            await mine.update_guild_settings(1, alpha=0.2)  # its own change: not heard
            with pytest.raises(StoreError):
                await other.update_guild_settings(2, alpha=7)  # rolled back: never sent
            await other.save_source(source(3), [track(1).id])
            await other.update_guild_settings(4, diversity=0.5)
            await other.save_upload(source(5, "csv:1", kind="csv", snapshot_id=None), [track(1)])
            await other.mark_guild_left(6, at=T0)
            await other.purge_departed_guilds(dt.timedelta(0), now=T0)
            await heard.until(6)
            # In commit order; the purge told of guild 6 again (its data is gone now).
            assert heard.ids == [3, 4, 5, 6, 6]
        finally:
            await watch.close()
        await other.remove_source(3, source(3).key)
        await other.update_guild_settings(9, alpha=0.1)
        assert heard.ids == [3, 4, 5, 6, 6]  # closed: nothing more


async def test_a_watch_listens_again_after_losing_its_connection(
    postgres_url: str, raw: asyncpg.Connection
) -> None:
    async with (
        PostgresStore.open(postgres_url) as mine,
        PostgresStore.open(postgres_url) as other,
    ):
        heard = Heard()
        async with await mine.watch_guild_changes(heard):
            terminated = await raw.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                cluster.LISTENER_NAME,
            )
            assert terminated == 1  # the watch's one listening connection is gone

            async def listening_again() -> bool:
                # Changes sent before the watch is back are missed: keep changing.
                await other.update_guild_settings(7, alpha=0.3)
                return 7 in heard.ids

            await until(listening_again)
            assert set(heard.ids) == {7}  # what another process changed, nothing else
            listeners = await raw.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                cluster.LISTENER_NAME,
            )
            assert listeners == 1  # a new connection, and only one


async def test_a_periodic_job_is_claimed_once_per_period_across_processes(
    postgres_url: str,
) -> None:
    hour = dt.timedelta(hours=1)
    async with (
        PostgresStore.open(postgres_url) as first,
        PostgresStore.open(postgres_url) as second,
    ):
        claims = await asyncio.gather(
            *((first, second)[n % 2].claim_job("purge", hour, now=T0) for n in range(10))
        )
        assert claims.count(True) == 1
        assert not await second.claim_job("purge", hour, now=T0 + hour / 2)
        assert await first.claim_job("retention", hour, now=T0 + hour / 2)  # its own period
        assert await second.claim_job("purge", hour, now=T0 + hour)
        assert not await first.claim_job("purge", hour, now=T0 + hour)


def test_only_well_formed_notices_are_taken() -> None:
    assert cluster.parse_notice("abc 123") == ("abc", 123)
    for junk in ("", "abc", "abc -1", "abc 12x", " 123", "abc 1 2"):
        assert cluster.parse_notice(junk) is None, junk
