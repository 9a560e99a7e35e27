"""Which store backend the running end-to-end test uses (set by tests/e2e/conftest.py).

``running_world`` reads :func:`database_url`: ``None`` runs the bot on the world's
SQLite file, a URL runs it on that (fresh) PostgreSQL database.
"""

from __future__ import annotations

_url: str | None = None


def database_url() -> str | None:
    """The PostgreSQL URL of the running test, or ``None`` for SQLite."""
    return _url


def use(url: str | None) -> None:
    """Set the backend of the test about to run (``None``: SQLite)."""
    global _url
    _url = url
