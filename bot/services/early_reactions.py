"""Reactions that arrive before their recommendation is stored, held for a while.

Discord gives the bot the id of its answer only when the send returns, so the
answer can be stored only after members can already see it (and react). A
rating reaction on one of the bot's messages that the store does not know yet is
held here, in arrival order, until the recommendation is saved (then applied),
or dropped ``max_age`` seconds after the last reaction to that message (it was
not a recommendation, e.g. a /help answer). ``max_events`` bounds the memory:
past it the oldest held reactions go first. Held reactions live in this process
only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.models import RatingValue

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 120.0
DEFAULT_MAX_EVENTS = 2000


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    """A member added (or removed) a rating reaction on a message.

    ``position`` and ``value`` are what the emoji means (:mod:`bot.render.rating_scheme`);
    ``seq`` numbers events in arrival order.
    """

    guild_id: int
    user_id: int
    message_id: int
    position: int
    value: RatingValue
    added: bool
    seq: int


class EarlyReactions:
    """Held reactions per message, oldest first; bounded in number and in age."""

    def __init__(
        self,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_events = max_events
        self.max_age = max_age
        self._clock = clock
        # Insertion order = order of each message's first held reaction.
        self._held: dict[int, list[tuple[float, ReactionEvent]]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def waiting(self, message_id: int) -> bool:
        """Whether reactions to ``message_id`` are held (so later ones queue behind)."""
        self._expire()
        return message_id in self._held

    def hold(self, event: ReactionEvent) -> None:
        """Keep ``event`` until its message is stored (or it is too old)."""
        self._expire()
        while self._count >= self.max_events and self._held:
            oldest = next(iter(self._held))
            dropped = self._held.pop(oldest)
            self._count -= len(dropped)
            log.warning(
                "dropped %d early reactions to message %s: more than %d reactions wait "
                "for messages the bot has not stored",
                len(dropped),
                oldest,
                self.max_events,
            )
        self._held.setdefault(event.message_id, []).append((self._clock(), event))
        self._count += 1

    def members(self, message_id: int) -> list[tuple[int, int]]:
        """``(guild_id, user_id)`` of everyone with reactions held for the message."""
        events = self._held.get(message_id, [])
        return list(dict.fromkeys((e.guild_id, e.user_id) for _, e in events))

    def take(self, message_id: int, user_id: int) -> list[ReactionEvent]:
        """Remove and return the member's held reactions to the message, oldest first."""
        events = self._held.get(message_id)
        if not events:
            return []
        taken = [e for _, e in events if e.user_id == user_id]
        kept = [(at, e) for at, e in events if e.user_id != user_id]
        if kept:
            self._held[message_id] = kept
        else:
            del self._held[message_id]
        self._count -= len(taken)
        return taken

    def _expire(self) -> None:
        cutoff = self._clock() - self.max_age
        for message_id in [m for m, events in self._held.items() if events[-1][0] < cutoff]:
            expired = self._held.pop(message_id)
            self._count -= len(expired)
            # Usually a reaction to one of the bot's other messages (not a recommendation).
            log.debug("forgot %d reactions to message %s: never stored", len(expired), message_id)
