"""How well typed text names a song: normal forms of titles and artists, and scores.

Pure text functions used by :mod:`recommender.resolve`; no catalogue here.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

_APOSTROPHES = re.compile(r"['’‘´`ʼ]")
_NON_WORD = re.compile(r"[\W_]+")
# What follows " - " in a title is a version ("- Remastered 2011", "- Radio Edit",
# "- From "8 Mile""); brackets hold credits and versions ("(feat. X)", "[Live]").
_VERSION = re.compile(r"\s+[-–—]\s+.*$")
_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_CREDIT = re.compile(r"\s+(?:feat|ft)\.?\s.*$", re.IGNORECASE)
_LEADING_THE = re.compile(r"^the ")
PART_BASE = 0.7
MAX_WORDS = 12  # title/artist splits are tried over this many words at most
MAX_ARTIST_WORDS = 5


def fold(text: str) -> str:
    """Case-fold, no accents, apostrophes dropped ("Don't" -> "dont"), punctuation as spaces.

    :func:`recommender.catalogue.normalise_text` but for apostrophes, with a fast path
    for ASCII (most names; a catalogue of 100k tracks folds ~500k strings).
    """
    text = _APOSTROPHES.sub("", text)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def title_forms(name: str) -> tuple[str, ...]:
    """The folded forms a person may type for a title, the one people know first.

    "Bohemian Rhapsody - 2011 Mix" -> ("bohemian rhapsody", "bohemian rhapsody 2011 mix");
    a title that folds to nothing has no forms.
    """
    plain = _APOSTROPHES.sub("", name)
    known = fold(_CREDIT.sub("", _BRACKETS.sub("", _VERSION.sub("", plain))))
    full = fold(plain)
    # Interned: every server whose catalogue holds the song shares one copy of its forms.
    return tuple(dict.fromkeys(sys.intern(form) for form in (known, full) if form))


def artist_forms(artists: Sequence[str]) -> tuple[str, ...]:
    """Folded names to match the artist part of a text: each artist, all of them, no "the"."""
    names = [fold(a) for a in artists if a and fold(a)]
    forms: list[str] = []
    for name in [*names, " ".join(names)]:
        for form in (name, _LEADING_THE.sub("", name)):
            if form and form not in forms:
                forms.append(form)
    return tuple(map(sys.intern, forms))  # shared by every server holding the artist


def name_score(typed: str, name: str, floor: float = 0.0, *, typing: bool = False) -> float:
    """How well ``typed`` stands for ``name`` (both folded), 0-100; 0 if not above ``floor``.

    The edit-based ratio handles typos and missing letters or words. When one is a
    part of the other, aligned at word boundaries, the part also counts, discounted by
    how much of the longer one it covers: the start of a long title ("smells like teen"),
    or a title with extra words after it ("uptown funk bruno mars"). ``typing``: the
    text may stop in the middle of a word ("smells like te"). ``floor`` lets a caller
    that already has a score skip the work when this one cannot beat it.
    """
    short, long = sorted((len(typed), len(name)))
    if short == 0:
        return 0.0
    # A part is worth its match times this: 0.7 for covering nothing, 1 for everything.
    factor = PART_BASE + (1 - PART_BASE) * short / long
    if max(200 * short / (short + long), 100 * factor) <= floor:
        return 0.0  # neither the ratio nor a part could beat the floor
    score = fuzz.ratio(typed, name, score_cutoff=floor)
    if score >= 100 or short < 3 or short == long or 100 * factor <= max(score, floor):
        return score
    shorter, longer = (typed, name) if len(typed) < len(name) else (name, typed)
    needed = max(75.0, max(score, floor) / factor)
    alignment = fuzz.partial_ratio_alignment(shorter, longer, score_cutoff=needed)
    if alignment is None:
        return score
    start, end = alignment.dest_start, alignment.dest_end
    starts_word = start == 0 or longer[start - 1] == " "
    # Whole words only, but a text still being typed may stop in the middle of a word.
    ends_word = (typing and shorter is typed) or end == len(longer) or longer[end] == " "
    if not (starts_word and ends_word):
        return score
    if shorter is typed and not typing and " " not in typed:
        return score  # one finished word inside a longer name ("drake", "the") is no evidence
    return max(score, alignment.score * factor)


@dataclass(frozen=True, slots=True)
class Split:
    """One way to read a text as a title part and an artist part."""

    title: str
    artist: str
    title_last: bool  # the title part ends the text (it may be unfinished while typing)


def splits(query: str) -> list[Split]:
    """Readings of a folded ``query`` as "title artist" or "artist title" (or with "by")."""
    words = query.split()[:MAX_WORDS]
    found: list[Split] = []
    for k in range(1, len(words)):
        head, tail = words[:k], words[k:]
        if len(tail) <= MAX_ARTIST_WORDS:
            title = head[:-1] if head[-1] == "by" and len(head) > 1 else head
            found.append(Split(" ".join(title), " ".join(tail), title_last=False))
        if len(head) <= MAX_ARTIST_WORDS:
            found.append(Split(" ".join(tail), " ".join(head), title_last=True))
    return found
