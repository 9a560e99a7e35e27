"""Background work that runs in submission order per key, different keys side by side.

A member's reactions must be stored in the order they were made (a like, then its
removal), even when a write has to wait for a busy database: one lane per key
runs its jobs one at a time, while other members' lanes go on. Submitting never
waits, so the order in which events arrive is the order in which they are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Job = Callable[[], Awaitable[object]]


class OrderedLanes(Generic[K]):
    """Jobs run one at a time per key, in the order they were submitted.

    At most ``max_pending`` jobs wait in all lanes together; :meth:`submit` refuses
    more (the caller says what was dropped), so memory stays bounded when the
    database is unavailable for long. A job's exception is logged, never stops
    its lane.
    """

    def __init__(self, name: str, *, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.name = name
        self.max_pending = max_pending
        self._queues: dict[K, deque[Job]] = {}
        self._tasks: dict[K, asyncio.Task[None]] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished yet (running ones included)."""
        return self._pending

    def submit(self, key: K, job: Job) -> bool:
        """Queue ``job`` behind the other jobs of ``key``; ``False`` if full or closed."""
        if self._closed or self._pending >= self.max_pending:
            return False
        self._queues.setdefault(key, deque()).append(job)
        self._pending += 1
        self._idle.clear()
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"{self.name} lane")
        return True

    async def join(self) -> None:
        """Wait until every job submitted so far (and since) has finished."""
        await self._idle.wait()

    async def close(self, grace: float) -> None:
        """Refuse new jobs, let queued ones finish for ``grace`` seconds, cancel the rest."""
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("%s: %d jobs were still waiting at shutdown", self.name, self._pending)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: K) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue[0]
                try:
                    await job()
                except Exception:
                    log.exception("%s: a job failed", self.name)
                finally:
                    queue.popleft()
                    self._finished(1)
        finally:
            # Normally empty; after a cancellation the jobs left are dropped.
            self._finished(len(queue))
            queue.clear()
            del self._queues[key]
            del self._tasks[key]

    def _finished(self, count: int) -> None:
        self._pending -= count
        if self._pending == 0:
            self._idle.set()
