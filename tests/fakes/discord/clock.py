"""The fake Discord's sense of time: real time that a test can move forward.

Deadlines that are seconds long (the 3-second acknowledgement, rate-limit
windows) run on real time, because discord.py paces itself in real time.
Deadlines that are minutes long (the 15-minute interaction token) are tested by
jumping ahead with :meth:`FakeClock.advance` instead of waiting.
"""

from __future__ import annotations

import time


class FakeClock:
    """``time.monotonic()`` plus every jump a test asked for.

    Until :meth:`advance` is called it reads exactly like ``time.monotonic()``, so
    its readings can be compared with the monotonic times a test takes itself.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def __call__(self) -> float:
        """Seconds on the fake's clock (monotonic, never goes back)."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (e.g. ``15 * 60`` to expire tokens)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def wall(self, at: float) -> float:
        """The Unix time (``time.time()`` scale) of the clock reading ``at``."""
        return time.time() + (at - self())
