"""The feature scaler: frozen once fitted, circular key, binary mode, clipped outliers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.features import FEATURE_NAMES, VALID_RANGES
from recommender.scaling import VECTOR_NAMES, FeatureScaler, NotFittedError
from tests import fixtures as fx

KEY = FEATURE_NAMES.index("key")
MODE = FEATURE_NAMES.index("mode")
TEMPO = FEATURE_NAMES.index("tempo")


def raw_matrix(n: int, seed: int = 0) -> np.ndarray:
    tracks = fx.synthetic_tracks(n, seed=seed)
    return np.array([[t.features[name] for name in FEATURE_NAMES] for t in tracks])


FITTED = FeatureScaler().fit(raw_matrix(400))
REFERENCE = FeatureScaler.reference()


def feature_rows(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[np.ndarray]:
    """Raw feature rows within the valid ranges (key and mode integral)."""

    def row(values: list[float]) -> list[float]:
        out = []
        for name, u in zip(FEATURE_NAMES, values, strict=True):
            low, high = VALID_RANGES[name]
            out.append(low + u * (high - low))
        out[KEY] = float(round(out[KEY]))
        out[MODE] = float(round(out[MODE]))
        return out

    unit = st.floats(0, 1, allow_nan=False)
    one = st.lists(unit, min_size=len(FEATURE_NAMES), max_size=len(FEATURE_NAMES)).map(row)
    return st.lists(one, min_size=min_size, max_size=max_size).map(np.array)


def with_key(base: np.ndarray, key: int) -> np.ndarray:
    row = base.copy()
    row[KEY] = key
    return row


def test_vectors_have_the_documented_dimensions_and_dtype() -> None:
    vectors = FITTED.transform(raw_matrix(5, seed=3))
    assert vectors.shape == (5, len(VECTOR_NAMES)) == (5, FITTED.dimensions)
    assert vectors.dtype == np.float32


def test_unfitted_scaler_says_so() -> None:
    with pytest.raises(NotFittedError):
        FeatureScaler().transform(raw_matrix(2))
    with pytest.raises(NotFittedError):
        FeatureScaler().to_dict()


@pytest.mark.parametrize("kwargs", [{"key_weight": -1}, {"mode_weight": -0.1}, {"n_quantiles": 3}])
def test_bad_parameters_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FeatureScaler(**kwargs)


def test_fitting_needs_two_complete_tracks() -> None:
    one = raw_matrix(1)
    with pytest.raises(ValueError, match="two tracks"):
        FeatureScaler().fit(np.vstack([one, np.full_like(one, np.nan)]))


def test_missing_values_become_zero_vectors() -> None:
    raw = raw_matrix(3)
    raw[1, TEMPO] = np.nan
    vectors = FITTED.transform(raw)
    assert not vectors[1].any()
    assert vectors[0].any() and vectors[2].any()


@pytest.mark.parametrize("scaler", [FITTED, REFERENCE], ids=["fitted", "reference"])
def test_key_is_circular_b_is_as_close_to_c_as_c_sharp(scaler: FeatureScaler) -> None:
    base = raw_matrix(1, seed=5)[0]
    c, c_sharp, b, f_sharp = scaler.transform(
        np.array([with_key(base, 0), with_key(base, 1), with_key(base, 11), with_key(base, 6)])
    )
    distance = lambda u, v: float(np.linalg.norm(u - v))  # noqa: E731
    assert distance(c, b) == pytest.approx(distance(c, c_sharp), rel=1e-5)
    assert distance(c, f_sharp) > 1.9 * distance(c, b)


def test_unknown_key_sits_at_the_centre_of_the_circle() -> None:
    base = raw_matrix(1, seed=5)[0]
    vectors = FITTED.transform(np.array([with_key(base, k) for k in (-1, *range(12))]))
    sin_cos = [VECTOR_NAMES.index("key_sin"), VECTOR_NAMES.index("key_cos")]
    assert not vectors[0, sin_cos].any()
    np.testing.assert_allclose(vectors[1:, sin_cos].mean(axis=0), 0, atol=1e-6)


def test_mode_is_binary_and_down_weighted() -> None:
    base = raw_matrix(1, seed=6)[0]
    minor, major = base.copy(), base.copy()
    minor[MODE], major[MODE] = 0, 1
    raw = raw_matrix(400)
    light = FeatureScaler(mode_weight=0.25).fit(raw).transform(np.array([minor, major]))
    heavy = FeatureScaler(mode_weight=1.0).fit(raw).transform(np.array([minor, major]))
    light_gap, heavy_gap = np.abs(light[1] - light[0]), np.abs(heavy[1] - heavy[0])
    mode = VECTOR_NAMES.index("mode")
    assert light_gap[mode] > 0
    assert heavy_gap[mode] == pytest.approx(4 * light_gap[mode], rel=1e-5)
    # Only the mode dimension differs between the two.
    assert np.flatnonzero(light_gap).tolist() == [mode]


def test_out_of_range_values_are_clipped_to_the_reference_ends() -> None:
    base = raw_matrix(1, seed=7)[0]
    fast, faster = base.copy(), base.copy()
    fast[TEMPO], faster[TEMPO] = 299.0, 2_000.0
    tempo = VECTOR_NAMES.index("tempo")
    vectors = FITTED.transform(np.array([fast, faster]))
    assert np.isfinite(vectors).all()
    assert vectors[0, tempo] == vectors[1, tempo]
    assert vectors[0, tempo] == FITTED.transform(raw_matrix(400)).max(axis=0)[tempo]


def test_continuous_features_without_ties_come_out_roughly_standard_normal() -> None:
    raw = raw_matrix(400)
    vectors = FITTED.transform(raw)
    for j, name in enumerate(VECTOR_NAMES[:9]):
        column = raw[:, FEATURE_NAMES.index(name)]
        if len(np.unique(column)) < 0.99 * len(column):
            continue  # a pile of equal values (e.g. instrumentalness 0) maps to one point
        assert abs(vectors[:, j].mean()) < 0.1, name
        assert 0.8 < vectors[:, j].std() < 1.2, name
        # A quantile map keeps the order of the raw values.
        order = np.argsort(column, kind="stable")
        assert np.all(np.diff(vectors[order, j]) >= 0), name


def test_the_reference_scaler_ships_and_round_trips_through_json() -> None:
    data = json.loads(json.dumps(REFERENCE.to_dict()))
    again = FeatureScaler.from_dict(data)
    raw = raw_matrix(50, seed=8)
    np.testing.assert_array_equal(again.transform(raw), REFERENCE.transform(raw))


def test_unknown_versions_are_refused() -> None:
    data = FITTED.to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="version"):
        FeatureScaler.from_dict(data)


# -- properties -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(rows=feature_rows(1, 6), others=feature_rows(0, 6))
def test_a_rows_vector_does_not_depend_on_the_other_rows(
    rows: np.ndarray, others: np.ndarray
) -> None:
    alone = REFERENCE.transform(rows)
    together = REFERENCE.transform(np.vstack([others.reshape(-1, 11), rows]))
    np.testing.assert_array_equal(together[len(others) :], alone)


@settings(max_examples=25, deadline=None)
@given(added=feature_rows(1, 30))
def test_vectors_are_stable_when_the_catalogue_grows(added: np.ndarray) -> None:
    catalogue = raw_matrix(40, seed=9)
    before = REFERENCE.transform(catalogue)
    after = REFERENCE.transform(np.vstack([catalogue, added]))
    np.testing.assert_array_equal(after[: len(catalogue)], before)
    # A scaler fitted once and saved keeps its vectors too.
    saved = FeatureScaler.from_dict(FITTED.to_dict())
    np.testing.assert_array_equal(saved.transform(catalogue), FITTED.transform(catalogue))


@settings(max_examples=20, deadline=None)
@given(
    fit_rows=feature_rows(12, 40),
    probe=feature_rows(1, 5),
    key_weight=st.floats(0, 2),
    mode_weight=st.floats(0, 2),
)
def test_to_dict_from_dict_is_exact(
    fit_rows: np.ndarray, probe: np.ndarray, key_weight: float, mode_weight: float
) -> None:
    scaler = FeatureScaler(key_weight=key_weight, mode_weight=mode_weight, n_quantiles=10)
    scaler.fit(fit_rows)
    data = scaler.to_dict()
    again = FeatureScaler.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    np.testing.assert_array_equal(again.transform(probe), scaler.transform(probe))
    np.testing.assert_array_equal(again.transform(fit_rows), scaler.transform(fit_rows))


@settings(max_examples=30, deadline=None)
@given(rows=feature_rows(1, 1), key=st.integers(0, 11))
def test_neighbouring_keys_are_equally_close_all_round_the_circle(
    rows: np.ndarray, key: int
) -> None:
    base = rows[0]
    here, up, down = REFERENCE.transform(
        np.array(
            [
                with_key(base, key),
                with_key(base, (key + 1) % 12),
                with_key(base, key - 1 if key else 11),
            ]
        )
    )
    step = np.linalg.norm(here - up)
    assert step > 0
    assert np.linalg.norm(here - down) == pytest.approx(step, rel=1e-4)
