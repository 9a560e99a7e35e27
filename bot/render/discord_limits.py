"""Discord's payload limits, and the last step that makes every payload fit them.

The numbers are Discord's documented limits:
https://discord.com/developers/docs/resources/message#embed-object-embed-limits,
https://discord.com/developers/docs/resources/message#create-message (content,
attachments) and https://discord.com/developers/docs/interactions/application-commands
(autocomplete choices); ``developers/resources/message.mdx`` and
``developers/interactions/application-commands.mdx`` in discord/discord-api-docs.
Discord counts characters as Unicode code points (its API is Python: ``len``),
so ``len`` here measures exactly what Discord measures.

Builders keep each piece of untrusted text short on the way in
(:mod:`bot.render.untrusted_text`); the functions here are the safety net on the way
out, so a payload over a limit is never sent: Discord would answer 400 (50035)
and the member would be left at "thinking...".
"""

from __future__ import annotations

import re

import discord

MESSAGE_CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
EMBED_TOTAL = 6000
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
#: A bot's default per-file upload limit (an interaction may announce a larger one).
ATTACHMENT_BYTES = 10 * 1024 * 1024

ELLIPSIS = "…"
#: What stands in for a value Discord requires to be non-empty (field names and values).
EMPTY_FIELD = "-"
# An unfinished masked link at the end of cut text: cut before its "[".
_OPEN_LINK = re.compile(r"\[[^\[\]]*(?:\]\([^)]*)?$")


def clamp(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut.

    For text the bot composed (markdown with links it built): the cut prefers a
    line break in the last half, never leaves half a masked link or a dangling
    escape backslash, so what remains renders as intended.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    newline = cut.rfind("\n")
    if newline >= len(cut) // 2:
        cut = cut[:newline]
    cut = _OPEN_LINK.sub("", cut)
    # An odd run of trailing backslashes would escape the ellipsis; drop one.
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def fit_content(text: str | None) -> str:
    """Message content within :data:`MESSAGE_CONTENT` (``"…"`` rather than empty)."""
    return clamp(text or ELLIPSIS, MESSAGE_CONTENT)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Clamp every part of ``embed`` to Discord's limits, in place; returns it.

    Beyond each field's own limit, the 6,000-character total is met by shortening
    the description first, then dropping fields from the end, then the footer.
    """
    if embed.title:
        embed.title = clamp(embed.title, EMBED_TITLE)
    if embed.description:
        embed.description = clamp(embed.description, EMBED_DESCRIPTION)
    while len(embed.fields) > EMBED_FIELDS:
        embed.remove_field(-1)
    for index, field in enumerate(embed.fields):
        embed.set_field_at(
            index,
            name=clamp(field.name or EMPTY_FIELD, EMBED_FIELD_NAME),
            value=clamp(field.value or EMPTY_FIELD, EMBED_FIELD_VALUE),
            inline=bool(field.inline),
        )
    if embed.footer.text:
        embed.set_footer(
            text=clamp(embed.footer.text, EMBED_FOOTER), icon_url=embed.footer.icon_url
        )
    if embed.author.name:
        embed.set_author(
            name=clamp(embed.author.name, EMBED_AUTHOR),
            url=embed.author.url,
            icon_url=embed.author.icon_url,
        )
    _fit_total(embed)
    return embed


def _fit_total(embed: discord.Embed) -> None:
    excess = len(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        keep = max(len(embed.description) - excess, 200)
        embed.description = clamp(embed.description, keep)
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(-1)
    excess = len(embed) - EMBED_TOTAL
    if excess > 0 and embed.footer.text:
        keep = max(len(embed.footer.text) - excess, 1)
        embed.set_footer(text=clamp(embed.footer.text, keep), icon_url=embed.footer.icon_url)
    excess = len(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = clamp(embed.description, max(len(embed.description) - excess, 1))
