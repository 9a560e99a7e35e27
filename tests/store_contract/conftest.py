"""The store contract: every test in this package runs once per backend.

A new backend joins by adding a :class:`Backend` to :func:`backend` below; it is
done when this whole package passes for it. Tests that are about one backend's
machinery (SQLite's file and ``user_version``, PostgreSQL's pool and schema table)
live beside it in ``tests/test_store_sqlite.py`` / ``tests/test_store_postgres.py``.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import asyncpg
import pytest

from bot.store import SqliteStore, Store
from bot.store.postgres import PostgresStore

BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Backend:
    """One backend under test: how to open it and how to look at it from outside."""

    name: str
    target: str  # the SQLite file or the PostgreSQL URL

    def open(self) -> AbstractAsyncContextManager[Store]:
        """Open (and on first use create) the store; reopening sees the same data."""
        if self.name == "sqlite":
            return SqliteStore.open(self.target)
        # A small pool: the tests' concurrency must not depend on a large one.
        return PostgresStore.open(self.target, pool_size=4)

    @property
    def sql_package(self) -> str:
        """The package holding the backend's ``sql_*`` modules."""
        return "bot.store" if self.name == "sqlite" else "bot.store.postgres"

    def sql_module(self, name: str) -> ModuleType:
        """The backend's module ``name`` (e.g. ``"sql_sources"``), to inject failures."""
        return importlib.import_module(f"{self.sql_package}.{name}")

    @property
    def integrity_errors(self) -> tuple[type[BaseException], ...]:
        """What the driver raises when a row breaks a constraint."""
        if self.name == "sqlite":
            return (sqlite3.IntegrityError,)
        return (asyncpg.IntegrityConstraintViolationError,)

    async def count_rows(self, table: str) -> int:
        """Rows in ``table``, read directly (e.g. to prove a cascade really ran)."""
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table!r}")
        if self.name == "sqlite":
            with sqlite3.connect(self.target) as conn:
                return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        conn = await asyncpg.connect(self.target)
        try:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        finally:
            await conn.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend in turn, with an empty database of its own."""
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "bot.sqlite3"))
    return Backend("postgresql", request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """An open, empty store of the backend under test."""
    async with backend.open() as opened:
        yield opened
