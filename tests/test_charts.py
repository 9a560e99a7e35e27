"""The chart functions: valid PNGs of sane size, feature scaling, nothing to draw."""

from __future__ import annotations

import random

import pytest

from bot.render import charts
from tests.pngs import assert_sane_png


def _features(rng: random.Random) -> dict[str, float]:
    values = {name: rng.random() for name in charts.RADAR_FEATURES}
    values.update(tempo=rng.uniform(60, 200), loudness=rng.uniform(-25, -2))
    return values


def test_normalise_maps_tempo_and_loudness_by_fixed_ranges_and_clips() -> None:
    base = dict.fromkeys(charts.RADAR_FEATURES, 0.5)
    scaled = charts.normalise({**base, "tempo": 130.0, "loudness": -15.0})
    values = dict(zip(charts.RADAR_FEATURES, scaled, strict=True))
    assert values["tempo"] == pytest.approx(0.5)
    assert values["loudness"] == pytest.approx(0.5)
    clipped = charts.normalise({**base, "tempo": 400.0, "loudness": -59.0})
    assert all(0.0 <= v <= 1.0 for v in clipped)


def test_recommendation_profile_and_stats_charts_are_small_pngs() -> None:
    rng = random.Random(3)
    suggestions = [(f"Song {i} with quite a long name — Artist", _features(rng)) for i in range(10)]
    assert_sane_png(charts.recommendation_chart("Seed — Band", _features(rng), suggestions) or b"")
    assert_sane_png(
        charts.profile_chart([_features(rng)] * 3, [_features(rng)], [_features(rng)] * 20) or b""
    )
    stats = charts.CatalogueStats(
        tracks_by_source=[("Club Classics", 40), ("export.csv", 12)],
        feature_sources={"spotify": 40, "CSV files": 5},
        featureless=7,
        decades={1990: 3, 2010: 30},
        top_liked=[("Golden Hour", 3)],
        total_tracks=52,
    )
    assert_sane_png(charts.stats_chart(stats))
    empty = charts.CatalogueStats([], {}, 0, {}, [], 0)
    assert_sane_png(charts.stats_chart(empty))


def test_nothing_to_draw_gives_none() -> None:
    assert charts.recommendation_chart("Seed", None, [("a", None), ("b", None)]) is None
    assert charts.profile_chart([], []) is None


def test_dollar_signs_in_names_do_not_break_drawing() -> None:
    # matplotlib reads "$...$" as mathtext; "Joey Bada$$" used to raise.
    rng = random.Random(5)
    chart = charts.recommendation_chart(
        "Paper Trail$ — Joey Bada$$", _features(rng), [("$$$ — A$AP", _features(rng))]
    )
    assert_sane_png(chart or b"")
    stats = charts.CatalogueStats([("Bada$$ mix", 3)], {}, 0, {}, [("Money $ign", 1)], 3)
    assert_sane_png(charts.stats_chart(stats))
