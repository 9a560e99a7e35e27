"""Find the songs a Discord message is about: Spotify track links first, else a song name.

Used by the "Recommend songs like this" message command. A message is chat, not a
query: links are read wherever they are (in the text, in masked links, in the
previews Discord adds). Without a link, a short phrase (quoted text, a line, or the
whole message, up to :data:`SHORT_PHRASE_WORDS` words) goes to the server's
forgiving lookup (:class:`recommender.resolve.SongResolver`), typos and all. In a
longer message only a run of words that *is* a song's title (or title and artist)
counts, and a short title only when written like one ("Good Morning", not "good
morning everyone..."): otherwise everyday chat would turn into songs. A title found
but not written like one is offered as a maybe, not used.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.catalogue import Catalogue
from recommender.ids import looks_like_spotify_reference, parse_spotify_id
from recommender.query import MAX_SEEDS
from recommender.resolve import SongResolver
from recommender.song_match import artist_forms, fold, title_forms

MAX_TEXT = 4000  # characters of a message looked at (content 2,000 + embed text)
MAX_PHRASES = 12  # short phrases tried with the forgiving lookup (~1-4 ms each)
SHORT_PHRASE_WORDS = 6  # up to this many words, a phrase may be a typo'd song name
# In a longer message: runs of up to MAX_RUN_WORDS among its first MAX_WINDOW_WORDS
# words are looked up in a set of every title and "title artist" (microseconds each);
# a title of fewer than SURE_TITLE_WORDS words counts only when written capitalised.
MAX_WINDOW_WORDS = 120
MAX_RUN_WORDS = 12
SURE_TITLE_WORDS = 3
MIN_TITLE_LETTERS = 4  # a one-word title shorter than this is never looked for

# Tokens end at whitespace and at what wraps a link in markdown: <url>, (url), [label].
_TOKEN_BREAKS = re.compile(r"[\s<>()\[\]|*\"']+")
_QUOTED = re.compile(r"[\"“”«»„]([^\"“”«»„\n]{2,120})[\"“”«»„]|\*\*([^*\n]{2,120})\*\*")
_URL = re.compile(r"\S*://\S*|\S*open\.spotify\.com\S*|spotify:\S+")
_MENTION = re.compile(r"<[@#:a-zA-Z!&/][^>\s]*>")
_WORD = re.compile(r"[\w'’]+")


@dataclass(frozen=True)
class MessageSeeds:
    """What a message names: Spotify track ids (from links, in order), or one catalogue row.

    ``candidates`` are songs the message might mean when none was clear (rows, best
    first): several songs fit a name equally, or a title appeared in chat without
    being written like one.
    """

    track_ids: tuple[str, ...] = ()
    row: int | None = None
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
            # Punctuation that ends the sentence is not part of the link.
            track_id = parse_spotify_id(token.rstrip(".,;:!?…"), "track")
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

    Pure and synchronous; call it off the event loop (the first call for a catalogue
    builds its set of titles: about a second at 100k tracks).
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
    return _named_in_chat(phrases[-1] if phrases else "", resolver)


def _named_in_chat(text: str, resolver: SongResolver) -> MessageSeeds:
    """The longest run of words in ``text`` that is a song's title (or title and artist)."""
    words = _words(text)[:MAX_WINDOW_WORDS]
    names = _names_of(resolver.catalogue)
    maybe: list[int] = []
    for size in range(min(MAX_RUN_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            run = words[start : start + size]
            key = " ".join(word for word, _ in run)
            if size == 1 and len(key) < MIN_TITLE_LETTERS:
                continue
            kind = names.kind(key)
            if kind is None:
                continue
            sure = kind == "title and artist" or size >= SURE_TITLE_WORDS
            written_as_title = sure or all(cap for _, cap in run)
            if not written_as_title and maybe:
                continue  # a lookup (a few ms) could only find a second maybe
            resolution = resolver.resolve(key)
            if resolution.row is not None and written_as_title:
                return MessageSeeds(row=resolution.row)
            if not maybe:
                found = [resolution.row] if resolution.row is not None else []
                maybe = found or resolution.candidates[:3]
    return MessageSeeds(candidates=tuple(maybe))


def _words(text: str) -> list[tuple[str, bool]]:
    """Each folded word of ``text`` and whether it was written capitalised."""
    out: list[tuple[str, bool]] = []
    for token in _WORD.findall(text):
        capitalised = token[:1].isupper() or not token[:1].isalpha()
        out += [(word, capitalised) for word in fold(token).split()]
    return out


class _Names:
    """Every folded title and "title artist" of a catalogue, as sorted 64-bit hashes.

    Hashes, not strings: a few MB at 100k tracks instead of tens. A collision can
    only propose a run of words, which the resolver then has to resolve.
    """

    def __init__(self, catalogue: Catalogue) -> None:
        titles: set[int] = set()
        pairs: set[int] = set()
        artist_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
        for name, credited in zip(catalogue.names, catalogue.artists, strict=True):
            artists = artist_cache.get(credited)
            if artists is None:
                artists = artist_cache[credited] = artist_forms(credited)
            forms = title_forms(name)
            titles.update(hash(title) for title in forms)
            if forms:
                pairs.update(hash(f"{forms[0]} {artist}") for artist in artists)
        self._titles = np.array(sorted(titles), dtype=np.int64)
        self._pairs = np.array(sorted(pairs), dtype=np.int64)

    def kind(self, key: str) -> str | None:
        """``"title and artist"``, ``"title"``, or ``None`` for a run that is neither."""
        if _holds(self._pairs, hash(key)) or (
            " by " in key and _holds(self._pairs, hash(key.replace(" by ", " ", 1)))
        ):
            return "title and artist"
        return "title" if _holds(self._titles, hash(key)) else None


def _holds(sorted_hashes: np.ndarray, value: int) -> bool:
    index = int(np.searchsorted(sorted_hashes, value))
    return index < sorted_hashes.shape[0] and int(sorted_hashes[index]) == value


_NAMES: dict[int, tuple[weakref.ref[Catalogue], _Names]] = {}
_NAMES_LOCK = threading.Lock()


def _names_of(catalogue: Catalogue) -> _Names:
    """The catalogue's :class:`_Names`, built on first use (catalogues are never edited)."""
    with _NAMES_LOCK:
        cached = _NAMES.get(id(catalogue))
        if cached is not None and cached[0]() is catalogue:
            return cached[1]
        names = _Names(catalogue)
        # A rebuilt guild catalogue replaces the old one: forget the collected ones.
        for key in [k for k, (ref, _) in _NAMES.items() if ref() is None]:
            del _NAMES[key]
        _NAMES[id(catalogue)] = (weakref.ref(catalogue), names)
        return names
