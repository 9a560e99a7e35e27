"""Errors a member or admin should read: short, actionable, never a traceback."""

from __future__ import annotations


class UserFacingError(Exception):
    """A problem to show to the person who asked, as an ephemeral message.

    The message must be safe to show (no secrets, no internals) and say what to do
    next.
    """
