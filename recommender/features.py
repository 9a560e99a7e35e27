"""Names and valid ranges of Spotify's audio features.

Spotify's ``audio-features`` object has eleven values the recommender uses. Nine are
continuous; ``key`` is a pitch class (0-11, circular: B is next to C) and ``mode`` is
binary (1 major, 0 minor). The ranges below are the documented ones, used to reject
impossible values at the door (a provider returning ``tempo=-1`` is a missing value,
not a very slow song).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

CONTINUOUS_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
)
KEY = "key"
MODE = "mode"
FEATURE_NAMES: tuple[str, ...] = (
    *CONTINUOUS_FEATURES[:2],
    KEY,
    CONTINUOUS_FEATURES[2],
    MODE,
    *CONTINUOUS_FEATURES[3:],
)
"""All eleven features, in the order of Spotify's ``audio-features`` object."""

VALID_RANGES: dict[str, tuple[float, float]] = {
    "danceability": (0.0, 1.0),
    "energy": (0.0, 1.0),
    "key": (-1.0, 11.0),  # -1: Spotify found no key
    "loudness": (-60.0, 5.0),
    "mode": (0.0, 1.0),
    "speechiness": (0.0, 1.0),
    "acousticness": (0.0, 1.0),
    "instrumentalness": (0.0, 1.0),
    "liveness": (0.0, 1.0),
    "valence": (0.0, 1.0),
    "tempo": (1.0, 300.0),
}

AudioFeatures = Mapping[str, float]


def clean_features(raw: Mapping[str, object] | None) -> dict[str, float] | None:
    """Return the eleven features as floats, or ``None`` if any is missing or invalid.

    A track either has a full, plausible feature vector or none: a partial vector
    would silently put the track somewhere arbitrary in feature space.
    """
    if raw is None:
        return None
    cleaned: dict[str, float] = {}
    for name in FEATURE_NAMES:
        value = raw.get(name)
        if value is None or isinstance(value, bool):
            return None
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        low, high = VALID_RANGES[name]
        if not math.isfinite(number) or number < low or number > high:
            return None
        cleaned[name] = number
    if cleaned[KEY] != int(cleaned[KEY]) or cleaned[MODE] not in (0.0, 1.0):
        return None
    return cleaned
