"""Release-date-weighted popularity, on [0, 1].

The seed weighted popularity by ``1 / (days since release + 1)``, which makes any
track older than a month worth almost nothing. Here recency decays exponentially
with a configurable half-life down to a floor, so that a classic from 1985 still
counts for something and a track from last month counts fully:

    recency = floor + (1 - floor) * 0.5 ** (age_in_years / half_life_years)
    weighted = popularity / 100 * recency

Missing values never rank a track first: an unknown popularity is imputed at a
low quantile of the known ones (default: the 25th percentile), an unknown or
``0000`` release date gets the floor (treated as old), and dates in the future
count as new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.track import parse_release_date

_DAYS_PER_YEAR = 365.2425


@dataclass(frozen=True, slots=True)
class PopularityWeighting:
    """How popularity and release date combine into one prior.

    ``as_of`` is the day ages are measured from (today when ``None``); evaluate a
    dataset snapshot with the day it was collected.
    """

    half_life_years: float = 10.0
    floor: float = 0.3
    missing_popularity_quantile: float = 0.25
    as_of: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.half_life_years > 0:
            raise ValueError("half_life_years must be positive")
        if not 0.0 <= self.floor <= 1.0:
            raise ValueError("floor must be between 0 and 1")
        if not 0.0 <= self.missing_popularity_quantile <= 1.0:
            raise ValueError("missing_popularity_quantile must be between 0 and 1")

    def recency(
        self, release_dates: Sequence[str | None], precisions: Sequence[str | None]
    ) -> np.ndarray:
        """Recency factor per track, in [floor, 1]."""
        today = self.as_of or dt.date.today()
        ages = np.full(len(release_dates), np.inf)
        for i, (text, precision) in enumerate(zip(release_dates, precisions, strict=True)):
            date, _ = parse_release_date(text, precision)
            if date is not None:
                ages[i] = max(0, (today - date).days) / _DAYS_PER_YEAR
        decay = np.exp2(-ages / self.half_life_years)  # exp2(-inf) == 0: unknown -> floor
        return self.floor + (1.0 - self.floor) * decay

    def weighted(
        self,
        popularity: np.ndarray,
        release_dates: Sequence[str | None],
        precisions: Sequence[str | None],
    ) -> np.ndarray:
        """Weighted popularity per track, in [0, 1] (float32)."""
        popularity = np.asarray(popularity, dtype=np.float64)
        known = ~np.isnan(popularity)
        filled = np.clip(popularity, 0, 100) / 100.0
        imputed = (
            float(np.quantile(filled[known], self.missing_popularity_quantile))
            if known.any()
            else 0.0
        )
        filled[~known] = imputed
        weighted = filled * self.recency(release_dates, precisions)
        return np.clip(weighted, 0.0, 1.0).astype(np.float32)
