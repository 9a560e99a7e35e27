"""Retention: old recommendation messages and unused cached tracks are deleted.

Two settings say how long (``RECOMMENDATION_RETENTION_DAYS``,
``TRACK_CACHE_RETENTION_DAYS``; 0 keeps forever). Messages go first, so a track
that only an expired message named is free to go in the same run. Ratings are
never pruned: they name their message only so that reactions made while the bot
was down can be reconciled, and a rating outlives its message.

The job runs in ``python -m bot run`` only (``MusicBot.background_jobs``), every
:data:`RETENTION_INTERVAL`; processes sharing one database (PostgreSQL) run it once
per interval between them (:meth:`~bot.store.interface.Store.claim_job`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.settings import BotSettings
from bot.store.errors import StorageError
from bot.store.interface import Store
from bot.store.rows import utcnow

log = logging.getLogger(__name__)

RETENTION_JOB = "retention"
RETENTION_INTERVAL = dt.timedelta(hours=24)
PRUNE_BATCH = 5000
"""Rows per delete: each is a short transaction, so reactions and saves of other
guilds interleave instead of waiting behind one long delete."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long things are kept, in days (0: forever)."""

    recommendation_days: int
    track_cache_days: int

    def __post_init__(self) -> None:
        if self.recommendation_days < 0 or self.track_cache_days < 0:
            raise ValueError("retention days must not be negative (0 keeps forever)")

    @classmethod
    def from_settings(cls, settings: BotSettings) -> RetentionPolicy:
        """``RECOMMENDATION_RETENTION_DAYS`` and ``TRACK_CACHE_RETENTION_DAYS``."""
        return cls(settings.recommendation_retention_days, settings.track_cache_retention_days)


@dataclass(frozen=True)
class Pruned:
    """What one run deleted."""

    messages: int = 0
    tracks: int = 0


async def prune(
    store: Store,
    policy: RetentionPolicy,
    *,
    now: dt.datetime | None = None,
    batch: int = PRUNE_BATCH,
) -> Pruned:
    """Delete what the policy no longer keeps, in every guild, ``batch`` rows per
    transaction; return how much."""
    now = now if now is not None else utcnow()
    messages = tracks = 0
    if policy.recommendation_days:
        cutoff = now - dt.timedelta(days=policy.recommendation_days)
        messages = await _in_batches(
            lambda: store.prune_recommendations(created_before=cutoff, limit=batch), batch
        )
    if policy.track_cache_days:
        cutoff = now - dt.timedelta(days=policy.track_cache_days)
        tracks = await _in_batches(
            lambda: store.prune_tracks(fetched_before=cutoff, limit=batch), batch
        )
    return Pruned(messages=messages, tracks=tracks)


async def _in_batches(delete: Callable[[], Awaitable[int]], batch: int) -> int:
    """Call ``delete`` until it deletes fewer than ``batch`` rows; return the total."""
    total = 0
    while True:
        deleted = await delete()
        total += deleted
        if deleted < batch:
            return total


async def run_retention(
    store: Store, policy: RetentionPolicy, *, now: dt.datetime | None = None
) -> Pruned | None:
    """One scheduled run: :func:`prune` if this process claims this interval's run,
    else ``None`` (another process sharing the database has it)."""
    # A little under the interval, so the process that ran it last can run it again
    # on its next tick (as the purge of departed guilds does).
    if not await store.claim_job(RETENTION_JOB, RETENTION_INTERVAL * 0.9, now=now):
        return None
    pruned = await prune(store, policy, now=now)
    if pruned.messages or pruned.tracks:
        log.info(
            "retention: deleted %d old recommendation messages and %d unused cached tracks",
            pruned.messages,
            pruned.tracks,
        )
    return pruned


async def run_retention_periodically(store: Store, policy: RetentionPolicy) -> None:
    """:func:`run_retention` now and every :data:`RETENTION_INTERVAL`, until cancelled
    (a failed run is logged and tried again at the next interval)."""
    while True:
        try:
            await run_retention(store, policy)
        except StorageError as error:  # classified: the file and what to do, one line
            log.error("retention: pruning old data failed: %s", error)
        except Exception:
            log.exception("retention: pruning old data failed")
        await asyncio.sleep(RETENTION_INTERVAL.total_seconds())
