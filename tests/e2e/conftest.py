"""Every end-to-end test runs twice: on SQLite and on PostgreSQL.

The bot is the same; only ``DATABASE_URL`` differs (tests/e2e/backend.py carries it
to ``running_world``). A test that reaches into the SQLite file itself (corrupts
it, locks it, opens it beside the bot) runs on SQLite only: mark it
``@pytest.mark.sqlite_only``, or list it below; a test of several processes sharing
one database is ``@pytest.mark.postgresql_only`` (with SQLite each has a file).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from tests.e2e import backend

BACKENDS = ("sqlite", "postgresql")

# Modules ("module") and tests ("module::test") that inspect or damage the SQLite
# file directly.
SQLITE_ONLY = frozenset(
    {
        "test_bot_contexts::test_every_guild_only_command_answers_a_dm_in_one_short_line",
        "test_bot_ratings_reliability::test_ratings_wait_for_a_database_another_process_locked",
        "test_bot_storage",  # corrupts the file, fills the disk
        "test_entry_points",  # prepares the file with SqliteStore before the bot starts
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: an end-to-end test about the SQLite file (not run on PostgreSQL)"
    )
    config.addinivalue_line(
        "markers",
        "postgresql_only: an end-to-end test of processes sharing one database (PostgreSQL only)",
    )


def _sqlite_only(metafunc: pytest.Metafunc) -> bool:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    listed = {module, f"{module}::{metafunc.function.__name__}"} & SQLITE_ONLY
    return bool(listed) or metafunc.definition.get_closest_marker("sqlite_only") is not None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "e2e_backend" in metafunc.fixturenames:
        # A plain function cannot run the bot: once is enough.
        sqlite_only = _sqlite_only(metafunc) or not inspect.iscoroutinefunction(metafunc.function)
        backends = ["sqlite"] if sqlite_only else list(BACKENDS)
        if metafunc.definition.get_closest_marker("postgresql_only") is not None:
            backends = ["postgresql"]
        metafunc.parametrize("e2e_backend", backends, indirect=True)


@pytest.fixture(autouse=True)
def e2e_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend of this run of the test (see the module docs)."""
    name = getattr(request, "param", "sqlite")
    url = request.getfixturevalue("postgres_url") if name == "postgresql" else None
    backend.use(url)
    try:
        yield name
    finally:
        backend.use(None)
