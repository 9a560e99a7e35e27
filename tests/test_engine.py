"""The recommender end to end on a synthetic catalogue: one call, explicit filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.calibration import SimilarityCalibration
from recommender.catalogue import Catalogue
from recommender.engine import (
    Diversity,
    NoFeaturesError,
    OutsideTrack,
    Popular,
    Recommender,
    Seeds,
    Taste,
    TrackNotInCatalogueError,
)
from recommender.loaders import load_catalogue
from recommender.popularity import PopularityWeighting
from recommender.track import Track
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
    results = recommender.recommend(Seeds([seed]), k=5, alpha=0.7)

    assert [r.rank for r in results] == [1, 2, 3, 4, 5]
    assert all(r.track.id != seed for r in results)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        expected = 0.7 * r.similarity + 0.3 * r.recency_popularity
        assert r.score == pytest.approx(expected, abs=1e-6)
        assert r.breakdown.sound == pytest.approx(0.7 * r.similarity)
        assert r.breakdown.recent_popular == pytest.approx(0.3 * r.recency_popularity)
        assert r.score == r.breakdown.total
        assert 0 <= r.similarity <= 1 and 0 <= r.recency_popularity <= 1
        assert r.track == recommender.catalogue.track(r.row)


def test_a_seed_given_by_row_or_by_id_is_the_same(recommender: Recommender) -> None:
    seed = fx.track_id(11)
    by_id = recommender.recommend(Seeds([seed]), k=8)
    by_row = recommender.recommend(Seeds([recommender.catalogue.row_of(seed)]), k=8)
    assert [r.row for r in by_id] == [r.row for r in by_row]


def test_the_seed_and_every_release_of_the_same_song_are_excluded(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    twins = {fx.ORIGINAL, fx.REMASTER, fx.FEAT_VERSION}
    assert {catalogue.ids[r] for r in catalogue.duplicates_of(catalogue.row_of(fx.ORIGINAL))} == (
        twins
    )
    for seed in twins:
        everything = recommender.recommend(Seeds([seed]), k=len(catalogue), alpha=0.5)
        returned = {r.track.id for r in everything}
        assert not returned & twins
        # Only the song itself is missing: nothing else is lost (one release per song).
        songs = len(np.unique(catalogue.duplicate_groups))
        assert len(everything) == songs - 1


def test_explicit_exclusions_and_allowed_masks(recommender: Recommender) -> None:
    seed = fx.track_id(5)
    first = recommender.recommend(Seeds([seed]), k=3)
    excluded = [first[0].track.id, first[1].row]
    again = recommender.recommend(Seeds([seed]), k=3, exclude=excluded)
    assert {r.row for r in again}.isdisjoint({first[0].row, first[1].row})
    assert again[0].row == first[2].row

    allowed = np.zeros(len(recommender), dtype=bool)
    allowed[::3] = True
    filtered = recommender.recommend(Seeds([seed]), k=20, allowed=allowed)
    assert len(filtered) == 20
    assert all(r.row % 3 == 0 for r in filtered)


def test_several_seeds_combine_into_the_direction_of_their_mean(recommender: Recommender) -> None:
    seeds = [fx.track_id(1), fx.track_id(2), fx.track_id(3)]
    rows = [recommender.row(s) for s in seeds]
    results = recommender.recommend(Seeds(seeds), k=10, alpha=1.0)

    expected = brute_force_scores(recommender, rows, 1.0)
    expected[np.concatenate([recommender.catalogue.duplicates_of(r) for r in rows])] = -1
    best = np.sort(expected)[::-1][:10]
    np.testing.assert_allclose([r.score for r in results], best, atol=1e-5)
    assert not {r.row for r in results} & set(rows)


def test_alpha_one_is_pure_similarity_and_zero_pure_popularity(
    recommender: Recommender,
) -> None:
    seed = recommender.row(fx.track_id(9))
    content = recommender.recommend(Seeds([seed]), k=10, alpha=1.0)
    popular = recommender.recommend(Seeds([seed]), k=10, alpha=0.0)

    assert all(r.score == pytest.approx(r.similarity, abs=1e-6) for r in content)
    assert all(r.score == pytest.approx(r.recency_popularity) for r in popular)
    prior = recommender.recency_popularity.copy()
    prior[seed] = -1
    np.testing.assert_allclose(
        [r.recency_popularity for r in popular], np.sort(prior)[::-1][:10], atol=1e-7
    )
    assert [r.row for r in content] != [r.row for r in popular]


def test_pure_popularity_still_reports_the_similarity(recommender: Recommender) -> None:
    # A seed right next to the most popular track, so at least that one is similar.
    unit, prior = recommender.index.unit_vectors, recommender.index.prior
    top = int(np.argmax(prior))
    cosines = unit @ unit[top]
    cosines[recommender.catalogue.duplicates_of(top)] = -np.inf
    seed = int(np.argmax(cosines))
    popular = recommender.recommend(Seeds([seed]), k=10, alpha=0.0)
    expected = brute_force_scores(recommender, [seed], 1.0)
    np.testing.assert_allclose(
        [r.similarity for r in popular], expected[[r.row for r in popular]], atol=1e-5
    )
    assert any(r.similarity > 0 for r in popular)


def test_featureless_seed_needs_alpha_zero(recommender: Recommender) -> None:
    with pytest.raises(NoFeaturesError):
        recommender.recommend(Seeds([fx.TEMPO_ZERO]), k=5, alpha=0.5)
    popular = recommender.recommend(Seeds([fx.TEMPO_ZERO]), k=5, alpha=0.0)
    assert len(popular) == 5
    assert all(r.similarity == 0 for r in popular)
    # A featureless seed beside one with features is simply ignored for similarity.
    mixed = recommender.recommend(Seeds([fx.TEMPO_ZERO, fx.track_id(4)]), k=5, alpha=1.0)
    alone = recommender.recommend(Seeds([fx.track_id(4)]), k=6, alpha=1.0)
    assert [r.row for r in mixed] == [r.row for r in alone if r.track.id != fx.TEMPO_ZERO][:5]


def test_missing_popularity_or_date_never_rank_first(recommender: Recommender) -> None:
    popular = recommender.recommend(Popular(), k=len(recommender))
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
        (lambda r: r.recommend(Seeds(["0" * 22])), TrackNotInCatalogueError),
        (lambda r: r.recommend(Seeds([10**6])), TrackNotInCatalogueError),
        (lambda r: r.recommend(Seeds([-1])), TrackNotInCatalogueError),
        (lambda r: r.recommend(Seeds([])), ValueError),
        (lambda r: r.recommend(Seeds([0, 1, 2, 3, 4, 5])), ValueError),
        (lambda r: r.recommend(Seeds([0]), k=0), ValueError),
        (lambda r: r.recommend(Seeds([0]), alpha=1.5), ValueError),
        (lambda r: r.recommend(Seeds([0]), alpha=float("nan")), ValueError),
        (lambda r: r.recommend(Seeds([0]), exclude=["nope"]), TrackNotInCatalogueError),
        (lambda r: r.recommend(Seeds([0]), allowed=np.ones(3, dtype=bool)), ValueError),
        (lambda r: r.recommend([Seeds([0])], alpha=-0.5), ValueError),
        (lambda r: r.recommend([0]), TypeError),
        (lambda r: r.recommend("0"), TypeError),
        (lambda r: r.recommend(Taste(liked=["nope"])), TrackNotInCatalogueError),
        (lambda r: r.recommend(Taste()), NoFeaturesError),
        (lambda r: r.recommend(Seeds([0]), diversity=Diversity(amount=2.0)), ValueError),
    ],
)
def test_bad_calls_raise_typed_errors(recommender: Recommender, call, error) -> None:
    with pytest.raises(error):
        call(recommender)


def test_a_list_of_queries_equals_asking_one_by_one(recommender: Recommender) -> None:
    seed_lists = [[fx.track_id(i)] for i in range(40)] + [[fx.ORIGINAL, fx.track_id(50)]]
    batch = recommender.recommend([Seeds(s) for s in seed_lists], k=7, alpha=0.4)
    for seeds, got in zip(seed_lists, batch, strict=True):
        one = recommender.recommend(Seeds(seeds), 7, alpha=0.4)
        assert got.rows == one.rows
        assert [r.breakdown for r in got] == [r.breakdown for r in one]


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
    results = recommender.recommend(Seeds(seeds), k=k, alpha=alpha)

    assert len(results) == k
    catalogue = recommender.catalogue
    forbidden = set(np.concatenate([catalogue.duplicates_of(r) for r in rows]).tolist())
    assert not {r.row for r in results} & forbidden
    for r in results:
        assert r.score == pytest.approx(r.breakdown.total, abs=1e-12)
    if results.fallback is not None:
        return  # nothing cleared the floor: ranked by raw sound (tested on its own)
    scores = np.array([r.score for r in results])
    assert np.all(np.diff(scores) <= 1e-6)
    # The best k songs: each song's best release, then the top k of those.
    expected = brute_force_scores(recommender, rows, alpha)
    expected[list(forbidden)] = -np.inf
    best_per_song: dict[int, float] = {}
    for row, score in enumerate(expected.tolist()):
        group = int(catalogue.duplicate_groups[row])
        best_per_song[group] = max(best_per_song.get(group, -np.inf), score)
    np.testing.assert_allclose(scores, sorted(best_per_song.values(), reverse=True)[:k], atol=1e-5)


def test_loading_the_same_file_twice_gives_the_same_answers(tmp_path: Path) -> None:
    path = fx.write_catalogue(tmp_path / "c.csv", fx.synthetic_tracks(80, seed=5), "fetch")
    weighting = PopularityWeighting(as_of=fx.AS_OF)
    one = Recommender(load_catalogue(path), weighting=weighting)
    two = Recommender(load_catalogue(path), weighting=weighting)
    assert one.recommend(Seeds([3]), 10).rows == two.recommend(Seeds([3]), 10).rows


# -- the query kinds --------------------------------------------------------------------


def test_several_seeds_beyond_five_are_refused_and_a_lone_id_is_one_seed() -> None:
    assert Seeds(fx.track_id(1)).tracks == (fx.track_id(1),)
    assert len(Seeds([1, 2, 3, 4, 5]).tracks) == 5
    with pytest.raises(ValueError, match="at most 5"):
        Seeds([1, 2, 3, 4, 5, 6])


def test_taste_query_ranks_by_the_profile_and_never_suggests_what_was_rated(
    recommender: Recommender,
) -> None:
    liked = [recommender.row(fx.track_id(i)) for i in (10, 11, 12)]
    disliked = [recommender.row(fx.track_id(20))]
    answer = recommender.recommend(Taste(liked, disliked), k=10, alpha=0.8)

    assert answer.taste_ratings == 4 and answer.seeds == ()
    assert not set(answer.rows) & {*liked, *disliked}
    unit = recommender.index.unit_vectors.astype(np.float64)
    toward = unit[liked].mean(axis=0) - 0.2 * unit[disliked].mean(axis=0)
    cosines = unit @ (toward / np.linalg.norm(toward))
    taste_similarity = recommender.index.calibration.similarity(cosines)
    for r in answer:
        # No seed song: the whole sound term is the taste's, and it is reported as such.
        assert r.similarity == 0 and r.breakdown.sound == 0
        assert r.breakdown.taste == pytest.approx(0.8 * taste_similarity[r.row], abs=1e-5)
        assert r.score == r.breakdown.total


def test_taste_option_leans_a_song_query_and_reports_what_it_added(
    recommender: Recommender,
) -> None:
    seed = recommender.row(fx.track_id(30))
    liked = [recommender.row(fx.track_id(i)) for i in range(40, 50)]
    plain = recommender.recommend(Seeds([seed]), k=10, alpha=0.8)
    tuned = recommender.recommend(Seeds([seed]), k=10, alpha=0.8, taste=Taste(liked))

    assert tuned.taste_ratings == 10 and plain.taste_ratings == 0
    assert tuned.rows != plain.rows
    assert not set(tuned.rows) & set(liked)
    seed_similarity = brute_force_scores(recommender, [seed], 1.0)
    for r in tuned:
        # `similarity` stays the honest similarity to the seed song; the taste term
        # is the difference the taste made, so the parts still add up.
        assert r.similarity == pytest.approx(seed_similarity[r.row], abs=1e-5)
        assert r.breakdown.sound == pytest.approx(0.8 * r.similarity)
        assert r.score == pytest.approx(r.breakdown.total)
    assert any(r.breakdown.taste > 0 for r in tuned)
    assert all(r.breakdown.taste == 0 for r in plain)


def test_outside_track_excludes_its_song_and_equals_a_seed_when_catalogued(
    recommender: Recommender,
) -> None:
    catalogue = recommender.catalogue
    inside = catalogue.track(catalogue.row_of(fx.track_id(8)))
    as_seed = recommender.recommend(Seeds([inside.id]), k=6)
    assert recommender.recommend(OutsideTrack(inside), k=6).rows == as_seed.rows

    twin = catalogue.track(catalogue.row_of(fx.ORIGINAL))
    stranger = Track("X" * 22, twin.name, twin.artists, features=twin.features)
    answer = recommender.recommend(OutsideTrack(stranger), k=len(catalogue), alpha=0.9)
    twins = {fx.ORIGINAL, fx.REMASTER, fx.FEAT_VERSION}
    assert not {r.track.id for r in answer} & twins
    assert answer[0].similarity == pytest.approx(1.0, abs=1e-4)  # its own sound, elsewhere

    with pytest.raises(NoFeaturesError):
        recommender.recommend(OutsideTrack(Track("Y" * 22, "Silence")), k=3)
    assert len(recommender.recommend(OutsideTrack(Track("Y" * 22, "Silence")), 3, alpha=0)) == 3


def test_popular_query_is_the_recency_popularity_order(recommender: Recommender) -> None:
    answer = recommender.recommend(Popular(), k=10, alpha=0.7)  # alpha has no say
    expected = np.argsort(-recommender.recency_popularity, kind="stable")
    groups = recommender.catalogue.duplicate_groups
    one_per_song = [int(r) for i, r in enumerate(expected) if groups[r] not in groups[expected[:i]]]
    assert answer.rows == one_per_song[:10]
    for r in answer:
        assert r.breakdown.recent_popular == pytest.approx(r.recency_popularity)
        assert r.score == r.breakdown.total and r.breakdown.sound == 0


def test_one_song_appears_once_in_any_answer(recommender: Recommender) -> None:
    catalogue = recommender.catalogue
    original = catalogue.row_of(fx.ORIGINAL)
    # A seed that sounds like the twins: their songs compete for one place.
    cosines = recommender.index.unit_vectors @ recommender.index.unit_vectors[original]
    cosines[catalogue.duplicates_of(original)] = -np.inf
    seed = int(np.argmax(cosines))
    for query in (Seeds([seed]), Popular(), Taste([seed])):
        answer = recommender.recommend(query, k=len(catalogue), alpha=0.5)
        groups = catalogue.duplicate_groups[answer.rows]
        assert len(set(groups.tolist())) == len(answer)
    close = recommender.recommend(Seeds([seed]), k=20, alpha=1.0)
    assert len({fx.ORIGINAL, fx.REMASTER, fx.FEAT_VERSION} & {r.track.id for r in close}) == 1


def test_batch_applies_every_option_to_every_query(recommender: Recommender) -> None:
    queries = [Seeds([fx.track_id(i)]) for i in range(0, 60, 6)] + [Taste([1, 2]), Popular()]
    options = dict(
        alpha=0.6,
        taste=Taste([fx.track_id(100)], [fx.track_id(101)]),
        exclude=[fx.track_id(7), 12],
        diversity=Diversity(0.3, max_per_artist=1),
        explain=True,
    )
    batch = recommender.recommend(queries, 8, **options)
    assert len(batch) == len(queries)
    for query, got in zip(queries, batch, strict=True):
        one = recommender.recommend(query, 8, **options)
        assert got.rows == one.rows and got.fallback == one.fallback
        assert [r.reasons for r in got] == [r.reasons for r in one]
        assert not {recommender.row(fx.track_id(7)), 12, 100, 101} & set(got.rows)
        artists = [r.track.artists[0] for r in got]
        assert len(set(artists)) == len(artists)


def test_nothing_above_the_floor_falls_back_to_the_closest_and_says_so(
    catalogue: Catalogue,
) -> None:
    # A floor no pair of different tracks clears: every similarity is 0.
    strict = Recommender(
        catalogue,
        weighting=PopularityWeighting(as_of=fx.AS_OF),
        calibration=SimilarityCalibration(0.99),
    )
    seed = strict.row(fx.track_id(3))
    unit = strict.index.unit_vectors
    cosines = unit.astype(np.float64) @ unit[seed].astype(np.float64)
    cosines[strict.catalogue.duplicates_of(seed)] = -np.inf
    assert cosines.max() < 0.99  # the premise: nothing is close
    answer = strict.recommend(Seeds([seed]), k=8, alpha=0.8, explain=True)

    assert answer.fallback == "closest"
    assert all(r.similarity == 0 for r in answer)
    # Ranked by raw closeness, not by popularity.
    got = cosines[answer.rows]
    assert np.all(np.diff(got) <= 1e-6)
    assert got[0] == pytest.approx(cosines.max(), abs=1e-6)
    assert all("closest in sound" in r.reasons[0] for r in answer)
    for r in answer:
        assert r.score == r.breakdown.total == pytest.approx(r.breakdown.recent_popular)
    # The ordinary answer when something is close, or when similarity has no say.
    assert strict.recommend(Seeds([seed]), k=8, alpha=0.0).fallback is None


def test_explanations_name_the_seed_and_stay_short(recommender: Recommender) -> None:
    seed = recommender.row(fx.track_id(5))
    answer = recommender.recommend(Seeds([seed]), k=10, alpha=0.8, explain=True)
    name = recommender.catalogue.names[seed]
    assert all(r.reasons for r in answer)
    assert any(name in reason for r in answer for reason in r.reasons if r.similarity > 0)
    assert all(r.reasons == () for r in recommender.recommend(Seeds([seed]), k=3))
