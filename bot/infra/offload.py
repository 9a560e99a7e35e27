"""Bulk CPU work off the event loop, a bounded number at a time.

Parsing an uploaded CSV (2 s for 243k rows) or building a guild's catalogue (several
seconds at 100k tracks) on the event loop would stop every other guild's
interactions for that long. These jobs run on their own small thread pool instead:
``asyncio.to_thread`` would put them on the loop's default executor, where a few big
imports could take every worker the engine's quick per-request calls also need.
Threads share the GIL, so more than a couple at once gains nothing and only slows
the loop's own turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BULK_WORKERS = 2
"""Bulk jobs that may run at once (the rest wait their turn)."""

_executor = ThreadPoolExecutor(max_workers=BULK_WORKERS, thread_name_prefix="bulk")


async def run_bulk(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function(*args, **kwargs)`` on the bulk pool and return its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args, **kwargs))


async def release(items: list[Any]) -> None:
    """Empty a big list (e.g. 243k parsed tracks) on the bulk pool, a slice at a time.

    The last reference to a big structure dropped on the event loop frees it there,
    in one C call that holds the GIL: a quarter of a million tracks stop every
    guild's interactions for a second or more. Emptied slice by slice in a worker,
    the loop gets its turn in between.
    """
    await run_bulk(_release_in_slices, items)


def _release_in_slices(items: list[Any], step: int = 2000) -> None:
    while items:
        del items[-step:]


BULK_GC_THRESHOLDS = (50_000, 10, 1000)
"""Collector thresholds while bulk work runs (Python's defaults: 700, 10, 10)."""
_relaxed = 0
_saved_thresholds: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Pace the garbage collector for a job that allocates millions of objects.

    An import creates a few million long-lived objects (tracks, rows, indexes). With
    the default thresholds the collector runs a *full* collection a dozen or more
    times on the way, each walking every object not frozen yet while holding the GIL:
    pauses of 1-2 s for every guild (docs/benchmarks.md). Here the youngest
    generation is collected every 50k allocations instead of 700, the middle one
    every 10 of those (at most ~500k objects to walk, ~0.1 s) and a full collection
    practically never, until the last bulk job ends; the catalogue build then
    freezes what stays (:mod:`bot.services.catalogues`). Enter it on the event loop (not
    thread-safe).
    """
    global _relaxed, _saved_thresholds
    if _relaxed == 0:
        _saved_thresholds = gc.get_threshold()
        gc.set_threshold(*BULK_GC_THRESHOLDS)
    _relaxed += 1
    try:
        yield
    finally:
        _relaxed -= 1
        if _relaxed == 0 and _saved_thresholds is not None:
            gc.set_threshold(*_saved_thresholds)
