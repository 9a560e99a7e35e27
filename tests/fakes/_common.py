"""What both fakes share: fault injection, a request log, and starting on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Faults:
    """Misbehaviour to inject into every API request (not into token requests).

    ``rate_limit_every``: every Nth request answers 429 with ``Retry-After: retry_after``.
    ``quota_after``: after that many requests every request answers the July-2026
    ``QUOTA_EXCEEDED`` 429 with ``Retry-After: quota_retry_after``.
    ``error_every`` / ``fail_first``: every Nth / the first N requests answer
    ``error_status``. ``rolling_limit`` per ``rolling_window`` seconds: the
    documented rolling window (every request counts, rejected ones too).
    ``whole_seconds``: round ``Retry-After`` up to whole seconds as Spotify does;
    tests switch it off to wait tenths of a second instead.
    """

    latency: float = 0.0
    rate_limit_every: int | None = None
    retry_after: float = 1.0
    quota_after: int | None = None
    quota_retry_after: float = 48925.0
    error_every: int | None = None
    fail_first: int = 0
    error_status: int = 503
    rolling_limit: int | None = None
    rolling_window: float = 30.0
    whole_seconds: bool = True


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake answered (authorization values are never kept)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    token_kind: str | None = None  # "client", "user" or None (no/unknown token)
    at: float = 0.0


@dataclass
class RequestLog:
    """Requests seen by a fake, and the most that were in flight at once."""

    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0

    def count(self, path_contains: str = "", status: int | None = None) -> int:
        """How many requests had ``path_contains`` in their path (and ``status``)."""
        return sum(
            1
            for r in self.requests
            if path_contains in r.path and (status is None or r.status == status)
        )

    def paths(self) -> list[str]:
        """Request paths in arrival order."""
        return [r.path for r in self.requests]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.requests.clear()
        self.peak_in_flight = self.in_flight


def json_error(status: int, message: str | None, **extra: object) -> web.Response:
    """A Web API error body ``{"error": {"status", "message", ...}}``."""
    error: dict[str, object] = {"status": status}
    if message is not None:
        error["message"] = message
    error.update(extra)
    return web.json_response({"error": error}, status=status)


def _retry_after(seconds: float, whole: bool) -> str:
    if whole:
        return str(max(0, math.ceil(seconds)))
    return f"{max(0.0, seconds):.2f}"


class FaultInjector:
    """Decides, request by request, whether to answer with an injected fault."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self.clock = clock
        self.seen = 0
        self._window: deque[float] = deque()

    def check(self) -> web.Response | None:
        """An injected error response for this request, or None to answer normally."""
        f = self.faults
        self.seen += 1
        n = self.seen
        now = self.clock()
        self._window.append(now)
        while self._window and self._window[0] <= now - f.rolling_window:
            self._window.popleft()
        if f.quota_after is not None and n > f.quota_after:
            response = json_error(429, "Too many requests", reason="QUOTA_EXCEEDED")
            response.headers["Retry-After"] = _retry_after(f.quota_retry_after, True)
            return response
        if f.rolling_limit is not None and len(self._window) > f.rolling_limit:
            # Free again once enough of the window's requests have aged out.
            excess = len(self._window) - f.rolling_limit
            wait = self._window[excess - 1] + f.rolling_window - now
            response = json_error(429, "API rate limit exceeded")
            response.headers["Retry-After"] = _retry_after(wait, f.whole_seconds)
            return response
        if f.rate_limit_every and n % f.rate_limit_every == 0:
            response = json_error(429, "API rate limit exceeded")
            response.headers["Retry-After"] = _retry_after(f.retry_after, f.whole_seconds)
            return response
        if n <= f.fail_first or (f.error_every and n % f.error_every == 0):
            return json_error(f.error_status, "Service unavailable")
        return None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def logging_middleware(
    log: RequestLog,
    faults: Callable[[], FaultInjector],
    applies: Callable[[web.Request], bool],
    token_kind: Callable[[web.Request], str | None] = lambda request: None,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Middleware: latency, fault injection and recording for requests ``applies`` to."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        log.in_flight += 1
        log.peak_in_flight = max(log.peak_in_flight, log.in_flight)
        response: web.StreamResponse | None = None
        status = 500
        try:
            injector = faults()
            if applies(request):
                if injector.faults.latency:
                    await asyncio.sleep(injector.faults.latency)
                response = injector.check()
            if response is None:
                try:
                    response = await handler(request)
                except web.HTTPException as error:
                    status = error.status
                    raise
            status = response.status
            return response
        finally:
            log.in_flight -= 1
            log.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    dict(request.query),
                    status,
                    token_kind(request),
                    time.monotonic(),
                )
            )

    return middleware


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 at a free port; yield ``http://127.0.0.1:PORT``."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
