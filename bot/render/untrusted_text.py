"""The one way text from outside reaches Discord: names, artists, titles, messages, input.

Every string the bot did not write itself (a track, artist, album or playlist
name from Spotify or an uploaded CSV, a CSV header, an upstream error message,
what a member typed, a member's display name) passes through a function here
before it goes into a message, an embed, an autocomplete choice, a chart label
or a file. Each function returns one line that:

- has no invisible or disguising characters: zero-width and bidi controls
  (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069...), every other Unicode format
  character, blank look-alike letters (U+3164 Hangul filler...), runs of
  stacked combining marks ("Zalgo"); line breaks and tabs become spaces;
- cannot form a clickable link: ``[`` and ``]`` become their full-width forms
  (Discord's link parser ignores escapes inside a masked link, so
  ``Free Nitro](https://evil.example) [x`` inside the bot's own
  ``[name](https://open.spotify.com/...)`` would otherwise close it early), and
  ``scheme://`` gets a zero-width space after the colon, so a bare URL is shown
  but not linked;
- cannot mention or address anyone: ``@everyone``/``@here`` and every ``<...>``
  form (``<@id>``, ``<@&id>``, ``<#id>``, ``</cmd:id>``, ``<t:...>``, custom
  emoji) are broken with a zero-width space, on top of the bot's
  ``AllowedMentions.none()``;
- in markdown contexts (:func:`inline`), shows markdown characters literally
  (``* _ ~ | ` > # \\``, a leading ``-``): no bold, spoilers, code, headings,
  subtext or block quotes;
- fits ``limit`` characters, cut with "…";
- is never empty: an empty or blank value becomes :data:`PLACEHOLDER`.

Pick the function by where the text goes: :func:`inline` for message content,
embed titles, descriptions and field values (markdown is rendered there);
:func:`link_label` inside a masked link (:func:`spotify_link` builds the whole
link, and only for ``open.spotify.com`` URLs); :func:`code` inside inline code;
:func:`plain` where Discord renders no markdown (autocomplete choices, embed
footers and author names, chart labels); :func:`file_cell` for CSV exports.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

PLACEHOLDER = "(untitled)"
ELLIPSIS = "…"
MAX_COMBINING = 4  # enough for real scripts (Vietnamese, Thai, Tibetan), not for "Zalgo"

_ZWSP = "\u200b"
_ZWJ = "\u200d"
# Characters that render as nothing (or as a blank letter) without being Unicode
# format characters, used to fake empty names or hide text.
_BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u034f\u180b\u180c\u180d\u180f")
_BRACKETS = {"[": "［", "]": "］"}
_MARKDOWN = frozenset("\\*_~|`>#")
# In a masked link's label Discord shows escapes literally, so look-alikes instead.
_LABEL_LOOKALIKES = {"\\": "⧵", "`": "ˋ"}
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_SCHEME_COLON = re.compile(r"(?<=[A-Za-z0-9+.\-]):(?=[/\\])")
# "discord.gg/invite" and other scheme-less "domain.tld/path" forms some clients link.
_DOMAIN_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z]{2,24}[/\\])")
_SPOTIFY_URL = re.compile(
    r"https://open\.spotify\.com/(?:track|album|artist|playlist)/[0-9A-Za-z]{22}"
)


def clean(text: object) -> str:
    """``text`` as one visible line: disguising characters removed, whitespace collapsed.

    May be empty; the public renderers below replace an empty result with
    :data:`PLACEHOLDER`.
    """
    raw = "" if text is None else str(text)
    raw = unicodedata.normalize("NFC", raw)
    out: list[str] = []
    combining = 0
    for index, char in enumerate(raw):
        category = unicodedata.category(char)
        if category in ("Cc", "Zs", "Zl", "Zp"):
            out.append(" ")
            combining = 0
        elif char in _BLANKS or category == "Cs":
            continue
        elif category == "Cf":
            # Keep a zero-width joiner only inside an emoji sequence (👨‍👩‍👧).
            following = raw[index + 1] if index + 1 < len(raw) else ""
            if char == _ZWJ and out and _is_symbol(out[-1]) and _is_symbol(following):
                out.append(char)
        elif category in ("Mn", "Me"):
            combining += 1
            if combining <= MAX_COMBINING:
                out.append(char)
        else:
            out.append(char)
            combining = 0
    return " ".join("".join(out).split())


def _is_symbol(char: str) -> bool:
    # Emoji, skin-tone modifiers and the emoji variation selector.
    return bool(char) and (unicodedata.category(char) in ("So", "Sk") or char == "\ufe0f")


def _neutralise(text: str) -> str:
    """Break links, mass mentions and ``<...>`` syntax (shared by every renderer)."""
    text = _SCHEME_COLON.sub(":" + _ZWSP, text)
    text = _DOMAIN_DOT.sub("." + _ZWSP, text)
    text = _MASS_MENTION.sub("@" + _ZWSP, text)
    return text.replace("<", "<" + _ZWSP)


Escape = Callable[[int, str], str]


def _as_is(_index: int, char: str) -> str:
    return char


def _render(text: object, limit: int, escape: Escape, *, neutralise: bool = True) -> str:
    """Clean, (neutralise,) escape and clamp ``text``; :data:`PLACEHOLDER` if nothing is left."""
    if limit < len(PLACEHOLDER):
        raise ValueError(f"limit must be at least {len(PLACEHOLDER)}")
    raw = "" if text is None else str(text)
    # Only a prefix can be shown: cleaning a 5,000-character name whole would cost
    # milliseconds per name on the event loop. Generous for removed invisible characters.
    cap = limit * 4 + 64
    cut = len(raw) > cap
    cleaned = clean(raw[:cap])
    if neutralise:
        cleaned = _neutralise(cleaned)
    return _join(_units(cleaned, escape), limit, cut=cut)


def _units(text: str, escape: Escape) -> list[str]:
    """``text`` split into rendered pieces, one per source character (cut between them)."""
    units: list[str] = []
    for index, char in enumerate(text):
        if char == _ZWSP and units:
            units[-1] += char  # keep a breaking zero-width space with what it breaks
        else:
            units.append(escape(index, char))
    return units


def _join(units: list[str], limit: int, *, cut: bool = False) -> str:
    if not units:
        return PLACEHOLDER
    if not cut and sum(map(len, units)) <= limit:
        return "".join(units)
    kept: list[str] = []
    used = len(ELLIPSIS)
    for unit in units:
        if used + len(unit) > limit:
            break
        kept.append(unit)
        used += len(unit)
    text = "".join(kept).rstrip()
    return text + ELLIPSIS if text else PLACEHOLDER


def _markdown_escape(index: int, char: str) -> str:
    if char in _BRACKETS:
        return _BRACKETS[char]
    if char in _MARKDOWN or (char == "-" and index == 0):
        return "\\" + char
    return char


def _label_escape(_index: int, char: str) -> str:
    return _BRACKETS.get(char) or _LABEL_LOOKALIKES.get(char) or char


def _bracket_escape(_index: int, char: str) -> str:
    return _BRACKETS.get(char, char)


def _code_escape(_index: int, char: str) -> str:
    return _BRACKETS.get(char) or (_LABEL_LOOKALIKES["`"] if char == "`" else char)


def inline(text: object, limit: int) -> str:
    """Untrusted text for a markdown context (content, embed title/description/field)."""
    return _render(text, limit, _markdown_escape)


def link_label(text: object, limit: int) -> str:
    """Untrusted text for the label of a masked link the bot builds (no backslashes)."""
    return _render(text, limit, _label_escape)


def spotify_link(text: object, url: str, limit: int) -> str:
    """``[text](url)`` when ``url`` is an ``open.spotify.com`` link, else just the text.

    The only clickable links in the bot's replies come from here.
    """
    if _SPOTIFY_URL.fullmatch(url):
        return f"[{link_label(text, limit)}]({url})"
    return inline(text, limit)


def plain(text: object, limit: int, *, break_links: bool = True) -> str:
    """Untrusted text where Discord renders no markdown (choices, footers, chart labels).

    ``break_links=False`` is for places outside Discord (chart labels): the text is
    only cleaned and clamped. Otherwise brackets become full-width too: should a
    client ever render markdown here, no masked link can form.
    """
    if not break_links:
        return _render(text, limit, _as_is, neutralise=False)
    return _render(text, limit, _bracket_escape)


def code(text: object, limit: int) -> str:
    """Untrusted text shown as inline code, backticks included (nothing renders inside)."""
    # Mentions and links are inert in code already; breaking them anyway costs nothing.
    return f"`{_render(text, limit - 2, _code_escape)}`"


def file_cell(text: object, limit: int = 1000) -> str:
    """A CSV cell: one clean line, never read as a spreadsheet formula; may be empty."""
    if not clean(str(text or "")[: limit * 4 + 64]):
        return ""
    cell = _render(text, limit, _as_is, neutralise=False)
    # "=HYPERLINK(...)" would run as a formula (CSV injection); an apostrophe makes
    # it text, the usual guard. Cleaning first: a hidden character can't shield it.
    return "'" + cell if cell.startswith(("=", "+", "-", "@")) else cell


def shorten_list(items: Sequence[str], limit: int, separator: str = ", ") -> str:
    """Already-rendered ``items`` joined within ``limit``, ending "… and 12 more" if cut."""
    if not items:
        return ""
    joined = separator.join(items)
    if len(joined) <= limit:
        return joined
    kept: list[str] = []
    used = 0
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        ending = f" … and {rest} more" if rest else ""
        addition = len(item) + (len(separator) if kept else 0)
        if used + addition + len(ending) > limit:
            break
        kept.append(item)
        used += addition
    more = f"… and {len(items) - len(kept)} more"
    return f"{separator.join(kept)} {more}" if kept else more
