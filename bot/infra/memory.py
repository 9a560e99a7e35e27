"""The process's memory as the operating system sees it, and handing freed memory back.

Python and numpy free memory into the C allocator, which keeps much of it for reuse
instead of returning it to the system: after a big catalogue is evicted the process
would look (and, to a container's memory limit, be) as large as before.
``malloc_trim`` asks glibc to return every whole free page; elsewhere it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path


def _load_trim() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None)
    except OSError:
        return None


_malloc_trim = _load_trim()


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
