"""The process's memory as the operating system sees it, and handing freed memory back.

Python and numpy free memory into the C allocator, which keeps much of it for reuse
instead of returning it to the system: after a big catalogue is evicted the process
would look (and, to a container's memory limit, be) as large as before.
``malloc_trim`` asks glibc to return every whole free page; elsewhere it is a no-op.

glibc also gives every thread that allocates its own heap ("arena", up to eight per
core). The bot's threads (catalogue builds, database connections, engine queries)
each grow one, and memory freed in one is not reused by another: the same 100
catalogues took 47-82 MB from run to run with the default and 40 MB every time with
two arenas (benchmarks/bench_memory.py). :func:`limit_malloc_arenas` sets two at
start-up unless the operator chose with ``MALLOC_ARENA_MAX``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

MALLOC_ARENAS = 2
"""glibc heaps the process keeps (the main one and one for every other thread)."""
_M_ARENA_MAX = -8  # mallopt parameter number (malloc.h)


def _libc_function(name: str) -> object | None:
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        return getattr(ctypes.CDLL(library), name, None)
    except OSError:
        return None


_malloc_trim = _libc_function("malloc_trim")
_mallopt = _libc_function("mallopt")


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's per-thread heaps at ``arenas`` (call at start-up, before threads).

    Returns ``False`` where unsupported or when ``MALLOC_ARENA_MAX`` is set (glibc
    reads that itself: the operator's choice wins).
    """
    if _mallopt is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_mallopt(_M_ARENA_MAX, arenas))  # type: ignore[operator]


def return_freed_memory() -> bool:
    """Give memory the process freed back to the system (glibc); ``False`` if unsupported."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)  # type: ignore[operator]
    return True


def rss_bytes() -> int | None:
    """Resident set size of this process (Linux ``/proc``), or ``None`` where unknown."""
    try:
        text = Path("/proc/self/statm").read_text(encoding="ascii")
    except OSError:
        return None
    return int(text.split()[1]) * os.sysconf("SC_PAGE_SIZE")
