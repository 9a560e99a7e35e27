"""What each gateway connection of the fake carried: who it was, and every event it got.

Tests of sharding read these records: a guild's events must reach only the
connections whose shard owns the guild, whatever the bot's processes did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Dispatches whose payload *is* a guild (its id is ``id``, not ``guild_id``).
_GUILD_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"}


@dataclass(frozen=True)
class DeliveredEvent:
    """One dispatch written to a connection (RESUME replays included)."""

    name: str
    seq: int
    #: The guilds the event is about (READY lists every guild of the session).
    guild_ids: tuple[int, ...]


def guilds_of(name: str, data: Any) -> tuple[int, ...]:
    """The guild ids a dispatch carries, as Discord routes it."""
    if not isinstance(data, dict):
        return ()
    if name == "READY":
        return tuple(int(g["id"]) for g in data.get("guilds", []))
    if name in _GUILD_EVENTS:
        return (int(data["id"]),)
    guild_id = data.get("guild_id")
    return (int(guild_id),) if guild_id is not None else ()


@dataclass(eq=False)
class GatewayConnection:
    """The record of one websocket to the fake gateway, kept after it closes.

    ``shard`` is the ``(shard_id, shard_count)`` its session serves once an
    IDENTIFY was accepted (or a RESUME found the session), else ``None``.
    """

    #: 1, 2, ... in the order clients connected.
    number: int
    shard: tuple[int, int] | None = None
    session_id: str | None = None
    #: The IDENTIFY payloads sent on this connection (normally one).
    identifies: list[dict[str, Any]] = field(default_factory=list)
    resumed: bool = False
    #: Invalid Session (op 9) answers the fake sent on it.
    invalid_sessions: int = 0
    events: list[DeliveredEvent] = field(default_factory=list)
    #: The close code when the fake closed it (``None``: the client closed it or it is open).
    server_close_code: int | None = None
    closed: bool = False

    def record(self, frame: dict[str, Any]) -> None:
        """Note a dispatch frame written to this connection."""
        name = str(frame.get("t"))
        self.events.append(DeliveredEvent(name, int(frame["s"]), guilds_of(name, frame.get("d"))))

    @property
    def guild_ids(self) -> set[int]:
        """Every guild any event on this connection was about."""
        return {guild_id for event in self.events for guild_id in event.guild_ids}

    def events_for(self, guild_id: int) -> list[DeliveredEvent]:
        """The events about one guild, in order."""
        return [e for e in self.events if guild_id in e.guild_ids]
