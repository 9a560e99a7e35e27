"""Progress reports of a running ingest, for a progress bar or a Discord reply."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """One step of an ingest.

    ``stage`` is ``"playlist"`` (reading items), ``"features:<source>"`` or
    ``"popularity:<source>"`` (asking one provider), or ``"done"``; ``done`` of
    ``total`` counts entries or tracks within that stage.
    """

    stage: str
    done: int
    total: int

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
