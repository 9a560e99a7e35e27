"""Untrusted text on its way to Discord: no foreign links, no mentions, no disguises, in limits."""

from __future__ import annotations

import re
from pathlib import Path

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import discord_limits
from bot.render.untrusted_text import (
    PLACEHOLDER,
    clean,
    code,
    file_cell,
    inline,
    link_label,
    plain,
    shorten_list,
    spotify_link,
)
from tests.discord_payloads import disguises, foreign_links, limit_problems, links, mentions

SPOTIFY = "https://open.spotify.com/track/6f807x0ima9a1j3VPbc7VN"
PHISHING = "Free Nitro](https://evil.example/claim) [x"
# Pieces an attacker combines: link and mention syntax, markdown, invisible characters.
FRAGMENTS = [
    "[", "]", "(", ")", "](", "https://", "http:/", "javascript:", "evil.example", "/claim",
    "discord.gg/", "<", ">", "<@", "<@&", "<#", "</", "123456789012345678", "@everyone",
    "@here", "*", "**", "_", "~~", "||", "`", "```", "#", "-#", "> ", "\\", ":", "//",
    "\n", "\r\n", "\t", " ", "\u200b", "\u200d", "\u202e", "\u2066", "\u2069", "\u200f",
    "\u3164", "\u2800", "\ufeff", "\u0301", "\U000e0041", "👩", "🏽", "\ufe0f", "é", "Song",
]  # fmt: skip
hostile = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=40).map("".join)
limits = st.integers(min_value=12, max_value=300)


def visible(markdown: str) -> str:
    """What a member reads: escapes consumed, zero-width spaces invisible."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def rendered_problems(text: str) -> list[str]:
    return foreign_links(text) + mentions(text) + disguises(text)


# -- the examples from the issue ---------------------------------------------------------


def test_a_phishing_name_inside_the_bots_link_links_only_to_spotify() -> None:
    line = f"1️⃣ 🇦 {spotify_link(PHISHING, SPOTIFY, 80)} — {inline('Artist', 50)}"
    assert links(line) == [SPOTIFY]
    assert "Free Nitro" in line and "evil" in line  # shown, not hidden and not clickable


def test_the_same_name_as_plain_markdown_links_nowhere() -> None:
    for render in (inline, link_label, plain):
        text = render(PHISHING, 100)
        assert links(text) == [] and links(f"**{text}**") == []


def test_only_spotify_urls_become_links() -> None:
    assert spotify_link("Song", "https://evil.example/track/x", 80) == "Song"
    assert spotify_link("Song", SPOTIFY + "?x=1", 80) == "Song"
    assert spotify_link("Song", SPOTIFY, 80) == f"[Song]({SPOTIFY})"


@pytest.mark.parametrize(
    "name",
    ["@everyone", "@here", "<@123456789012345678>", "<@&123456789012345678>", "<#1234567890>",
     "</recommend:1234567890>", "<t:1700000000:R>", "<a:party:1234567890>"],
)  # fmt: skip
def test_mentions_are_shown_but_not_rendered(name: str) -> None:
    for render in (inline, link_label, plain):
        text = render(name, 100)
        assert mentions(text) == []
        assert re.search(r"<[@#/:at]", text) is None  # no "<...>" syntax of any kind
        assert visible(text) == name  # what a member reads is the name itself


@pytest.mark.parametrize(
    ("name", "shown"),
    [("# Heading", r"\# Heading"), ("-# subtext", r"\-\# subtext"), ("> quote", r"\> quote"),
     ("```code```", r"\`\`\`code\`\`\`"), ("||spoiler||", r"\|\|spoiler\|\|"),
     ("**bold** _it_ ~~s~~", r"\*\*bold\*\* \_it\_ \~\~s\~\~"), ("a\\", "a\\\\")],
)  # fmt: skip
def test_markdown_is_shown_literally(name: str, shown: str) -> None:
    assert inline(name, 100) == shown


def test_lines_collapse_and_disguises_go() -> None:
    assert inline("two\nlines\r\n\tand\u2028more", 100) == "two lines and more"
    assert plain("\u202eevil\u202c \u200bname\u2066\u2069", 100) == "evil name"
    zalgo = "x" + "\u0301\u0302\u0303\u0304\u0305\u0306\u0307" * 3
    assert plain(zalgo, 100) == "x\u0301\u0302\u0303\u0304"  # stacked marks capped
    family = "👨\u200d👩\u200d👧"
    assert plain(family, 100) == family  # emoji sequences keep their joiners


@pytest.mark.parametrize("blank", ["", "   ", "\u200b\u200b", "\u3164", "\u202e\n\t", None])
def test_empty_names_get_a_placeholder(blank: str | None) -> None:
    for render in (inline, link_label, plain):
        assert render(blank, 50) == PLACEHOLDER
    assert code(blank, 50) == f"`{PLACEHOLDER}`"
    assert spotify_link(blank, SPOTIFY, 50) == f"[{PLACEHOLDER}]({SPOTIFY})"


def test_long_names_are_clamped_with_an_ellipsis() -> None:
    long = "x" * 5000
    assert inline(long, 80) == "x" * 79 + "…"
    assert len(code(long, 40)) == 40 and code(long, 40).endswith("…`")
    # An escape is never cut in half (a lone backslash would escape what follows).
    assert inline("*" * 100, 10) == r"\*\*\*\*…"


def test_only_a_bounded_prefix_is_read_and_the_cut_is_marked() -> None:
    # Cleaning 5,000 characters per name would cost milliseconds on the event loop.
    padded = "ab" + "\u200b" * 400 + "cd"
    assert inline(padded, 60) == "ab…"
    assert plain("y" * 100_000, 20) == "y" * 19 + "…"


def test_code_spans_cannot_be_closed_early() -> None:
    assert code("a`b", 50) == "`aˋb`"


def test_csv_cells_are_one_clean_line_and_never_formulas() -> None:
    assert file_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert file_cell("\u200b=1+1") == "'=1+1"  # a hidden character does not shield it
    assert file_cell(" @SUM(A1)") == "'@SUM(A1)"
    assert file_cell("line\nbreak") == "line break"
    assert file_cell("") == ""
    assert len(file_cell("x" * 5000)) == 1000


def test_shorten_list_says_how_many_are_left_out() -> None:
    items = [f"song {i}" for i in range(50)]
    text = shorten_list(items, 60)
    assert len(text) <= 60
    shown = text.split(" … ")[0].split(", ")
    assert text.endswith(f"… and {50 - len(shown)} more")
    assert shorten_list(items[:3], 60) == "song 0, song 1, song 2"
    assert shorten_list([], 60) == ""


# -- properties over hostile input -------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(text=hostile, limit=limits)
def test_inline_is_safe_bounded_and_never_empty(text: str, limit: int) -> None:
    out = inline(text, limit)
    assert 1 <= len(out) <= limit
    assert "\n" not in out and out.strip()
    # Safe also next to the bot's own markup and links.
    line = f"**{out}** {spotify_link(text, SPOTIFY, limit)} — {out}\n-# {out}"
    assert rendered_problems(line) == []
    assert [t for t in links(line) if t != SPOTIFY] == []
    assert links(line).count(SPOTIFY) == 1


@settings(max_examples=400, deadline=None)
@given(text=hostile, limit=limits)
def test_spotify_link_is_the_only_link(text: str, limit: int) -> None:
    link = spotify_link(text, SPOTIFY, limit)
    assert links(f"{link} {link}") == [SPOTIFY, SPOTIFY]
    assert len(link_label(text, limit)) <= limit


@settings(max_examples=300, deadline=None)
@given(text=hostile, limit=limits)
def test_plain_and_labels_are_idempotent(text: str, limit: int) -> None:
    for render in (plain, link_label):
        once = render(text, limit)
        # Idempotent up to the zero-width spaces that break syntax a cut already broke.
        assert visible(render(once, limit)) == visible(once)
        assert 1 <= len(once) <= limit and rendered_problems(once) == []


@settings(max_examples=200, deadline=None)
@given(text=hostile)
def test_inline_shows_the_name_itself(text: str) -> None:
    # Escaping adds only backslashes and zero-width spaces: what a member reads is the name.
    shown = visible(inline(text, 10_000))
    assert shown == (clean(text).replace("[", "［").replace("]", "］") or PLACEHOLDER)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(hostile, max_size=60), limit=st.integers(min_value=20, max_value=500))
def test_shorten_list_stays_within_its_limit(items: list[str], limit: int) -> None:
    rendered = [inline(item, 15) for item in items]
    out = shorten_list(rendered, limit)
    assert len(out) <= limit
    if out and out != ", ".join(rendered):
        assert re.search(r"… and \d+ more$", out)


# -- Discord's limits --------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(max_size=400),
    description=st.text(max_size=6000),
    fields=st.lists(st.tuples(st.text(max_size=300), st.text(max_size=1500)), max_size=30),
    footer=st.text(max_size=2500),
    author=st.text(max_size=300),
)
def test_fit_embed_meets_every_embed_limit(
    title: str, description: str, fields: list[tuple[str, str]], footer: str, author: str
) -> None:
    embed = discord.Embed(title=title or None, description=description or None)
    for name, value in fields:
        embed.add_field(name=name, value=value)
    if footer:
        embed.set_footer(text=footer)
    if author:
        embed.set_author(name=author)
    fitted = discord_limits.fit_embed(embed)
    assert limit_problems({"embeds": [fitted.to_dict()]}) == []


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=3000), limit=st.integers(min_value=2, max_value=2500))
def test_clamp_never_exceeds_the_limit(text: str, limit: int) -> None:
    out = discord_limits.clamp(text, limit)
    assert len(out) <= limit
    assert out == text or out.endswith("…")


def test_clamp_never_leaves_half_a_link() -> None:
    text = "intro " + f"[Song]({SPOTIFY})" * 3
    for limit in range(8, len(text)):
        out = discord_limits.clamp(text, limit)
        assert foreign_links(out) == [], out


def test_fit_content_is_never_empty_and_fits() -> None:
    assert discord_limits.fit_content("") == "…"
    assert len(discord_limits.fit_content("x" * 5000)) == discord_limits.MESSAGE_CONTENT


def test_replies_never_escape_markdown_by_another_path() -> None:
    # discord.utils.escape_markdown leaves "](" alone (the phishing bug): one path only.
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("bot", "cogs")
        for path in (root / folder).rglob("*.py")
        if "escape_markdown" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
