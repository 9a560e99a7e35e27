"""Discord's rate limits: per-route buckets, the global limit, and injected 429s.

Every REST answer carries Discord's headers (``X-RateLimit-Limit``,
``-Remaining``, ``-Reset``, ``-Reset-After``, ``-Bucket``); discord.py reads them
and waits before a bucket runs dry, so a well-behaved client never sees a 429.
A request past a bucket gets Discord's 429: the same headers plus ``Retry-After``,
``X-RateLimit-Scope``, ``Via`` (without it discord.py assumes a Cloudflare ban)
and the body ``{"message": "You are being rate limited.", "retry_after": s,
"global": false}``.

Discord does not publish its bucket sizes; the ones here are what it announces
in practice (https://discord.com/developers/docs/topics/rate-limits explains the
headers, not the sizes): adding a reaction 1 per 0.25 s per channel
(discord-api-docs#2560: twenty reactions take ~5 s), interaction followups and
edits 5 per 2 s per interaction token (discord-api-docs#2701), channel messages
5 per 5 s per channel, and 50 requests per second for the whole bot, from which
interaction callbacks and interaction webhooks are exempt.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .models import RecordedRequest

_REACTIONS = "/channels/{channel_id}/messages/{message_id}/reactions"
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "interaction_id", "token")


@dataclass(frozen=True)
class RouteLimit:
    """One route's bucket: ``limit`` requests per ``per`` seconds, per major parameter."""

    name: str
    limit: int
    per: float

    @property
    def bucket(self) -> str:
        """The opaque ``X-RateLimit-Bucket`` hash Discord would send for it."""
        return hashlib.sha1(self.name.encode()).hexdigest()[:32]


#: (method, route template as the fake registers it) -> its bucket. Routes not listed
#: get :data:`DEFAULT_LIMIT` (one bucket per route and major parameter).
ROUTE_LIMITS: dict[tuple[str, str], RouteLimit] = {
    ("PUT", _REACTIONS + "/{emoji}/@me"): RouteLimit("reaction-add", 1, 0.25),
    ("DELETE", _REACTIONS + "/{emoji}/{user_id}"): RouteLimit("reaction-remove", 1, 0.25),
    ("POST", "/channels/{channel_id}/messages"): RouteLimit("message-create", 5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): RouteLimit("message-edit", 5, 5.0),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}"): RouteLimit(
        "message-delete", 5, 5.0
    ),
    ("POST", "/interactions/{interaction_id}/{token}/callback"): RouteLimit(
        "interaction-callback", 5, 1.0
    ),
}
# One bucket per interaction token for its followups and edits, as discord.py's
# webhook adapter keeps one lock per token.
_WEBHOOK_LIMIT = RouteLimit("interaction-webhook", 5, 2.0)
for _method in ("POST", "GET", "PATCH", "DELETE"):
    ROUTE_LIMITS[(_method, "/webhooks/{app_id}/{token}")] = _WEBHOOK_LIMIT
    ROUTE_LIMITS[(_method, "/webhooks/{app_id}/{token}/messages/{message_id}")] = _WEBHOOK_LIMIT
#: Every other route: generous enough never to slow a test, but announced in headers.
DEFAULT_LIMIT = RouteLimit("default", 10, 1.0)
#: Requests per second for the whole bot (interaction endpoints excluded).
GLOBAL_LIMIT = 50


@dataclass
class RateLimitRule:
    """Answer the next ``remaining`` matching requests with a 429 (``FakeDiscord.rate_limit``)."""

    remaining: int
    method: str | None
    path: str | None
    retry_after: float
    is_global: bool
    scope: str
    hits: list[RecordedRequest] = field(default_factory=list)


@dataclass
class Verdict:
    """What the limiter says about one request: headers to send, and whether to refuse."""

    headers: dict[str, str]
    #: Seconds to wait when refused (429), else ``None``.
    retry_after: float | None = None
    is_global: bool = False

    @property
    def limited(self) -> bool:
        return self.retry_after is not None

    @property
    def body(self) -> dict[str, object]:
        """Discord's 429 body (``code`` 0 as the OpenAPI ``RatelimitedResponse`` requires)."""
        return {
            "message": "You are being rate limited.",
            "retry_after": self.retry_after,
            "global": self.is_global,
            "code": 0,
        }


@dataclass
class _Window:
    """A fixed window: ``used`` requests since it opened; it closes at ``reset_at``."""

    reset_at: float = 0.0
    used: int = 0

    def roll(self, now: float, per: float) -> None:
        if now >= self.reset_at:
            self.reset_at, self.used = now + per, 0


class RateLimiter:
    """Buckets per route and major parameter, the global limit, and injected 429s.

    ``clock`` is the fake's clock; ``wall`` turns one of its readings into Unix
    time for ``X-RateLimit-Reset``. ``buckets=False`` turns the per-route and
    global limits off (injected rules still apply); ``global_limit=None`` only the
    global one.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        wall: Callable[[float], float],
        *,
        buckets: bool = True,
        global_limit: int | None = GLOBAL_LIMIT,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.buckets = buckets
        self.global_limit = global_limit
        self.rules: list[RateLimitRule] = []
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global = _Window()

    def inject(self, rule: RateLimitRule) -> RateLimitRule:
        """Add a rule answering its next matching requests with a 429."""
        self.rules.append(rule)
        return rule

    def take(
        self, record: RecordedRequest, template: str | None, params: Mapping[str, str]
    ) -> Verdict:
        """Count ``record`` against its buckets; the verdict says whether it may pass."""
        now = self.clock()
        route = self._route(record.method, template)
        window = self._window(route, template, params)
        window.roll(now, route.per)
        rule = self._take_rule(record)
        if rule is not None:
            return self._refusal(route, rule.retry_after, now, is_global=rule.is_global)
        if not self.buckets:
            return Verdict({})
        if window.used >= route.limit:
            return self._refusal(route, window.reset_at - now, now, is_global=False)
        if self._counts_globally(template):
            self._global.roll(now, 1.0)
            if self.global_limit is not None and self._global.used >= self.global_limit:
                return self._refusal(route, self._global.reset_at - now, now, is_global=True)
            self._global.used += 1
        window.used += 1
        return Verdict(self._headers(route, window, now))

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _route(method: str, template: str | None) -> RouteLimit:
        if template is None:
            return DEFAULT_LIMIT
        return ROUTE_LIMITS.get((method, template)) or RouteLimit(
            f"{method} {template}", DEFAULT_LIMIT.limit, DEFAULT_LIMIT.per
        )

    def _window(
        self, route: RouteLimit, template: str | None, params: Mapping[str, str]
    ) -> _Window:
        major = "+".join(params[name] for name in _MAJOR_PARAMETERS if name in params)
        return self._windows.setdefault((route.bucket, major or str(template)), _Window())

    @staticmethod
    def _counts_globally(template: str | None) -> bool:
        # Interaction callbacks and interaction webhooks are not bound by the global limit.
        return template is not None and not template.startswith(("/interactions/", "/webhooks/"))

    def _take_rule(self, record: RecordedRequest) -> RateLimitRule | None:
        for rule in self.rules:
            if (
                rule.remaining > 0
                and (rule.method is None or rule.method == record.method)
                and (rule.path is None or fnmatch.fnmatchcase(record.path, rule.path))
            ):
                rule.remaining -= 1
                rule.hits.append(record)
                return rule
        return None

    def _headers(self, route: RouteLimit, window: _Window, now: float) -> dict[str, str]:
        reset_after = max(0.0, window.reset_at - now)
        return {
            "X-RateLimit-Limit": str(route.limit),
            "X-RateLimit-Remaining": str(max(0, route.limit - window.used)),
            "X-RateLimit-Reset": f"{self.wall(window.reset_at):.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": route.bucket,
        }

    def _refusal(
        self, route: RouteLimit, retry_after: float, now: float, *, is_global: bool
    ) -> Verdict:
        retry_after = max(retry_after, 0.001)
        headers = {
            "X-RateLimit-Limit": str(route.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{self.wall(now + retry_after):.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": route.bucket,
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            # Without Via discord.py takes a 429 for a Cloudflare ban and raises.
            "Via": "1.1 google",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        return Verdict(headers, retry_after=round(retry_after, 3), is_global=is_global)
