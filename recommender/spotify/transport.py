"""One JSON-over-HTTP service (Spotify, its accounts service, ReccoBeats) with retries.

The transport owns what is common to every call: bounded concurrency, the rolling
window limiter, ``Retry-After`` up to a cap, a circuit after quota exhaustion, and
backoff with jitter on 5xx and timeouts. It knows nothing of tokens or of what a
403 means for a given endpoint: callers interpret non-retryable answers.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict

from recommender.spotify.errors import QuotaExceeded, RateLimited, SpotifyUnavailable
from recommender.spotify.limiter import RollingWindowLimiter
from recommender.spotify.stats import (
    RequestStats,
    record_end,
    record_rate_limited,
    record_retry,
    record_start,
)

_loads: Callable[[bytes], Any]
try:  # optional: a playlist of 10,000 tracks is ~20 MB of JSON, and orjson parses it ~4x faster
    from orjson import loads as _orjson_loads

    _loads = _orjson_loads
except ImportError:  # pragma: no cover - the standard library is the fallback
    _loads = json.loads

log = logging.getLogger(__name__)

# A Retry-After this long is a quota, not a burst: stop and degrade instead of waiting.
LONG_RETRY_AFTER = 60.0
# 429s retried for one request before giving up (the limiter should make this rare).
MAX_RATE_LIMIT_RETRIES = 8
MAX_BACKOFF = 10.0
DEFAULT_RETRY_AFTER = 1.0

# No answer of these services comes near this (a 100-track page is ~0.5 MB); a bigger
# one is a broken or hostile server, refused before it fills the memory.
MAX_BODY_BYTES = 32 << 20


@dataclass(frozen=True)
class Response:
    """A finished HTTP exchange: status, headers and the decoded JSON body (or None)."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error_field(self, name: str) -> str | None:
        """A field of a Web API error body ``{"error": {"status", "message", "reason"}}``."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            value = error.get(name)
            return str(value) if value is not None else None
        return None


def parse_retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, when.timestamp() - time.time())


class Transport:
    """Send requests to one service through shared limits; retry what is retryable."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        service: str,
        max_concurrency: int = 16,
        timeout: float = 15.0,
        max_retry_after: float = 5.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        rate_window: float = 30.0,
        stats: RequestStats | None = None,
    ) -> None:
        self.session = session
        self.service = service
        self.max_retry_after = max_retry_after
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.stats = stats if stats is not None else RequestStats()
        self.limiter = RollingWindowLimiter(rate_window)
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._circuit_until = 0.0
        self._circuit_quota = False

    def patience(self, override: float | None) -> float:
        """The longest ``Retry-After`` a request sleeps through: ``override`` (a long,
        deferred job such as an ingest passes its own), else ``max_retry_after``."""
        return self.max_retry_after if override is None else override

    def _check_circuit(self) -> None:
        remaining = self._circuit_until - time.monotonic()
        if remaining > 0:
            if self._circuit_quota:
                raise QuotaExceeded(remaining, self.service)
            raise RateLimited(remaining, self.service)

    def _open_circuit(self, seconds: float, *, quota: bool) -> None:
        already_open = self._circuit_until > time.monotonic()
        self._circuit_until = max(self._circuit_until, time.monotonic() + seconds)
        self._circuit_quota = self._circuit_quota or quota
        if already_open:
            return  # requests in flight when it opened; logged once is enough
        log.warning(
            "%s: %s; no requests for %.0f s",
            self.service,
            "quota exhausted" if quota else "long rate limit",
            seconds,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        patience: float | None = None,
    ) -> Response:
        """Send one request, retrying 429 (within patience), 5xx and timeouts.

        ``patience``: the longest ``Retry-After`` to sleep through for this request
        (``None``: the transport's ``max_retry_after``, the short interactive cap).

        Returns the final response for any other status, for the caller to
        interpret. Raises :class:`RateLimited`, :class:`QuotaExceeded` or
        :class:`SpotifyUnavailable` when retrying is pointless or exhausted.
        """
        failures = 0
        rate_limited = 0
        while True:
            self._check_circuit()
            response, failure, sent_at = await self._send(method, url, params, headers, data)
            if response is not None and response.status == 429:
                rate_limited += 1
                wait = self._on_429(response, sent_at, rate_limited, self.patience(patience))
                record_retry(self.stats, rate_limited=True)
                # This request is not sent again before the server said so; whether the
                # others wait too is the limiter's call (pressure or a lone 429).
                await asyncio.sleep(wait)
                continue
            if response is not None and response.status < 500:
                return response
            failures += 1
            detail = failure or f"HTTP {response.status if response else '?'}"
            if failures >= self.max_attempts:
                raise SpotifyUnavailable(f"{detail} after {failures} attempts", self.service)
            delay = self._backoff(failures, response, self.patience(patience))
            log.info("%s: %s on %s %s; retry in %.2f s", self.service, detail, method, url, delay)
            record_retry(self.stats)
            await asyncio.sleep(delay)

    def _on_429(self, response: Response, sent_at: float, count: int, patience: float) -> float:
        """Decide what a 429 means: the seconds to wait before retrying, or raise."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if response.error_field("reason") == "QUOTA_EXCEEDED":
            record_rate_limited(self.stats)
            self._open_circuit(retry_after, quota=True)
            raise QuotaExceeded(retry_after, self.service)
        if retry_after > patience or count > MAX_RATE_LIMIT_RETRIES:
            record_rate_limited(self.stats)
            if retry_after > LONG_RETRY_AFTER:
                self._open_circuit(retry_after, quota=False)
            raise RateLimited(retry_after, self.service)
        confirmed = self.limiter.confirmed
        self.limiter.on_rate_limited(retry_after, sent_at)
        if self.limiter.confirmed > confirmed:
            log.info(
                "%s: rate limited; pausing %.1f s, then at most %s requests per %.0f s",
                self.service,
                retry_after,
                self.limiter.limit,
                self.limiter.window,
            )
        else:
            log.debug("%s: 429, retrying this request in %.1f s", self.service, retry_after)
        return retry_after

    def _backoff(self, failures: int, response: Response | None, patience: float) -> float:
        if response is not None and "Retry-After" in response.headers:
            hinted = parse_retry_after(response.headers.get("Retry-After"))
            if hinted <= patience:
                return hinted
        # Jitter spreads the retries of concurrent requests so they do not collide again.
        base = min(MAX_BACKOFF, self.backoff_base * 2 ** (failures - 1))
        return base * random.uniform(0.5, 1.0)

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> tuple[Response | None, str | None, float]:
        # The concurrency slot is taken before the rate permission, so a pause learned
        # from a 429 also holds back every request not yet on the wire.
        async with self._semaphore:
            sent_at = await self.limiter.acquire()
            status: int | None = None
            try:
                self._check_circuit()
                record_start(self.stats)
                try:
                    async with self.session.request(
                        method,
                        url,
                        params=params,
                        headers=headers,
                        data=data,
                        timeout=self._timeout,
                        # A redirect could carry the bearer token to another host.
                        allow_redirects=False,
                    ) as raw:
                        payload = await _read_bounded(raw)
                        if payload is None:
                            return None, f"an answer over {MAX_BODY_BYTES >> 20} MB", sent_at
                        status = raw.status
                        response_headers = CIMultiDict(raw.headers)
                except TimeoutError:
                    return None, "timeout", sent_at
                except aiohttp.ClientError as error:
                    return None, type(error).__name__, sent_at
                finally:
                    record_end(self.stats)
            finally:
                # Exactly once per acquire, even when cancelled (an ingest's deadline).
                self.limiter.finished(sent_at, answered=status is not None and status != 429)
        try:
            body = _loads(payload) if payload else None
        except ValueError:  # orjson.JSONDecodeError subclasses it too
            body = None
        log.debug("%s %s -> %s", method, url, status)
        return Response(status, body, response_headers), None, sent_at


async def _read_bounded(raw: aiohttp.ClientResponse) -> bytes | None:
    """The body, or ``None`` when it is larger than :data:`MAX_BODY_BYTES`."""
    length = raw.content_length
    if length is not None and length > MAX_BODY_BYTES:
        return None
    if length is not None and "Content-Encoding" not in raw.headers:
        return await raw.read()  # the fast path; compressed bodies are counted unpacked
    chunks: list[bytes] = []
    size = 0
    async for chunk in raw.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
