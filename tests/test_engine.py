"""The recommender end to end on a synthetic catalogue: one call, explicit filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.catalogue import Catalogue
from recommender.engine import NoFeaturesError, Recommender, UnknownTrackError
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from tests import fixtures as fx


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    path = tmp_path_factory.mktemp("engine") / "catalogue.csv.gz"
    tracks = fx.synthetic_tracks(400, seed=3) + fx.edge_case_tracks()
    return load_catalogue(fx.write_catalogue(path, tracks, "tidytuesday"))


@pytest.fixture(scope="module")
def recommender(catalogue: Catalogue) -> Recommender:
    return Recommender(catalogue, weighting=PopularityWeighting(as_of=fx.AS_OF))


def brute_force_scores(recommender: Recommender, seed_rows: list[int], alpha: float) -> np.ndarray:
    """alpha * similarity + (1 - alpha) * prior for every row, in float64."""
    unit = recommender.index.unit_vectors.astype(np.float64)
    usable = [r for r in seed_rows if unit[r].any()]
    query = unit[usable].mean(axis=0) if usable else np.zeros(unit.shape[1])
    if usable:
        query /= np.linalg.norm(query)  # several seeds: the direction of their mean
    similarity = recommender.index.calibration.similarity(unit @ query)
    return alpha * similarity + (1 - alpha) * recommender.index.prior.astype(np.float64)


def test_recommend_by_id_gives_k_ranked_tracks_with_their_components(
    recommender: Recommender,
) -> None:
    seed = fx.track_id(7)
    results = recommender.recommend([seed], k=5, alpha=0.7)

    assert [r.rank for r in results] == [1, 2, 3, 4, 5]
    assert all(r.track.id != seed for r in results)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        assert r.score == pytest.approx(0.7 * r.similarity + 0.3 * r.popularity, abs=1e-6)
        assert 0 <= r.similarity <= 1 and 0 <= r.popularity <= 1
        assert r.track == recommender.catalogue.track(r.row)


def test_a_seed_given_by_row_or_by_id_is_the_same(recommender: Recommender) -> None:
    seed = fx.track_id(11)
    by_id = recommender.recommend([seed], k=8)
    by_row = recommender.recommend([recommender.catalogue.row_of(seed)], k=8)
    assert [r.row for r in by_id] == [r.row for r in by_row]


def test_the_seed_and_every_release_of_the_same_song_are_excluded(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    twins = {fx.ORIGINAL, fx.REMASTER, fx.FEAT_VERSION}
    assert {catalogue.ids[r] for r in catalogue.duplicates_of(catalogue.row_of(fx.ORIGINAL))} == (
        twins
    )
    for seed in twins:
        everything = recommender.recommend([seed], k=len(catalogue), alpha=0.5)
        returned = {r.track.id for r in everything}
        assert not returned & twins
        # Only the song itself is missing: nothing else is lost.
        assert len(everything) == len(catalogue) - len(twins)


def test_explicit_exclusions_and_allowed_masks(recommender: Recommender) -> None:
    seed = fx.track_id(5)
    first = recommender.recommend([seed], k=3)
    excluded = [first[0].track.id, first[1].row]
    again = recommender.recommend([seed], k=3, exclude=excluded)
    assert {r.row for r in again}.isdisjoint({first[0].row, first[1].row})
    assert again[0].row == first[2].row

    allowed = np.zeros(len(recommender), dtype=bool)
    allowed[::3] = True
    filtered = recommender.recommend([seed], k=20, allowed=allowed)
    assert len(filtered) == 20
    assert all(r.row % 3 == 0 for r in filtered)


def test_several_seeds_combine_into_the_direction_of_their_mean(recommender: Recommender) -> None:
    seeds = [fx.track_id(1), fx.track_id(2), fx.track_id(3)]
    rows = [recommender.row(s) for s in seeds]
    results = recommender.recommend(seeds, k=10, alpha=1.0)

    expected = brute_force_scores(recommender, rows, 1.0)
    expected[np.concatenate([recommender.catalogue.duplicates_of(r) for r in rows])] = -1
    best = np.sort(expected)[::-1][:10]
    np.testing.assert_allclose([r.score for r in results], best, atol=1e-5)
    assert not {r.row for r in results} & set(rows)


def test_alpha_one_is_pure_similarity_and_zero_pure_popularity(
    recommender: Recommender,
) -> None:
    seed = recommender.row(fx.track_id(9))
    content = recommender.recommend([seed], k=10, alpha=1.0)
    popular = recommender.recommend([seed], k=10, alpha=0.0)

    assert all(r.score == pytest.approx(r.similarity, abs=1e-6) for r in content)
    assert all(r.score == pytest.approx(r.popularity) for r in popular)
    prior = recommender.index.prior.copy()
    prior[seed] = -1
    np.testing.assert_allclose([r.popularity for r in popular], np.sort(prior)[::-1][:10])
    assert [r.row for r in content] != [r.row for r in popular]


def test_pure_popularity_still_reports_the_similarity(recommender: Recommender) -> None:
    # A seed right next to the most popular track, so at least that one is similar.
    unit, prior = recommender.index.unit_vectors, recommender.index.prior
    top = int(np.argmax(prior))
    cosines = unit @ unit[top]
    cosines[recommender.catalogue.duplicates_of(top)] = -np.inf
    seed = int(np.argmax(cosines))
    popular = recommender.recommend([seed], k=10, alpha=0.0)
    expected = brute_force_scores(recommender, [seed], 1.0)
    np.testing.assert_allclose(
        [r.similarity for r in popular], expected[[r.row for r in popular]], atol=1e-5
    )
    assert any(r.similarity > 0 for r in popular)


def test_featureless_seed_needs_alpha_zero(recommender: Recommender) -> None:
    with pytest.raises(NoFeaturesError):
        recommender.recommend([fx.TEMPO_ZERO], k=5, alpha=0.5)
    popular = recommender.recommend([fx.TEMPO_ZERO], k=5, alpha=0.0)
    assert len(popular) == 5
    assert all(r.similarity == 0 for r in popular)
    # A featureless seed beside one with features is simply ignored for similarity.
    mixed = recommender.recommend([fx.TEMPO_ZERO, fx.track_id(4)], k=5, alpha=1.0)
    alone = recommender.recommend([fx.track_id(4)], k=6, alpha=1.0)
    assert [r.row for r in mixed] == [r.row for r in alone if r.track.id != fx.TEMPO_ZERO][:5]


def test_missing_popularity_or_date_never_rank_first(recommender: Recommender) -> None:
    popular = recommender.recommend([fx.track_id(0)], k=len(recommender), alpha=0.0)
    order = [r.track.id for r in popular]
    # Unknown popularity (on a recent track) is imputed at the low quartile of the rest.
    catalogue = recommender.catalogue
    known = catalogue.popularity[~np.isnan(catalogue.popularity)] / 100
    row = catalogue.row_of(fx.NO_POPULARITY)
    recency = recommender.weighting.recency(["2019-12-01"], ["day"])[0]
    assert recommender.index.prior[row] == pytest.approx(np.quantile(known, 0.25) * recency)
    assert order.index(fx.NO_POPULARITY) > len(order) // 10
    # An unknown or 0000 date counts as old: below a recent track of the same popularity.
    recent_sixty = recommender.index.prior[catalogue.row_of(fx.YEAR_ONLY)]
    for undated in (fx.DATE_0000, fx.NO_DATE):
        assert recommender.index.prior[catalogue.row_of(undated)] == pytest.approx(0.6 * 0.3)
        assert recommender.index.prior[catalogue.row_of(undated)] < recent_sixty


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda r: r.recommend(["0" * 22]), UnknownTrackError),
        (lambda r: r.recommend([10**6]), UnknownTrackError),
        (lambda r: r.recommend([-1]), UnknownTrackError),
        (lambda r: r.recommend([]), ValueError),
        (lambda r: r.recommend([0], k=0), ValueError),
        (lambda r: r.recommend([0], alpha=1.5), ValueError),
        (lambda r: r.recommend([0], alpha=float("nan")), ValueError),
        (lambda r: r.recommend([0], exclude=["nope"]), UnknownTrackError),
        (lambda r: r.recommend_many([[0]], alpha=-0.5), ValueError),
    ],
)
def test_bad_calls_raise_typed_errors(recommender: Recommender, call, error) -> None:
    with pytest.raises(error):
        call(recommender)


def test_recommend_many_equals_recommend_one_by_one(recommender: Recommender) -> None:
    seed_lists = [[fx.track_id(i)] for i in range(40)] + [[fx.ORIGINAL, fx.track_id(50)]]
    batch = recommender.recommend_many(seed_lists, k=7, alpha=0.4)
    for seeds, got in zip(seed_lists, batch, strict=True):
        assert [r.row for r in got] == [r.row for r in recommender.recommend(seeds, 7, 0.4)]


# -- properties -------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed_numbers=st.lists(st.integers(0, 399), min_size=1, max_size=3),
    alpha=st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1)),
    k=st.integers(1, 30),
)
def test_results_are_exact_sorted_at_most_k_and_never_a_seed(
    recommender: Recommender, seed_numbers: list[int], alpha: float, k: int
) -> None:
    seeds = [fx.track_id(i) for i in seed_numbers]
    rows = [recommender.row(s) for s in seeds]
    results = recommender.recommend(seeds, k=k, alpha=alpha)

    assert len(results) == k
    forbidden = set(np.concatenate([recommender.catalogue.duplicates_of(r) for r in rows]).tolist())
    assert not {r.row for r in results} & forbidden
    scores = np.array([r.score for r in results])
    assert np.all(np.diff(scores) <= 1e-7)
    expected = brute_force_scores(recommender, rows, alpha)
    expected[list(forbidden)] = -np.inf
    np.testing.assert_allclose(scores, np.sort(expected)[::-1][:k], atol=1e-5)


def test_loading_the_same_file_twice_gives_the_same_answers(tmp_path: Path) -> None:
    path = fx.write_catalogue(tmp_path / "c.csv", fx.synthetic_tracks(80, seed=5), "fetch")
    weighting = PopularityWeighting(as_of=fx.AS_OF)
    one = Recommender(load_catalogue(path), weighting=weighting)
    two = Recommender(load_catalogue(path), weighting=weighting)
    assert [r.row for r in one.recommend([3], 10)] == [r.row for r in two.recommend([3], 10)]
