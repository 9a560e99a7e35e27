"""What a PostgreSQL failure means for the operator, as the store's typed errors.

The same :class:`~bot.store.errors.StorageError` family as SQLite's file problems,
so the bot answers members and admins the same way ("try again shortly", "tell
the bot's operator") whichever backend runs; the message names the server (never
the password), what went wrong and what to do. All three are ``transient``: a
caller may wait and try again (``bot.store.busy``). Errors about the data itself
(a constraint, a bug in a statement) are not translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from bot.store.errors import DatabaseFullError, StorageError


class DatabaseServerUnavailableError(StorageError):
    """The PostgreSQL server cannot be reached, refused the login or went away."""

    problem = "cannot be reached"
    transient = True  # a restart or a failover: waiting can help
    action = (
        "check that the PostgreSQL server is running and reachable from this machine, and "
        "that DATABASE_URL names the right host, port, database, user and password"
    )


class DatabaseTimeoutError(StorageError):
    """A statement ran past ``DATABASE_STATEMENT_TIMEOUT`` and the server cancelled it."""

    problem = "answered too slowly"
    transient = True  # the statement was cancelled, nothing of it applied
    action = (
        "check the server's load and locks (pg_stat_activity); raise "
        "DATABASE_STATEMENT_TIMEOUT only if such waits are expected"
    )


class DatabaseBusyError(StorageError):
    """The server has no connection slot left (``max_connections``)."""

    problem = "has no free connections"
    transient = True
    action = (
        "lower DATABASE_POOL_SIZE across the bot's processes, or raise the server's max_connections"
    )


_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def classify(error: BaseException, where: str) -> StorageError | None:
    """The :class:`StorageError` that ``error`` means for the server at ``where``."""
    detail = f"PostgreSQL: {error}" if str(error) else f"PostgreSQL: {type(error).__name__}"
    if isinstance(error, asyncpg.TooManyConnectionsError):
        return DatabaseBusyError(where, detail)
    if isinstance(error, asyncpg.QueryCanceledError):
        return DatabaseTimeoutError(where, detail)
    if isinstance(error, asyncpg.DiskFullError):
        return DatabaseFullError(where, detail)
    if isinstance(error, _UNAVAILABLE):
        return DatabaseServerUnavailableError(where, detail)
    if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
        return DatabaseServerUnavailableError(where, detail)
    if isinstance(error, asyncpg.InternalClientError):
        # asyncpg lost track of a connection the server dropped under it.
        return DatabaseServerUnavailableError(where, detail)
    return None


@contextmanager
def server_errors(where: str) -> Iterator[None]:
    """Re-raise what :func:`classify` recognises as its :class:`StorageError`."""
    try:
        yield
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
    ) as error:
        storage = classify(error, where)
        if storage is None:
            raise
        raise storage from error
