"""Reactions on recommendation messages become ratings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot import rating_scheme
from bot.store import Store
from bot.store.models import RatingValue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RatingChange:
    """What a reaction did: ``value`` is +1/-1, or 0 when a rating was removed."""

    track_id: str
    value: int


class RatingService:
    """Maps (guild, message, emoji) to a track and stores the member's rating."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def _track_for(
        self, guild_id: int, message_id: int, emoji: str
    ) -> tuple[str, RatingValue] | None:
        meaning = rating_scheme.meaning(emoji)
        if meaning is None:
            return None
        position, value = meaning
        message = await self._store.get_recommendation(guild_id, message_id)
        if message is None:
            return None  # not one of our recommendation messages (or another guild's)
        item = next((i for i in message.items if i.position == position), None)
        return (item.track_id, value) if item else None

    async def reaction_added(
        self, guild_id: int, user_id: int, message_id: int, emoji: str
    ) -> RatingChange | None:
        """Record a like or dislike; ``None`` when the reaction is not a rating."""
        found = await self._track_for(guild_id, message_id, emoji)
        if found is None:
            return None
        track_id, value = found
        await self._store.set_rating(guild_id, user_id, track_id, value)
        log.debug("guild %s: user %s rated %s %+d", guild_id, user_id, track_id, value)
        return RatingChange(track_id, value)

    async def reaction_removed(
        self, guild_id: int, user_id: int, message_id: int, emoji: str
    ) -> RatingChange | None:
        """Remove the rating this reaction gave (a newer opposite rating stays)."""
        found = await self._track_for(guild_id, message_id, emoji)
        if found is None:
            return None
        track_id, value = found
        removed = await self._store.remove_rating(guild_id, user_id, track_id, value=value)
        return RatingChange(track_id, 0) if removed else None
