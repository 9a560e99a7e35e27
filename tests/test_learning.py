"""Taste profiles, co-occurrence, bonuses, diversity and reasons (engine side)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalogue import Catalogue
from recommender.cooccurrence import CoOccurrence
from recommender.diversity import diversify
from recommender.engine import Boosts, Diversity, Popular, Recommender, Seeds, Taste
from recommender.index import Bonus, FeatureIndex
from recommender.profile import TasteProfile
from recommender.reasons import closest_features, likes_reason, nearest_liked, sound_reason
from recommender.scaling import FeatureScaler
from recommender.track import Track
from tests import fixtures as fx


def synthetic_catalogue(n: int, seed: int, playlists: int = 8) -> Catalogue:
    """A clean catalogue whose playlists are the fixture's genre playlists."""
    tracks = fx.synthetic_tracks(n, seed=seed, genres=playlists)
    memberships: dict[str, list[str]] = {}
    for t in tracks:
        for playlist in t.playlists:
            memberships.setdefault(playlist, []).append(t.id)
    return Catalogue.from_tracks(
        (
            Track(t.id, t.name, t.artists, release_date=t.release_date,
                  popularity=t.popularity, features=t.features)
            for t in tracks
        ),
        memberships=memberships,
    )  # fmt: skip


def unit_rows(n: int = 200, d: int = 12, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# -- profiles ----------------------------------------------------------------------------


def test_profile_points_towards_likes_and_away_from_dislikes() -> None:
    unit = unit_rows()
    profile = TasteProfile.from_ratings(unit, [1, 2, 3], [4])
    assert profile is not None
    liked_mean = unit[[1, 2, 3]].mean(axis=0)
    assert profile.vector @ liked_mean > 0
    assert profile.vector @ unit[4] < profile.vector @ liked_mean
    assert np.isclose(np.linalg.norm(profile.vector), 1.0)


def test_profile_weight_grows_with_evidence_and_never_reaches_one() -> None:
    unit = unit_rows()
    weights = [TasteProfile.from_ratings(unit, list(range(n))).weight for n in (1, 5, 50)]
    assert weights[0] < weights[1] < weights[2] < 1.0
    assert weights[1] == pytest.approx(0.5)


def test_profile_of_featureless_ratings_is_none() -> None:
    unit = unit_rows()
    unit[7] = 0.0
    assert TasteProfile.from_ratings(unit, [7], []) is None


def test_blend_moves_the_query_between_song_and_taste() -> None:
    unit = unit_rows()
    profile = TasteProfile.from_ratings(unit, [10, 11, 12, 13, 14])
    assert profile is not None
    song = unit[0]
    blended = profile.blend(song)
    # Between the two: closer to the profile than the song is, and vice versa.
    assert blended @ profile.vector > song @ profile.vector
    assert blended @ song > profile.vector @ song


# -- co-occurrence -------------------------------------------------------------------------


def test_cooccurrence_scores_tracks_sharing_groups_and_honours_holdout() -> None:
    groups = {"a": [0, 1, 2], "b": [0, 3], "c": [4, 5]}
    co = CoOccurrence(6, groups)
    scores = co.scores([0])
    assert set(scores.rows.tolist()) == {0, 1, 2, 3}
    assert scores.values.max() == pytest.approx(1.0)
    by_row = dict(zip(scores.rows.tolist(), scores.values.tolist(), strict=True))
    # The smaller group says more about its members.
    assert by_row[3] > by_row[1]
    held_out = co.scores([0], exclude_groups=["b"])
    assert 3 not in held_out.rows.tolist()
    assert co.scores([4], exclude_groups=["c"]).empty


def test_groups_of_one_link_nothing() -> None:
    co = CoOccurrence(3, {"solo": [1], "pair": [0, 2]})
    assert len(co) == 1
    assert co.groups_of(1) == []
    assert co.groups_of(0) == ["pair"]


# -- bonuses -------------------------------------------------------------------------------


def test_bonus_lifts_rows_exactly_and_refuses_negative_values() -> None:
    rng = np.random.default_rng(3)
    index = FeatureIndex(rng.standard_normal((500, 12)), rng.random(500))
    query = index.unit_vectors[0].copy()
    plain = index.search(query, 5, 0.7, exclude=np.array([0]))
    boosted_row = int(np.argsort(index.unit_vectors @ query)[0])  # the least similar row
    bonus = Bonus.from_pairs(np.array([boosted_row]), np.array([5.0]))
    boosted = index.search(query, 5, 0.7, exclude=np.array([0]), bonus=bonus)
    assert boosted.rows[0] == boosted_row
    assert boosted.bonuses is not None and boosted.bonuses[0] == pytest.approx(5.0)
    assert list(boosted.rows[1:]) == list(plain.rows[:4])
    with pytest.raises(ValueError):
        Bonus.from_pairs(np.array([1]), np.array([-0.1]))


def test_playlists_together_is_its_own_weighted_part_and_respects_holdout() -> None:
    catalogue = synthetic_catalogue(300, seed=5, playlists=12)
    recommender = Recommender(catalogue, playlist_weight=0.5)
    playlist_id, rows = next((p, r) for p, r in catalogue.memberships.items() if len(r) > 5)
    seed = int(rows[0])
    own = set(rows.tolist()) - {seed}
    with_playlists = recommender.recommend(Seeds([seed]), k=10, alpha=0.7)
    assert any(r.row in own and r.breakdown.playlists > 0 for r in with_playlists)
    assert all(r.breakdown.playlists <= 0.5 + 1e-6 for r in with_playlists)
    for r in with_playlists:
        # alpha keeps its meaning: the playlists part is separate from sound and popularity.
        assert r.breakdown.sound == pytest.approx(0.7 * r.similarity)
        assert r.breakdown.recent_popular == pytest.approx(0.3 * r.recency_popularity)
        assert r.score == pytest.approx(r.breakdown.total)
    others = [p for p in catalogue.playlists_of(seed) if p != playlist_id]
    held_out = recommender.recommend(Seeds([seed], ignore_playlists=[playlist_id, *others]), 10)
    assert all(r.breakdown.playlists == 0 for r in held_out)
    # A call may turn it off (or change it) without touching the recommender.
    off = recommender.recommend(Seeds([seed]), k=10, alpha=0.7, boosts=Boosts(playlist_weight=0))
    assert all(r.breakdown.playlists == 0 for r in off)
    doubled = recommender.recommend(Seeds([seed]), 10, alpha=0.7, boosts=Boosts(playlist_weight=1))
    assert max(r.breakdown.playlists for r in doubled) > 0.5
    with pytest.raises(ValueError):
        Boosts(playlist_weight=-1)


def test_liked_together_here_needs_two_members_and_names_how_many_liked_it() -> None:
    catalogue = synthetic_catalogue(200, seed=8, playlists=4)
    recommender = Recommender(catalogue)
    seed, together, alone = 3, 150, 170
    one_member = {"ann": [seed, together]}
    cold = recommender.recommend(Seeds([seed]), 10, boosts=Boosts(likes=one_member))
    assert cold.co_likers == 0 and all(r.breakdown.liked_here == 0 for r in cold)

    likes = {"ann": [seed, together], "bob": [seed, together, alone], "cy": [alone]}
    answer = recommender.recommend(
        Seeds([seed]), len(catalogue), alpha=0.8, boosts=Boosts(likes=likes), explain=True
    )
    assert answer.co_likers == 2
    by_row = {r.row: r for r in answer}
    assert by_row[together].breakdown.liked_here == pytest.approx(0.3)  # the weight
    assert by_row[together].likes == 2 and "liked by 2 people here" in by_row[together].reasons
    assert 0 < by_row[alone].breakdown.liked_here < 0.3
    assert all(r.score == pytest.approx(r.breakdown.total) for r in answer)
    heavier = recommender.recommend(Seeds([seed]), 3, boosts=Boosts(likes=likes, co_like_weight=1))
    assert {r.row: r for r in heavier}[together].breakdown.liked_here == pytest.approx(1.0)


def test_favourites_put_what_members_liked_first_then_popular_tracks() -> None:
    catalogue = synthetic_catalogue(200, seed=9, playlists=4)
    recommender = Recommender(catalogue)
    likes = {"ann": [17, 42], "bob": [42], "cy": [99]}
    answer = recommender.recommend(Popular(), 6, boosts=Boosts(likes=likes), exclude=[99])
    assert answer.rows[:2] == [42, 17]  # two likes, then one; 99 was excluded
    assert [r.likes for r in answer[:2]] == [2, 1]
    assert answer[0].breakdown.liked_here == 2.0
    plain = recommender.recommend(Popular(), 10)
    assert answer.rows[2:6] == [r for r in plain.rows if r not in (17, 42, 99)][:4]
    assert all(r.score == pytest.approx(r.breakdown.total) for r in answer)


def test_taste_and_boosts_add_up_in_one_answer() -> None:
    catalogue = synthetic_catalogue(300, seed=5, playlists=12)
    recommender = Recommender(catalogue, playlist_weight=1.0)
    likes = {"a": [0, 5, 9], "b": [0, 5], "c": [0, 9, 11]}
    answer = recommender.recommend(
        Seeds([0]), 300, alpha=0.8, taste=Taste([20, 21, 22]), boosts=Boosts(likes=likes)
    )
    parts = {name for r in answer for name, v in r.breakdown.as_dict().items() if v}
    assert {"sound", "taste", "recent_popular", "playlists", "liked_here"} <= parts
    for r in answer:
        assert r.score == pytest.approx(sum(r.breakdown.as_dict().values()), abs=1e-12)


# -- diversity -----------------------------------------------------------------------------


def test_diversity_zero_keeps_the_ranking_and_one_spreads_it() -> None:
    unit = unit_rows(50)
    unit[1] = unit[0]  # a twin of the best candidate
    rows = np.arange(10)
    scores = np.linspace(1.0, 0.5, 10)
    assert diversify(rows, scores, unit, 5).tolist() == [0, 1, 2, 3, 4]
    spread = diversify(rows, scores, unit, 5, diversity=0.9)
    assert spread[0] == 0 and 1 not in spread.tolist()


def test_artist_cap_limits_tracks_per_artist_unless_nothing_else_is_left() -> None:
    unit = unit_rows(20)
    artists = [("Same",)] * 8 + [("Other",), ("Third",)] + [("x",)] * 10
    rows = np.arange(10)
    scores = np.linspace(1.0, 0.1, 10)
    picked = diversify(rows, scores, unit, 4, max_per_artist=2, artists=artists)
    names = [artists[r][0] for r in picked]
    assert names.count("Same") == 2 and len(picked) == 4
    everything = diversify(rows, scores, unit, 10, max_per_artist=1, artists=artists)
    assert len(everything) == 10  # the cap yields when only capped artists remain


def test_recommend_with_cap_never_exceeds_it() -> None:
    catalogue = synthetic_catalogue(400, seed=2)
    recommender = Recommender(catalogue)
    results = recommender.recommend(
        Seeds([0]), k=10, alpha=0.7, diversity=Diversity(0.3, max_per_artist=1)
    )
    artists = [r.track.artists[0] for r in results]
    assert len(results) == 10 and len(set(artists)) == len(artists)


# -- reasons -------------------------------------------------------------------------------


def test_reasons_name_features_the_two_tracks_share() -> None:
    scaler = FeatureScaler.reference()
    seed = np.array([0.9, 0.95, 5, -4.0, 1, 0.05, 0.01, 0.0, 0.1, 0.9, 128.0])
    twin = seed.copy()
    twin[0] = 0.2  # danceability differs a lot
    features = closest_features(scaler, seed, twin)
    assert "danceability" not in features and len(features) == 2
    assert sound_reason(features, "Halo") == f"close in {features[0]} and {features[1]} to Halo"
    assert sound_reason([], "Halo") is None
    assert closest_features(scaler, seed, np.full(11, np.nan)) == []


def test_nearest_liked_and_likes_reason() -> None:
    unit = unit_rows()
    assert nearest_liked(unit, 5, [5, 9]) == 5
    unit[3] = 0
    assert nearest_liked(unit, 5, [3]) is None
    assert likes_reason(0) is None
    assert likes_reason(1) == "liked by 1 person here"
    assert likes_reason(3) == "liked by 3 people here"
