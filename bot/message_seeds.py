"""Find the songs a Discord message is about: Spotify track links first, else a song name.

Used by the "Recommend songs like this" message command. A message is chat, not a
query: links are read wherever they are (in the text, in masked links, in the
previews Discord adds), and a song name is looked for in the phrases a person
would put one in (quoted text, each line, the whole message) with the server's
forgiving lookup (:class:`recommender.resolve.SongResolver`). In a longer message
only a title written out letter for letter counts, so that ordinary chat ("what is
everyone listening to, today?") does not turn into a song called "Everyone".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recommender.ids import looks_like_spotify_reference, parse_spotify_id
from recommender.query import MAX_SEEDS
from recommender.resolve import SongResolver
from recommender.song_match import fold

MAX_TEXT = 4000  # characters of a message looked at (content 2,000 + embed text)
MAX_PHRASES = 12  # phrases tried against the catalogue (each lookup ~1-2 ms at 100k)
SHORT_PHRASE_WORDS = 6  # up to this many words, a phrase may be a typo'd song name
# In a longer message only whole titles count, found among its first MAX_WINDOW_WORDS
# words in runs of up to MAX_TITLE_WORDS (at most ~240 lookups, ~0.3 s at 100k tracks,
# off the event loop); a one-word title needs MIN_TITLE_LETTERS letters.
MAX_WINDOW_WORDS = 40
MAX_TITLE_WORDS = 6
MIN_TITLE_LETTERS = 4

# Tokens end at whitespace and at what wraps a link in markdown: <url>, (url), [label].
_TOKEN_BREAKS = re.compile(r"[\s<>()\[\]|*\"']+")
_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{2,120})[\"“”«»„]|\*\*([^*\n]{2,120})\*\*")
_URL = re.compile(r"\S*://\S*|\S*open\.spotify\.com\S*|spotify:\S+")
_MENTION = re.compile(r"<[@#:a-zA-Z!&/][^>\s]*>")


@dataclass(frozen=True)
class MessageSeeds:
    """What a message names: Spotify track ids (from links, in order), or one catalogue row."""

    track_ids: tuple[str, ...] = ()
    row: int | None = None
    #: Songs the name could also be, when it was not clear which one (rows, best first).
    candidates: tuple[int, ...] = ()

    @property
    def found(self) -> bool:
        """Whether anything usable as a seed was found."""
        return bool(self.track_ids) or self.row is not None


def track_ids_in(texts: Iterable[str], limit: int = MAX_SEEDS) -> list[str]:
    """Spotify track ids of the links and URIs in ``texts``, first seen first, at most ``limit``.

    Links to playlists, albums or artists are not tracks and are skipped.
    """
    found: list[str] = []
    for text in texts:
        for token in _TOKEN_BREAKS.split(text[:MAX_TEXT]):
            if not looks_like_spotify_reference(token):
                continue
            track_id = parse_spotify_id(token, "track")
            if track_id is not None and track_id not in found:
                found.append(track_id)
                if len(found) == limit:
                    return found
    return found


def phrases_in(texts: Sequence[str]) -> list[str]:
    """Where a song name would be, most telling first: quoted text, each line, everything."""
    joined = "\n".join(t for t in texts if t)[:MAX_TEXT]
    quoted = [a or b for a, b in _QUOTED.findall(joined)]
    stripped = _MENTION.sub(" ", _URL.sub(" ", joined))
    lines = [line for line in stripped.splitlines() if fold(line)]
    whole = " ".join(lines)
    phrases = [*quoted, *lines, whole]
    # Each phrase once (case and punctuation aside), at most MAX_PHRASES of them.
    unique: dict[str, str] = {}
    for phrase in phrases:
        key = fold(phrase)
        if key and key not in unique:
            unique[key] = phrase
    return list(unique.values())[:MAX_PHRASES]


def find_seeds(texts: Sequence[str], resolver: SongResolver | None) -> MessageSeeds:
    """The songs ``texts`` (a message's content and its embeds' text) are about.

    Track links win (up to five). Without any: a short phrase (quoted text, a line,
    the whole message) that the forgiving lookup resolves, else the longest run of
    words that is a song's title (or title and artist) letter for letter. Pure and
    synchronous: call it off the event loop (a long message costs a few hundred
    lookups at most).
    """
    ids = track_ids_in(texts)
    if ids:
        return MessageSeeds(track_ids=tuple(ids))
    if resolver is None:
        return MessageSeeds()
    unsure: tuple[int, ...] = ()
    phrases = phrases_in(texts)
    for phrase in phrases:
        if len(fold(phrase).split()) > SHORT_PHRASE_WORDS:
            continue
        resolution = resolver.resolve(phrase)
        if resolution.row is not None:
            return MessageSeeds(row=resolution.row)
        if not unsure and resolution.problem == "ambiguous":
            unsure = tuple(resolution.candidates)
    if unsure:
        return MessageSeeds(candidates=unsure)
    row = _title_in(fold(phrases[-1]).split() if phrases else [], resolver)
    return MessageSeeds(row=row)


def _title_in(words: list[str], resolver: SongResolver) -> int | None:
    """The song whose title (or title and artist) is the longest run of ``words``, if any.

    Only exact matches: in chat, "today" or "heartbeat" is a song only if written as
    its whole title, and a one-word title needs :data:`MIN_TITLE_LETTERS` letters.
    """
    words = words[:MAX_WINDOW_WORDS]
    for size in range(min(MAX_TITLE_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            window = " ".join(words[start : start + size])
            if size == 1 and len(window) < MIN_TITLE_LETTERS:
                continue
            matches = resolver.rank(window)
            if matches and matches[0].exact:
                return matches[0].row
    return None
