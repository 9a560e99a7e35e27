"""Request counters: per client, and per job (an ingest) through a context variable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class RequestStats:
    """How many HTTP requests were sent, retried and answered 429."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


_job_stats: ContextVar[RequestStats | None] = ContextVar("recommender_job_stats", default=None)


@contextlib.contextmanager
def counting_requests() -> Iterator[RequestStats]:
    """Count the requests made inside the block (including tasks it starts).

    Tasks copy the context when they are created, so the same counter object is
    shared by every task a job spawns, and concurrent jobs do not mix counts.
    """
    stats = RequestStats()
    token = _job_stats.set(stats)
    try:
        yield stats
    finally:
        _job_stats.reset(token)


def _targets(process: RequestStats) -> tuple[RequestStats, ...]:
    job = _job_stats.get()
    return (process, job) if job is not None else (process,)


def record_start(process: RequestStats) -> None:
    """A request is about to be sent."""
    for stats in _targets(process):
        stats.requests += 1
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)


def record_end(process: RequestStats) -> None:
    """A request finished (whatever the outcome)."""
    for stats in _targets(process):
        stats.in_flight -= 1


def record_retry(process: RequestStats, *, rate_limited: bool = False) -> None:
    """A request is being retried (after a 429, a 5xx or a timeout)."""
    for stats in _targets(process):
        stats.retries += 1
        if rate_limited:
            stats.rate_limited += 1


def record_rate_limited(process: RequestStats) -> None:
    """A 429 that is not retried."""
    for stats in _targets(process):
        stats.rate_limited += 1
