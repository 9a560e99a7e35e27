"""Which shards this process runs, and how fast it may start them.

Discord routes a guild's events to shard ``(guild_id >> 22) % shard_count``
(https://discord.com/developers/docs/events/gateway#sharding). A cluster is
several processes, each running some shard ids of the same count (``SHARD_COUNT``
and ``SHARD_IDS``, or ``python -m bot run --shard-count N --shards a-b``); a process
only ever hears about the guilds of its own shards, so it only loads and serves
those.

Starting a shard (IDENTIFY) is limited by Discord to ``max_concurrency`` per 5
seconds, one per rate-limit key ``shard_id % max_concurrency``, and to a daily
budget (``session_start_limit``), both reported by ``GET /gateway/bot``.
discord.py 2.7 reads neither: it waits 5 s before every IDENTIFY but its first.
:class:`IdentifyPacer` keeps to the real rule instead (shards in different keys
start together; in a cluster on PostgreSQL, across processes through
:class:`IdentifySlots`), and :func:`check_session_budget` refuses to start shards
the daily budget cannot pay for (going over makes Discord reset the bot token).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: Seconds of Discord's IDENTIFY rate-limit window.
IDENTIFY_WINDOW = 5.0
#: Seconds added to the window between two IDENTIFYs on one key, in one process as in a
#: cluster: Discord times them as they arrive, and one that arrives late (a busy loop,
#: the network) brings the next one closer. Without it, 4 of 14 IDENTIFYs of a busy
#: 10-shard start were refused (docs/benchmarks.md, "Cluster").
IDENTIFY_MARGIN = 0.5
#: The largest shard count accepted from settings (Discord's biggest bots run a few thousand).
MAX_SHARD_COUNT = 65_536

_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class ShardSettingError(ValueError):
    """A shard count or shard id list that cannot be run; the message says why."""


class SessionBudgetError(RuntimeError):
    """Discord's daily session starts cannot pay for the shards this process would start."""


class ShardsTakenError(RuntimeError):
    """Another process sharing the database runs some of these shards, or runs another
    shard count; the message says which and what to change."""


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's sharding formula)."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0-3"``, ``"4"`` or ``"0-1,6,8-9"`` as sorted shard ids.

    Raises :class:`ShardSettingError` for anything else: empty parts, a range that
    runs backwards, an id listed twice, a range larger than :data:`MAX_SHARD_COUNT`.
    """
    ids: list[int] = []
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if match is None:
            raise ShardSettingError(
                f"{part.strip()!r} is not a shard id or a range such as 0-3 (ids from 0)"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ShardSettingError(f"the range {first}-{last} runs backwards")
        if last >= MAX_SHARD_COUNT:
            raise ShardSettingError(f"shard id {last} is beyond {MAX_SHARD_COUNT - 1}")
        ids.extend(range(first, last + 1))
    if len(set(ids)) != len(ids):
        raise ShardSettingError("a shard id is listed twice")
    return tuple(sorted(ids))


def format_shard_ids(ids: Sequence[int]) -> str:
    """The shortest ``"0-3,6"`` form of sorted shard ids."""
    runs: list[str] = []
    start = previous = None
    for shard_id in sorted(ids):
        if previous is not None and shard_id == previous + 1:
            previous = shard_id
            continue
        if start is not None:
            runs.append(f"{start}" if start == previous else f"{start}-{previous}")
        start = previous = shard_id
    if start is not None:
        runs.append(f"{start}" if start == previous else f"{start}-{previous}")
    return ",".join(runs)


@dataclass(frozen=True)
class ShardLayout:
    """The shards of this process.

    ``shard_count`` ``None``: Discord's recommended count (``GET /gateway/bot``),
    every shard in this process. ``shard_ids`` ``None``: every shard of the count.
    """

    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.shard_count is not None and not 1 <= self.shard_count <= MAX_SHARD_COUNT:
            raise ShardSettingError(f"the shard count must be 1 to {MAX_SHARD_COUNT}")
        if self.shard_ids is None:
            return
        if self.shard_count is None:
            raise ShardSettingError("shard ids need a shard count (SHARD_COUNT / --shard-count)")
        if not self.shard_ids:
            raise ShardSettingError("the list of shard ids is empty")
        beyond = [i for i in self.shard_ids if i >= self.shard_count]
        if beyond:
            raise ShardSettingError(
                f"shard id {beyond[0]} does not exist with {self.shard_count} shards "
                f"(ids 0 to {self.shard_count - 1})"
            )

    @classmethod
    def parse(cls, shard_count: int | None, shard_ids: str | None) -> ShardLayout:
        """From the settings' or the command line's values (``shard_ids`` as ``"0-3"``)."""
        ids = parse_shard_ids(shard_ids) if shard_ids is not None else None
        return cls(shard_count, ids)

    @property
    def is_cluster_member(self) -> bool:
        """Whether other processes run some of the shards (this one has a subset)."""
        return (
            self.shard_count is not None
            and self.shard_ids is not None
            and len(self.shard_ids) < self.shard_count
        )

    def owns(self, guild_id: int, shard_count: int | None = None) -> bool:
        """Whether this process receives the guild's events.

        ``shard_count``: the count in use when the layout left it to Discord.
        """
        if self.shard_ids is None:
            return True
        count = self.shard_count or shard_count
        assert count is not None  # __post_init__: ids come with a count
        return shard_of(guild_id, count) in self.shard_ids

    def guild_filter(self) -> tuple[int, tuple[int, ...]] | None:
        """``(shard_count, shard_ids)`` when only some guilds are this layout's (for a
        query's ``(guild_id >> 22) % shard_count IN shard_ids``), ``None`` for all."""
        if self.shard_count is None or self.shard_ids is None:
            return None
        return self.shard_count, self.shard_ids

    def describe(self) -> str:
        """For ``check`` and the start-up log line."""
        if self.shard_count is None:
            return "all shards, as many as Discord recommends (one process)"
        if self.shard_ids is None or not self.is_cluster_member:
            if self.shard_count == 1:
                return "1 shard (one process)"
            return f"all {self.shard_count} shards (one process)"
        return (
            f"shards {format_shard_ids(self.shard_ids)} of {self.shard_count} "
            "(other processes run the rest)"
        )


def check_session_budget(limit: Mapping[str, Any], shards: int) -> None:
    """Refuse to start ``shards`` sessions the daily budget cannot pay for.

    ``limit`` is ``GET /gateway/bot``'s ``session_start_limit``. Discord resets the
    bot token when the budget is overspent, which would stop every process.
    """
    remaining = int(limit.get("remaining", shards))
    if remaining >= shards:
        return
    hours = int(limit.get("reset_after", 0)) / 3_600_000
    raise SessionBudgetError(
        f"Discord allows {remaining} more gateway session starts for this bot in the next "
        f"{hours:.1f} h and this process would start {shards}; going over makes Discord "
        "reset the bot token. Wait, or start fewer shards here."
    )


class IdentifySlots(Protocol):
    """IDENTIFY slots shared by every process of a cluster, one per rate-limit key.

    PostgreSQL: an advisory lock per key (:mod:`bot.store.postgres.identify`). A
    process holds a key's slot while it IDENTIFYs and for the window after, so no
    other process identifies on that key meanwhile.
    """

    async def take(self, key: int) -> bool:
        """Wait until this process holds ``key``'s slot; ``False`` if the slots cannot
        be used now (e.g. the database is unreachable: pace in this process only)."""
        ...

    async def give_back(self, key: int) -> None:
        """Release ``key``'s slot for the other processes."""
        ...

    async def close(self) -> None:
        """Release every slot held and disconnect."""
        ...


class ShardClaims(Protocol):
    """Which process runs which shard, across the processes sharing one database.

    Two processes running the same shard both receive its guilds' interactions and
    both answer them; two shard counts split guilds differently, so some guilds would
    be served twice and others not at all. PostgreSQL: advisory locks held by a
    connection of the process's own (:mod:`bot.store.postgres.shard_claims`), released
    by the server when the process ends, however it ends.
    """

    async def claim(self, shard_count: int, shard_ids: Sequence[int]) -> None:
        """Hold ``shard_ids`` of ``shard_count`` for this process until :meth:`close`;
        raises :class:`ShardsTakenError` when another process holds one of them, or
        runs with another shard count, and still does after a short wait."""
        ...

    async def close(self) -> None:
        """Release the shards."""
        ...


class IdentifyPacer:
    """Spaces IDENTIFYs by Discord's ``max_concurrency`` rule.

    One IDENTIFY per rate-limit key (``shard_id % max_concurrency``) per
    :data:`IDENTIFY_WINDOW` seconds. In one process (SQLite) the pacer counts from
    this process's own last IDENTIFY on the key. In a cluster (``slots``: shared by
    every process, e.g. PostgreSQL advisory locks) a shard also takes its key's
    slot and keeps it for the window plus :data:`IDENTIFY_MARGIN`, so processes
    starting at once take turns instead of meeting Discord's Invalid Session.
    Should the shared slots fail (database unreachable), pacing falls back to this
    process alone: a collision then costs an Invalid Session, which discord.py
    answers by identifying again, a window later.
    """

    def __init__(
        self,
        max_concurrency: int = 1,
        *,
        window: float = IDENTIFY_WINDOW,
        slots: IdentifySlots | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.window = window
        self.slots = slots
        self._clock = clock
        self._sleep = sleep
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        #: Key -> the task that gives its shared slot back once the window is over.
        self._holds: dict[int, asyncio.Task[None]] = {}

    def key(self, shard_id: int) -> int:
        """The shard's rate-limit key."""
        return shard_id % self.max_concurrency

    async def wait(self, shard_id: int) -> None:
        """Return when ``shard_id`` may IDENTIFY; its key's slot is then taken."""
        key = self.key(shard_id)
        async with self._locks.setdefault(key, asyncio.Lock()):
            held = self._holds.pop(key, None)
            if held is not None:
                await held  # this process's own turn on the key: given back after its window
            last = self._last.get(key)
            if last is not None:
                delay = last + self.window + IDENTIFY_MARGIN - self._clock()
                if delay > 0:
                    await self._sleep(delay)
            if self.slots is not None and await self.slots.take(key):
                self._holds[key] = asyncio.create_task(self._give_back_later(key))
            self._last[key] = self._clock()

    async def _give_back_later(self, key: int) -> None:
        assert self.slots is not None
        await self._sleep(self.window + IDENTIFY_MARGIN)
        await self.slots.give_back(key)

    async def close(self) -> None:
        """Give back the shared slots, each once its window is over (at shutdown).

        Not before: Discord counts the window from this process's IDENTIFY however
        soon the process stops, so a process started in its place at once (a new
        shard layout) would otherwise identify too early and be refused. A process
        stopped within seconds of connecting waits out the rest of the window.
        """
        holds, self._holds = list(self._holds.values()), {}
        if holds:
            # Never longer than a window: a give-back that cannot finish (a database
            # gone quiet) must not hold up shutdown; closing the slots frees them too.
            _done, late = await asyncio.wait(holds, timeout=self.window + IDENTIFY_MARGIN + 1.0)
            for hold in late:
                hold.cancel()
            await asyncio.gather(*holds, return_exceptions=True)
        if self.slots is not None:
            await self.slots.close()
