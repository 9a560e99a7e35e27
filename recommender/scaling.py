"""Turn raw audio features into vectors whose distances mean something.

The seed tutorial min-max scales all eleven features as if they were linear. Three
things are wrong with that, and this scaler fixes each:

* **Skew.** Speechiness, instrumentalness, liveness and acousticness pile up near 0
  with long tails; min-max keeps the pile, so one outlier decides the scale. Each
  continuous feature is mapped through its quantiles onto a standard normal
  (quantiles fitted by scikit-learn's ``QuantileTransformer``; ties such as the
  many tracks with an instrumentalness of exactly 0 get their mid-rank), so a step
  of one unit means the same share of the reference catalogue for every feature.
  Values beyond the reference range are clipped to its ends, so a new track never
  lands outside the space.
* **Key is circular.** Pitch class 11 (B) is next to 0 (C), not far from it. Key
  becomes ``(sin, cos)`` of its angle on the circle; a track without a key (-1)
  gets ``(0, 0)``.
* **Mode is binary**, and key and mode are weak, noisy signals for "sounds alike".
  Both are down-weighted (``key_weight``, ``mode_weight``; 0.25 measured best on
  the shared dataset, see docs/engine.md).

The scaler is fitted once on a reference catalogue and then frozen: adding a
playlist never moves existing vectors. ``FeatureScaler.reference()`` loads the
parameters fitted on the TidyTuesday dataset that ship with the package.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
from scipy.special import ndtri
from sklearn.preprocessing import QuantileTransformer

from recommender.features import CONTINUOUS_FEATURES, FEATURE_NAMES, KEY, MODE

_CONTINUOUS_COLUMNS = [FEATURE_NAMES.index(name) for name in CONTINUOUS_FEATURES]
_KEY_COLUMN = FEATURE_NAMES.index(KEY)
_MODE_COLUMN = FEATURE_NAMES.index(MODE)
VECTOR_NAMES: tuple[str, ...] = (*CONTINUOUS_FEATURES, "key_sin", "key_cos", MODE)
"""The dimensions of a scaled vector, in order."""
_REFERENCE_FILE = "reference_scaler.json"
_TAIL = 1e-3  # the CDF is clipped to [0.001, 0.999], so |z| <= 3.09


class NotFittedError(RuntimeError):
    """The scaler was used before ``fit`` or ``from_dict``."""


class FeatureScaler:
    """Maps raw ``(n, 11)`` features (``FEATURE_NAMES`` order) to ``(n, 12)`` vectors."""

    def __init__(
        self, *, key_weight: float = 0.25, mode_weight: float = 0.25, n_quantiles: int = 200
    ) -> None:
        if key_weight < 0 or mode_weight < 0:
            raise ValueError("feature weights must be non-negative")
        if n_quantiles < 10:
            raise ValueError("n_quantiles must be at least 10")
        self.key_weight = key_weight
        self.mode_weight = mode_weight
        self.n_quantiles = n_quantiles
        self._quantiles: QuantileTransformer | None = None
        self._mode_mean = 0.5
        self._mode_std = 0.5

    @property
    def dimensions(self) -> int:
        """Length of a scaled vector."""
        return len(VECTOR_NAMES)

    def fit(self, features: np.ndarray) -> FeatureScaler:
        """Fit on the rows of ``features`` that are complete; return ``self``."""
        features = np.asarray(features, dtype=np.float64)
        complete = features[~np.isnan(features).any(axis=1)]
        if len(complete) < 2:
            raise ValueError("need at least two tracks with features to fit the scaler")
        self._quantiles = QuantileTransformer(
            n_quantiles=min(self.n_quantiles, len(complete)),
            output_distribution="normal",
            subsample=1_000_000,
            random_state=0,
        ).fit(complete[:, _CONTINUOUS_COLUMNS])
        mode = complete[:, _MODE_COLUMN]
        self._mode_mean = float(mode.mean())
        self._mode_std = float(mode.std()) or 1.0
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        """Scaled float32 vectors; rows with any missing value become all zeros."""
        if self._quantiles is None:
            raise NotFittedError("FeatureScaler is not fitted: call fit() or from_dict()")
        features = np.atleast_2d(np.asarray(features, dtype=np.float64))
        out = np.zeros((features.shape[0], self.dimensions), dtype=np.float32)
        complete = ~np.isnan(features).any(axis=1)
        if not complete.any():
            return out
        rows = features[complete]
        continuous = self._to_normal(rows[:, _CONTINUOUS_COLUMNS])
        key = rows[:, _KEY_COLUMN]
        angle = 2 * np.pi * key / 12.0
        has_key = key >= 0
        mode = (rows[:, _MODE_COLUMN] - self._mode_mean) / self._mode_std
        block = np.column_stack(
            [
                continuous,
                np.where(has_key, np.sin(angle), 0.0) * self.key_weight,
                np.where(has_key, np.cos(angle), 0.0) * self.key_weight,
                mode * self.mode_weight,
            ]
        )
        out[complete] = block
        return out

    def _to_normal(self, values: np.ndarray) -> np.ndarray:
        """Map each column through its reference CDF onto a standard normal.

        Ties get their mid-rank: a value shared by 40% of the reference tracks (an
        instrumentalness of exactly 0, say) maps to the middle of that 40%, not to
        its lowest end. scikit-learn's own transform pins values equal to the
        minimum to the extreme (-5.2), which let one feature dominate the vectors.
        Values outside the reference range clip to its ends.
        """
        assert self._quantiles is not None
        table = self._quantiles.quantiles_
        levels = self._quantiles.references_
        out = np.empty_like(values, dtype=np.float64)
        for j in range(values.shape[1]):
            column = table[:, j]
            forward = np.interp(values[:, j], column, levels)
            backward = -np.interp(-values[:, j], -column[::-1], -levels[::-1])
            out[:, j] = 0.5 * (forward + backward)
        return ndtri(np.clip(out, _TAIL, 1.0 - _TAIL))

    # -- persistence -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this exact scaler (JSON-serialisable)."""
        if self._quantiles is None:
            raise NotFittedError("FeatureScaler is not fitted")
        return {
            "version": 1,
            "key_weight": self.key_weight,
            "mode_weight": self.mode_weight,
            "n_quantiles": int(self._quantiles.n_quantiles_),
            "quantiles": self._quantiles.quantiles_.tolist(),
            "mode_mean": self._mode_mean,
            "mode_std": self._mode_std,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureScaler:
        """Rebuild a scaler saved by :meth:`to_dict`."""
        if data.get("version") != 1:
            raise ValueError(f"unsupported scaler version: {data.get('version')!r}")
        scaler = cls(
            key_weight=float(data["key_weight"]),
            mode_weight=float(data["mode_weight"]),
            n_quantiles=int(data["n_quantiles"]),
        )
        quantiles = np.asarray(data["quantiles"], dtype=np.float64)
        transformer = QuantileTransformer(
            n_quantiles=int(data["n_quantiles"]), output_distribution="normal"
        )
        # Restore the fitted state without refitting (the attributes sklearn sets in fit).
        transformer.quantiles_ = quantiles
        transformer.references_ = np.linspace(0, 1, quantiles.shape[0], endpoint=True)
        transformer.n_quantiles_ = quantiles.shape[0]
        transformer.n_features_in_ = quantiles.shape[1]
        scaler._quantiles = transformer
        scaler._mode_mean = float(data["mode_mean"])
        scaler._mode_std = float(data["mode_std"])
        return scaler

    @classmethod
    def reference(cls) -> FeatureScaler:
        """The scaler fitted on the TidyTuesday "Spotify Songs" catalogue (shipped)."""
        text = resources.files("recommender").joinpath(_REFERENCE_FILE).read_text("utf-8")
        return cls.from_dict(json.loads(text))
