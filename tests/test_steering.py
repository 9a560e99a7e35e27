"""Steering a recommendation: mood targets, tempo and decade filters, exploration.

On a generated catalogue: each control moves the answers the way it says, every
effect is in the score's ``steer`` part (the parts still add up), the ranking stays
exact (the first k of an answer are the first k of the answer ranking everything),
and a filter that matches nothing is dropped and named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from recommender.answer import Answer
from recommender.catalogue import Catalogue, Playlist
from recommender.engine import Boosts, Diversity, OutsideTrack, Popular, Recommender, Seeds, Taste
from recommender.features import FEATURE_NAMES
from recommender.popularity import PopularityWeighting
from recommender.query import TARGET_FEATURES, Steering
from recommender.steering import TARGET_BAND, parse_decade, parse_tempo
from recommender.track import Track
from tests import fixtures as fx

TEMPO = FEATURE_NAMES.index("tempo")


def as_catalogue(tracks: Sequence[fx.SynthTrack]) -> Catalogue:
    memberships: dict[str, list[str]] = {}
    for t in tracks:
        for playlist in t.playlists:
            memberships.setdefault(playlist, []).append(t.id)
    return Catalogue.from_tracks(
        [
            Track(
                id=t.id,
                name=t.name,
                artists=t.artists,
                release_date=t.release_date,
                release_date_precision="day" if t.release_date else None,
                popularity=t.popularity,
                features=t.features,
            )
            for t in tracks
        ],
        playlists={pid: Playlist(pid) for pid in memberships},
        memberships=memberships,
    )


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return as_catalogue(fx.synthetic_tracks(1500, seed=11, genres=10))


@pytest.fixture(scope="module")
def recommender(catalogue: Catalogue) -> Recommender:
    return Recommender(catalogue, weighting=PopularityWeighting(as_of=fx.AS_OF))


@pytest.fixture(scope="module")
def seeds(catalogue: Catalogue) -> list[int]:
    """50 seed rows, the same every run."""
    return sorted(int(r) for r in np.random.default_rng(5).choice(len(catalogue), 50, False))


def mean_feature(answers: Sequence[Answer], catalogue: Catalogue, name: str) -> float:
    column = catalogue.features[:, FEATURE_NAMES.index(name)]
    return float(np.mean([column[a.rows].mean() for a in answers]))


def assert_parts_add_up(answer: Answer) -> None:
    for rec in answer:
        assert math.isclose(sum(rec.breakdown), rec.score, abs_tol=1e-9)
        assert rec.score == pytest.approx(rec.breakdown.total)


# -- the value itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": {"loudness": 0.5}}, "unknown target 'loudness'"),
        ({"targets": {"energy": 1.5}}, "energy must be between 0 and 1"),
        ({"targets": {"energy": -0.1}}, "energy must be between 0 and 1"),
        ({"targets": {"energy": float("nan")}}, "energy must be a finite number"),
        ({"targets": {"energy": True}}, "energy must be a number"),
        ({"targets": {"energy": "0.5"}}, "energy must be a number"),
        ({"targets": [("energy", 0.5)]}, "targets must map"),
        ({"tempo": (120, 90)}, "low <= high"),
        ({"tempo": (0, 90)}, "tempo must be a range within 1-300"),
        ({"tempo": (90, float("inf"))}, "tempo must be a finite number"),
        ({"tempo": "90-120"}, "tempo must be a (low, high) range"),
        ({"tempo": (90,)}, "tempo must be a (low, high) range"),
        ({"decade": 1995}, "first year of a decade"),
        ({"decade": 1800}, "first year of a decade"),
        ({"decade": "1990"}, "decade must be a year like 1990"),
        ({"exploration": "wild"}, "exploration must be one of familiar, balanced, adventurous"),
        ({"known_artists": [3]}, "known_artists must be names"),
    ],
)
def test_bad_steering_is_refused_with_a_message_naming_the_control(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Steering(**kwargs)  # type: ignore[arg-type]


def test_a_steering_is_a_value_that_describes_itself() -> None:
    steering = Steering(
        {"valence": 0.2, "energy": 0.9},
        tempo=(90, 120),
        decade=1990,
        exploration="adventurous",
        known_artists=["Beyoncé", "  "],
    )
    assert list(steering.targets) == ["energy", "valence"]  # a fixed order
    with pytest.raises(TypeError):
        steering.targets["energy"] = 0.1  # type: ignore[index]
    assert steering.describe() == "energy 0.9, valence 0.2, tempo 90-120 BPM, 1990s, adventurous"
    assert steering.years == (1990, 1999)
    assert steering.known_artists == frozenset({"beyonce"})
    same = Steering(
        {"energy": 0.9, "valence": 0.2}, (90.0, 120.0), 1990, "adventurous", {"BEYONCE"}
    )
    assert steering == same and hash(steering) == hash(same)
    assert steering.as_dict() == {
        "targets": {"energy": 0.9, "valence": 0.2},
        "tempo": [90.0, 120.0],
        "decade": 1990,
        "exploration": "adventurous",
    }
    assert not Steering().active and not Steering(known_artists=["x"]).active


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90-120", (90.0, 120.0)), ("90 to 120", (90.0, 120.0)), (" 85.5..100 bpm", (85.5, 100.0))],
)
def test_tempo_as_people_type_it(text: str, expected: tuple[float, float]) -> None:
    assert parse_tempo(text) == expected


@pytest.mark.parametrize("text", ["fast", "120-90", "-5-10", "90-", ""])
def test_tempo_that_is_not_a_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="tempo"):
        parse_tempo(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990s", 1990),
        ("1990", 1990),
        ("90s", 1990),
        ("'90s", 1990),
        ("00s", 2000),
        ("2020s", 2020),
    ],
)
def test_decade_as_people_type_it(text: str, expected: int) -> None:
    assert parse_decade(text) == expected


@pytest.mark.parametrize("text", ["1995", "nineties", "1800s", "5s", ""])
def test_a_decade_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="decade"):
        parse_decade(text)


# -- nothing asked: nothing changes ------------------------------------------------------------


def test_no_steering_and_a_balanced_one_answer_exactly_as_before(
    recommender: Recommender, seeds: list[int]
) -> None:
    queries = [Seeds([row]) for row in seeds[:10]]
    plain = recommender.recommend(queries, k=10, boosts=Boosts(playlist_weight=2.0))
    balanced = recommender.recommend(
        queries, k=10, boosts=Boosts(playlist_weight=2.0), steer=Steering()
    )
    for before, after in zip(plain, balanced, strict=True):
        assert after.rows == before.rows
        assert [r.score for r in after] == [r.score for r in before]
        assert {r.breakdown.steer for r in after} == {0.0}
        assert before.steering is None and after.steering == Steering()
        assert after.relaxed == ()


# -- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TARGET_FEATURES)
def test_a_target_moves_the_answers_feature_its_way_over_50_seeds(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int], name: str
) -> None:
    queries = [Seeds([row]) for row in seeds]
    means = {
        label: mean_feature(recommender.recommend(queries, k=10, steer=steer), catalogue, name)
        for label, steer in (
            ("low", Steering({name: 0.1})),
            ("none", None),
            ("high", Steering({name: 0.9})),
        )
    }
    assert means["high"] > means["none"] > means["low"], means
    # Not a nudge: the answers move by a good part of the way there.
    assert means["high"] - means["low"] > 0.2, means


def test_targets_shape_the_query_and_the_parts_still_add_up(
    recommender: Recommender, seeds: list[int]
) -> None:
    steer = Steering({"energy": 0.95, "valence": 0.05})
    for query in (Seeds(seeds[:3]), Taste(seeds[3:8], seeds[8:10])):
        plain = recommender.recommend(query, k=10)
        steered = recommender.recommend(query, k=10, steer=steer, explain=True)
        assert steered.rows != plain.rows
        assert any(r.breakdown.steer != 0 for r in steered)
        for answer in (plain, steered):
            assert_parts_add_up(answer)
        assert any(
            "closer to the energy 0.95, valence 0.05 you asked for" in r.reasons for r in steered
        )


def test_a_target_near_a_seed_s_own_value_changes_little(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int]
) -> None:
    row = seeds[0]
    energy = float(catalogue.features[row, FEATURE_NAMES.index("energy")])
    plain = recommender.recommend(Seeds([row]), k=10)
    near = recommender.recommend(Seeds([row]), k=10, steer=Steering({"energy": energy}))
    far = recommender.recommend(
        Seeds([row]), k=10, steer=Steering({"energy": 0.0 if energy > 0.5 else 1.0})
    )
    assert len(set(near.rows) & set(plain.rows)) > len(set(far.rows) & set(plain.rows))


def test_an_outside_track_is_steered_like_a_seed(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    features = dict(zip(FEATURE_NAMES, catalogue.features[3].tolist(), strict=True))
    outside = OutsideTrack(Track("X" * 22, "Elsewhere", ("Someone",), features=features))
    low = recommender.recommend(outside, k=10, steer=Steering({"danceability": 0.05}))
    high = recommender.recommend(outside, k=10, steer=Steering({"danceability": 0.95}))
    assert mean_feature([high], catalogue, "danceability") > mean_feature(
        [low], catalogue, "danceability"
    )
    assert_parts_add_up(high)


def test_without_a_sound_query_targets_keep_tracks_near_them(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    answer = recommender.recommend(Popular(), k=10, steer=Steering({"energy": 0.8}), explain=True)
    energy = catalogue.features[answer.rows, FEATURE_NAMES.index("energy")]
    assert len(answer) == 10 and np.all(np.abs(energy - 0.8) <= TARGET_BAND + 1e-9)
    assert all("fits the energy 0.8 you asked for" in r.reasons for r in answer)
    # Ranked by recent & popular within the band.
    assert [r.recency_popularity for r in answer] == sorted(
        (r.recency_popularity for r in answer), reverse=True
    )
    # At alpha 0 a seed has no sound query either.
    at_zero = recommender.recommend(Seeds([5]), k=10, alpha=0.0, steer=Steering({"energy": 0.8}))
    energy = catalogue.features[at_zero.rows, FEATURE_NAMES.index("energy")]
    assert np.all(np.abs(energy - 0.8) <= TARGET_BAND + 1e-9)


# -- filters -----------------------------------------------------------------------------------


def test_tempo_and_decade_filter_every_answer(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int]
) -> None:
    steer = Steering(tempo=(100, 130), decade=1990)
    answers = recommender.recommend([Seeds([r]) for r in seeds[:20]], k=10, steer=steer)
    for answer in answers:
        assert len(answer) == 10 and answer.relaxed == ()
        tempo = catalogue.features[answer.rows, TEMPO]
        assert np.all((tempo >= 100) & (tempo <= 130))
        assert all(1990 <= (r.track.year or 0) <= 1999 for r in answer)
        assert_parts_add_up(answer)


def test_a_filter_that_matches_nothing_is_dropped_and_named(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    # No synthetic track is older than 1970 (dates span the 50 years before 2020).
    answer = recommender.recommend(Seeds([7]), k=10, steer=Steering(decade=1920))
    assert answer.relaxed == ("decade",) and len(answer) == 10
    both = recommender.recommend(Seeds([7]), k=10, steer=Steering(tempo=(100, 110), decade=1920))
    assert both.relaxed == ("decade",)  # the tempo range still holds
    tempo = catalogue.features[both.rows, TEMPO]
    assert np.all((tempo >= 100) & (tempo <= 110))
    # Without a sound query the targets are a band, kept before the tempo range.
    popular = recommender.recommend(
        Popular(), k=5, steer=Steering({"acousticness": 0.3}, tempo=(299, 300))
    )
    assert popular.relaxed == ("tempo",) and len(popular) == 5
    acousticness = catalogue.features[popular.rows, FEATURE_NAMES.index("acousticness")]
    assert np.all(np.abs(acousticness - 0.3) <= TARGET_BAND + 1e-9)


def test_filters_respect_the_callers_mask_and_exclusions(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    allowed = np.zeros(len(catalogue), dtype=bool)
    allowed[:300] = True
    answer = recommender.recommend(
        Seeds([7]), k=10, allowed=allowed, exclude=[8, 9], steer=Steering(tempo=(90, 140))
    )
    assert all(row < 300 and row not in (8, 9) for row in answer.rows)
    tempo = catalogue.features[answer.rows, TEMPO]
    assert np.all((tempo >= 90) & (tempo <= 140))
    # Only excluded rows in the range: nothing eligible, so the range is dropped.
    inside = np.flatnonzero(
        allowed & (catalogue.features[:, TEMPO] >= 90) & (catalogue.features[:, TEMPO] <= 140)
    )
    only = recommender.recommend(
        Seeds([7]), k=5, allowed=allowed, exclude=inside.tolist(), steer=Steering(tempo=(90, 140))
    )
    assert only.relaxed == ("tempo",) and len(only) == 5


# -- exploration ----------------------------------------------------------------------------------


def mean_prior(recommender: Recommender, answers: Sequence[Answer]) -> float:
    return float(np.mean([recommender.recency_popularity[a.rows].mean() for a in answers]))


def test_exploration_moves_popularity_familiar_above_balanced_above_adventurous(
    recommender: Recommender, seeds: list[int]
) -> None:
    queries = [Seeds([row]) for row in seeds]
    prior = {
        level: mean_prior(
            recommender, recommender.recommend(queries, k=10, steer=Steering(exploration=level))
        )
        for level in ("familiar", "balanced", "adventurous")
    }
    assert prior["familiar"] > prior["balanced"] > prior["adventurous"], prior


def test_exploration_prefers_or_avoids_the_artists_a_member_rated(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int]
) -> None:
    shares = {}
    for level in ("familiar", "balanced", "adventurous"):
        known_hits = 0
        for i, row in enumerate(seeds[:30]):
            liked = seeds[(i + 1) % 50 : (i + 1) % 50 + 4] or seeds[:4]
            taste = Taste(liked)
            answer = recommender.recommend(
                Seeds([row]), k=10, taste=taste, steer=Steering(exploration=level)
            )
            artists = {a for r in liked for a in catalogue.artists[r]}
            known_hits += sum(bool(artists & set(catalogue.artists[r])) for r in answer.rows)
            assert_parts_add_up(answer)
        shares[level] = known_hits
    assert shares["familiar"] > shares["balanced"] > shares["adventurous"], shares


def test_named_known_artists_count_like_rated_ones(
    recommender: Recommender, catalogue: Catalogue
) -> None:
    plain = recommender.recommend(Seeds([7]), k=10)
    artist = catalogue.artists[plain.rows[0]][0]
    avoiding = recommender.recommend(
        Seeds([7]),
        k=10,
        steer=Steering(exploration="adventurous", known_artists=[artist.upper()]),
        explain=True,
    )
    top = avoiding[0]
    penalised = [r for r in avoiding if artist in r.track.artists]
    assert artist not in top.track.artists or penalised
    assert any("an artist you have not rated" in r.reasons for r in avoiding)


@pytest.mark.parametrize("level", ["familiar", "adventurous"])
@pytest.mark.parametrize("alpha", [1.0, 0.8, 0.3])
def test_an_explored_answer_is_exact_and_its_parts_add_up(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int], level: str, alpha: float
) -> None:
    """The first k equal the first k of the answer that ranks every song (whose pool is
    the whole catalogue, so nothing can be missed), and the parts are the documented
    ones."""
    everything = len(catalogue)
    steer = Steering({"energy": 0.7}, exploration=level)  # type: ignore[arg-type]
    for row in seeds[:6]:
        taste = Taste(seeds[-5:])
        boosts = Boosts(playlist_weight=0.5)
        short = recommender.recommend(
            Seeds([row]), k=10, alpha=alpha, taste=taste, boosts=boosts, steer=steer
        )
        full = recommender.recommend(
            Seeds([row]), k=everything, alpha=alpha, taste=taste, boosts=boosts, steer=steer
        )
        assert short.rows == full.rows[:10]
        scores = np.array([r.score for r in full])
        assert np.all(scores[:-1] >= scores[1:] - 1e-6)  # best first (float32 scan noise)
        assert_parts_add_up(short)
        known = {a for r in seeds[-5:] for a in catalogue.artists[r]}
        for rec in short:
            prior = rec.recency_popularity
            by_known = bool(known & set(rec.track.artists))
            targets = rec.score - rec.breakdown.steer  # everything but the steer part
            if level == "familiar":
                explore = 0.2 * prior + (0.1 if by_known else 0.0)
            else:
                explore = -(1 - alpha) * prior - 0.2 * prior - (0.1 if by_known else 0.0)
            pulled = rec.breakdown.steer - explore  # what the energy target did
            assert abs(pulled) <= alpha + 1e-9
            assert targets + pulled + explore == pytest.approx(rec.score)


def test_batches_answer_as_one_by_one_with_a_steering(
    recommender: Recommender, seeds: list[int]
) -> None:
    steer = Steering({"valence": 0.8}, tempo=(80, 160), exploration="adventurous")
    queries = [Seeds([row]) for row in seeds[:12]] + [Taste(seeds[12:16]), Popular()]
    together = recommender.recommend(queries, k=8, steer=steer, diversity=Diversity(0.3, 2))
    for query, answer in zip(queries, together, strict=True):
        alone = recommender.recommend(query, k=8, steer=steer, diversity=Diversity(0.3, 2))
        assert answer.rows == alone.rows
        assert [r.score for r in answer] == pytest.approx([r.score for r in alone])


def test_steer_must_be_a_steering(recommender: Recommender) -> None:
    with pytest.raises(TypeError, match="steer must be a Steering"):
        recommender.recommend(Seeds([1]), steer={"energy": 0.5})  # type: ignore[arg-type]


def test_many_filters_from_several_threads_answer_as_one_at_a_time(
    recommender: Recommender, catalogue: Catalogue, seeds: list[int]
) -> None:
    """More tempo ranges than the mask cache holds, asked from worker threads (as the
    bot does): every answer equals the one asked alone."""
    from concurrent.futures import ThreadPoolExecutor

    steerings = [Steering(tempo=(60 + 10 * i, 110 + 10 * i)) for i in range(12)]
    jobs = [(row, steer) for steer in steerings for row in seeds[:4]]
    expected = [recommender.recommend(Seeds([row]), k=5, steer=s).rows for row, s in jobs]
    with ThreadPoolExecutor(4) as pool:
        found = list(
            pool.map(lambda job: recommender.recommend(Seeds([job[0]]), k=5, steer=job[1]), jobs)
        )
    assert [answer.rows for answer in found] == expected
    for (_, steer), answer in zip(jobs, found, strict=True):
        assert steer.tempo is not None
        tempo = catalogue.features[answer.rows, TEMPO]
        inside = (tempo >= steer.tempo[0]) & (tempo <= steer.tempo[1])
        if answer.relaxed:  # nothing in range: said so, and not limited by it
            assert answer.relaxed == ("tempo",)
            assert not np.any(
                (catalogue.features[:, TEMPO] >= steer.tempo[0])
                & (catalogue.features[:, TEMPO] <= steer.tempo[1])
                & ~np.isin(np.arange(len(catalogue)), catalogue.duplicates_of(answer.seeds[0]))
            )
        else:
            assert np.all(inside)
