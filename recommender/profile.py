"""A listener's taste, learned from likes and dislikes, in the scaled feature space."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DISLIKE_WEIGHT = 0.2  # a dislike pushes away a fifth as hard as a like pulls (docs/quality.md)
HALF_TRUST_RATINGS = 5  # with this many ratings the profile weighs as much as the song


@dataclass(frozen=True)
class TasteProfile:
    """The mean direction of liked tracks minus a fifth of that of disliked ones.

    ``vector`` lives in the index's unit-vector space, so it can be blended into a
    query like any seed. ``weight`` grows with evidence: ``n / (n + 5)`` for ``n``
    ratings, so one like nudges and twenty dominate.
    """

    vector: np.ndarray
    likes: int
    dislikes: int

    @classmethod
    def from_ratings(
        cls,
        unit_vectors: np.ndarray,
        liked_rows: Sequence[int],
        disliked_rows: Sequence[int] = (),
        *,
        dislike_weight: float = DISLIKE_WEIGHT,
    ) -> TasteProfile | None:
        """The profile of these ratings, or ``None`` if no rated track has features."""
        liked = [r for r in liked_rows if np.any(unit_vectors[r])]
        disliked = [r for r in disliked_rows if np.any(unit_vectors[r])]
        if not liked and not disliked:
            return None
        dimensions = unit_vectors.shape[1]
        toward = unit_vectors[liked].mean(axis=0) if liked else np.zeros(dimensions)
        away = unit_vectors[disliked].mean(axis=0) if disliked else np.zeros(dimensions)
        vector = np.asarray(toward - dislike_weight * away, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return None
        return cls(vector / norm, len(liked), len(disliked))

    @property
    def ratings(self) -> int:
        """How many ratings (with features) the profile is built from."""
        return self.likes + self.dislikes

    @property
    def weight(self) -> float:
        """Share of the query the profile takes when blended with a song, in [0, 1)."""
        return self.ratings / (self.ratings + HALF_TRUST_RATINGS)

    def blend(self, song_vector: np.ndarray) -> np.ndarray:
        """A unit query between the song and this profile, weighted by the evidence."""
        w = self.weight
        blended = (1.0 - w) * np.asarray(song_vector, dtype=np.float64) + w * self.vector
        norm = float(np.linalg.norm(blended))
        return (blended / norm if norm > 0 else blended).astype(np.float32)
