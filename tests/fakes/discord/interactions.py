"""Handles on the interactions a test dispatches, and what the bot answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .connections import GatewayConnection
from .models import EPHEMERAL, FakeAttachment, FakeGuild, FakeMember, FakeMessage

# Interaction callback types (https://discord.com/developers/docs/interactions/receiving-and-responding).
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9


@dataclass
class InteractionCallback:
    """The bot's initial response (``POST /interactions/{id}/{token}/callback``)."""

    type: int
    #: The callback's ``data`` (content, embeds, flags, choices...), or ``{}``.
    data: dict[str, Any]
    files: list[FakeAttachment]
    #: The fake's clock when it was accepted.
    time: float

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Flag 64: only the invoking member sees the reply."""
        return bool(self.flags & EPHEMERAL)

    @property
    def deferred(self) -> bool:
        """Type 5 (``defer()``): "Bot is thinking...", the content comes with an edit."""
        return self.type == DEFERRED_CHANNEL_MESSAGE

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (type 8)."""
        return list(self.data.get("choices") or [])


class InteractionHandle:
    """One dispatched interaction: its timing, callbacks, original response and followups.

    The fake fills it in as the bot's REST calls arrive; tests wait on it.
    """

    def __init__(
        self,
        *,
        interaction_id: int,
        token: str,
        type: int,
        name: str,
        guild: FakeGuild,
        member: FakeMember,
        payload: dict[str, Any],
    ) -> None:
        self.id = interaction_id
        self.token = token
        #: 2 for a slash command, 3 for a button press, 4 for autocomplete.
        self.type = type
        self.name = name
        self.guild = guild
        self.member = member
        #: The INTERACTION_CREATE ``d`` sent to the bot.
        self.payload = payload
        #: The fake's clock just before the event was written to the gateway (the
        #: 3-second window and the 15-minute token count from here).
        self.dispatched_at: float = 0.0
        #: The fake's clock when the first callback was accepted, else ``None``.
        self.first_callback_at: float | None = None
        #: Accepted callbacks (a refused one, e.g. 50035, acknowledges nothing).
        self.callbacks: list[InteractionCallback] = []
        #: The original response message (created by a type 4 or 5 callback).
        self.original: FakeMessage | None = None
        self.followups: list[FakeMessage] = []
        #: For a component interaction (type 3): the message whose button was pressed.
        self.source_message: FakeMessage | None = None
        #: The gateway connections the INTERACTION_CREATE was written to (those of
        #: the sessions whose shard owns the guild).
        self.delivered_to: list[GatewayConnection] = []
        self._changed = asyncio.Condition()

    def __repr__(self) -> str:
        return f"<InteractionHandle /{self.name} id={self.id} callbacks={len(self.callbacks)}>"

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the first callback (the 3-second window), if any."""
        if self.first_callback_at is None:
            return None
        return self.first_callback_at - self.dispatched_at

    @property
    def messages(self) -> list[FakeMessage]:
        """The original response (if any) followed by the followups."""
        return ([self.original] if self.original else []) + self.followups

    async def notify(self) -> None:
        """Wake waiters; the fake calls it after every change."""
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    ) -> None:
        """Wait until ``predicate()`` holds, re-checked after every change."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_response(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
    ) -> InteractionCallback:
        """The initial callback (type 4/5/8/9...), waiting for it if needed."""
        try:
            await self.wait_for(lambda: bool(self.callbacks), timeout)
        except TimeoutError:
            raise AssertionError(
                f"/{self.name}: no interaction callback within {timeout}s"
            ) from None
        return self.callbacks[0]

    async def wait_final(
        self,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a timeout argument, as in asyncio.wait_for
        settle: float = 0.05,
    ) -> FakeMessage:
        """The response message once the bot is done with it.

        The original response counts as done when it is not a deferred "thinking"
        message any more (a type 4 callback, or a type 5 followed by an edit or a
        followup). Because the fake cannot know whether more edits are coming, it
        then waits until nothing changed for ``settle`` seconds; pass ``predicate``
        (e.g. ``lambda m: "Added" in m.content``) to wait for a specific state
        instead, which is the deterministic choice for progress-then-result flows.
        Returns the last message that changed: the original, or the newest
        followup when the bot answered with followups.
        """
        if self.type == 4:
            raise TypeError("autocomplete interactions have no message; use wait_response()")

        def latest() -> FakeMessage | None:
            candidates = [m for m in self.messages if not m.loading]
            if not candidates:
                return None
            return max(candidates, key=lambda m: m.edited_at or m.created_at)

        def done() -> bool:
            message = latest()
            return message is not None and (predicate is None or predicate(message))

        try:
            await self.wait_for(done, timeout)
            if predicate is None:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        await self.wait_for(self._changed_since(self._version()), settle)
                    except TimeoutError:
                        break
        except TimeoutError:
            state = [(m.content, m.embeds, m.flags) for m in self.messages]
            raise AssertionError(
                f"/{self.name}: no final response within {timeout}s; callbacks="
                f"{[c.type for c in self.callbacks]} messages={state}"
            ) from None
        message = latest()
        assert message is not None
        return message

    def _changed_since(self, version: tuple[int, int]) -> Callable[[], bool]:
        return lambda: self._version() != version

    def _version(self) -> tuple[int, int]:
        return len(self.followups), sum(len(m.history) for m in self.messages)
