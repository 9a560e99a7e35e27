"""What members and admins hear when the bot's database fails under a command.

The operator reads the full story in the log (:mod:`bot.store.errors`); a member
can do nothing about it but wait, and an admin can tell the operator what is wrong.
"""

from __future__ import annotations

from bot.store.errors import (
    DatabaseCorruptError,
    DatabaseFullError,
    DatabaseLockedError,
    DatabaseReadOnlyError,
    StorageError,
)

MEMBER_REPLY = "I can't load this server's music right now, try again shortly."
ADMIN_REPLIES: dict[type[StorageError], str] = {
    DatabaseFullError: "The bot's disk is full, so nothing can be saved; tell the bot's operator.",
    DatabaseReadOnlyError: (
        "The bot's database is read-only, so nothing can be saved; tell the bot's operator."
    ),
    DatabaseCorruptError: (
        "The bot's database is damaged; tell the bot's operator (the details are in its log)."
    ),
    DatabaseLockedError: (
        "The bot's database is locked by another program; try again shortly, and tell the "
        "bot's operator if it keeps happening."
    ),
}
ADMIN_FALLBACK = "The bot can't reach its database; tell the bot's operator."


def storage_reply(error: StorageError, *, admin: bool) -> str:
    """The one line to show: what to do for an admin, "try again shortly" for a member."""
    if not admin:
        return MEMBER_REPLY
    return next(
        (text for kind, text in ADMIN_REPLIES.items() if isinstance(error, kind)),
        ADMIN_FALLBACK,
    )
