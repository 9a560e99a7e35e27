"""A client-side limiter for a server's rolling rate-limit window that recovers.

Spotify counts an app's requests in a rolling 30-second window and publishes no
number; since 2026 that budget is shared by every app of a developer account, so
a 429 now and then says nothing about this process. The limiter therefore tells
*pressure* from *noise* before it slows down, and speeds up again when pressure
passes (additive increase, multiplicative decrease):

1. **Retry-After is always honoured** for the refused request: the transport does
   not send it again before the server said so.
2. **A lone 429 is a suspicion, not a limit.** Until it is settled, at most one
   new request (a *probe*) is in flight. A request sent after the 429 arrived and
   answered normally clears the suspicion: the 429 was noise and nothing changes.
3. **Pressure is confirmed** when ``STRIKES`` 429s arrive within the first one's
   ``Retry-After`` (a full window refuses everything until it drains, so the
   requests already in flight and the probe are refused too). Then every request
   waits out the ``Retry-After`` (a global pause) and the limiter caps the
   requests per window at ``DECREASE`` times what it had sent in the window
   when the server refused (*multiplicative decrease*).
4. **The cap grows back** by ``INCREASE`` times that observed count for every
   window that passes without confirmed pressure (*additive increase*), and is
   lifted altogether at ``LIFT`` times the observed count: a limit that went
   away costs nothing after a few minutes.

Under a sustained rolling limit this settles into a sawtooth just below the
server's limit: each probe above it costs one burst of 429s (the requests in
flight), which is a few percent of the requests of a cycle. The decision logic
(:meth:`RollingWindowLimiter.delay`, :meth:`record_send`, :meth:`finished`,
:meth:`on_rate_limited`) is synchronous and reads an injectable clock, so it is
tested deterministically; :meth:`acquire` is the async wrapper the transport uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Cap after confirmed pressure, as a fraction of the requests sent in the window
# when the server refused: below it, with room for other apps sharing the budget.
DECREASE = 0.8
# Added back per quiet window, as a fraction of that same count (the additive step).
INCREASE = 0.1
# At this multiple of the count the cap is removed: the pressure has gone.
LIFT = 2.0
# 429s within one Retry-After that confirm pressure (the first one included).
STRIKES = 3
# A cap below this cannot be a real rolling limit worth pacing to.
MIN_LIMIT = 10
# Extra wait past the moment a request leaves the window, as a fraction of the
# window: the server's clock and ours differ by the network's latency.
MARGIN = 0.01


@dataclass(frozen=True)
class _Cut:
    """A multiplicative decrease: when, from which observed count, to which cap."""

    at: float
    observed: int
    cap: float


class RollingWindowLimiter:
    """Paces requests to at most ``limit`` per ``window`` seconds once pressure is seen.

    ``limit`` is ``None`` while no pressure has been confirmed (or after it was
    lifted). ``clock`` and ``sleep`` can be replaced for tests.
    """

    def __init__(
        self,
        window: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._cut: _Cut | None = None
        # The open suspicion: when the first 429 arrived, until when it speaks, and
        # how many 429s (strikes) and unanswered probes it has.
        self._suspect_at: float | None = None
        self._suspect_until = 0.0
        self._strikes = 0
        self._probes = 0
        self._observed = 0  # our sends in the window before the first refused one
        self.confirmed = 0  # pressure episodes (decreases), for logs and tests
        self.dismissed = 0  # lone 429s that turned out to be noise
        self._lock: asyncio.Lock | None = None
        self._answered: asyncio.Event | None = None

    # -- the decision logic (synchronous, clock-driven) ---------------------------

    @property
    def limit(self) -> int | None:
        """The current cap in requests per window, or ``None`` when there is none."""
        cap = self._cap(self._clock())
        return None if cap is None else math.floor(cap)

    def _cap(self, now: float) -> float | None:
        cut = self._cut
        if cut is None:
            return None
        quiet_windows = int(max(0.0, now - cut.at) // self.window)
        cap = cut.cap + quiet_windows * max(1.0, INCREASE * cut.observed)
        if cap >= LIFT * cut.observed:
            return None
        return cap

    @property
    def suspicious(self) -> bool:
        """True while a lone 429 is being checked (one probe at a time)."""
        return self._suspect_at is not None

    def delay(self, now: float | None = None) -> float | None:
        """Seconds to wait before a request may go; ``0.0`` now; ``None`` until an answer.

        ``None`` means a probe is out while a 429 is being checked: the next
        answer (:meth:`finished`) decides.
        """
        now = self._clock() if now is None else now
        if now < self._paused_until:
            return self._paused_until - now
        if self._suspect_at is not None:
            if now >= self._suspect_until + self.window:
                self._clear_suspicion()  # stale: nobody answered within a window
            elif self._probes > 0:
                return None
        cap = self._cap(now)
        if cap is not None:
            horizon = now - self.window
            while self._sent and self._sent[0] <= horizon:
                self._sent.popleft()
            if len(self._sent) >= max(1, math.floor(cap)):
                # Wait for the oldest request to leave the window (the server's too).
                return max(0.0, self._sent[0] + self.window * (1 + MARGIN) - now)
        return 0.0

    def record_send(self, now: float | None = None) -> float:
        """A request leaves now (after :meth:`delay` said 0); return its send time."""
        now = self._clock() if now is None else now
        self._sent.append(now)
        # Without a cap only the last window is ever counted: keep the deque short.
        horizon = now - self.window
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
        if self._suspect_at is not None and now >= self._suspect_at:
            self._probes += 1
        return now

    def finished(self, sent_at: float, *, answered: bool) -> None:
        """The request sent at ``sent_at`` is over; ``answered`` when not a 429 or a failure.

        Called exactly once per :meth:`record_send`, whatever happened (a 429
        also calls :meth:`on_rate_limited`).
        """
        if self._suspect_at is not None and sent_at >= self._suspect_at:
            self._probes = max(0, self._probes - 1)
            if answered:
                # Sent after the 429 and let through: the window was not full.
                self.dismissed += 1
                self._clear_suspicion()
        if self._answered is not None:
            self._answered.set()

    def on_rate_limited(self, retry_after: float, sent_at: float) -> None:
        """A 429 with ``retry_after`` answered the request sent at ``sent_at``."""
        now = self._clock()
        if self._cut is not None and sent_at < self._cut.at:
            # In flight before the last decrease: part of that episode, not a new one.
            self._paused_until = max(self._paused_until, now + retry_after)
            return
        if self._suspect_at is None or now >= self._suspect_until:
            self._suspect_at = now
            self._suspect_until = now + retry_after
            self._strikes = 1
            self._probes = 0
            # What the server had seen from us when it refused (counted now, while
            # the window still holds those sends).
            self._observed = sum(1 for t in self._sent if sent_at - self.window < t < sent_at)
            return
        self._strikes += 1
        self._suspect_until = max(self._suspect_until, now + retry_after)
        if self._strikes >= STRIKES:
            self._decrease(now)

    def _decrease(self, now: float) -> None:
        """Confirmed pressure: pause for the Retry-After and cut the cap."""
        self._paused_until = max(self._paused_until, self._suspect_until)
        observed = self._observed
        current = self._cap(now)
        base = observed if current is None else min(current, observed)
        cap = max(float(MIN_LIMIT), DECREASE * base)
        self._cut = _Cut(at=now, observed=max(observed, MIN_LIMIT), cap=cap)
        self.confirmed += 1
        self._clear_suspicion()

    def _clear_suspicion(self) -> None:
        self._suspect_at = None
        self._strikes = 0
        self._probes = 0

    # -- the async wrapper -----------------------------------------------------------

    async def acquire(self) -> float:
        """Wait until a request may be sent; return its send time.

        Waiters are served in order (FIFO), so a pause or a cap holds back every
        request not yet on the wire.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
            self._answered = asyncio.Event()
        assert self._answered is not None
        async with self._lock:
            while True:
                wait = self.delay()
                if wait == 0.0:
                    return self.record_send()
                self._answered.clear()
                if wait is None:
                    # A probe is out: its answer (or staleness after a window) decides.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.window):
                            await self._answered.wait()
                else:
                    await asyncio.sleep(wait)
