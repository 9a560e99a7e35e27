"""Reactions on recommendation messages become ratings, none lost on the way.

A reaction event is queued the moment it arrives, in one lane per member
(:class:`~bot.ordered_lanes.OrderedLanes`), so a member's likes and removals are
stored in the order they were made while other members' go on beside them. In
the lane:

- the message is looked up; a rating reaction to one of the bot's messages that
  is not stored yet (members can react before the bot knows the id of its own
  answer) is held (:class:`~bot.early_reactions.EarlyReactions`) and applied,
  in order, as soon as :meth:`RatingService.recommendation_saved` says the
  message is stored;
- the write waits for a busy database and tries again for a bounded time
  (:func:`~bot.store.busy.retry_when_busy`) instead of failing.

Reactions made while the bot was down are fixed after a restart by
:mod:`bot.services.reconcile`, through :meth:`RatingService.correct` in the same lanes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from bot.render import rating_scheme
from bot.services.early_reactions import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_EVENTS,
    EarlyReactions,
    ReactionEvent,
)
from bot.services.ordered_lanes import OrderedLanes
from bot.store import Store
from bot.store.busy import DEFAULT_BUDGET, retry_when_busy
from bot.store.errors import StorageError
from bot.store.models import RatingValue, RecommendationItem, RecommendationMessage

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Reaction events waiting to be stored, all members together (memory bound).
DEFAULT_MAX_QUEUED = 20_000
#: How many recently saved message ids are remembered (see ``recommendation_saved``).
_SAVED_REMEMBERED = 1024
#: How long shutdown waits for queued reactions to be stored, seconds.
SHUTDOWN_GRACE = 5.0

MemberKey = tuple[int, int]  # (guild_id, user_id)
#: (user_id, position, value): one rating reaction of one member on a message.
ReactionKey = tuple[int, int, int]


class RatingService:
    """Maps (guild, message, emoji) to a track and stores the member's rating."""

    def __init__(
        self,
        store: Store,
        *,
        busy_budget: float = DEFAULT_BUDGET,
        hold_seconds: float = DEFAULT_MAX_AGE,
        max_held: int = DEFAULT_MAX_EVENTS,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        self._store = store
        self._busy_budget = busy_budget
        self._lanes: OrderedLanes[MemberKey] = OrderedLanes("ratings", max_pending=max_queued)
        self._early = EarlyReactions(max_events=max_held, max_age=hold_seconds)
        self._saved: OrderedDict[int, None] = OrderedDict()
        self._seq = 0
        # message id -> the seq of the latest live event per reaction, while a
        # reconciliation looks at that message (see ``watch``).
        self._watched: dict[int, dict[ReactionKey, int]] = {}

    # -- live reaction events ----------------------------------------------------------

    async def reaction_added(
        self,
        guild_id: int,
        user_id: int,
        message_id: int,
        emoji: str,
        *,
        on_bot_message: bool | None = None,
    ) -> None:
        """Queue a like or dislike (other emojis are ignored); returns at once.

        ``on_bot_message``: whether the message is the bot's (Discord says so for
        additions); ``False`` means it cannot be a recommendation, so it is never
        held while unknown. ``None``: not known.
        """
        self._submit(guild_id, user_id, message_id, emoji, True, on_bot_message is not False)

    async def reaction_removed(
        self, guild_id: int, user_id: int, message_id: int, emoji: str
    ) -> None:
        """Queue the removal of the rating this reaction gave; returns at once.

        A newer opposite rating stays (removing a stale like must not undo a dislike).
        """
        self._submit(guild_id, user_id, message_id, emoji, False, False)

    def recommendation_saved(self, message_id: int) -> None:
        """The recommendation ``message_id`` is now in the store: apply held reactions."""
        self._saved[message_id] = None
        while len(self._saved) > _SAVED_REMEMBERED:
            self._saved.popitem(last=False)
        for member in self._early.members(message_id):
            self._queue(member, functools.partial(self._apply_held, member, message_id))

    async def join(self) -> None:
        """Wait until every queued reaction is stored (or given up on)."""
        await self._lanes.join()

    async def close(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Store what is queued for up to ``grace`` seconds; drop the rest.

        What is dropped here (and anything held early) is recovered from Discord
        by the reconciliation at the next start (:mod:`bot.services.reconcile`).
        """
        await self._lanes.close(grace)

    @property
    def held(self) -> int:
        """Reactions held for messages not stored yet."""
        return len(self._early)

    def _submit(
        self, guild_id: int, user_id: int, message_id: int, emoji: str, added: bool, hold: bool
    ) -> None:
        meaning = rating_scheme.meaning(emoji)
        if meaning is None:
            return
        position, value = meaning
        self._seq += 1
        event = ReactionEvent(guild_id, user_id, message_id, position, value, added, self._seq)
        watched = self._watched.get(message_id)
        if watched is not None:
            watched[(user_id, position, value)] = event.seq
        self._queue((guild_id, user_id), lambda: self._apply_live(event, hold))

    def _queue(self, member: MemberKey, job: Callable[[], Awaitable[object]]) -> None:
        if not self._lanes.submit(member, job):
            log.error(
                "guild %s: a rating by %s was dropped: %d reactions are already waiting "
                "for the database",
                member[0],
                member[1],
                self._lanes.pending,
            )

    async def _apply_live(self, event: ReactionEvent, hold: bool) -> None:
        try:
            message = await self._lookup(event.guild_id, event.message_id)
            if message is None and event.message_id in self._saved:
                # Saved while we looked: its held reactions are queued behind this one.
                message = await self._lookup(event.guild_id, event.message_id)
        except StorageError as error:
            _log_lost(event, error)
            return
        if message is None:
            # Not stored (yet). Removals queue behind held additions to keep their order.
            if hold or self._early.waiting(event.message_id):
                self._early.hold(event)
            return
        for earlier in self._early.take(event.message_id, event.user_id):
            await self._store_event(message, earlier)
        await self._store_event(message, event)

    async def _apply_held(self, member: MemberKey, message_id: int) -> None:
        events = self._early.take(message_id, member[1])
        if not events:
            return  # already applied ahead of a later reaction of the member
        try:
            message = await self._lookup(member[0], message_id)
        except StorageError as error:
            for event in events:
                _log_lost(event, error)
            return
        if message is None:
            # Another guild's message id: not a reaction to this guild's message.
            return
        for event in events:
            await self._store_event(message, event)

    async def _store_event(self, message: RecommendationMessage, event: ReactionEvent) -> None:
        item = _item(message, event.position)
        if item is None:
            return  # e.g. 🔟 on a message with three suggestions
        guild_id, user_id = event.guild_id, event.user_id
        if event.added:
            await self._retry(
                lambda: self._store.set_rating(
                    guild_id, user_id, item.track_id, event.value, message_id=message.message_id
                ),
                event,
            )
            log.debug(
                "guild %s: user %s rated %s %+d", guild_id, user_id, item.track_id, event.value
            )
        else:
            await self._retry(
                lambda: self._store.remove_rating(
                    guild_id, user_id, item.track_id, value=event.value
                ),
                event,
            )

    async def _lookup(self, guild_id: int, message_id: int) -> RecommendationMessage | None:
        return await retry_when_busy(
            lambda: self._store.get_recommendation(guild_id, message_id),
            what="reading a recommendation",
            budget=self._busy_budget,
        )

    async def _retry(self, write: Callable[[], Awaitable[T]], event: ReactionEvent) -> T | None:
        try:
            return await retry_when_busy(write, what="a rating", budget=self._busy_budget)
        except StorageError as error:
            _log_lost(event, error)
            return None

    # -- reconciliation after a restart (bot.reconcile) --------------------------------

    @property
    def sequence(self) -> int:
        """The number of the latest live event: a snapshot taken now sees up to it."""
        return self._seq

    def watch(self, message_ids: Iterable[int]) -> None:
        """Record live reactions to these messages until :meth:`unwatch`, so that a
        correction from an older snapshot never overrides them."""
        for message_id in message_ids:
            self._watched.setdefault(message_id, {})

    def unwatch(self, message_ids: Iterable[int]) -> None:
        """Stop recording live reactions to these messages."""
        for message_id in message_ids:
            self._watched.pop(message_id, None)

    def correct(
        self,
        message: RecommendationMessage,
        user_id: int,
        position: int,
        value: RatingValue,
        *,
        present: bool,
        seen_at: int,
    ) -> asyncio.Future[bool] | None:
        """Queue a correction from Discord's reactions, as seen at sequence ``seen_at``.

        ``present``: the member's reaction is on the message, so the rating is
        stored if the member has none for the track; else the rating that this
        reaction on this message gave is removed. Skipped when a live event for the
        same reaction arrived after ``seen_at`` (it is newer than the snapshot).
        The future says whether the store changed; ``None`` if the queue is full.
        """
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            changed = False
            try:
                changed = await self._apply_correction(
                    message, user_id, position, value, present, seen_at
                )
            finally:
                if not done.done():
                    done.set_result(changed)

        if not self._lanes.submit((message.guild_id, user_id), job):
            return None
        return done

    async def _apply_correction(
        self,
        message: RecommendationMessage,
        user_id: int,
        position: int,
        value: RatingValue,
        present: bool,
        seen_at: int,
    ) -> bool:
        watched = self._watched.get(message.message_id, {})
        if watched.get((user_id, position, value), 0) > seen_at:
            return False  # the member reacted live since Discord was read
        item = _item(message, position)
        if item is None:
            return False
        guild_id, track_id, message_id = message.guild_id, item.track_id, message.message_id
        event = ReactionEvent(guild_id, user_id, message_id, position, value, present, 0)

        async def add_if_unrated() -> bool:
            # One member's lane: nothing of theirs runs between the read and the write.
            if await self._store.get_rating(guild_id, user_id, track_id) is not None:
                return False  # the member rated the track since (or elsewhere): that stays
            await self._store.set_rating(guild_id, user_id, track_id, value, message_id=message_id)
            return True

        async def remove_what_it_gave() -> bool:
            return await self._store.remove_rating(
                guild_id, user_id, track_id, value=value, message_id=message_id
            )

        return bool(await self._retry(add_if_unrated if present else remove_what_it_gave, event))


def _log_lost(event: ReactionEvent, error: StorageError) -> None:
    # One line for the operator (the database named, what to do); no traceback.
    log.error(
        "guild %s: a rating reaction of %s on message %s (%s) was not stored: %s",
        event.guild_id,
        event.user_id,
        event.message_id,
        "added" if event.added else "removed",
        error,
    )


def _item(message: RecommendationMessage, position: int) -> RecommendationItem | None:
    return next((i for i in message.items if i.position == position), None)
