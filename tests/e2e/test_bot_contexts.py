"""DMs and other contexts: guild-only commands say so in one line, and nothing breaks.

Discord hides guild-only commands in DMs, but a client with a stale command list
can still send them; the fake sends such a DM interaction (``dm=True``).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.infra import guards
from tests.e2e.world import add_playlist, running_music_bot, running_world
from tests.fakes.discord import FakeAttachment

CHANNEL_MESSAGE = 4
AUTOCOMPLETE_RESULT = 8
MESSAGE_COMMAND = 3  # a message context-menu command ("Apps" > ...)
# What a member would have filled in (the guard runs before options are read).
OPTIONS: dict[str, dict[str, Any]] = {
    "recommend": {"song": "Golden Hour"},
    "removeplaylist": {"playlist": "Club Classics"},
    "settings": {"alpha": 0.5},
}


def _guild_rows(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        count = conn.execute("SELECT count(*) FROM guilds").fetchone()[0]
    conn.close()
    return int(count)


async def test_every_guild_only_command_answers_a_dm_in_one_short_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        await bot.tree.sync()  # DMs only ever see global commands
        declared = world.discord.commands()
        guild_only = sorted(c["name"] for c in declared if c.get("contexts") == [0])
        # Everything but /help is declared guild-only, and to guild installs only.
        assert guild_only == sorted(c["name"] for c in declared if c["name"] != "help")
        for command in declared:
            assert command["integration_types"] == [0], command["name"]
            if command["name"] in guild_only:
                assert command["dm_permission"] is False
        guilds_before = _guild_rows(world.database)
        guild: Any = world.guild
        member: Any = world.member
        caplog.clear()

        message_commands = {c["name"] for c in declared if c.get("type") == MESSAGE_COMMAND}
        for name in guild_only:
            options = dict(OPTIONS.get(name, {}))
            if name == "setplaylist":
                options = {"file": FakeAttachment("export.csv", b"Track URI\n")}
            if name in message_commands:
                target = world.discord.post_message(guild, member, "Golden Hour")
                handle = await world.discord.invoke_message_command(member, name, target, dm=True)
            else:
                handle = await world.discord.invoke(guild, member, name, options=options, dm=True)
            answer = await handle.wait_response()
            assert handle.callbacks[0].type == CHANNEL_MESSAGE, name
            assert answer.ephemeral, name
            assert answer.content == guards.NOT_IN_A_SERVER, (name, answer.content)
            assert not answer.embeds and handle.followups == []

        # The member heard one line per command; the log got INFO, never an error.
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert loud == [], [r.getMessage() for r in loud]
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == len(guild_only)
        assert _guild_rows(world.database) == guilds_before  # nothing stored for "no guild"

        # Typing in a DM gets an empty list, not a failure.
        handle = await world.discord.dispatch_autocomplete(
            guild, member, "recommend", focused="song", value="gol", dm=True
        )
        callback = await handle.wait_response()
        assert handle.callbacks[0].type == AUTOCOMPLETE_RESULT
        assert callback.choices == []

        # /help is for everyone, DMs included.
        handle = await world.discord.invoke(guild, member, "help", dm=True)
        answer = await handle.wait_response()
        assert answer.embeds and answer.content != guards.NOT_IN_A_SERVER

        # And in the server the same commands still work.
        handle = await world.discord.invoke(
            guild, member, "recommend", options=OPTIONS["recommend"]
        )
        message = await handle.wait_final()
        assert message.embeds
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_accessor_refuses_without_an_assert() -> None:
    """``guild_id()`` raises the typed error (also under ``python -O``)."""
    with pytest.raises(guards.NotInGuildError) as caught:
        guards.guild_id(SimpleNamespace(guild_id=None))  # type: ignore[arg-type]
    assert str(caught.value) == guards.NOT_IN_A_SERVER
    assert guards.guild_id(SimpleNamespace(guild_id=42)) == 42  # type: ignore[arg-type]


def _interaction(guild_id: int | None, *, user_install: bool, guild_install: bool) -> Any:
    command = SimpleNamespace(guild_only=True, root_parent=None, qualified_name="recommend")
    return SimpleNamespace(
        command=command,
        guild_id=guild_id,
        is_user_integration=lambda: user_install,
        is_guild_integration=lambda: guild_install,
    )


def test_a_user_installed_copy_in_a_server_without_the_bot_is_refused() -> None:
    """Another context: the server's id is present, but the server never added the bot."""
    foreign = guards.refusal(_interaction(7, user_install=True, guild_install=False))
    assert foreign is not None and str(foreign) == guards.NOT_INSTALLED_HERE
    assert guards.refusal(_interaction(7, user_install=False, guild_install=True)) is None
    dm = guards.refusal(_interaction(None, user_install=False, guild_install=False))
    assert dm is not None and str(dm) == guards.NOT_IN_A_SERVER
