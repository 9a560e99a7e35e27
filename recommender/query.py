"""What to ask the engine: a query (what the answer should be like) and its options.

A query is one of four small values, all answered by ``Recommender.recommend``:

* :class:`Seeds`: one to five catalogue tracks ("more like these");
* :class:`OutsideTrack`: a track that need not be in the catalogue, with its features;
* :class:`Taste`: a listener's likes and dislikes ("something for me");
* :class:`Popular`: nothing in particular (the most popular, or a server's favourites).

The options that shape any of them live here too: :class:`Boosts` (playlists
together, liked together here) and :class:`Diversity`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recommender.track import Track

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
