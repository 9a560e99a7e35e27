"""bot.infra.memory: what the operating system charges, and giving memory back."""

from __future__ import annotations

import sys

import pytest

from bot.infra import memory


def test_rss_is_read_on_linux() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("RSS is read from /proc")
    rss = memory.rss_bytes()
    assert rss is not None and rss > 10 * 2**20  # an interpreter with numpy loaded


def test_the_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False


def test_arenas_are_limited_where_glibc_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if memory._mallopt is None:
        pytest.skip("no mallopt in this C library")
    assert memory.limit_malloc_arenas() is True


def test_freed_memory_is_handed_back_without_error() -> None:
    handed = memory.return_freed_memory()
    assert handed is (memory._malloc_trim is not None)
