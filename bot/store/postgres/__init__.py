"""The PostgreSQL backend of the store (asyncpg), for bots that run several processes.

Selected by ``DATABASE_URL=postgresql://...`` (see :func:`bot.store.open.open_store`);
SQLite stays the default. :class:`PostgresStore` implements the same
:class:`~bot.store.interface.Store` contract and passes the same contract suite
(``tests/store_contract``).
"""

from bot.store.postgres.migrations import LATEST_VERSION
from bot.store.postgres.store import PostgresStore, redact_url

__all__ = ["LATEST_VERSION", "PostgresStore", "redact_url"]
