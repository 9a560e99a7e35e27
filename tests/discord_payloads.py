"""What Discord would make of a payload: its clickable links, its mentions, its limits.

A deliberately suspicious model of Discord's markdown, for tests: it finds every
masked link the way Discord's parser does (escapes are ignored inside a masked
link, so ``\\]`` does not protect a link's end), every bare URL with any scheme,
and scheme-less ``domain.tld/path`` forms that some clients link. A target is
allowed only when it is an ``https://open.spotify.com/...`` link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

ALLOWED_LINK = re.compile(r"https://open\.spotify\.com/(?:track|album|artist|playlist)/\w{22}")
# simple-markdown's link rule, as Discord uses it.
MASKED_LINK = re.compile(
    r"\[((?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*)\]\(\s*<?((?:\([^)]*\)|[^\s\\])*?)>?\s*\)"
)
BARE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:/{1,2}[^\s<>()\[\]]+")
DOMAIN_PATH = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}/[^\s<>()\[\]]*")
# Timestamps (<t:...>) are left out: the bot writes them itself (format_dt).
MENTION = re.compile(r"<(?:@[!&]?\d+|#\d+|/[^\s>]+:\d+|a?:\w+:\d+)>|@everyone|@here")
# Format characters the bot may emit: its own zero-width space (breaking syntax) and
# the zero-width joiner inside emoji sequences.
ALLOWED_FORMAT = {"\u200b", "\u200d"}

CONTENT = 2000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELDS, FIELD_NAME, FIELD_VALUE = 25, 256, 1024
FOOTER, AUTHOR, EMBED_TOTAL = 2048, 256, 6000
CHOICES, CHOICE_TEXT = 25, 100


def links(text: str) -> list[str]:
    """Every link target a Discord client could make clickable in ``text``."""
    targets = [m.group(2) for m in MASKED_LINK.finditer(text)]
    rest = MASKED_LINK.sub(" ", text)
    targets += BARE_URL.findall(rest)
    targets += [m for m in DOMAIN_PATH.findall(BARE_URL.sub(" ", rest))]
    return targets


def foreign_links(text: str) -> list[str]:
    """The clickable targets in ``text`` that are not the bot's own Spotify links."""
    found = []
    for target in links(text):
        if ALLOWED_LINK.fullmatch(target):
            continue
        if target.startswith("open.spotify.com/"):  # a Spotify link's own host and path
            continue
        found.append(target)
    return found


def mentions(text: str) -> list[str]:
    """Mention syntax Discord would render (users, roles, channels, @everyone...)."""
    return MENTION.findall(text)


def disguises(text: str) -> list[str]:
    """Invisible or direction-changing characters, other than the ones the bot adds."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if (unicodedata.category(c) == "Cf" and c not in ALLOWED_FORMAT)
        or c in "\u3164\u115f\u1160\uffa0\u2800"
    ]


def texts_of(payload: Mapping[str, Any]) -> list[str]:
    """Every user-visible string of a message payload (content, embed parts, choices)."""
    out = [str(payload.get("content") or "")]
    for embed in payload.get("embeds") or []:
        out += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        out += [str((embed.get("footer") or {}).get("text") or "")]
        out += [str((embed.get("author") or {}).get("name") or "")]
        for field in embed.get("fields") or []:
            out += [str(field.get("name") or ""), str(field.get("value") or "")]
    for choice in payload.get("choices") or []:
        out += [str(choice.get("name") or ""), str(choice.get("value") or "")]
    return [t for t in out if t]


def limit_problems(payload: Mapping[str, Any]) -> list[str]:
    """Which of Discord's limits a message or autocomplete payload breaks (empty: none)."""
    problems = []
    content = str(payload.get("content") or "")
    if len(content) > CONTENT:
        problems.append(f"content {len(content)} > {CONTENT}")
    total = 0
    for number, embed in enumerate(payload.get("embeds") or []):
        for key, limit in EMBED_LIMITS.items():
            value = str(embed.get(key) or "")
            total += len(value)
            if len(value) > limit:
                problems.append(f"embeds[{number}].{key} {len(value)} > {limit}")
        for key, sub, limit in (("footer", "text", FOOTER), ("author", "name", AUTHOR)):
            value = str((embed.get(key) or {}).get(sub) or "")
            total += len(value)
            if len(value) > limit:
                problems.append(f"embeds[{number}].{key}.{sub} {len(value)} > {limit}")
        fields = embed.get("fields") or []
        if len(fields) > FIELDS:
            problems.append(f"embeds[{number}] has {len(fields)} fields > {FIELDS}")
        for index, field in enumerate(fields):
            for key, limit in (("name", FIELD_NAME), ("value", FIELD_VALUE)):
                value = str(field.get(key) or "")
                total += len(value)
                if not 1 <= len(value) <= limit:
                    problems.append(f"embeds[{number}].fields[{index}].{key} length {len(value)}")
    if total > EMBED_TOTAL:
        problems.append(f"embeds total {total} > {EMBED_TOTAL}")
    choices = payload.get("choices")
    if choices is not None:
        if len(choices) > CHOICES:
            problems.append(f"{len(choices)} choices > {CHOICES}")
        for index, choice in enumerate(choices):
            for key in ("name", "value"):
                value = str(choice.get(key) if choice.get(key) is not None else "")
                if not 1 <= len(value) <= CHOICE_TEXT:
                    problems.append(f"choices[{index}].{key} length {len(value)}")
    return problems


def hostile_problems(
    payloads: Iterable[Mapping[str, Any]], allowed_mentions: Iterable[str] = ()
) -> list[str]:
    """Everything wrong with what the bot sent: limits, foreign links, mentions, disguises.

    ``allowed_mentions`` are mentions the bot builds itself (e.g. ``<@id>`` of the
    member who added a playlist).
    """
    allowed = set(allowed_mentions)
    problems = []
    for payload in payloads:
        problems += limit_problems(payload)
        for text in texts_of(payload):
            problems += [f"foreign link {t!r}" for t in foreign_links(text)]
            problems += [f"mention {m!r}" for m in mentions(text) if m not in allowed]
            problems += [f"disguise {d}" for d in disguises(text)]
    return problems
