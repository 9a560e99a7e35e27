"""Typed errors raised by the store, each with a message an operator can act on."""

from __future__ import annotations

from pathlib import Path


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


class SourceNotFoundError(StoreError, LookupError):
    """A guild has no playlist source with the given key."""

    def __init__(self, guild_id: int, key: str) -> None:
        self.guild_id = guild_id
        self.key = key
        super().__init__(f"guild {guild_id} has no playlist source {key!r}")


class UnknownTrackError(StoreError):
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


class InvalidSettingError(StoreError, ValueError):
    """A guild setting is out of range or of the wrong type."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{name} must be {expected}, got {value!r}")
