"""Errors a member or admin should read: short, actionable, never a traceback.

The texts built here quote things from outside (an upstream message, a file's
name and header row) through :mod:`bot.render.untrusted_text`, bounded so the whole
message stays well under Discord's 2,000 characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.untrusted_text import code, inline, shorten_list

#: Room for an upstream message (Spotify, ReccoBeats, a CSV parser) in a reply.
UPSTREAM_WIDTH = 1200
HEADER_WIDTH = 60  # one CSV header name
HEADERS_WIDTH = 800  # the whole list of header names
FILENAME_WIDTH = 100
#: What a member reads when Discord refused one of the bot's requests for an answer
#: (e.g. a payload over a limit, or an attachment it would not serve).
REFUSED_ANSWER = (
    "Discord refused one of my requests, so I can't show that answer. Please try again."
)


class UserFacingError(Exception):
    """A problem to show to the person who asked, as an ephemeral message.

    The message must be safe to show (no secrets, no internals) and say what to do
    next; anything quoted from outside goes through :mod:`bot.render.untrusted_text` (the
    helpers below do that).
    """


def upstream_message(error: BaseException | str) -> str:
    """An upstream error's message as one safe, bounded line."""
    return inline(str(error), UPSTREAM_WIDTH)


def csv_problem(filename: str, message: str, columns: Sequence[object] | None) -> str:
    """Why an uploaded CSV can't be used, with its header names shortened.

    ``message`` is the loader's explanation. When it ends in the header list
    ("...; found: a, b, c") and the header row is known, that list is rebuilt from
    ``columns``, so a file with thousands of long headers still gets a short,
    useful answer ("... and 4,990 more").
    """
    name = code(filename, FILENAME_WIDTH)
    head, found, _listed = message.partition("; found: ")
    if found and columns is not None:
        headers = [code(column, HEADER_WIDTH) for column in columns]
        listed = shorten_list(headers, HEADERS_WIDTH) or "no columns"
        return (
            f"I can't use {name}: {inline(head, UPSTREAM_WIDTH - HEADERS_WIDTH)}; found: {listed}"
        )
    return f"I can't use {name}: {inline(message, UPSTREAM_WIDTH)}"
