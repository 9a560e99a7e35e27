"""Typed errors raised by the store, each with a message an operator can act on."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer version of the bot than this one.

    Raised before anything is written, so the file is left exactly as it was.
    """

    def __init__(self, path: str | Path, found: int, supported: int) -> None:
        self.path = str(path)
        self.found = found
        self.supported = supported
        super().__init__(
            f"database {self.path} has schema version {found}, but this version of the bot "
            f"supports schema versions up to {supported}; upgrade the bot (or restore a "
            "backup made by this version) instead of downgrading the database"
        )


class UncachedTracksError(StoreError):
    """A playlist's membership names tracks that are not in the track cache.

    Callers store the records with ``put_tracks`` first; membership only ever
    points at cached tracks, so a restart can rebuild the catalogue offline.
    """

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        super().__init__(
            f"{len(missing)} track id(s) are not in the track cache "
            f"(call put_tracks first): {shown}"
        )


class DuplicateMessageError(StoreError):
    """A recommendation message with this Discord message id is already stored."""

    def __init__(self, message_id: int) -> None:
        self.message_id = message_id
        super().__init__(f"recommendation message {message_id} is already stored")


class InvalidGuildSettingError(StoreError, ValueError):
    """A guild setting is out of range or of the wrong type."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{name} must be {expected}, got {value!r}")


# -- the database file itself ---------------------------------------------------------


class StorageError(StoreError):
    """The database file cannot be used as it is: someone has to act (or wait).

    ``str(error)`` is one line for the operator: the file, the problem, what SQLite
    or the OS said, and what to do. Subclasses say which problem; :func:`classify`
    picks one from a ``sqlite3``/``aiosqlite`` or ``OSError`` exception.
    """

    #: What is wrong with the file, as in "database X {problem}".
    problem: ClassVar[str] = "cannot be used"
    #: What the operator must do about it.
    action: ClassVar[str] = "see the bot's log"
    #: Whether waiting and trying again can help (another process holds a lock, a
    #: timeout) rather than only an operator's fix; see :mod:`bot.store.busy`.
    transient: ClassVar[bool] = False

    def __init__(self, path: str | Path, detail: str) -> None:
        self.path = str(path)
        self.detail = detail
        super().__init__(f"database {self.path} {self.problem} ({detail}): {self.action}")


class DatabaseCorruptError(StorageError):
    """Not a SQLite file, or a damaged page (SQLITE_CORRUPT, SQLITE_NOTADB)."""

    problem = "is corrupt"
    action = (
        "stop the bot and restore the file from a backup (docs/operator-guide.md, Backups), "
        "or move it away so the bot starts with an empty database"
    )


class DatabaseReadOnlyError(StorageError):
    """The file, its directory or the filesystem cannot be written (SQLITE_READONLY)."""

    problem = "is read-only"
    action = (
        "give the bot's user write access to the file, to its directory and to any -wal "
        "and -shm files next to it, and check the disk is not mounted read-only"
    )


class DatabaseFullError(StorageError):
    """The disk (or a size limit) is full (SQLITE_FULL)."""

    problem = "cannot grow, the disk is full"
    action = "free space on that disk (or move the database to a larger one)"


class DatabaseLockedError(StorageError):
    """Another process holds the file's write lock past the busy timeout (SQLITE_BUSY)."""

    problem = "is locked by another process"
    transient = True
    action = (
        "stop the other program using it (a second copy of the bot, or a sqlite3 shell "
        "with an open transaction), then try again"
    )


class DatabaseUnavailableError(StorageError):
    """The file cannot be opened or read at all (SQLITE_CANTOPEN, SQLITE_IOERR, ...)."""

    problem = "cannot be opened"
    action = "check that the path names a file on a mounted, healthy disk that the bot can reach"


# Primary result codes (the low byte of an extended code), from sqlite3.h.
_BY_SQLITE_CODE: dict[int, type[StorageError]] = {
    3: DatabaseUnavailableError,  # SQLITE_PERM
    5: DatabaseLockedError,  # SQLITE_BUSY
    6: DatabaseLockedError,  # SQLITE_LOCKED
    8: DatabaseReadOnlyError,  # SQLITE_READONLY
    10: DatabaseUnavailableError,  # SQLITE_IOERR
    11: DatabaseCorruptError,  # SQLITE_CORRUPT
    13: DatabaseFullError,  # SQLITE_FULL
    14: DatabaseUnavailableError,  # SQLITE_CANTOPEN
    26: DatabaseCorruptError,  # SQLITE_NOTADB
}
_BY_ERRNO: dict[int, type[StorageError]] = {
    errno.EACCES: DatabaseReadOnlyError,
    errno.EPERM: DatabaseReadOnlyError,
    errno.EROFS: DatabaseReadOnlyError,
    errno.ENOSPC: DatabaseFullError,
    errno.EDQUOT: DatabaseFullError,
}


def classify(error: BaseException, path: str | Path) -> StorageError | None:
    """The :class:`StorageError` that ``error`` means for the file at ``path``, if any.

    ``None`` for anything that is not about the file (a constraint violated, a bug in
    a statement): those stay as they are.
    """
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        kind = _BY_SQLITE_CODE.get(code & 0xFF) if isinstance(code, int) else None
        if kind is None:
            return None
        name = getattr(error, "sqlite_errorname", "")
        return kind(path, f"SQLite: {error}" + (f" [{name}]" if name else ""))
    if isinstance(error, OSError):
        kind = _BY_ERRNO.get(error.errno or 0, DatabaseUnavailableError)
        where = f": {error.filename}" if error.filename else ""
        return kind(path, f"{error.strerror or error}{where}")
    return None


@contextmanager
def storage_errors(path: str | Path) -> Iterator[None]:
    """Re-raise what :func:`classify` recognises as its :class:`StorageError`."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        storage = classify(error, path)
        if storage is None:
            raise
        raise storage from error
