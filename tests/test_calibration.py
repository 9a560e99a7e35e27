"""Calibrated similarity: a raw cosine stretched so that it can be blended."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import MinMaxScaler

from recommender.calibration import SimilarityCalibration
from recommender.catalogue import Catalogue
from recommender.engine import Recommender, Seeds
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from recommender.track import Track
from tests import fixtures as fx


def unit_rows(n: int, d: int = 12, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, d))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_floor_maps_to_zero_one_to_one_and_linear_between() -> None:
    calibration = SimilarityCalibration(0.6)
    similarity = calibration.similarity(np.array([-1.0, 0.2, 0.6, 0.8, 1.0]))
    np.testing.assert_allclose(similarity, [0, 0, 0, 0.5, 1.0])
    assert calibration.scale == pytest.approx(2.5)


def test_the_floor_is_the_chosen_quantile_of_random_pair_cosines() -> None:
    vectors = unit_rows(3000, seed=1)
    calibration = SimilarityCalibration.fit(vectors, floor_quantile=0.9, samples=50_000)
    rng = np.random.default_rng(7)
    left, right = rng.integers(0, 3000, (2, 50_000))
    cosines = np.einsum("ij,ij->i", vectors[left], vectors[right])
    assert np.mean(cosines > calibration.floor) == pytest.approx(0.1, abs=0.01)


def test_a_higher_quantile_gives_a_higher_floor() -> None:
    vectors = unit_rows(500, seed=2) + 1.0  # all in one orthant: cosines bunch near 1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    low = SimilarityCalibration.fit(vectors, floor_quantile=0.5, samples=20_000)
    high = SimilarityCalibration.fit(vectors, floor_quantile=0.95, samples=20_000)
    assert 0.5 < low.floor < high.floor < 1


def test_featureless_zero_rows_are_ignored_when_fitting() -> None:
    vectors = unit_rows(400, seed=3)
    padded = np.vstack([vectors, np.zeros((4000, 12))])
    alone = SimilarityCalibration.fit(vectors, samples=20_000)
    with_zeros = SimilarityCalibration.fit(padded, samples=20_000)
    assert with_zeros.floor == pytest.approx(alone.floor, abs=0.03)


def test_a_small_catalogue_uses_every_pair_exactly() -> None:
    vectors = unit_rows(200, seed=4)
    upper = np.triu_indices(200, k=1)  # 19,900 distinct pairs: fewer than ``samples``
    exact = np.quantile((vectors @ vectors.T)[upper], 0.7)
    fitted = SimilarityCalibration.fit(vectors, floor_quantile=0.7, samples=20_000)
    assert fitted.floor == pytest.approx(exact, abs=1e-12)
    # No sampling: the seed cannot change it.
    again = SimilarityCalibration.fit(vectors, floor_quantile=0.7, samples=20_000, seed=9)
    assert again.floor == fitted.floor


def test_a_catalogue_with_more_pairs_than_samples_is_sampled() -> None:
    vectors = unit_rows(300, seed=5)  # 44,850 pairs > 20,000
    one = SimilarityCalibration.fit(vectors, floor_quantile=0.7, samples=20_000, seed=1)
    two = SimilarityCalibration.fit(vectors, floor_quantile=0.7, samples=20_000, seed=2)
    assert one.floor != two.floor
    upper = np.triu_indices(300, k=1)
    exact = np.quantile((vectors @ vectors.T)[upper], 0.7)
    assert one.floor == pytest.approx(exact, abs=0.02)


def test_too_few_tracks_give_the_identity_above_zero() -> None:
    assert SimilarityCalibration.fit(np.zeros((5, 12))).floor == 0.0
    assert SimilarityCalibration.fit(unit_rows(1)).floor == 0.0


@pytest.mark.parametrize("floor", [-0.1, 1.0, 2.0])
def test_impossible_floors_are_rejected(floor: float) -> None:
    with pytest.raises(ValueError):
        SimilarityCalibration(floor)
    with pytest.raises(ValueError):
        SimilarityCalibration.fit(unit_rows(10), floor_quantile=1.0)


@settings(max_examples=50, deadline=None)
@given(
    floor=st.floats(0, 0.99),
    cosines=st.lists(st.floats(-1, 1), min_size=2, max_size=20),
)
def test_similarity_is_monotone_and_on_zero_one(floor: float, cosines: list[float]) -> None:
    calibration = SimilarityCalibration(floor)
    ordered = np.sort(np.array(cosines))
    similarity = calibration.similarity(ordered)
    assert np.all((similarity >= 0) & (similarity <= 1))
    assert np.all(np.diff(similarity) >= 0)


# -- calibration makes alpha mean what it says -----------------------------------------


def _blend_study(recommender: Recommender, seeds: np.ndarray) -> dict[str, float]:
    """The tutorial's blend (min-max + plain cosine) against ours, both at alpha 0.5.

    Returns catalogue coverage of the top-10 lists over all seeds, the share of the
    tutorial's picks that are among the 50 highest priors, and the mean calibrated
    similarity to the seed of our alpha-0.5 picks and of the pure-popularity picks.
    """
    catalogue = recommender.catalogue
    usable = np.flatnonzero(catalogue.has_features)
    minmax = MinMaxScaler().fit_transform(catalogue.features[usable])
    minmax /= np.linalg.norm(minmax, axis=1, keepdims=True)
    position = {int(row): i for i, row in enumerate(usable)}
    prior = recommender.index.prior
    most_popular = set(np.argsort(-prior, kind="stable")[:50].tolist())
    unit, calibration = recommender.index.unit_vectors, recommender.index.calibration

    tutorial: list[int] = []
    ours: list[int] = []
    ours_similarity: list[float] = []
    popular_similarity: list[float] = []
    for seed in seeds:
        cosines = minmax @ minmax[position[int(seed)]]
        blended = 0.5 * cosines + 0.5 * prior[usable]
        blended[position[int(seed)]] = -np.inf
        tutorial += usable[np.argsort(-blended, kind="stable")[:10]].tolist()
        picks = recommender.recommend(Seeds([int(seed)]), k=10, alpha=0.5)
        ours += [r.row for r in picks]
        ours_similarity += [r.similarity for r in picks]
        popular = recommender.recommend(Seeds([int(seed)]), k=10, alpha=0.0).rows
        popular_similarity += calibration.similarity(unit[popular] @ unit[int(seed)]).tolist()
    n = len(catalogue)
    return {
        "tutorial_coverage": len(set(tutorial)) / n,
        "our_coverage": len(set(ours)) / n,
        "tutorial_popular_share": float(np.mean([r in most_popular for r in tutorial])),
        "our_similarity": float(np.mean(ours_similarity)),
        "popular_similarity": float(np.mean(popular_similarity)),
    }


def _assert_alpha_means_what_it_says(study: dict[str, float]) -> None:
    # The tutorial's blend collapses onto the same few popular tracks...
    assert study["tutorial_popular_share"] > 0.5
    # ...while the calibrated blend reaches far more of the catalogue
    assert study["our_coverage"] > 5 * study["tutorial_coverage"]
    # and stays near the seed: far more similar than what popularity alone picks.
    assert study["our_similarity"] > 4 * study["popular_similarity"]
    # Similarity is 0 outside the closest 1% of random pairs: the picks sit inside it.
    assert study["our_similarity"] > 0.1


def test_calibration_makes_alpha_mean_what_it_says_on_a_synthetic_catalogue() -> None:
    tracks = fx.synthetic_tracks(3000, seed=4)
    catalogue = Catalogue.from_tracks(
        Track(
            t.id,
            t.name,
            t.artists,
            release_date=t.release_date,
            popularity=t.popularity,
            features=t.features,
        )
        for t in tracks
    )
    recommender = Recommender(catalogue, weighting=PopularityWeighting(as_of=fx.AS_OF))
    seeds = np.random.default_rng(0).choice(len(catalogue), 200, replace=False)
    _assert_alpha_means_what_it_says(_blend_study(recommender, seeds))


@pytest.mark.shared_data
def test_calibration_makes_alpha_mean_what_it_says_on_the_real_dataset(
    spotify_songs_path: Path,
) -> None:
    catalogue = load_catalogue(spotify_songs_path)
    # The dataset was collected in January 2020.
    weighting = PopularityWeighting(as_of=dt.date(2020, 1, 21))
    recommender = Recommender(catalogue, weighting=weighting)
    usable = np.flatnonzero(catalogue.has_features)
    seeds = np.random.default_rng(0).choice(usable, 200, replace=False)
    study = _blend_study(recommender, seeds)
    _assert_alpha_means_what_it_says(study)
    # The measurement: the tutorial's blend keeps well under 1% reachable.
    assert study["tutorial_coverage"] < 0.01
