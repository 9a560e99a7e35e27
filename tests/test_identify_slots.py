"""IDENTIFY pacing across the processes of a cluster.

:class:`bot.infra.sharding.IdentifyPacer` with shared slots (a fake here, to follow the
window on a fake clock), and the PostgreSQL slots themselves
(:class:`bot.store.postgres.identify.PostgresIdentifySlots`) on a real server:
two "processes" are two slot objects, each with its own connection.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from pathlib import Path

import asyncpg
import pytest

from bot.infra.sharding import IDENTIFY_MARGIN, IDENTIFY_WINDOW, IdentifyPacer
from bot.store.postgres import PostgresStore
from bot.store.postgres.identify import APPLICATION_NAME, PostgresIdentifySlots
from bot.store.sqlite import SqliteStore

PATIENCE = 10.0


class FakeTime:
    """A clock that moves only when someone sleeps on it; sleepers wake in time order."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + seconds
        while self.now < wake:
            await asyncio.sleep(0)  # let everyone else run up to their own sleep
            self.now = min(wake, self.now + 0.25)


class RecordingSlots:
    """Slots of one database for several pacers: who holds which key, and when."""

    def __init__(self, time: FakeTime, *, usable: bool = True) -> None:
        self.time = time
        self.usable = usable
        self.holder: dict[int, object] = {}
        self.log: list[tuple[str, int, float]] = []

    def of(self, process: str) -> ProcessSlots:
        """The slots as one process sees them."""
        return ProcessSlots(self, process)


class ProcessSlots:
    def __init__(self, shared: RecordingSlots, process: str) -> None:
        self.shared = shared
        self.process = process
        self.closed = False

    async def take(self, key: int) -> bool:
        if not self.shared.usable:
            return False
        while self.shared.holder.get(key) not in (None, self.process):
            await self.shared.time.sleep(0.2)
        self.shared.holder[key] = self.process
        self.shared.log.append((self.process, key, self.shared.time()))
        return True

    async def give_back(self, key: int) -> None:
        if self.shared.holder.get(key) == self.process:
            del self.shared.holder[key]

    async def close(self) -> None:
        self.closed = True
        for key, holder in list(self.shared.holder.items()):
            if holder == self.process:
                del self.shared.holder[key]


async def test_two_processes_starting_at_once_take_turns_on_a_key() -> None:
    time = FakeTime()
    shared = RecordingSlots(time)
    first = IdentifyPacer(1, slots=shared.of("A"), clock=time, sleep=time.sleep)
    second = IdentifyPacer(1, slots=shared.of("B"), clock=time, sleep=time.sleep)

    async def start(pacer: IdentifyPacer, shards: tuple[int, ...]) -> list[float]:
        identified = []
        for shard in shards:  # discord.py launches a process's shards one by one
            await pacer.wait(shard)
            identified.append(time())
        return identified

    a, b = await asyncio.gather(start(first, (0, 1)), start(second, (2, 3)))
    starts = sorted(a + b)
    assert len(starts) == 4
    # One key (max_concurrency 1): every IDENTIFY a whole window after the one before.
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= IDENTIFY_WINDOW for gap in gaps), gaps
    assert {process for process, _key, _at in shared.log} == {"A", "B"}
    await first.close()
    await second.close()
    assert shared.holder == {}


async def test_different_keys_start_together_in_a_cluster() -> None:
    time = FakeTime()
    shared = RecordingSlots(time)
    first = IdentifyPacer(2, slots=shared.of("A"), clock=time, sleep=time.sleep)
    second = IdentifyPacer(2, slots=shared.of("B"), clock=time, sleep=time.sleep)
    await asyncio.gather(first.wait(0), second.wait(1))  # keys 0 and 1
    assert [at for _p, _k, at in shared.log] == [100.0, 100.0]
    await asyncio.gather(first.close(), second.close())


async def test_a_slot_is_held_for_the_window_and_its_margin() -> None:
    time = FakeTime()
    shared = RecordingSlots(time)
    pacer = IdentifyPacer(1, slots=shared.of("A"), clock=time, sleep=time.sleep)
    await pacer.wait(0)
    assert shared.holder == {0: "A"}
    await pacer.wait(1)  # this process's next shard waits for its own hold to end
    assert time() >= 100.0 + IDENTIFY_WINDOW + IDENTIFY_MARGIN
    assert [at for _p, _k, at in shared.log] == [100.0, time()]
    await pacer.close()
    assert shared.holder == {}


async def test_a_process_stopped_at_once_keeps_its_slot_until_the_window_is_over() -> None:
    """A new shard layout started right after the old one stopped: Discord counts the
    window from the old process's IDENTIFY, so the new process must still wait."""
    time = FakeTime()
    shared = RecordingSlots(time)
    old = IdentifyPacer(1, slots=shared.of("old"), clock=time, sleep=time.sleep)
    await old.wait(0)
    closing = asyncio.create_task(old.close())
    new = IdentifyPacer(1, slots=shared.of("new"), clock=time, sleep=time.sleep)
    await new.wait(0)
    assert time() >= 100.0 + IDENTIFY_WINDOW
    await closing
    await new.close()
    assert shared.holder == {}


async def test_unusable_slots_fall_back_to_pacing_in_this_process() -> None:
    time = FakeTime()
    shared = RecordingSlots(time, usable=False)
    pacer = IdentifyPacer(1, slots=shared.of("A"), clock=time, sleep=time.sleep)
    await pacer.wait(0)
    await pacer.wait(1)
    assert time() == pytest.approx(100.0 + IDENTIFY_WINDOW + IDENTIFY_MARGIN, abs=0.3)
    assert shared.log == []
    await pacer.close()


# ---------------------------------------------------------------------- on PostgreSQL


async def _wait_for(future: asyncio.Future[bool]) -> bool:
    return await asyncio.wait_for(future, PATIENCE)


async def test_postgresql_slots_are_exclusive_per_key_across_connections(
    postgres_url: str,
) -> None:
    first = PostgresIdentifySlots(postgres_url, poll=0.01)
    second = PostgresIdentifySlots(postgres_url, poll=0.01)
    try:
        assert await first.take(0)
        assert await _wait_for(asyncio.ensure_future(second.take(1)))  # another key: free
        waiting = asyncio.ensure_future(second.take(0))
        await asyncio.sleep(0.2)  # many polls: it must still be waiting
        assert not waiting.done()
        await first.give_back(0)
        assert await _wait_for(waiting)
        # Now the first waits for the second.
        again = asyncio.ensure_future(first.take(0))
        await asyncio.sleep(0.2)
        assert not again.done()
        await second.close()  # a process that ends (or dies) frees its slots
        assert await _wait_for(again)
    finally:
        await first.close()
        await second.close()


async def test_postgresql_slots_use_a_connection_of_their_own(postgres_url: str) -> None:
    async with PostgresStore.open(postgres_url, pool_size=1) as store:
        slots = store.identify_slots()
        assert isinstance(slots, PostgresIdentifySlots)
        try:
            assert await slots.take(3)
            conn = await asyncpg.connect(postgres_url)
            try:
                holders = await conn.fetch(
                    """SELECT a.application_name FROM pg_locks l
                       JOIN pg_stat_activity a ON a.pid = l.pid
                       WHERE l.locktype = 'advisory' AND l.objid = 3 AND l.granted
                         AND l.database = (SELECT oid FROM pg_database
                                           WHERE datname = current_database())"""
                )
            finally:
                await conn.close()
            assert [row[0] for row in holders] == [APPLICATION_NAME]
            # The store's one pooled connection is free for its work meanwhile.
            await store.set_rating(1, 2, "t", 1)
        finally:
            await slots.close()


async def test_postgresql_slots_of_an_unreachable_server_answer_false() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slots = PostgresIdentifySlots(
        f"postgresql://bot:hunter2@127.0.0.1:{port}/bot", connect_timeout=2.0
    )
    assert not await slots.take(0)
    await slots.give_back(0)  # nothing held: nothing to do, no error
    await slots.close()


async def test_a_sqlite_store_has_no_shared_slots(tmp_path: Path) -> None:
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        assert store.identify_slots() is None
