"""How a :class:`~recommender.query.Steering` acts on a query, and how people type one.

Three mechanisms, each chosen so that the index's single fused scan stays exact:

* **Targets move the sound query.** The query direction is taken back to the scaled
  feature space (times the length of a typical track there), each targeted dimension
  is set to the target value mapped through the same :class:`FeatureScaler` as every
  track, and the result is renormalised. The answer is then whatever sounds like the
  seeds *with that energy* (or valence, ...): cosine rewards closeness to the target
  in both directions, not "as much as possible". A query is just another unit
  vector, so the scan ranks exactly. A closeness bonus for every track would have
  had to score the whole catalogue outside the scan. Without a sound query (a
  :class:`~recommender.query.Popular` query, or alpha 0), targets become a band
  filter instead (within :data:`TARGET_BAND` of each target).
* **Tempo and decade filter** through the ``allowed`` mask (no copy of the matrix);
  a filter that leaves nothing is dropped and the answer says so.
* **Exploration re-weights** recent & popular and the listener's known artists. A
  heavier popularity weight is the same ranking as a smaller alpha scaled up, so the
  scan stays exact; a bonus for known artists is an index bonus (exact); penalties
  (popularity counted against a track, artists already known) only *lower* scores,
  so the top of a wider scan is exact once its k-th penalised score still beats the
  unpenalised score of the first track not fetched (the engine widens until then).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.features import FEATURE_NAMES
from recommender.query import MAX_DECADE, MIN_DECADE, Exploration
from recommender.scaling import VECTOR_NAMES, FeatureScaler
from recommender.track import parse_release_date

TARGET_BAND = 0.15
"""Without a sound query, a target keeps tracks within this distance of it (0-1 scale)."""


@dataclass(frozen=True)
class ExplorationWeights:
    """What one exploration level does to the score (all 0 for ``"balanced"``).

    With a sound query:

    * ``popularity_shift`` is added to the weight of recent & popular (familiar);
    * ``popularity_push``: recent & popular stops counting for a track and this much
      of it counts against it (adventurous).

    With or without one, tracks by an artist the listener has rated earn
    ``known_artist_bonus`` (familiar) or lose ``known_artist_penalty`` (adventurous).
    """

    popularity_shift: float = 0.0
    popularity_push: float = 0.0
    known_artist_bonus: float = 0.0
    known_artist_penalty: float = 0.0


EXPLORATION: dict[str, ExplorationWeights] = {
    "familiar": ExplorationWeights(popularity_shift=0.2, known_artist_bonus=0.1),
    "balanced": ExplorationWeights(),
    "adventurous": ExplorationWeights(popularity_push=0.2, known_artist_penalty=0.1),
}
"""The weights of each level (their effect is measured in docs/steering.md)."""


def exploration_weights(level: Exploration) -> ExplorationWeights:
    """The weights of ``level``."""
    return EXPLORATION[level]


# -- targets --------------------------------------------------------------------------------


def typical_length(scaler: FeatureScaler) -> float:
    """Expected length of a track's scaled vector: each continuous feature is standard
    normal after the quantile map, key contributes ``key_weight**2`` (a point on the
    circle) and mode ``mode_weight**2`` (standardised)."""
    continuous = len(VECTOR_NAMES) - 3
    return math.sqrt(continuous + scaler.key_weight**2 + scaler.mode_weight**2)


# A plausible track; only the targeted column of it matters (each continuous feature
# is mapped through its own quantiles, independently of the others).
_NEUTRAL = {
    "danceability": 0.5,
    "energy": 0.5,
    "key": 0,
    "loudness": -7.0,
    "mode": 1,
    "speechiness": 0.05,
    "acousticness": 0.2,
    "instrumentalness": 0.0,
    "liveness": 0.15,
    "valence": 0.5,
    "tempo": 120.0,
}


def target_coordinates(scaler: FeatureScaler, targets: Mapping[str, float]) -> dict[int, float]:
    """Each target as (dimension of the scaled vector, its value there)."""
    if not targets:
        return {}
    row = np.array([[_NEUTRAL[name] for name in FEATURE_NAMES]], dtype=np.float64)
    for name, value in targets.items():
        row[0, FEATURE_NAMES.index(name)] = value
    scaled = scaler.transform(row)[0]
    return {VECTOR_NAMES.index(name): float(scaled[VECTOR_NAMES.index(name)]) for name in targets}


def steer_direction(
    direction: np.ndarray, targets: Mapping[str, float], scaler: FeatureScaler
) -> np.ndarray:
    """The unit query ``direction`` with each targeted feature set to its target.

    ``direction`` is a unit vector of the index's space (a seed, a mean of seeds, a
    taste profile). Zero stays zero: with nothing to steer, there is no query.
    """
    if not targets or not np.any(direction):
        return direction
    moved = np.asarray(direction, dtype=np.float64) * typical_length(scaler)
    for dimension, value in target_coordinates(scaler, targets).items():
        moved[dimension] = value
    norm = float(np.linalg.norm(moved))
    return (moved / norm if norm > 0 else moved).astype(np.float32)


def target_band(features: np.ndarray, targets: Mapping[str, float]) -> np.ndarray:
    """Rows whose every targeted feature is within :data:`TARGET_BAND` of its target."""
    mask = np.ones(features.shape[0], dtype=bool)
    for name, value in targets.items():
        column = features[:, FEATURE_NAMES.index(name)]
        with np.errstate(invalid="ignore"):
            mask &= np.abs(column - value) <= TARGET_BAND + 1e-9
    return mask


# -- filters --------------------------------------------------------------------------------


def tempo_mask(features: np.ndarray, tempo: tuple[float, float]) -> np.ndarray:
    """Rows whose tempo is within ``tempo`` (bounds included); unknown tempo is out."""
    column = features[:, FEATURE_NAMES.index("tempo")]
    with np.errstate(invalid="ignore"):
        return (column >= tempo[0]) & (column <= tempo[1])


def release_years(dates: Sequence[str | None], precisions: Sequence[str | None]) -> np.ndarray:
    """Release year of every row (0 when unknown), as int32."""
    years = np.zeros(len(dates), dtype=np.int32)
    for row, (text, precision) in enumerate(zip(dates, precisions, strict=True)):
        date, _ = parse_release_date(text, precision)
        if date is not None:
            years[row] = date.year
    return years


def decade_mask(years: np.ndarray, decade: int) -> np.ndarray:
    """Rows released in the ten years from ``decade``; unknown years are out."""
    return (years >= decade) & (years <= decade + 9)


# -- text as people type it -------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-|–|to|\.\.)\s*(\d+(?:\.\d+)?)\s*(?:bpm)?\s*$", re.I)
_DECADE = re.compile(r"^\s*(\d{2}|\d{4})\s*'?s?\s*$", re.I)


def parse_tempo(text: str) -> tuple[float, float]:
    """``"90-120"`` (also ``"90 to 120"``, ``"90..120 bpm"``) as ``(90.0, 120.0)``.

    Raises ``ValueError`` with a message a person can act on.
    """
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"tempo must be a range of BPM like 90-120, got {text!r}")
    low, high = float(match.group(1)), float(match.group(2))
    if low > high:
        raise ValueError(f"tempo range {text!r} runs backwards: write the lower number first")
    return (low, high)


def parse_decade(text: str) -> int:
    """``"1990s"``, ``"1990"``, ``"90s"`` or ``"'90s"`` as ``1990``.

    Two digits mean the 1900s from 30 up and the 2000s below (``"20s"`` is 2020).
    """
    match = _DECADE.match(text.replace("’", "'").lstrip("'"))
    if not match:
        raise ValueError(f"decade must look like 1990s or 90s, got {text!r}")
    digits = match.group(1)
    year = int(digits)
    if len(digits) == 2:
        year += 1900 if year >= 30 else 2000
    if year % 10 or not MIN_DECADE <= year <= MAX_DECADE:
        raise ValueError(
            f"decade must be a decade from {MIN_DECADE}s to {MAX_DECADE}s like 1990s, got {text!r}"
        )
    return year
