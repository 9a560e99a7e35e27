"""Where a command may run: guild-only commands refuse DMs and other contexts at run time.

``@app_commands.guild_only()`` is the one declaration: it tells Discord (the sync
payload says ``contexts: [0]``, ``dm_permission: false``) and it is what
:class:`GuardedTree` checks on every interaction, before any command check or body
runs. Discord's side alone is not enough: a client with a stale command list can
still send a DM interaction. Commands then read the server's id through
:func:`guild_id`, which raises the same typed error instead of an ``assert`` (which
``python -O`` removes).

Refusals are expected traffic, not failures: the member gets one short ephemeral
line, and the log at most an INFO line.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

NOT_IN_A_SERVER = "This command works in a server, not in DMs."
NOT_INSTALLED_HERE = "This command works in a server that has added the bot."


class NotInGuildError(app_commands.NoPrivateMessage):
    """A guild-only command arrived from a DM, a group DM or a server without the bot."""

    def __init__(self, message: str = NOT_IN_A_SERVER) -> None:
        super().__init__(message)


def guild_id(interaction: discord.Interaction[Any]) -> int:
    """The id of the server ``interaction`` comes from; :class:`NotInGuildError` outside one."""
    if interaction.guild_id is None:
        raise NotInGuildError()
    return interaction.guild_id


def is_guild_only(command: object) -> bool:
    """Whether ``command`` (or the group it belongs to) is declared guild-only."""
    root = getattr(command, "root_parent", None) or command
    return bool(getattr(root, "guild_only", False))


def refusal(interaction: discord.Interaction[Any]) -> NotInGuildError | None:
    """Why ``interaction`` may not run its command here, or ``None`` when it may."""
    if not is_guild_only(interaction.command):
        return None
    if interaction.guild_id is None:
        return NotInGuildError()
    # A user-installed copy of the app used in a server that never added the bot: the
    # server's id is there, but nothing of it is ours to read or write.
    if interaction.is_user_integration() and not interaction.is_guild_integration():
        return NotInGuildError(NOT_INSTALLED_HERE)
    return None


class GuardedTree(app_commands.CommandTree[Any]):
    """A command tree that applies :func:`refusal` to every interaction, in one place."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        """Let the interaction through, or refuse it (raising for a command, quietly for
        autocomplete, which cannot carry a message)."""
        error = refusal(interaction)
        if error is None:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            log.debug("no choices outside a server for user %s", interaction.user.id)
            await interaction.response.autocomplete([])
            return False
        raise error  # answered (and logged at INFO) by the tree's error handler
