"""Discord's sharding rules, as the fake gateway enforces them on IDENTIFY.

From Discord's gateway docs (``events/gateway.mdx``, "Sharding", "Identifying",
"Session Start Limit Object"; close codes in ``topics/opcodes-and-status-codes.mdx``):

- a guild belongs to shard ``(guild_id >> 22) % num_shards``; events without a
  guild (DMs) go to shard 0;
- IDENTIFY's ``shard`` is ``[shard_id, num_shards]``; an invalid one (or, for a
  bot under large-bot sharding, a count that is not a multiple of the assigned
  number) closes the connection with **4010** Invalid shard;
- a session that would hold more than 2,500 guilds closes with **4011** Sharding
  required;
- at most ``max_concurrency`` IDENTIFYs per 5 seconds, one per rate-limit key
  ``shard_id % max_concurrency``; a faster one is answered with **Invalid Session
  (op 9)**, not a close code ("If your app exceeds this limit, Discord will
  respond with a Invalid Session (opcode 9) event");
- ``session_start_limit`` (1,000 IDENTIFYs a day for most bots) counts down with
  every session started; past it Discord terminates the sessions and resets the
  token (the fake closes with **4004** Authentication failed and accepts the old
  token no more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import new_id

#: Seconds of one IDENTIFY rate-limit window.
IDENTIFY_WINDOW = 5.0
#: Guilds one session may hold before Discord requires sharding.
MAX_GUILDS_PER_SHARD = 2500
#: The daily session start budget of most bots, and its window (24 h).
SESSION_START_TOTAL = 1000
SESSION_START_RESET = 24 * 3600.0

# Gateway close codes.
AUTHENTICATION_FAILED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011

_SNOWFLAKE_LOW_BITS = 22


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's sharding formula)."""
    return (guild_id >> _SNOWFLAKE_LOW_BITS) % shard_count


def new_id_on_shard(shard_id: int, shard_count: int) -> int:
    """A fresh snowflake whose guild would live on ``shard_id`` of ``shard_count``.

    The fake hands out consecutive ids, which all share one timestamp and hence one
    shard; this moves the timestamp part forward to the wanted shard, keeping the
    low bits (unique among the fake's ids) so two calls never collide.
    """
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"shard {shard_id} is not one of {shard_count} shards")
    fresh = new_id()
    timestamp = fresh >> _SNOWFLAKE_LOW_BITS
    timestamp += (shard_id - timestamp) % shard_count
    low = fresh & ((1 << _SNOWFLAKE_LOW_BITS) - 1)
    return (timestamp << _SNOWFLAKE_LOW_BITS) | low


def parse_shard(value: Any) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as ``(shard_id, shard_count)``, ``None`` if Discord refuses it.

    Absent means one shard, ``(0, 1)``.
    """
    if value is None:
        return (0, 1)
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    shard_id, shard_count = value
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (shard_id, shard_count)):
        return None
    if shard_count < 1 or not 0 <= shard_id < shard_count:
        return None
    return (shard_id, shard_count)


@dataclass
class SessionStartLimit:
    """``GET /gateway/bot``'s ``session_start_limit``, counting down on the fake's clock.

    ``reset_after`` is in seconds here (Discord sends milliseconds); ``remaining``
    starts at ``total`` unless given.
    """

    total: int = SESSION_START_TOTAL
    remaining: int | None = None
    reset_after: float = SESSION_START_RESET
    max_concurrency: int = 1
    _reset_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency is at least 1")
        if self.remaining is None:
            self.remaining = self.total

    def _refresh(self, now: float) -> None:
        if self._reset_at is None:
            self._reset_at = now + self.reset_after
        elif now >= self._reset_at:
            self.remaining = self.total
            self._reset_at = now + SESSION_START_RESET

    def payload(self, now: float) -> dict[str, int]:
        """The JSON object Discord returns (``reset_after`` in milliseconds)."""
        self._refresh(now)
        assert self._reset_at is not None and self.remaining is not None
        return {
            "total": self.total,
            "remaining": self.remaining,
            "reset_after": max(0, round((self._reset_at - now) * 1000)),
            "max_concurrency": self.max_concurrency,
        }

    def take(self, now: float) -> bool:
        """Count one session start; ``False`` when the budget is spent."""
        self._refresh(now)
        assert self.remaining is not None
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class IdentifyRefusal:
    """An IDENTIFY the fake refused, and how Discord answers it.

    ``close_code`` for a closed connection (4004, 4010, 4011), ``None`` for an
    Invalid Session (op 9, too fast for ``max_concurrency``).
    """

    shard: Any
    close_code: int | None
    reason: str
    at: float


@dataclass
class IdentifyGate:
    """Decides whether an IDENTIFY may start a session, by Discord's rules above."""

    clock: Callable[[], float]
    limit: SessionStartLimit = field(default_factory=SessionStartLimit)
    max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD
    #: Large-bot sharding: the shard count must be a multiple of this (else 4010).
    shard_multiple: int = 1
    window: float = IDENTIFY_WINDOW
    #: Every refusal, in order.
    refusals: list[IdentifyRefusal] = field(default_factory=list)
    #: Rate-limit key -> when its last accepted IDENTIFY arrived (the fake's clock).
    _last: dict[int, float] = field(default_factory=dict)

    def judge(
        self, raw_shard: Any, guilds_on: Callable[[tuple[int, int]], int]
    ) -> tuple[tuple[int, int] | None, IdentifyRefusal | None]:
        """``(shard, None)`` for an accepted IDENTIFY, ``(None, refusal)`` otherwise.

        ``guilds_on(shard)`` counts the guilds the session would hold. An accepted
        IDENTIFY takes its rate-limit slot and one session start.
        """
        now = self.clock()
        shard = parse_shard(raw_shard)
        if shard is None:
            return None, self._refuse(raw_shard, INVALID_SHARD, "Invalid shard.", now)
        shard_id, shard_count = shard
        if shard_count % self.shard_multiple:
            reason = f"Invalid shard: the shard count must be a multiple of {self.shard_multiple}."
            return None, self._refuse(raw_shard, INVALID_SHARD, reason, now)
        if guilds_on(shard) > self.max_guilds_per_shard:
            return None, self._refuse(raw_shard, SHARDING_REQUIRED, "Sharding required.", now)
        key = shard_id % self.limit.max_concurrency
        last = self._last.get(key)
        if last is not None and now - last < self.window:
            reason = f"IDENTIFY for rate-limit key {key} within {self.window:g} s of the last one"
            return None, self._refuse(raw_shard, None, reason, now)
        if not self.limit.take(now):
            reason = "Session start limit reached: the token was reset."
            return None, self._refuse(raw_shard, AUTHENTICATION_FAILED, reason, now)
        self._last[key] = now
        return shard, None

    def _refuse(
        self, raw_shard: Any, close_code: int | None, reason: str, now: float
    ) -> IdentifyRefusal:
        refusal = IdentifyRefusal(raw_shard, close_code, reason, now)
        self.refusals.append(refusal)
        return refusal
