"""Build the lookup test set: how people really mistype songs of the shared catalogue.

    python scripts/make_misspellings.py [--data ../shared/data/spotify_songs.csv.gz]
                                        [--out tests/data/misspellings.jsonl]

The queries come from models of human typing, never from what the resolver does:
well-known songs of the TidyTuesday catalogue (``../shared/data/spotify_songs.csv.gz``)
are drawn with a fixed seed and each gets one error model: a QWERTY neighbour key,
a dropped, doubled or transposed letter, a phonetic spelling ("rapsody"), missing
apostrophes and punctuation, a missing word, the title and artist typed without a
separator, or only the start of the title. A hand-written list of classic human
misspellings is added. Same data + same seed = the same file, byte for byte.

Each line of the output is a JSON object: ``query``; ``expected``, the Spotify ids of
every release of the song (any of them counts as correct); ``song``, the title and
artist the query means; and ``model``, the error model (``hand`` for the list).

What the person means is decided from the data alone: the song drawn. A title-only
query is made only when no other song with a similar popularity (within
``SHARED_TITLE_MARGIN`` points) shares that title; otherwise the artist is typed too,
as a person would do. A query that equals the exact title of another song is dropped
(whoever types an exact title means that song).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "spotify_songs.csv.gz"
DEFAULT_OUT = ROOT / "tests" / "data" / "misspellings.jsonl"
SEED = 20200121  # the TidyTuesday release date of the data
WELL_KNOWN = 65  # popularity (0-100) of the songs a query may be about
GENERATED = 200
SHARED_TITLE_MARGIN = 15

# Classic human misspellings and partial queries, written by hand (not generated):
# (query, title as people know it, primary artist).
HAND_WRITTEN: list[tuple[str, str, str]] = [
    ("smells like teen spirt", "Smells Like Teen Spirit", "Nirvana"),
    ("Bohemian Rapsody", "Bohemian Rhapsody", "Queen"),
    ("bad guyy", "bad guy", "Billie Eilish"),
    ("Enter Sandman", "Enter Sandman", "Metallica"),
    ("Shape of You", "Shape of You", "Ed Sheeran"),
    ("sweet child of mine", "Sweet Child O' Mine", "Guns N' Roses"),
    ("dont stop beleiving", "Don't Stop Believin'", "Journey"),
    ("hotel califonia", "Hotel California", "Eagles"),
    ("stairway to heven", "Stairway to Heaven", "Led Zeppelin"),
    ("billy jean michael jackson", "Billie Jean", "Michael Jackson"),
    ("loosing my religion", "Losing My Religion", "R.E.M."),
    ("wonder wall oasis", "Wonderwall", "Oasis"),
    ("mr brightside", "Mr. Brightside", "The Killers"),
    ("somebody that i use to know", "Somebody That I Used To Know", "Gotye"),
    ("despasito", "Despacito", "Luis Fonsi"),
    ("gods plan", "God's Plan", "Drake"),
    ("sicko mode travis", "SICKO MODE", "Travis Scott"),
    ("uptown funk bruno mars", "Uptown Funk", "Mark Ronson"),
    ("welcome to the jungel", "Welcome To The Jungle", "Guns N' Roses"),
    ("seven nations army", "Seven Nation Army", "The White Stripes"),
    ("living on a prayer", "Livin' On A Prayer", "Bon Jovi"),
    ("hips dont lie", "Hips Don't Lie", "Shakira"),
    ("no scrubs tlc", "No Scrubs", "TLC"),
    ("gangstas paradise", "Gangsta's Paradise", "Coolio"),
    ("every breath you take police", "Every Breath You Take", "The Police"),
    ("senorita shawn mendes", "Señorita", "Shawn Mendes"),
    ("rolling in the deep", "Rolling in the Deep", "Adele"),
    ("thinking out loud", "Thinking out Loud", "Ed Sheeran"),
    ("sweet dreams eurythmics", "Sweet Dreams", "Eurythmics"),
    ("take on me aha", "Take on Me", "a-ha"),
    ("highway to hel", "Highway to Hell", "AC/DC"),
    ("humble kendrick", "HUMBLE.", "Kendrick Lamar"),
    ("rockstar post malone", "rockstar", "Post Malone"),
    ("old town road", "Old Town Road", "Lil Nas X"),
    ("dont start now", "Don't Start Now", "Dua Lipa"),
]

# Lower-case QWERTY neighbours (same row and the rows above and below).
_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_OFFSETS = [0.0, 0.3, 0.8]  # how far each row sits to the right of the one above


def _qwerty_neighbours() -> dict[str, str]:
    positions = {
        ch: (r, c + _OFFSETS[r]) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)
    }
    neighbours: dict[str, str] = {}
    for ch, (r, x) in positions.items():
        near = [
            other
            for other, (r2, x2) in positions.items()
            if other != ch and abs(r2 - r) <= 1 and abs(x2 - x) <= (1.0 if r2 == r else 0.8)
        ]
        neighbours[ch] = "".join(sorted(near))
    return neighbours


QWERTY = _qwerty_neighbours()

# Spelling by ear: (pattern, as some people spell it). Applied once, where it matches.
PHONETIC: list[tuple[str, str]] = [
    (r"rh", "r"),
    (r"ph", "f"),
    (r"ck", "k"),
    (r"ie", "ei"),
    (r"ei", "ie"),
    (r"\byou\b", "u"),
    (r"\byour\b", "ur"),
    (r"ight\b", "ite"),
    (r"ough", "ow"),
    (r"ea", "ee"),
    (r"ee", "ea"),
    (r"oo", "u"),
    (r"tion", "shun"),
    (r"ll", "l"),
    (r"ss", "s"),
    (r"tt", "t"),
    (r"c(?=[aoulr])", "k"),
    (r"(?<=[^aeiou\W])y\b", "ie"),
    (r"(?<=\w)s\b", "z"),
    (r"er\b", "a"),
]

SMALL_WORDS = {"the", "a", "an", "of", "to", "in", "on", "and", "my", "me", "i", "is", "it"}


def fold(text: str) -> str:
    """Lower case, no accents, apostrophes dropped, other punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = re.sub(r"['’´`]", "", plain)
    return " ".join(re.sub(r"[^\w]+|_", " ", plain).split())


def known_title(name: str) -> str:
    """The title as people know it: no " - Remastered", "(feat. X)" or "[Live]" parts."""
    head = re.split(r"\s+[-–—]\s+", name, maxsplit=1)[0]
    without = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", "", head)
    without = re.sub(r"\s+(?:feat|ft)\.?\s.*$", "", without, flags=re.IGNORECASE).strip()
    return without or head.strip()


@dataclass
class Song:
    """One song of the catalogue: every release (id) of one title by one artist."""

    title: str  # as people know it (``known_title``), original case
    artist: str  # primary artist
    ids: list[str]
    popularity: int

    @property
    def key(self) -> tuple[str, str]:
        return fold(self.title), fold(self.artist)


def load_songs(path: Path) -> dict[tuple[str, str], Song]:
    """Songs by (folded known title, folded primary artist), with all their ids."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(
            handle, usecols=["track_id", "track_name", "track_artist", "track_popularity"]
        )
    frame = frame.drop_duplicates("track_id").dropna(subset=["track_name", "track_artist"])
    songs: dict[tuple[str, str], Song] = {}
    for track_id, name, artist, popularity in frame.itertuples(index=False):
        title = known_title(str(name))
        primary = str(artist)
        key = (fold(title), fold(primary))
        if not key[0] or not key[1]:
            continue
        song = songs.get(key)
        if song is None:
            songs[key] = Song(title, primary, [str(track_id)], int(popularity))
        else:
            song.ids.append(str(track_id))
            if int(popularity) > song.popularity:
                song.title, song.popularity = title, int(popularity)
    for song in songs.values():
        song.ids.sort()
    return songs


# -- error models ----------------------------------------------------------------------
# Each takes the text and a random generator and returns the mistyped text, or None when
# the model does not apply (e.g. no apostrophe to drop).

Model = Callable[[str, random.Random], str | None]


def _letter_positions(text: str) -> list[int]:
    # The first letter is rarely wrong; people see it.
    return [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]


def adjacent_key(text: str, rng: random.Random) -> str | None:
    """One letter replaced by a QWERTY neighbour."""
    spots = [i for i in _letter_positions(text) if text[i].lower() in QWERTY]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + rng.choice(QWERTY[text[i].lower()]) + text[i + 1 :]


def dropped_letter(text: str, rng: random.Random) -> str | None:
    """One letter left out."""
    spots = _letter_positions(text)
    if len(spots) < 4:
        return None
    i = rng.choice(spots)
    return text[:i] + text[i + 1 :]


def doubled_letter(text: str, rng: random.Random) -> str | None:
    """One letter typed twice."""
    spots = _letter_positions(text)
    if not spots:
        return None
    i = rng.choice(spots)
    return text[: i + 1] + text[i] + text[i + 1 :]


def transposition(text: str, rng: random.Random) -> str | None:
    """Two neighbouring letters swapped."""
    spots = [i for i in _letter_positions(text) if i + 1 < len(text) and text[i + 1].isalpha()]
    spots = [i for i in spots if text[i].lower() != text[i + 1].lower()]
    if not spots:
        return None
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def phonetic(text: str, rng: random.Random) -> str | None:
    """Spelt by ear: one sound written another way ("rhapsody" -> "rapsody")."""
    lower = text.lower()
    options = [(pattern, heard) for pattern, heard in PHONETIC if re.search(pattern, lower)]
    if not options:
        return None
    pattern, heard = rng.choice(options)
    match = rng.choice(list(re.finditer(pattern, lower)))
    return text[: match.start()] + heard + text[match.end() :]


def no_punctuation(text: str, rng: random.Random) -> str | None:
    """Apostrophes and punctuation left out ("Don't Stop Me Now" -> "dont stop me now")."""
    if not re.search(r"[^\w\s]", text):
        return None
    return " ".join(re.sub(r"[^\w\s]", "", text).split())


def missing_word(text: str, rng: random.Random) -> str | None:
    """One word in the middle left out, most often a small one ("the", "of")."""
    words = text.split()
    if len(words) < 3:
        return None
    middle = range(1, len(words) - 1)  # the first and last words are the ones people remember
    small = [i for i in middle if fold(words[i]) in SMALL_WORDS]
    i = rng.choice(small) if small and rng.random() < 0.7 else rng.choice(middle)
    return " ".join(words[:i] + words[i + 1 :])


def partial_title(text: str, rng: random.Random) -> str | None:
    """Only the start of a long title: at least three words and 55% of its letters."""
    words = text.split()
    if len(words) < 4:
        return None
    cuts = [k for k in range(3, len(words)) if len(" ".join(words[:k])) >= 0.55 * len(text)]
    if not cuts:
        return None
    return " ".join(words[: rng.choice(cuts)])


TITLE_MODELS: dict[str, Model] = {
    "adjacent_key": adjacent_key,
    "dropped_letter": dropped_letter,
    "doubled_letter": doubled_letter,
    "transposition": transposition,
    "phonetic": phonetic,
    "no_punctuation": no_punctuation,
    "missing_word": missing_word,
    "partial_title": partial_title,
}
TYPO_MODELS = ["adjacent_key", "dropped_letter", "doubled_letter", "transposition", "phonetic"]


def title_artist(song: Song, rng: random.Random) -> str:
    """Title and artist without a separator, now and then in the other order or mistyped."""
    artist = song.artist
    if rng.random() < 0.3:
        # People drop a leading "The" ("the weeknd" -> "weeknd").
        words = artist.split()
        if len(words) > 1 and fold(words[0]) == "the":
            artist = " ".join(words[1:])
    text = f"{artist} {song.title}" if rng.random() < 0.25 else f"{song.title} {artist}"
    if rng.random() < 0.5:
        typo = TITLE_MODELS[rng.choice(TYPO_MODELS)](text, rng)
        text = typo or text
    return text


# -- the set ---------------------------------------------------------------------------


@dataclass
class Query:
    """One line of the test set."""

    query: str
    song: Song
    model: str

    def as_json(self) -> str:
        record = {
            "query": self.query,
            "expected": self.song.ids,
            "song": f"{self.song.title} — {self.song.artist}",
            "model": self.model,
        }
        return json.dumps(record, ensure_ascii=False)


def _casing(text: str, rng: random.Random) -> str:
    # Most people type in lower case; some keep the title's capitals.
    return text.lower() if rng.random() < 0.6 else text


def generate(songs: dict[tuple[str, str], Song], count: int, seed: int) -> list[Query]:
    """``count`` mistyped queries for well-known songs, one error model each, in turn."""
    rng = random.Random(seed)
    by_title: dict[str, list[Song]] = defaultdict(list)
    for song in songs.values():
        by_title[song.key[0]].append(song)
    well_known = sorted(
        (s for s in songs.values() if s.popularity >= WELL_KNOWN), key=lambda s: s.key
    )
    rng.shuffle(well_known)
    names = [*TITLE_MODELS, "title_artist"]
    queries: list[Query] = []
    seen: set[str] = set()
    turn = 0
    for song in well_known:
        if len(queries) == count:
            break
        shared = any(
            other is not song and other.popularity >= song.popularity - SHARED_TITLE_MARGIN
            for other in by_title[song.key[0]]
        )
        model = "title_artist" if shared else names[turn % len(names)]
        if model == "title_artist":
            text: str | None = title_artist(song, rng)
        else:
            text = TITLE_MODELS[model](song.title, rng)
        if text is None:
            continue  # the model does not apply; the next song gets this model
        text = _casing(text, rng)
        folded = fold(text)
        if not folded or folded in seen or any(o is not song for o in by_title.get(folded, [])):
            continue  # the exact title of another song: a person would mean that one
        seen.add(folded)
        queries.append(Query(text, song, model))
        if not shared:
            turn += 1
    return queries


def hand_written(songs: dict[tuple[str, str], Song]) -> list[Query]:
    """The hand-written list, each entry checked against the catalogue."""
    queries = []
    for text, title, artist in HAND_WRITTEN:
        song = songs.get((fold(title), fold(artist)))
        if song is None:
            raise SystemExit(f"hand-written entry not in the catalogue: {title} — {artist}")
        queries.append(Query(text, song, "hand"))
    return queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--count", type=int, default=GENERATED, help="generated queries")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"{args.data} not found (see ../shared/data/README.md)", file=sys.stderr)
        return 1
    songs = load_songs(args.data)
    queries = hand_written(songs) + generate(songs, args.count, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(q.as_json() + "\n" for q in queries), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for query in queries:
        counts[query.model] += 1
    print(f"{len(queries)} queries -> {args.out}: {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
