"""Short, true reasons for a suggestion: which parts of its score it earned, and how.

Each reason is derived from the numbers that ranked the track, never invented:

* sound: the two audio features where the seed is most distinctive (far from the
  catalogue's middle) and the suggestion is closest to it, e.g. "close in energy
  and mood to Halo";
* the member's taste: the liked track nearest to the suggestion ("because you
  liked Golden Hour"), when a taste profile shaped the query;
* the server: "liked by 3 people here" from the server's ratings;
* popularity, when it is what carried the track.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.features import CONTINUOUS_FEATURES, FEATURE_NAMES
from recommender.scaling import FeatureScaler

FEATURE_WORDS: dict[str, str] = {
    "danceability": "danceability",
    "energy": "energy",
    "loudness": "loudness",
    "speechiness": "vocals",
    "acousticness": "acoustic sound",
    "instrumentalness": "instrumental feel",
    "liveness": "live feel",
    "valence": "mood",
    "tempo": "tempo",
}
# How much a listener notices each feature: a shared mood or energy explains a match
# better than a shared (usually zero) instrumentalness or liveness.
SALIENCE: dict[str, float] = {
    "energy": 1.0,
    "valence": 1.0,
    "danceability": 1.0,
    "tempo": 0.8,
    "acousticness": 0.8,
    "loudness": 0.6,
    "speechiness": 0.5,
    "instrumentalness": 0.3,
    "liveness": 0.3,
}
_CONTINUOUS = [FEATURE_NAMES.index(name) for name in CONTINUOUS_FEATURES]
_SALIENCE = np.array([SALIENCE[name] for name in CONTINUOUS_FEATURES])
CLOSE = 0.5  # at most half a standard deviation apart counts as "close"


def closest_features(
    scaler: FeatureScaler, seed_raw: np.ndarray, candidate_raw: np.ndarray, limit: int = 2
) -> list[str]:
    """Names of the features that best explain why the candidate sounds like the seed."""
    if np.isnan(seed_raw).any() or np.isnan(candidate_raw).any():
        return []
    scaled = scaler.transform(np.vstack([seed_raw, candidate_raw]))
    seed, candidate = scaled[0, : len(_CONTINUOUS)], scaled[1, : len(_CONTINUOUS)]
    gap = np.abs(seed - candidate)
    # Distinctive in the seed, and matched by the candidate.
    merit = (1.0 + np.abs(seed) - gap) * _SALIENCE
    order = [i for i in np.argsort(-merit) if gap[i] <= CLOSE]
    return [FEATURE_WORDS[CONTINUOUS_FEATURES[i]] for i in order[:limit]]


def sound_reason(features: Sequence[str], seed_name: str) -> str | None:
    """ "close in energy and mood to <seed>", or ``None`` without features."""
    if not features:
        return None
    joined = " and ".join(features) if len(features) <= 2 else ", ".join(features)
    return f"close in {joined} to {seed_name}"


def nearest_liked(
    unit_vectors: np.ndarray, candidate_row: int, liked_rows: Sequence[int]
) -> int | None:
    """The liked row most similar to the candidate (``None`` if none has features)."""
    usable = [r for r in liked_rows if np.any(unit_vectors[r])]
    if not usable or not np.any(unit_vectors[candidate_row]):
        return None
    similarities = unit_vectors[usable] @ unit_vectors[candidate_row]
    return usable[int(np.argmax(similarities))]


def likes_reason(likes: int) -> str | None:
    """ "liked by N people here" for N >= 1."""
    if likes <= 0:
        return None
    return "liked by 1 person here" if likes == 1 else f"liked by {likes} people here"
