"""Names and valid ranges of Spotify's audio features.

Spotify's ``audio-features`` object has eleven values the recommender uses. Nine are
continuous; ``key`` is a pitch class (0-11, circular: B is next to C) and ``mode`` is
binary (1 major, 0 minor). Their ranges live with every other numeric field's in
:mod:`recommender.validation`, used to reject impossible values at the door (a
provider returning ``tempo=-1`` is a missing value, not a very slow song).
"""

from __future__ import annotations

from collections.abc import Mapping

from recommender.validation import RANGES, checked

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
    name: (RANGES[name].low, RANGES[name].high) for name in FEATURE_NAMES
}
"""Each feature's bounds, from :data:`recommender.validation.RANGES` (the one source)."""

AudioFeatures = Mapping[str, float]


def clean_features(raw: Mapping[str, object] | None) -> dict[str, float] | None:
    """Return the eleven features as floats, or ``None`` if any is missing or invalid.

    A track either has a full, plausible feature vector or none: a partial vector
    would silently put the track somewhere arbitrary in feature space. Values
    present but out of range are counted as dropped (see
    :func:`recommender.validation.counting_dropped`); absent ones are not.
    """
    if raw is None:
        return None
    cleaned: dict[str, float] = {}
    complete = True
    for name, rule in _FEATURE_RULES:
        value = raw.get(name)
        kind = type(value)
        # Fast path for plain numbers (10,000s of tracks per ingest); anything else,
        # and every refusal, goes through the one validation function that counts.
        if (kind is float or kind is int) and rule.accepts(value):  # type: ignore[arg-type]
            cleaned[name] = float(value)  # type: ignore[arg-type]
            continue
        if value is None:
            complete = False
            continue
        number = checked(name, value)
        if number is None:
            complete = False  # keep going: every impossible value is counted
            continue
        cleaned[name] = number
    return cleaned if complete else None


_FEATURE_RULES = tuple((name, RANGES[name]) for name in FEATURE_NAMES)
