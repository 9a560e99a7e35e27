"""Long imports as jobs: a deadline, a cancel by the admin who started them, a registry.

An import (``/setplaylist``, ``/refreshplaylists``) runs in *steps*: reading a
playlist or a file is a cancellable step bounded by the import's deadline
(:meth:`ImportJob.step`); saving what was read is not, because the store swaps a
source in as a whole and a half-cancelled save would gain nothing (the store
leaves the previous tracks in place until the swap either way). A cancel or an
expired deadline therefore always leaves the playlist's previous tracks intact.

Nothing here knows Discord: the cog shows the job's progress and its summary
(:mod:`bot.render.job_message`) and turns a button press into :meth:`ImportJobs.cancel`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class JobStopped(Exception):
    """A job ended before its work was done; ``str()`` says so in words for the admin."""


class JobCancelled(JobStopped):
    """The admin who started the job cancelled it."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"Cancelled by <@{user_id}>.")
        self.user_id = user_id


class JobTimedOut(JobStopped):
    """The job ran past its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"Stopped after {seconds:.0f} s, the longest an import may take here "
            "(the operator's INGEST_DEADLINE setting). Try again later."
        )
        self.seconds = seconds


class JobInterrupted(JobStopped):
    """The bot is shutting down."""

    def __init__(self) -> None:
        super().__init__("The bot is restarting, so the import stopped. Run it again shortly.")


class CancelAnswer(enum.Enum):
    """What pressing Cancel did."""

    CANCELLING = "cancelling"  # the running step stops; the job ends with a summary
    TOO_LATE = "too late"  # the job is saving what it read (or has finished)
    NOT_YOURS = "not yours"  # only the admin who started it may cancel it
    UNKNOWN = "unknown"  # no such job (finished long ago, or the bot restarted)


@dataclass
class ImportJob:
    """One running import of one guild, started by one member."""

    id: str
    guild_id: int
    started_by: int
    deadline: float | None
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _deadline_at: float | None = field(default=None, repr=False)
    _step: asyncio.Future[Any] | None = field(default=None, repr=False)
    _stop: JobStopped | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.deadline is not None:
            self._deadline_at = self._loop.time() + self.deadline

    async def step(self, work: Awaitable[T]) -> T:
        """Run one cancellable step within the job's deadline and return its result.

        Raises :class:`JobCancelled` if the admin cancelled the job (now, or before
        this step began) and :class:`JobTimedOut` past the deadline; the step's own
        exceptions pass through. The step is cancelled and has unwound when this
        raises.
        """
        future: asyncio.Future[T] = asyncio.ensure_future(work)
        if self._stop is not None:
            future.cancel()
            await asyncio.wait({future})
            raise self._stop
        self._step = future
        try:
            remaining = None
            if self._deadline_at is not None:
                remaining = max(0.0, self._deadline_at - self._loop.time())
            done, _ = await asyncio.wait({future}, timeout=remaining)
        finally:
            self._step = None
            if not future.done():
                future.cancel()
                # Let it unwind (e.g. the store discarding a half-staged write).
                await asyncio.wait({future})
        if self._stop is not None and (future.cancelled() or not done):
            raise self._stop
        if not done:
            assert self.deadline is not None
            raise JobTimedOut(self.deadline)
        return future.result()

    def cancel(self, user_id: int) -> CancelAnswer:
        """``user_id`` pressed Cancel: stop the running step if they started the job."""
        if user_id != self.started_by:
            return CancelAnswer.NOT_YOURS
        return (
            CancelAnswer.CANCELLING
            if self._interrupt(JobCancelled(user_id))
            else CancelAnswer.TOO_LATE
        )

    def _interrupt(self, why: JobStopped) -> bool:
        """Stop the running step (if any) and every later one; whether one was running."""
        self._stop = self._stop or why
        if self._step is None:
            return False
        self._step.cancel()
        return True


class ImportJobs:
    """The running imports, by id (the id travels in the Cancel button)."""

    def __init__(self) -> None:
        self._jobs: dict[str, ImportJob] = {}

    def start(self, guild_id: int, user_id: int, deadline: float | None) -> ImportJob:
        """Register a new job; :meth:`finish` it when it ends, whatever happened."""
        job = ImportJob(
            id=secrets.token_hex(8),
            guild_id=guild_id,
            started_by=user_id,
            deadline=deadline,
            _loop=asyncio.get_running_loop(),
        )
        self._jobs[job.id] = job
        return job

    def finish(self, job: ImportJob) -> None:
        """Forget the job: its Cancel button answers "already finished" from now on."""
        self._jobs.pop(job.id, None)

    def cancel(self, job_id: str, guild_id: int | None, user_id: int) -> CancelAnswer:
        """A Cancel press on job ``job_id`` in ``guild_id`` by ``user_id``."""
        job = self._jobs.get(job_id)
        if job is None or job.guild_id != guild_id:
            return CancelAnswer.UNKNOWN
        answer = job.cancel(user_id)
        if answer is not CancelAnswer.NOT_YOURS:
            log.info("guild %s: import %s cancelled by %s (%s)", guild_id, job_id, user_id, answer)
        return answer

    def interrupt_all(self) -> None:
        """Stop every job's running step (the bot is shutting down)."""
        for job in self._jobs.values():
            job._interrupt(JobInterrupted())

    def __len__(self) -> int:
        return len(self._jobs)
