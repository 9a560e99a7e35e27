"""A client-side limiter for a server's rolling rate-limit window.

Spotify counts an app's requests in a rolling 30-second window and publishes no
number. The limiter sends freely until the first 429, then remembers how many
requests it had sent in the window at that moment, keeps a margin below it, and
from then on never sends more than that in any window. A long ingest thus waits
for the window instead of provoking 429 after 429.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Stay this fraction below the count that provoked a 429: the server's clock and
# ours differ by network latency, and other processes may share the app's budget.
SAFETY = 0.9
# Fewer requests than this in the window cannot have exhausted a rolling limit: such a
# 429 comes from elsewhere (another process sharing the app, a throttle), so only the
# pause is honoured and no limit is learned from it.
MIN_LEARNED = 10


class RollingWindowLimiter:
    """Paces requests to at most ``limit`` per ``window`` seconds, once a limit is known."""

    def __init__(
        self,
        window: float = 30.0,
        limit: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.limit = limit
        self._clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._learned_at: float | None = None
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait until a request may be sent; return its send time."""
        async with self._lock:  # FIFO: waiters are served in order
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                horizon = now - self.window
                while self._sent and self._sent[0] <= horizon:
                    self._sent.popleft()
                if self.limit is not None and len(self._sent) >= self.limit:
                    # A small margin so the server has forgotten the request too.
                    await asyncio.sleep(self._sent[0] + self.window - now + 0.01 * self.window)
                    continue
                self._sent.append(now)
                return now

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a server's ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def on_rate_limited(self, retry_after: float, sent_at: float) -> None:
        """Learn from a 429 answered to a request sent at ``sent_at``."""
        self.pause(retry_after)
        if self._learned_at is not None and sent_at < self._learned_at:
            return  # in flight before we learned; says nothing about the new limit
        now = self._clock()
        # What the server had seen when it refused: our sends in the window before this one.
        observed = sum(1 for t in self._sent if sent_at - self.window < t < sent_at)
        if observed < MIN_LEARNED:
            return
        current = self.limit if self.limit is not None else observed
        self.limit = max(MIN_LEARNED, int(min(current, observed) * SAFETY))
        self._learned_at = now
