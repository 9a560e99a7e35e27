"""Open the store the settings choose: PostgreSQL when ``DATABASE_URL`` is set, else SQLite.

The one place that knows which backends exist; everything else holds a
:class:`~bot.store.interface.Store`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.settings import BotSettings
from bot.store.interface import Store
from bot.store.postgres import LATEST_VERSION as POSTGRES_VERSION
from bot.store.postgres import PostgresStore, redact_url
from bot.store.sqlite import SqliteStore


def describe_store(settings: BotSettings) -> str:
    """Which database the settings name, without any password (for logs and ``check``)."""
    if settings.database_url is not None:
        return f"PostgreSQL at {redact_url(settings.database_url.get_secret_value())}"
    return f"SQLite file {settings.database_path}"


async def connect_store(settings: BotSettings) -> Store:
    """Open and migrate the chosen store; the caller must ``close`` it.

    Raises :class:`~bot.store.errors.StoreError` subclasses whose messages name the
    database and what to do, never a password.
    """
    if settings.database_url is not None:
        return await PostgresStore.connect(
            settings.database_url.get_secret_value(),
            pool_size=settings.database_pool_size,
            statement_timeout=settings.database_statement_timeout,
        )
    return await SqliteStore.connect(settings.database_path)


async def probe_postgres(settings: BotSettings) -> str:
    """Open the PostgreSQL database as the bot would (creating or upgrading its tables)
    and say in one line what was found; raises the store's errors (``python -m bot
    check``)."""
    if settings.database_url is None:
        raise ValueError("DATABASE_URL is not set")
    async with open_store(settings) as store:
        assert isinstance(store, PostgresStore)
        version = await store.schema_version()
        tracks = await store.count_tracks()
        return (
            f"PostgreSQL at {store.url}: schema version {version} (this bot: "
            f"{POSTGRES_VERSION}), a pool of at most {store.pool_size} connections, "
            f"statements limited to {settings.database_statement_timeout:g} s, "
            f"{tracks} cached tracks"
        )


@asynccontextmanager
async def open_store(settings: BotSettings) -> AsyncIterator[Store]:
    """:func:`connect_store`, closed on exit."""
    store = await connect_store(settings)
    try:
        yield store
    finally:
        await store.close()
