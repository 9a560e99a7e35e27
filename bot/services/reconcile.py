"""Reactions made while the bot was down, read back from Discord after a restart.

Discord does not replay reaction events to a bot that was offline, so a like added
(or taken back) meanwhile would never count. Once at start-up (``python -m bot
run`` only, after the gateway is ready), for this process's recommendation
messages younger than ``RECONCILE_REACTIONS_DAYS``, newest first and at most
``RECONCILE_REACTIONS_MESSAGES``:

1. ``GET /channels/{channel}/messages/{message}``: which emojis members reacted
   with, and how many (the bot's own reactions are left out);
2. for each rating emoji that members used, ``GET .../reactions/{emoji}``, 100
   users a page, the next page ``after`` the last id;
3. what Discord shows is compared with the ratings that this message's reactions
   gave (``Store.list_message_ratings``): a member's reaction with no rating of
   the track is stored; a rating whose reaction is gone is removed. A rating the
   member gave the same track later or elsewhere is left alone, and so is a
   suggestion the member both liked and disliked (Discord does not say which came
   last).

In a cluster each process does this for the guilds of its own shards only (the
messages are chosen by shard in the database), so every message is reconciled by
exactly one process; ``RECONCILE_REACTIONS_MESSAGES`` is per process.

The corrections go through the members' rating lanes
(:meth:`bot.services.rating.RatingService.correct`): a live reaction that arrives while
this runs is never undone by the older picture. A message that is gone, or that
the bot may no longer read, is skipped; so is one whose reactions could not all
be read (nothing is removed on half a picture).

Requests go one at a time, at most one per ``pace`` seconds, on top of
discord.py's own pacing from Discord's rate-limit headers, so live work keeps
most of the bot's 50 requests per second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import discord

from bot.infra.sharding import ShardLayout
from bot.render import rating_scheme
from bot.services.rating import RatingService
from bot.store import Store
from bot.store.busy import retry_when_busy
from bot.store.errors import StorageError
from bot.store.models import DISLIKE, LIKE, RatingValue, RecommendationMessage

if TYPE_CHECKING:
    from bot.client import MusicBot

log = logging.getLogger(__name__)

#: Seconds between two requests of the reconciliation (at most 10 per second).
DEFAULT_PACE = 0.1
#: Users per page of GET .../reactions/{emoji} (Discord's maximum).
PAGE_SIZE = 100
#: Pages read per emoji at most (10,000 members); past it the message is skipped.
MAX_PAGES = 100

#: (position, value) of a rating emoji -> the ids of the members who reacted with it.
Reactors = dict[tuple[int, RatingValue], set[int]]


class MessageUnreadable(Exception):
    """The message's reactions cannot be read completely (gone, forbidden, an error)."""


@dataclass(frozen=True)
class ReactionCount:
    """How many members (the bot left out) reacted with one emoji, by kind."""

    normal: int
    burst: int = 0  # super reactions


class ReactionReader(Protocol):
    """Who reacted to a message with what, as Discord shows it now (the bot left out).

    Both methods raise :class:`MessageUnreadable` when Discord will not tell.
    """

    async def reactions(self, channel_id: int, message_id: int) -> dict[str, ReactionCount]:
        """Emoji -> how many members reacted with it."""
        ...

    async def reactors(
        self, channel_id: int, message_id: int, emoji: str, *, burst: bool = False
    ) -> set[int]:
        """The ids of the members who reacted with ``emoji`` (super reactions: ``burst``)."""
        ...


class DiscordReactionReader:
    """:class:`ReactionReader` over discord.py's HTTP client (it honours rate limits).

    Raises :class:`MessageUnreadable` for a 404, a 403, any other refusal, and for
    more than ``max_pages`` pages of one emoji.
    """

    def __init__(
        self,
        http: discord.http.HTTPClient,
        bot_user_id: int,
        *,
        pace: float = DEFAULT_PACE,
        max_pages: int = MAX_PAGES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._sleep = sleep
        self._bot_user_id = bot_user_id
        self._pace = pace
        self._max_pages = max_pages
        self._clock = clock
        self._last_request = -float("inf")
        #: Requests made so far (for the log).
        self.requests = 0

    async def reactions(self, channel_id: int, message_id: int) -> dict[str, ReactionCount]:
        """Emoji -> members' reactions, from the message's ``reactions`` counts."""
        data = await self._request(
            functools.partial(self._http.get_message, channel_id, message_id)
        )
        counts: dict[str, ReactionCount] = {}
        for reaction in data.get("reactions") or []:
            emoji = (reaction.get("emoji") or {}).get("name")
            if not isinstance(emoji, str):
                continue
            details = reaction.get("count_details") or {}
            normal = int(details.get("normal", reaction.get("count") or 0))
            burst = int(details.get("burst") or 0)
            counts[emoji] = ReactionCount(
                normal=max(normal - bool(reaction.get("me")), 0),
                burst=max(burst - bool(reaction.get("me_burst")), 0),
            )
        return counts

    async def reactors(
        self, channel_id: int, message_id: int, emoji: str, *, burst: bool = False
    ) -> set[int]:
        """Every member who reacted with ``emoji``, page after page."""
        kind: Literal[0, 1] = 1 if burst else 0  # Discord's ReactionType: normal, burst
        users: set[int] = set()
        after: int | None = None
        for _ in range(self._max_pages):
            page = await self._request(
                functools.partial(
                    self._http.get_reaction_users,
                    channel_id,
                    message_id,
                    emoji,
                    PAGE_SIZE,
                    after=after,
                    type=kind,
                )
            )
            ids = [int(user["id"]) for user in page]
            users.update(ids)
            if len(ids) < PAGE_SIZE:
                users.discard(self._bot_user_id)
                return users
            after = max(ids)
        raise MessageUnreadable(f"more than {self._max_pages * PAGE_SIZE} reactions of {emoji}")

    async def _request(self, call: Callable[[], Awaitable[Any]]) -> Any:
        wait = self._last_request + self._pace - self._clock()
        if wait > 0:
            await self._sleep(wait)
        self._last_request = self._clock()
        self.requests += 1
        try:
            return await call()
        except discord.HTTPException as error:
            raise MessageUnreadable(f"HTTP {error.status} (code {error.code})") from None


@dataclass
class ReconcileReport:
    """What a reconciliation did."""

    messages: int = 0
    skipped: int = 0
    added: int = 0
    removed: int = 0


async def reconcile_reactions(
    store: Store,
    ratings: RatingService,
    reader: ReactionReader,
    *,
    max_age: dt.timedelta,
    max_messages: int,
    shards: ShardLayout | None = None,
    serves: Callable[[int], bool] = lambda guild_id: True,
    now: dt.datetime | None = None,
) -> ReconcileReport:
    """Bring the ratings of recent recommendation messages in line with Discord.

    ``shards``: this process's shards in a cluster; only their guilds' messages are
    read (``max_messages`` of them), each process of the cluster reconciles its own,
    so every message is reconciled by exactly one. ``serves(guild_id)`` skips a
    guild this process cannot read now (e.g. one the bot has left).
    """
    report = ReconcileReport()
    if max_messages <= 0 or max_age <= dt.timedelta(0):
        return report
    cutoff = (now or dt.datetime.now(dt.UTC)) - max_age
    recent = await retry_when_busy(
        lambda: store.list_recent_recommendations(cutoff, limit=max_messages, shards=shards),
        what="reading recent recommendations",
    )
    for message in recent:
        if not serves(message.guild_id):
            continue
        report.messages += 1
        try:
            added, removed = await _reconcile_message(store, ratings, reader, message)
        except MessageUnreadable as error:
            report.skipped += 1
            log.info("reactions of message %s not reconciled: %s", message.message_id, error)
            continue
        report.added += added
        report.removed += removed
    return report


async def _reconcile_message(
    store: Store, ratings: RatingService, reader: ReactionReader, message: RecommendationMessage
) -> tuple[int, int]:
    """Queue the message's corrections and wait for them; (added, removed)."""
    ratings.watch([message.message_id])
    try:
        seen_at = ratings.sequence  # live reactions after this are newer than what we read
        reactors = await _read_reactors(reader, message)
        gave = await retry_when_busy(
            lambda: store.list_message_ratings(message.guild_id, message.message_id),
            what="reading a message's ratings",
        )
        positions = {item.track_id: item.position for item in message.items}
        stored = {
            (r.user_id, positions[r.track_id], r.value) for r in gave if r.track_id in positions
        }
        removals = [
            (user_id, position, value)
            for user_id, position, value in sorted(stored)
            if user_id not in reactors.get((position, value), set())
        ]
        additions = [
            (user_id, position, value)
            for (position, value), users in sorted(reactors.items())
            for user_id in sorted(users)
            if (user_id, position, value) not in stored
            # Liked and disliked at once: Discord does not say which came last.
            and user_id not in reactors.get((position, _opposite(value)), set())
        ]
        # Removals first: a like taken back and a dislike added meanwhile end as the dislike.
        queued = [
            ratings.correct(message, u, p, v, present=False, seen_at=seen_at)
            for u, p, v in removals
        ] + [
            ratings.correct(message, u, p, v, present=True, seen_at=seen_at)
            for u, p, v in additions
        ]
        if any(f is None for f in queued):
            log.warning(
                "message %s: the rating queue is full; some corrections were dropped",
                message.message_id,
            )
        results = [await f if f is not None else False for f in queued]
    finally:
        ratings.unwatch([message.message_id])
    removed = sum(results[: len(removals)])
    added = sum(results[len(removals) :])
    return added, removed


async def _read_reactors(reader: ReactionReader, message: RecommendationMessage) -> Reactors:
    """Members' rating reactions on the message, by meaning."""
    channel_id, message_id = message.channel_id, message.message_id
    reactors: Reactors = {}
    for emoji, count in (await reader.reactions(channel_id, message_id)).items():
        meaning = rating_scheme.meaning(emoji)
        if meaning is None:
            continue
        users = reactors.setdefault(meaning, set())
        if count.normal > 0:
            users |= await reader.reactors(channel_id, message_id, emoji)
        if count.burst > 0:
            users |= await reader.reactors(channel_id, message_id, emoji, burst=True)
    return reactors


def _opposite(value: RatingValue) -> RatingValue:
    return DISLIKE if value == LIKE else LIKE


async def reconcile_after_start(bot: MusicBot) -> ReconcileReport | None:
    """The start-up job of ``python -m bot run``: wait for the gateway, then reconcile."""
    await bot.wait_until_ready()
    config = bot.settings.bot
    if bot.user is None or config.reconcile_reactions_messages <= 0:
        return None
    reader = DiscordReactionReader(bot.http, bot.user.id)
    try:
        report = await reconcile_reactions(
            bot.store,
            bot.ratings,
            reader,
            max_age=dt.timedelta(days=config.reconcile_reactions_days),
            max_messages=config.reconcile_reactions_messages,
            # The guilds of this process's shards, and of those the ones it is in.
            shards=bot.served_shards,
            serves=lambda guild_id: (
                bot.owns_guild(guild_id) and bot.get_guild(guild_id) is not None
            ),
        )
    except StorageError as error:
        log.error("reactions made while the bot was down were not reconciled: %s", error)
        return None
    log.info(
        "reconciled reactions of %d recent messages (%d skipped, %d requests): "
        "%d ratings added, %d removed",
        report.messages,
        report.skipped,
        reader.requests,
        report.added,
        report.removed,
    )
    return report
