"""The rate limiter, deterministically: an injected clock and a simulated server, no sleeping.

The properties issue 11 asks for: Retry-After honoured, sparse 429s do not
collapse throughput, a sustained rolling limit ends with fewer than 5% of
requests refused, and the rate recovers when the pressure passes.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

import pytest

from recommender.spotify.limiter import (
    DECREASE,
    INCREASE,
    LIFT,
    MIN_LIMIT,
    STRIKES,
    RollingWindowLimiter,
)


class Clock:
    """Time that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter_at(window: float = 30.0) -> tuple[RollingWindowLimiter, Clock]:
    clock = Clock()
    return RollingWindowLimiter(window, clock=clock), clock


def send(limiter: RollingWindowLimiter, clock: Clock, count: int, spacing: float = 0.01) -> list:
    """``count`` requests, each sent when the limiter allows it; their send times."""
    times = []
    for _ in range(count):
        assert limiter.delay() == 0.0
        times.append(limiter.record_send())
        clock.now += spacing
    return times


def confirm_pressure(
    limiter: RollingWindowLimiter, clock: Clock, sent: list[float], retry_after: float = 2.0
) -> None:
    """The last ``STRIKES`` requests come back 429 (a full window refuses everything)."""
    for sent_at in sent[-STRIKES:]:
        limiter.finished(sent_at, answered=False)
        limiter.on_rate_limited(retry_after, sent_at)


# -- the rules, one at a time -------------------------------------------------------------


def test_without_429s_nothing_is_held_back() -> None:
    limiter, clock = limiter_at()
    send(limiter, clock, 5_000, spacing=0.0001)
    assert limiter.limit is None and limiter.delay() == 0.0


def test_a_lone_429_is_checked_with_one_probe_and_then_forgotten() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, 50)
    limiter.finished(sent[-1], answered=False)
    limiter.on_rate_limited(1.0, sent[-1])

    assert limiter.suspicious
    probe = send(limiter, clock, 1)[0]  # one probe may go at once...
    assert limiter.delay() is None  # ...and nothing else until it is answered
    limiter.finished(probe, answered=True)

    assert not limiter.suspicious and limiter.dismissed == 1
    assert limiter.limit is None and limiter.delay() == 0.0  # no pause, no cap


def test_answers_to_requests_sent_before_the_429_do_not_clear_the_suspicion() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, 10)
    limiter.finished(sent[5], answered=False)
    limiter.on_rate_limited(1.0, sent[5])
    limiter.finished(sent[6], answered=True)  # was on the wire before the 429 came back
    assert limiter.suspicious


def test_confirmed_pressure_pauses_for_retry_after_and_cuts_the_cap() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, 100)
    confirm_pressure(limiter, clock, sent, retry_after=2.0)

    assert limiter.confirmed == 1
    observed = 100 - STRIKES  # sends in the window before the first refused one
    assert limiter.limit == int(DECREASE * observed)
    wait = limiter.delay()
    assert wait is not None and wait == pytest.approx(2.0)  # Retry-After, for everybody
    clock.now += 2.0
    # Still capped: the window holds 100 sends, the cap is lower, so wait for them to age.
    wait = limiter.delay()
    assert wait is not None and wait > 0


def test_the_cap_grows_back_each_quiet_window_and_is_lifted() -> None:
    limiter, clock = limiter_at(window=30.0)
    sent = send(limiter, clock, 100)
    confirm_pressure(limiter, clock, sent)
    observed = 100 - STRIKES
    caps = []
    for _ in range(20):
        caps.append(limiter.limit)
        clock.now += 30.0
    step = INCREASE * observed
    expected_windows = int((LIFT - DECREASE) * observed // step) + 1
    grown = [c for c in caps if c is not None]
    assert grown == [int(DECREASE * observed + n * step) for n in range(len(grown))]
    assert len(grown) <= expected_windows and caps[-1] is None  # additive, then lifted


def test_late_429s_from_before_the_decrease_do_not_cut_again() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, 100)
    in_flight = sent[-10:-STRIKES]
    confirm_pressure(limiter, clock, sent)
    cap = limiter.limit
    for sent_at in in_flight:
        limiter.finished(sent_at, answered=False)
        limiter.on_rate_limited(2.0, sent_at)
    assert limiter.confirmed == 1 and limiter.limit == cap


def test_a_tiny_observed_count_never_caps_below_the_floor() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, STRIKES)
    confirm_pressure(limiter, clock, sent)
    assert limiter.limit == MIN_LIMIT


def test_every_send_is_matched_by_finished_so_no_probe_is_lost() -> None:
    limiter, clock = limiter_at()
    sent = send(limiter, clock, 20)
    limiter.finished(sent[-1], answered=False)
    limiter.on_rate_limited(1.0, sent[-1])
    probe = send(limiter, clock, 1)[0]
    limiter.finished(probe, answered=False)  # a timeout, or cancelled by a deadline
    assert limiter.delay() == 0.0  # the next probe may go


# -- whole runs against a simulated server ---------------------------------------------------


@dataclass
class Server:
    """Spotify's rolling window as the fake enforces it, plus optional sparse 429s."""

    window: float = 30.0
    limit: int | None = None
    limit_until: float = float("inf")
    noise_every: int | None = None
    noise_retry_after: float = 1.0
    seen: int = 0
    times: deque[float] = field(default_factory=deque)

    def answer(self, now: float) -> float | None:
        """``None`` for a normal answer, else the 429's Retry-After."""
        self.seen += 1
        self.times.append(now)
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if self.limit is not None and now < self.limit_until and len(self.times) > self.limit:
            excess = len(self.times) - self.limit
            return max(0.0, self.times[excess - 1] + self.window - now)
        if self.noise_every and self.seen % self.noise_every == 0:
            return self.noise_retry_after
        return None


@dataclass
class Run:
    elapsed: float
    sent: int
    refused: int
    finished_at: list[float]

    @property
    def refused_share(self) -> float:
        return self.refused / self.sent


def simulate(
    server: Server,
    requests: int,
    *,
    concurrency: int = 8,
    rtt: float = 0.02,
    window: float = 30.0,
    limiter: RollingWindowLimiter | None = None,
    clock: Clock | None = None,
) -> Run:
    """Send ``requests`` through ``concurrency`` slots, as the transport does, in simulated time.

    A refused request gives its slot back, sleeps its Retry-After and queues again.
    """
    if limiter is None or clock is None:
        limiter, clock = limiter_at(window)
    start = clock.now
    order = itertools.count()
    events: list[tuple[float, int, str, float]] = []  # (time, order, kind, sent_at)
    queue: deque[int] = deque(range(requests))  # requests waiting for a slot
    free = concurrency
    sent = refused = 0
    finished_at: list[float] = []
    parked = False  # someone waits for an answer (a probe is out)

    def try_send() -> None:
        nonlocal free, sent, parked
        while free and queue:
            wait = limiter.delay()
            if wait is None:
                parked = True
                return
            if wait > 0:
                heapq.heappush(events, (clock.now + wait, next(order), "wake", 0.0))
                return
            queue.popleft()
            free -= 1
            sent += 1
            sent_at = limiter.record_send()
            status = server.answer(clock.now)
            kind = "ok" if status is None else f"429:{status}"
            heapq.heappush(events, (clock.now + rtt, next(order), kind, sent_at))

    try_send()
    while events:
        clock.now, _, kind, sent_at = heapq.heappop(events)
        if kind == "ok":
            limiter.finished(sent_at, answered=True)
            free += 1
            finished_at.append(clock.now - start)
        elif kind.startswith("429:"):
            refused += 1
            retry_after = float(kind[4:])
            limiter.finished(sent_at, answered=False)
            limiter.on_rate_limited(retry_after, sent_at)
            free += 1
            heapq.heappush(events, (clock.now + retry_after, next(order), "requeue", 0.0))
        elif kind == "requeue":
            queue.append(-1)
        parked = False
        try_send()
        assert not (queue and not events and not parked), "stuck"
    return Run(clock.now - start, sent, refused, finished_at)


def test_sparse_429s_do_not_collapse_throughput() -> None:
    """1 request in 50 refused with Retry-After 1 s (the issue's case): within 2x of clean."""
    clean = simulate(Server(), 3_000)
    limiter, clock = limiter_at()
    noisy = simulate(Server(noise_every=50), 3_000, limiter=limiter, clock=clock)

    assert noisy.refused == noisy.sent // 50
    assert limiter.confirmed == 0 and limiter.limit is None  # noise taught it nothing
    assert noisy.elapsed < 2 * clean.elapsed
    # Pacing, not the last refused request's 1 s, is what must not degrade: 90% of the
    # work is done in (nearly) the clean time.
    assert noisy.finished_at[int(0.9 * 3_000)] < 1.2 * clean.elapsed


@pytest.mark.parametrize("limit", [60, 180, 600])
def test_a_sustained_rolling_limit_ends_with_under_5_percent_refused(limit: int) -> None:
    windows = 20
    limiter, clock = limiter_at()
    run = simulate(Server(limit=limit), limit * windows, limiter=limiter, clock=clock)

    assert run.refused_share < 0.05
    # And it uses the budget: at least 80% of the server's limit over the run.
    assert run.elapsed < windows * 30.0 / 0.8


def test_the_rate_recovers_when_the_pressure_passes() -> None:
    limiter, clock = limiter_at()
    server = Server(limit=100, limit_until=clock.now + 300.0)  # pressure for 5 minutes
    simulate(server, 1_000, limiter=limiter, clock=clock)
    assert limiter.confirmed >= 1 and limiter.limit is not None

    clock.now = max(clock.now, server.limit_until)
    windows = 0
    while limiter.limit is not None:  # an idle client's cap grows back too
        clock.now += 30.0
        windows += 1
    assert windows <= (LIFT - DECREASE) / INCREASE + 1

    clean = simulate(Server(), 2_000)
    after = simulate(server, 2_000, limiter=limiter, clock=clock)
    assert after.refused == 0
    assert after.elapsed == pytest.approx(clean.elapsed)  # back to full speed
