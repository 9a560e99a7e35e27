"""The fused hybrid index: exact against a brute-force reference, filters, batches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.calibration import SimilarityCalibration
from recommender.index import FeatureIndex, SearchResult, validate_alpha

TOLERANCE = 1e-5  # float32 scan vs float64 reference


def brute_force(
    index: FeatureIndex,
    query: np.ndarray,
    alpha: float,
    *,
    exclude: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every eligible row ranked: (rows, scores, cosines), scored in float64.

    score = alpha * clip((cos - floor) * scale, 0, 1) + (1 - alpha) * prior; ties by
    higher cosine, then lower row.
    """
    cal = index.calibration
    cosines = index.unit_vectors.astype(np.float64) @ np.asarray(query, dtype=np.float64)
    similarity = np.clip((cosines - cal.floor) * cal.scale, 0, 1)
    scores = alpha * similarity + (1 - alpha) * index.prior.astype(np.float64)
    eligible = np.ones(len(index), dtype=bool) if allowed is None else allowed.copy()
    if exclude is not None:
        eligible[exclude] = False
    rows = np.flatnonzero(eligible)
    order = np.lexsort((rows, -cosines[rows], -scores[rows]))
    return rows[order], scores, cosines


def assert_exact(result: SearchResult, k: int, expected: tuple) -> None:
    """The result is the reference top-k (rows may differ only within float ties)."""
    rows, scores, _ = expected
    top = rows[:k]
    assert len(result) == len(top)
    assert len(set(result.rows.tolist())) == len(result)
    assert set(result.rows.tolist()) <= set(rows.tolist())  # only eligible rows
    np.testing.assert_allclose(result.scores, scores[result.rows], atol=TOLERANCE)
    np.testing.assert_allclose(result.scores, scores[top], atol=TOLERANCE)
    for got, want in zip(result.rows, top, strict=True):
        if got != want:  # allowed only when the reference cannot tell them apart
            assert abs(scores[got] - scores[want]) < TOLERANCE


def assert_sorted_components(result: SearchResult, index: FeatureIndex, alpha: float) -> None:
    assert np.all(np.diff(result.scores) <= 1e-7)
    np.testing.assert_allclose(
        result.scores, alpha * result.similarities + (1 - alpha) * result.priors, atol=1e-6
    )
    np.testing.assert_array_equal(result.priors, index.prior[result.rows])
    assert np.all((result.similarities >= 0) & (result.similarities <= 1))


# -- strategies --------------------------------------------------------------------------


@st.composite
def indexes(draw: st.DrawFn, max_rows: int = 60) -> tuple[FeatureIndex, np.ndarray]:
    """An index with featureless rows, duplicate vectors and tied priors; and a query."""
    n = draw(st.integers(1, max_rows))
    d = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, d)) + draw(st.floats(0, 2))  # shift: cosines bunch up
    vectors[rng.random(n) < draw(st.sampled_from([0.0, 0.2]))] = 0.0  # featureless
    if n > 2 and draw(st.booleans()):
        vectors[1] = vectors[0] * 3  # the same direction under another row
    levels = draw(st.sampled_from([3, 10, 1000]))  # few levels: many tied priors
    prior = rng.integers(0, levels, n) / (levels - 1)
    floor = draw(st.one_of(st.just(0.0), st.floats(0, 0.95)))
    index = FeatureIndex(vectors, prior, calibration=SimilarityCalibration(floor))
    if draw(st.booleans()):
        query = index.unit_vectors[draw(st.integers(0, n - 1))].copy()
    else:
        query = rng.normal(size=d)
        query = (query / np.linalg.norm(query)).astype(np.float32)
    return index, query


alphas = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1))
ks = st.integers(1, 15)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- properties --------------------------------------------------------------------------


@PROPERTY
@given(built=indexes(), alpha=alphas, k=ks)
def test_search_equals_the_brute_force_reference(built: tuple, alpha: float, k: int) -> None:
    index, query = built
    result = index.search(query, k, alpha)
    assert_exact(result, k, brute_force(index, query, alpha))
    assert_sorted_components(result, index, alpha)


@PROPERTY
@given(built=indexes(), k=ks)
def test_alpha_one_ranks_by_similarity_alone(built: tuple, k: int) -> None:
    index, query = built
    result = index.search(query, k, 1.0)
    _, _, cosines = brute_force(index, query, 1.0)
    similarity = index.calibration.similarity(cosines)
    np.testing.assert_allclose(result.scores, result.similarities, atol=1e-6)
    np.testing.assert_allclose(
        result.scores, np.sort(similarity)[::-1][: len(result)], atol=TOLERANCE
    )


@PROPERTY
@given(built=indexes(), k=ks)
def test_alpha_zero_ranks_by_weighted_popularity_alone(built: tuple, k: int) -> None:
    index, query = built
    result = index.search(query, k, 0.0)
    np.testing.assert_array_equal(result.scores, result.priors)
    np.testing.assert_array_equal(result.priors, np.sort(index.prior)[::-1][: len(result)])
    assert_exact(result, k, brute_force(index, query, 0.0))


@PROPERTY
@given(built=indexes(), alpha=alphas, k=ks, data=st.data())
def test_filters_are_respected_and_the_result_stays_exact(
    built: tuple, alpha: float, k: int, data: st.DataObject
) -> None:
    index, query = built
    n = len(index)
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    exclude = np.array(
        data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)), dtype=np.int64
    )
    use_allowed = data.draw(st.booleans())
    result = index.search(
        query, k, alpha, exclude=exclude, allowed=allowed if use_allowed else None
    )
    rows = set(result.rows.tolist())
    assert not rows & set(exclude.tolist())
    if use_allowed:
        assert rows <= set(np.flatnonzero(allowed).tolist())
    expected = brute_force(
        index, query, alpha, exclude=exclude, allowed=allowed if use_allowed else None
    )
    assert_exact(result, k, expected)


@settings(max_examples=25, deadline=None)
@given(built=indexes(), alpha=alphas, k=ks, data=st.data())
def test_search_batch_equals_repeated_search(
    built: tuple, alpha: float, k: int, data: st.DataObject
) -> None:
    index, _ = built
    n = len(index)
    count = data.draw(st.integers(1, 40))  # more than one chunk of 32 sometimes
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    queries = index.unit_vectors[rng.integers(0, n, count)]
    excludes = [
        np.array([int(rng.integers(n))]) if rng.random() < 0.5 else None for _ in range(count)
    ]
    batch = index.search_batch(queries, k, alpha, excludes=excludes)
    assert len(batch) == count
    for query, exclude, got in zip(queries, excludes, batch, strict=True):
        one = index.search(query, k, alpha, exclude=exclude)
        np.testing.assert_array_equal(got.rows, one.rows)
        np.testing.assert_allclose(got.scores, one.scores, atol=1e-6)


# -- examples ---------------------------------------------------------------------------


def test_rows_are_normalised_once_and_featureless_rows_stay_zero() -> None:
    vectors = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]])
    index = FeatureIndex(vectors, np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(index.unit_vectors, [[0.6, 0.8], [0, 0], [-1, 0]], rtol=1e-6)
    assert index.unit_vectors.dtype == np.float32
    assert [index.has_vector(r) for r in range(3)] == [True, False, True]
    with pytest.raises(ValueError):
        index.unit_vectors[0, 0] = 1.0  # read-only


def test_memory_is_about_one_float32_matrix() -> None:
    n, d = 10_000, 12
    index = FeatureIndex(np.random.default_rng(0).normal(size=(n, d)), np.zeros(n))
    assert index.nbytes <= 1.3 * n * d * 4


def test_ties_below_the_floor_go_to_the_closer_track_then_the_lower_row() -> None:
    # Three tracks below the floor (similarity 0) with the same prior: a tie on score.
    vectors = np.array([[0.1, 1.0], [0.3, 1.0], [0.3, 1.0], [1.0, 0.0]])
    index = FeatureIndex(vectors, np.full(4, 0.5), calibration=SimilarityCalibration(0.9))
    query = np.array([1.0, 0.0], dtype=np.float32)
    result = index.search(query, 4, 0.5, exclude=np.array([3]))
    assert result.rows.tolist() == [1, 2, 0]
    assert np.all(result.similarities == 0)


def test_a_below_floor_track_with_high_prior_beats_a_weak_neighbour() -> None:
    # Row 0 is near the query but dull; row 1 is far (clipped to 0) but very popular.
    vectors = np.array([[1.0, 0.05], [0.0, 1.0], [1.0, 1.0]])
    prior = np.array([0.0, 0.8, 0.0])
    index = FeatureIndex(vectors, prior, calibration=SimilarityCalibration(0.5))
    query = np.array([1.0, 0.0], dtype=np.float32)
    result = index.search(query, 2, 0.5)
    assert result.rows.tolist() == [0, 1]
    assert result.similarities[1] == 0.0
    assert result.scores[1] == pytest.approx(0.4)
    assert result.scores[0] == pytest.approx(0.5 * (2 * (1 / np.hypot(1, 0.05)) - 1), rel=1e-5)


def test_k_larger_than_the_eligible_rows_returns_them_all() -> None:
    index = FeatureIndex(np.eye(3), np.array([0.2, 0.4, 0.6]))
    result = index.search(np.array([1, 0, 0], np.float32), 10, 0.5, exclude=np.array([1]))
    assert sorted(result.rows.tolist()) == [0, 2]
    nothing = index.search(np.array([1, 0, 0], np.float32), 5, 0.5, allowed=np.zeros(3, bool))
    assert len(nothing) == 0


def test_search_does_not_modify_the_index() -> None:
    index = FeatureIndex(np.eye(3), np.array([0.2, 0.4, 0.6]))
    before = index.unit_vectors.copy(), index.prior.copy()
    allowed = np.array([True, False, True])
    index.search(np.array([1, 0, 0], np.float32), 2, 0.3, exclude=np.array([0]), allowed=allowed)
    np.testing.assert_array_equal(index.unit_vectors, before[0])
    np.testing.assert_array_equal(index.prior, before[1])
    assert allowed.tolist() == [True, False, True]


@pytest.mark.parametrize("alpha", [-0.01, 1.01, float("nan"), float("inf")])
def test_alpha_outside_zero_one_is_refused(alpha: float) -> None:
    index = FeatureIndex(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="alpha"):
        index.search(np.array([1, 0, 0], np.float32), 1, alpha)
    with pytest.raises(ValueError, match="alpha"):
        validate_alpha(alpha)


def test_bad_shapes_priors_and_k_are_refused() -> None:
    with pytest.raises(ValueError):
        FeatureIndex(np.eye(3), np.zeros(2))
    with pytest.raises(ValueError, match="prior"):
        FeatureIndex(np.eye(3), np.array([0.0, 1.5, 0.0]))
    with pytest.raises(ValueError, match="prior"):
        FeatureIndex(np.eye(3), np.array([0.0, np.nan, 0.0]))
    index = FeatureIndex(np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="dimensions"):
        index.search(np.ones(4, np.float32), 1, 0.5)
    with pytest.raises(ValueError, match="k"):
        index.search(np.ones(3, np.float32), 0, 0.5)
    with pytest.raises(ValueError, match="exclude"):
        index.search_batch(np.eye(3), 1, 0.5, excludes=[None])


@pytest.mark.parametrize("alpha", [0.0, 1e-40, 1e-12])
def test_components_are_reported_truthfully_even_for_tiny_alpha(alpha: float) -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    index = FeatureIndex(vectors, np.array([0.2, 0.6, 0.4]), calibration=SimilarityCalibration(0))
    result = index.search(np.array([1.0, 0.0], np.float32), 3, alpha)
    assert result.rows.tolist() == [1, 2, 0]
    assert np.isfinite(result.scores).all()
    np.testing.assert_allclose(result.similarities, [np.sqrt(0.5), 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(result.priors, [0.6, 0.4, 0.2])


@PROPERTY
@given(built=indexes(), alpha=alphas, k=ks)
def test_equal_scores_are_ordered_by_higher_cosine_then_lower_row(
    built: tuple, alpha: float, k: int
) -> None:
    index, query = built
    result = index.search(query, k, alpha)
    cosines = index.unit_vectors[result.rows] @ query
    for i in range(len(result) - 1):
        if result.scores[i] == result.scores[i + 1]:
            # Cosines equal up to float32 rounding count as a tie, broken by row.
            if abs(float(cosines[i]) - float(cosines[i + 1])) > 1e-6:
                assert cosines[i] > cosines[i + 1]
            else:
                assert result.rows[i] < result.rows[i + 1]
