"""Bulk work: off the event loop on its own bounded pool; the collector paced meanwhile."""

from __future__ import annotations

import asyncio
import gc
import threading

from bot.infra.offload import BULK_GC_THRESHOLDS, BULK_WORKERS, fewer_collections, run_bulk


async def test_bulk_work_runs_on_its_own_pool_a_bounded_number_at_a_time() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    def job(n: int) -> tuple[int, str]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(timeout=30)
        with lock:
            running -= 1
        return n * 2, threading.current_thread().name

    tasks = [asyncio.create_task(run_bulk(job, n)) for n in range(BULK_WORKERS + 3)]
    while running < BULK_WORKERS:  # noqa: ASYNC110 - waiting on worker threads
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)  # the others stay queued while the pool is busy
    assert running == BULK_WORKERS
    release.set()
    results = await asyncio.gather(*tasks)
    assert [value for value, _ in results] == [n * 2 for n in range(BULK_WORKERS + 3)]
    assert all(name.startswith("bulk") for _, name in results)
    assert most == BULK_WORKERS


def test_fewer_collections_nests_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == BULK_GC_THRESHOLDS
        with fewer_collections():  # a second import at the same time
            assert gc.get_threshold() == BULK_GC_THRESHOLDS
        assert gc.get_threshold() == BULK_GC_THRESHOLDS  # the first is still running
    assert gc.get_threshold() == before
    try:
        with fewer_collections():
            raise RuntimeError("an import fails")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
