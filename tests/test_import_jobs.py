"""Import jobs: a step is cancelled by the admin who started the job (no one else),
stopped by the deadline, and a job ended or unknown says so."""

from __future__ import annotations

import asyncio

import pytest

from bot.services.import_jobs import (
    CancelAnswer,
    ImportJobs,
    JobCancelled,
    JobInterrupted,
    JobTimedOut,
)

GUILD, ADMIN, OTHER = 1, 10, 11


async def test_the_admin_who_started_a_job_cancels_its_running_step() -> None:
    jobs = ImportJobs()
    job = jobs.start(GUILD, ADMIN, deadline=None)
    started, unwound = asyncio.Event(), asyncio.Event()

    async def reading() -> str:
        started.set()
        try:
            await asyncio.Event().wait()  # a fetch that never ends by itself
        finally:
            unwound.set()
        return "never"

    step = asyncio.create_task(job.step(reading()))
    await started.wait()
    assert jobs.cancel(job.id, GUILD, OTHER) is CancelAnswer.NOT_YOURS
    assert not step.done()
    assert jobs.cancel(job.id, GUILD, ADMIN) is CancelAnswer.CANCELLING
    with pytest.raises(JobCancelled) as stopped:
        await step
    assert stopped.value.user_id == ADMIN and f"<@{ADMIN}>" in str(stopped.value)
    assert unwound.is_set()  # the step had unwound when the job heard of it


async def test_a_cancel_between_steps_stops_the_next_one_and_saving_is_too_late() -> None:
    jobs = ImportJobs()
    job = jobs.start(GUILD, ADMIN, deadline=None)
    assert await job.step(asyncio.sleep(0, result="read")) == "read"
    # Between steps (the job is saving what it read): too late for that, but the
    # job does not start another step.
    assert jobs.cancel(job.id, GUILD, ADMIN) is CancelAnswer.TOO_LATE
    started = False

    async def next_playlist() -> None:
        nonlocal started
        started = True

    with pytest.raises(JobCancelled):
        await job.step(next_playlist())
    assert not started


async def test_a_step_past_the_deadline_is_stopped() -> None:
    job = ImportJobs().start(GUILD, ADMIN, deadline=0.05)
    with pytest.raises(JobTimedOut) as stopped:
        await job.step(asyncio.Event().wait())
    assert "INGEST_DEADLINE" in str(stopped.value)


async def test_a_step_error_passes_through() -> None:
    job = ImportJobs().start(GUILD, ADMIN, deadline=10.0)

    async def failing() -> None:
        raise ValueError("not a playlist")

    with pytest.raises(ValueError, match="not a playlist"):
        await job.step(failing())


async def test_a_finished_or_foreign_job_is_unknown() -> None:
    jobs = ImportJobs()
    job = jobs.start(GUILD, ADMIN, deadline=None)
    assert jobs.cancel(job.id, GUILD + 1, ADMIN) is CancelAnswer.UNKNOWN  # another guild
    jobs.finish(job)
    assert jobs.cancel(job.id, GUILD, ADMIN) is CancelAnswer.UNKNOWN
    assert jobs.cancel("0" * 16, GUILD, ADMIN) is CancelAnswer.UNKNOWN
    assert len(jobs) == 0


async def test_shutdown_interrupts_every_running_job() -> None:
    jobs = ImportJobs()
    first, second = (jobs.start(GUILD, ADMIN, deadline=None) for _ in range(2))
    steps = [asyncio.create_task(job.step(asyncio.Event().wait())) for job in (first, second)]
    await asyncio.sleep(0)
    jobs.interrupt_all()
    for step in steps:
        with pytest.raises(JobInterrupted):
            await step
