"""Where a long job shows its progress and its summary: the interaction's reply while
Discord allows it, then a message the bot owns.

An interaction's token lets the bot edit its reply for 15 minutes only. A job that
may run longer moves, about a minute before that, to a channel message it sends
and then edits (the reply points to it); a token that turns out to be gone earlier
(an edit refused with 401 / 404) moves it at once. The summary always arrives: on
the reply, else on the bot's message, else in a new one.
"""

from __future__ import annotations

import logging
import time

import discord

from bot.render.discord_limits import fit_content
from bot.render.rendering import progress_text
from recommender.progress import IngestProgress, Stage

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60.0
MOVE_BEFORE_EXPIRY = 60.0
"""Seconds of margin for the delivery of the interaction and the request in flight:
move while an edit still works."""
PROGRESS_INTERVAL = 1.5
"""Seconds between two progress edits at most (Discord rate-limits edits)."""


def token_gone(error: discord.HTTPException) -> bool:
    """Whether Discord refused an edit because the interaction token is no longer valid."""
    # 401 / 50027 Invalid Webhook Token; 404 / 10015 Unknown Webhook, 10008 Unknown Message
    return error.status in (401, 404)


class JobMessage:
    """Progress lines and a summary for one job started by an interaction.

    ``starter_id`` is named on the bot's own message (without a ping: the bot sends
    no mentions). ``view`` (e.g. a Cancel button) goes with every progress line and
    is removed with the summary. Create it as soon as the interaction is
    acknowledged: the token's age is counted on this process's monotonic clock from
    then (a few seconds after Discord created it at most), not from the
    interaction's timestamp, which another machine's clock wrote.
    """

    def __init__(
        self,
        interaction: discord.Interaction,
        *,
        what: str,
        starter_id: int,
        view: discord.ui.View | None = None,
    ) -> None:
        self._interaction = interaction
        self._what = what
        self._starter_id = starter_id
        self.view = view
        self.moved_to: discord.Message | None = None
        self._token_lost = False
        self._received = time.monotonic()
        self._last_progress = -PROGRESS_INTERVAL

    def _token_age(self) -> float:
        return time.monotonic() - self._received

    def _reply_usable(self) -> bool:
        age = self._token_age()
        return (
            self.moved_to is None
            and not self._token_lost
            and age < TOKEN_LIFETIME - MOVE_BEFORE_EXPIRY
        )

    async def show(self, text: str) -> None:
        """A progress line (a courtesy: a failure other than a lost token is ignored)."""
        await self._put(text, self.view, final=False)

    async def progress(self, step: IngestProgress) -> None:
        """An import's or a refresh's step as a progress line: a new playlist at once,
        other steps at most every :data:`PROGRESS_INTERVAL` seconds."""
        now = time.monotonic()
        if step.stage is not Stage.SOURCE and now - self._last_progress < PROGRESS_INTERVAL:
            return
        self._last_progress = now
        await self.show(progress_text(step))

    async def finish(self, text: str) -> None:
        """The summary, in place of the progress line; the view is removed."""
        await self._put(text, None, final=True)

    async def _put(self, text: str, view: discord.ui.View | None, *, final: bool) -> None:
        if self._reply_usable():
            try:
                await self._interaction.edit_original_response(content=fit_content(text), view=view)
                return
            except discord.HTTPException as error:
                if not token_gone(error) and not final:
                    log.debug("progress line not shown: %s", error)
                    return
                self._token_lost = self._token_lost or token_gone(error)
                log.info("job of %s moves to a channel message: %s", self._starter_id, error)
        await self._on_own_message(text, view, final=final)

    async def _on_own_message(
        self, text: str, view: discord.ui.View | None, *, final: bool
    ) -> None:
        content = fit_content(f"<@{self._starter_id}>'s {self._what}:\n{text}")
        if self.moved_to is not None:
            try:
                await self.moved_to.edit(content=content, view=view)
                return
            except discord.HTTPException as error:
                if not final:
                    log.debug("progress line not shown: %s", error)
                    return
                log.warning("could not edit the job's message, sending a new one: %s", error)
        await self._send_own(content, view)

    async def _send_own(self, content: str, view: discord.ui.View | None) -> None:
        channel = self._interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("job of %s: no channel to report in", self._starter_id)
            return
        try:
            self.moved_to = await channel.send(content, view=view)  # type: ignore[arg-type]
        except discord.HTTPException as error:
            log.warning("job of %s: could not post to the channel: %s", self._starter_id, error)
            return
        # While the token still works, the reply says where the job went.
        if not self._token_lost and self._token_age() < TOKEN_LIFETIME:
            try:
                await self._interaction.edit_original_response(
                    content=f"This takes a while: progress and the summary continue in "
                    f"{self.moved_to.jump_url}",
                    view=None,
                )
            except discord.HTTPException as error:
                log.debug("reply not pointed to the job's message: %s", error)
