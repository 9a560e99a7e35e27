"""What the engine answers: suggestions whose score is the sum of named, honest parts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, overload

from recommender.query import Steering
from recommender.track import Track

Fallback = Literal["closest"]
"""Why an answer is not the ordinary ranking. ``"closest"``: nothing cleared the
similarity floor (no track sounds close to the query), so the answer is the closest
tracks of the whole catalogue by raw sound, which are not close matches."""

Relaxed = Literal["tempo", "decade", "targets"]
"""A steering filter that left nothing to suggest and was dropped: the tempo range, the
decade, or (without a sound query) the band around the mood targets."""


class ScoreBreakdown(NamedTuple):
    """The parts of a score; they add up to it.

    * ``sound``: ``alpha`` x the similarity to the seed song(s) (or outside track);
    * ``taste``: what the listener's taste added to (or took from) the sound term;
      for a :class:`~recommender.query.Taste` query, the whole sound term;
    * ``recent_popular``: ``1 - alpha`` x the release-weighted popularity in [0, 1]
      (not Spotify's 0-100 popularity);
    * ``playlists``: co-membership with the seeds in the catalogue's playlists;
    * ``liked_here``: liked together with the seeds by members here, or, for a
      server's favourites, how many members here liked it;
    * ``steer``: what the listener's :class:`~recommender.query.Steering` added or
      took: the mood targets' pull on the sound term (``alpha`` x the change in
      similarity), exploration's weight on recent & popular, and its bonus or
      penalty for artists the listener has rated. 0 without steering.

    A named tuple (ten are built per answer; a frozen dataclass costs several times more).
    """

    sound: float = 0.0
    taste: float = 0.0
    recent_popular: float = 0.0
    playlists: float = 0.0
    liked_here: float = 0.0
    steer: float = 0.0

    @property
    def total(self) -> float:
        """The score these parts make."""
        return (
            self.sound
            + self.taste
            + self.recent_popular
            + self.playlists
            + self.liked_here
            + self.steer
        )

    def as_dict(self) -> dict[str, float]:
        """Part name to value, in a fixed order."""
        return self._asdict()


BREAKDOWN_PARTS: tuple[str, ...] = ScoreBreakdown._fields


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One suggestion: the track, its score, the parts of the score, and why.

    ``similarity`` is the calibrated sound similarity in [0, 1] to the seed song(s)
    (0 for taste and popular queries); ``recency_popularity`` is the
    release-date-weighted popularity in [0, 1]. ``likes`` is how many members here
    liked the track (when the server's likes were given). ``reasons`` holds short true
    phrases (when asked to explain).
    """

    rank: int
    row: int
    track: Track
    score: float
    similarity: float
    recency_popularity: float
    breakdown: ScoreBreakdown
    likes: int = 0
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer(Sequence[Recommendation]):
    """The suggestions for one query, best first, and how they were found.

    Behaves as a sequence of :class:`Recommendation`. ``seeds`` are the catalogue
    rows the query resolved to; ``fallback`` is set when the answer is not the
    ordinary ranking (see :data:`Fallback`); ``taste_ratings`` is how many ratings
    (with features) shaped it, ``co_likers`` how many members' likes did.
    ``steering`` is the steering it was asked with (``None``: none), and ``relaxed``
    names the steering filters that matched nothing and were dropped (see
    :data:`Relaxed`): the answer then holds tracks outside them, and must say so.
    """

    recommendations: tuple[Recommendation, ...]
    seeds: tuple[int, ...] = ()
    fallback: Fallback | None = None
    taste_ratings: int = 0
    co_likers: int = 0
    steering: Steering | None = None
    relaxed: tuple[Relaxed, ...] = ()

    def __len__(self) -> int:
        return len(self.recommendations)

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.recommendations)

    @overload
    def __getitem__(self, index: int) -> Recommendation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Recommendation]: ...

    def __getitem__(self, index: int | slice) -> Recommendation | Sequence[Recommendation]:
        return self.recommendations[index]

    @property
    def rows(self) -> list[int]:
        """The suggested catalogue rows, best first."""
        return [r.row for r in self.recommendations]
