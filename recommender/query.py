"""What to ask the engine: a query (what the answer should be like) and its options.

A query is one of four small values, all answered by ``Recommender.recommend``:

* :class:`Seeds`: one to five catalogue tracks ("more like these");
* :class:`OutsideTrack`: a track that need not be in the catalogue, with its features;
* :class:`Taste`: a listener's likes and dislikes ("something for me");
* :class:`Popular`: nothing in particular (the most popular, or a server's favourites).

The options that shape any of them live here too: :class:`Boosts` (playlists
together, liked together here), :class:`Diversity` and :class:`Steering` (moods,
tempo, decade and how far to explore).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

from recommender.catalogue import normalise_text
from recommender.track import Track
from recommender.validation import RANGES

Seed = int | str
"""A seed is a catalogue row or a Spotify track id in the catalogue."""

MAX_SEEDS = 5
"""At most this many seed songs in one query (Spotify's retired endpoint took five too)."""

DEFAULT_PLAYLIST_WEIGHT = 2.0
"""Weight of playlist co-membership (scores in [0, 1]) added to the score when a
catalogue knows its playlists; the library's default is 0 (off), the command line
uses this, and the bot when a server has several playlists. Tuned on (A) NDCG@10 of
half of the shared dataset's playlists at the default alpha 0.8 (0.5: 0.0315,
1: 0.0382, 2: 0.0389, 4: 0.0393; the smallest within 1% of the best); see
docs/quality.md."""

DEFAULT_CO_LIKE_WEIGHT = 0.3
"""Weight of "liked together here" (scores in [0, 1]): at most this much is added to a
score for tracks the members who liked the seeds also liked."""

MIN_CO_LIKERS = 2
"""Fewer members than this who liked a seed (and something else): no co-like signal.
One person's likes are not "the server's taste"; cold start is ignored, not guessed."""

FAVOURITE_WEIGHT = 1.0
"""For a :class:`Popular` query with the server's likes: added per member who liked a
track, so liked tracks come first (most liked first) and popularity fills the rest."""


@dataclass(frozen=True)
class Seeds:
    """One to five catalogue tracks (rows or Spotify ids).

    ``ignore_playlists`` are playlists the co-membership signal must not use for this
    query (an evaluation never scores a query with the playlist its answers come from).
    """

    tracks: Sequence[Seed]
    ignore_playlists: Sequence[str] = ()

    def __post_init__(self) -> None:
        # A lone id is a common slip: "abc" would otherwise be three one-letter seeds.
        tracks = (self.tracks,) if isinstance(self.tracks, str | int) else tuple(self.tracks)
        if not tracks:
            raise ValueError("give at least one seed")
        if len(tracks) > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS} seeds, got {len(tracks)}")
        object.__setattr__(self, "tracks", tracks)
        object.__setattr__(self, "ignore_playlists", tuple(self.ignore_playlists))


@dataclass(frozen=True)
class OutsideTrack:
    """A track that may be outside the catalogue; its own features make the query.

    If the catalogue holds its id, it is answered as ``Seeds([track.id])``.
    """

    track: Track


@dataclass(frozen=True)
class Taste:
    """A listener's ratings: liked and disliked catalogue tracks (rows or ids).

    As a query it asks for picks for this taste. As the ``taste=`` option of another
    query it tunes that query towards the taste, by as much as the ratings weigh.
    """

    liked: Sequence[Seed] = ()
    disliked: Sequence[Seed] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "liked", tuple(self.liked))
        object.__setattr__(self, "disliked", tuple(self.disliked))


@dataclass(frozen=True)
class Popular:
    """No query: the most recent & popular tracks (ranked as alpha 0).

    With the server's likes in :class:`Boosts`, these are the server's favourites.
    """


Query = Seeds | OutsideTrack | Taste | Popular
"""Everything ``Recommender.recommend`` answers."""

QUERY_TYPES = (Seeds, OutsideTrack, Taste, Popular)


@dataclass(frozen=True)
class Boosts:
    """Extra points beyond sound and popularity, each with its own named weight.

    ``playlist_weight`` scales co-membership with the seeds in the catalogue's
    playlists ("often in playlists together"); ``None`` keeps the recommender's own
    default. ``likes`` maps each member of a server to the catalogue rows they liked
    there: tracks liked by the members who liked the seeds earn up to
    ``co_like_weight`` ("liked together here"), and every answer says how many
    members liked each suggestion.
    """

    playlist_weight: float | None = None
    likes: Mapping[Any, Sequence[int]] = field(default_factory=dict)  # member -> rows
    co_like_weight: float = DEFAULT_CO_LIKE_WEIGHT

    def __post_init__(self) -> None:
        for name in ("playlist_weight", "co_like_weight"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < float("inf"):
                raise ValueError(f"{name} must be finite and non-negative, got {value}")


@dataclass(frozen=True)
class Diversity:
    """Re-ranking for variety: MMR ``amount`` in [0, 1] and a cap per artist (0: none)."""

    amount: float = 0.0
    max_per_artist: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.amount <= 1.0:
            raise ValueError("diversity must be between 0 and 1")
        if self.max_per_artist < 0:
            raise ValueError("max_per_artist must be 0 (no cap) or more")

    @property
    def active(self) -> bool:
        """Whether it changes anything."""
        return self.amount > 0 or self.max_per_artist > 0


TargetName = Literal["energy", "valence", "danceability", "acousticness"]
TARGET_FEATURES: tuple[str, ...] = get_args(TargetName)
"""The audio features a :class:`Steering` can aim at (each on Spotify's 0-1 scale)."""

Exploration = Literal["familiar", "balanced", "adventurous"]
EXPLORATION_LEVELS: tuple[str, ...] = get_args(Exploration)
"""From "close to what you know" to "further out"; ``"balanced"`` changes nothing."""

MIN_DECADE = 1900
MAX_DECADE = 2090


@dataclass(frozen=True)
class Steering:
    """What a listener asks on top of the query: moods, tempo, era, how far to explore.

    * ``targets``: feature name (:data:`TARGET_FEATURES`) to a value in [0, 1], e.g.
      ``{"energy": 0.9}``. They *shape* the sound query: it moves towards these values
      (the ``steer`` part of the score says by how much each suggestion gained or lost).
    * ``tempo``: a BPM range ``(low, high)``; only tracks within it are suggested.
    * ``decade``: e.g. ``1990``: only tracks released 1990-1999 are suggested.
      When a filter leaves nothing to suggest it is dropped and the answer says so
      (``Answer.relaxed``).
    * ``exploration``: ``"familiar"`` leans on recent & popular tracks and artists the
      listener has rated; ``"adventurous"`` takes popularity out (and counts it
      against a track), and prefers artists the listener has not rated;
      ``"balanced"`` changes nothing.
    * ``known_artists``: artists the listener knows, besides those of the tracks in
      ``taste`` (which the engine adds itself). Compared case- and accent-blind.
    """

    targets: Mapping[str, float] = field(default_factory=dict)
    tempo: tuple[float, float] | None = None
    decade: int | None = None
    exploration: Exploration = "balanced"
    known_artists: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", MappingProxyType(_targets(self.targets)))
        if self.tempo is not None:
            object.__setattr__(self, "tempo", _tempo(self.tempo))
        if self.decade is not None:
            object.__setattr__(self, "decade", _decade(self.decade))
        if self.exploration not in EXPLORATION_LEVELS:
            raise ValueError(
                f"exploration must be one of {', '.join(EXPLORATION_LEVELS)}, "
                f"got {self.exploration!r}"
            )
        object.__setattr__(self, "known_artists", _artists(self.known_artists))

    @property
    def active(self) -> bool:
        """Whether it changes anything (known artists alone do not: they serve exploration)."""
        return bool(
            self.targets
            or self.tempo is not None
            or self.decade is not None
            or self.exploration != "balanced"
        )

    @property
    def years(self) -> tuple[int, int] | None:
        """The release years of ``decade``, both included (``None`` without one)."""
        return None if self.decade is None else (self.decade, self.decade + 9)

    def describe(self) -> str:
        """A short line, e.g. ``"energy 0.9, tempo 90-120 BPM, 1990s, adventurous"``."""
        parts = [f"{name} {value:g}" for name, value in self.targets.items()]
        if self.tempo is not None:
            parts.append(f"tempo {self.tempo[0]:g}-{self.tempo[1]:g} BPM")
        if self.decade is not None:
            parts.append(f"{self.decade}s")
        if self.exploration != "balanced":
            parts.append(self.exploration)
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: targets, tempo, decade and exploration (not the known artists)."""
        return {
            "targets": dict(self.targets),
            "tempo": list(self.tempo) if self.tempo is not None else None,
            "decade": self.decade,
            "exploration": self.exploration,
        }

    def __hash__(self) -> int:
        # The targets are a read-only mapping, which does not hash by itself.
        return hash(
            (
                tuple(self.targets.items()),
                self.tempo,
                self.decade,
                self.exploration,
                self.known_artists,
            )
        )


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def _targets(targets: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(targets, Mapping):
        raise ValueError("targets must map feature names to values between 0 and 1")
    out: dict[str, float] = {}
    for name, value in targets.items():
        if name not in TARGET_FEATURES:
            raise ValueError(f"unknown target {name!r}: choose from {', '.join(TARGET_FEATURES)}")
        number = _number(value, name)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        out[name] = number
    # A fixed order: equal steerings describe themselves the same way.
    return {name: out[name] for name in TARGET_FEATURES if name in out}


def _tempo(tempo: object) -> tuple[float, float]:
    if isinstance(tempo, str) or not isinstance(tempo, Sequence) or len(tempo) != 2:
        raise ValueError("tempo must be a (low, high) range in BPM")
    low, high = (_number(v, "tempo") for v in tempo)
    bounds = RANGES["tempo"]
    if not bounds.low <= low <= high <= bounds.high:
        raise ValueError(
            f"tempo must be a range within {bounds.low:g}-{bounds.high:g} BPM with low <= "
            f"high, got {low:g}-{high:g}"
        )
    return (low, high)


def _decade(decade: object) -> int:
    if isinstance(decade, bool) or not isinstance(decade, int):
        raise ValueError(f"decade must be a year like 1990, got {decade!r}")
    if decade % 10 or not MIN_DECADE <= decade <= MAX_DECADE:
        raise ValueError(
            f"decade must be the first year of a decade from {MIN_DECADE} to {MAX_DECADE} "
            f"(e.g. 1990), got {decade}"
        )
    return decade


def _artists(artists: Iterable[str]) -> frozenset[str]:
    if isinstance(artists, str):  # one name would otherwise become its letters
        artists = (artists,)
    names = set()
    for name in artists:
        if not isinstance(name, str):
            raise ValueError(f"known_artists must be names, got {name!r}")
        key = normalise_text(name)
        if key:
            names.add(key)
    return frozenset(names)
