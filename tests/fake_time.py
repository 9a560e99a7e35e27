"""A clock for tests of code that waits: it moves only when that code sleeps."""

from __future__ import annotations


class FakeTime:
    """Pass the object as the clock (``clock=time``) and ``time.sleep`` as the sleep.

    Every sleep is recorded in :attr:`sleeps` and returns at once, the clock advanced
    by it; a test moves the clock itself by adding to :attr:`now`.
    """

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
