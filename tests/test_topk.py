"""Exact top-k selection: the same answer as a stable full sort, without doing one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recommender.topk import top_k_indices


def reference(scores: np.ndarray, k: int) -> np.ndarray:
    """Stable argsort of descending scores, masked (-inf) entries dropped."""
    order = np.argsort(-scores, kind="stable")
    return order[scores[order] > -np.inf][:k]


def test_best_first_with_ties_by_lower_index() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.9])
    assert top_k_indices(scores, 3).tolist() == [1, 4, 0]


def test_masked_entries_never_come_back() -> None:
    scores = np.array([-np.inf, 0.2, -np.inf, -5.0])
    assert top_k_indices(scores, 10).tolist() == [1, 3]
    assert top_k_indices(np.full(5, -np.inf), 3).size == 0


def test_nothing_asked_nothing_given() -> None:
    assert top_k_indices(np.array([1.0, 2.0]), 0).size == 0
    assert top_k_indices(np.empty(0), 5).size == 0


@pytest.mark.parametrize("k", [1, 10, 100])
def test_large_arrays_take_the_sampled_path_and_stay_exact(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.normal(size=200_000).astype(np.float32)
    scores[::7] = -np.inf
    # Put the best values where a stride sample cannot see them.
    scores[1:2000:3] = 10 + rng.random(667).astype(np.float32)
    np.testing.assert_array_equal(top_k_indices(scores, k), reference(scores, k))


def test_adversarial_order_with_many_ties_is_exact() -> None:
    scores = np.zeros(100_000, dtype=np.float32)
    scores[-50:] = 1.0  # the best are all at the end, tied
    np.testing.assert_array_equal(top_k_indices(scores, 20), reference(scores, 20))
    ties = np.repeat(np.arange(10, dtype=np.float32), 10_000)
    np.testing.assert_array_equal(top_k_indices(ties, 15), reference(ties, 15))


@settings(max_examples=80, deadline=None)
@given(
    scores=hnp.arrays(
        np.float32,
        st.integers(0, 300),
        elements=st.one_of(
            st.sampled_from([-np.inf, 0.0, 1.0, 0.5]),
            st.floats(-1e3, 1e3, width=32),
        ),
    ),
    k=st.integers(1, 40),
)
def test_equals_a_stable_argsort(scores: np.ndarray, k: int) -> None:
    np.testing.assert_array_equal(top_k_indices(scores, k), reference(scores, k))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 50), levels=st.integers(2, 1000))
def test_equals_a_stable_argsort_on_large_quantised_arrays(seed: int, k: int, levels: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, 20_000).astype(np.float64)
    scores[rng.random(20_000) < 0.2] = -np.inf
    np.testing.assert_array_equal(top_k_indices(scores, k), reference(scores, k))
