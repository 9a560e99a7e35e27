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
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BULK_WORKERS = 2
"""Bulk jobs that may run at once (the rest wait their turn)."""

_executor = ThreadPoolExecutor(max_workers=BULK_WORKERS, thread_name_prefix="bulk")


async def run_bulk(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function(*args, **kwargs)`` on the bulk pool and return its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(function, *args, **kwargs))
