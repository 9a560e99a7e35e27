"""Progress of a running ingest: one event type from the Spotify client to a progress bar
or the bot's progress message.

The playlist reader, every provider and the ingest itself report the same
:class:`IngestProgress` to the same kind of callback (:data:`ProgressCallback`);
what stage it is is a :class:`Stage`, and which provider is asked is a field of
its own, so a display never parses a string.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class Stage(StrEnum):
    """What an ingest is doing."""

    PLAYLIST = "playlist"
    """Reading the playlist's items (``done`` of ``total`` entries)."""
    FEATURES = "features"
    """Asking one provider (``source``) for audio features (ids done of ids asked)."""
    POPULARITY = "popularity"
    """Asking one provider (``source``) for popularity."""
    SOURCE = "source"
    """Working through several playlists (``done`` of ``total``; ``source``: its name)."""
    DONE = "done"
    """Finished (``done`` == ``total`` tracks)."""


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """One step of an ingest: ``done`` of ``total`` within ``stage``.

    ``source`` names what the stage is about where that varies: the provider for
    :attr:`Stage.FEATURES` and :attr:`Stage.POPULARITY` (as recorded in a track's
    ``feature_source``), the playlist for :attr:`Stage.SOURCE`; else ``None``.
    """

    stage: Stage
    done: int
    total: int
    source: str | None = None

    @property
    def fraction(self) -> float:
        """Completion of the stage on [0, 1]."""
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)


ProgressCallback = Callable[[IngestProgress], Awaitable[None] | None]
"""Sync or async; awaited inline, so it should return quickly (or schedule work)."""


async def notify(callback: ProgressCallback | None, progress: IngestProgress) -> None:
    """Report progress; a failing callback is logged and never fails the ingest."""
    if callback is None:
        return
    try:
        result = callback(progress)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a progress display must not break the work it displays
        log.exception("progress callback failed at %s", progress.stage)


class BatchProgress:
    """Counts the ids of one provider lookup as its batches finish, reporting each step.

    Batches may finish in any order (they run concurrently); ``done`` never
    exceeds ``total``.
    """

    def __init__(
        self, callback: ProgressCallback | None, stage: Stage, source: str, total: int
    ) -> None:
        """Report to ``callback`` (``None``: count silently)."""
        self._callback = callback
        self._stage = stage
        self._source = source
        self._total = total
        self.done = 0

    async def add(self, count: int) -> None:
        """``count`` more ids have been looked up."""
        self.done = min(self._total, self.done + count)
        await notify(
            self._callback, IngestProgress(self._stage, self.done, self._total, self._source)
        )
