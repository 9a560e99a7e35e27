"""Release-date-weighted popularity: half-life decay, date precisions, missing values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.popularity import PopularityWeighting

AS_OF = dt.date(2020, 1, 1)
WEIGHTING = PopularityWeighting(half_life_years=10, floor=0.3, as_of=AS_OF)


def years_before(years: float) -> str:
    return (AS_OF - dt.timedelta(days=round(years * 365.2425))).isoformat()


def test_recency_halves_its_decaying_part_every_half_life() -> None:
    recency = WEIGHTING.recency(
        [AS_OF.isoformat(), years_before(10), years_before(20)], ["day"] * 3
    )
    decaying = (recency - 0.3) / 0.7
    np.testing.assert_allclose(decaying, [1.0, 0.5, 0.25], atol=1e-3)


def test_a_classic_keeps_more_than_the_tutorials_one_over_days() -> None:
    old = WEIGHTING.weighted(np.array([80.0]), [years_before(35)], ["day"])[0]
    tutorial = 0.8 / (35 * 365 + 1)
    assert old > 0.3 * 0.8 * 0.99
    assert old > 1000 * tutorial


def test_year_and_month_dates_use_the_middle_of_their_period() -> None:
    recency = WEIGHTING.recency(["2010", "2010-07-01", "2010-03", "2010-03-15"], [None] * 4)
    assert recency[0] == pytest.approx(recency[1])
    assert recency[2] == pytest.approx(recency[3])
    assert recency[2] < recency[0]


@pytest.mark.parametrize("date", ["0000", None, "", "garbage", "0000-00-00"])
def test_unknown_dates_get_the_floor(date: str | None) -> None:
    assert WEIGHTING.recency([date], [None])[0] == pytest.approx(0.3)


def test_future_dates_count_as_new_not_more_than_new() -> None:
    recency = WEIGHTING.recency(["2021-06-01", AS_OF.isoformat()], ["day", "day"])
    np.testing.assert_allclose(recency, [1.0, 1.0])


def test_missing_popularity_is_imputed_low_never_first() -> None:
    popularity = np.array([10.0, 40.0, 60.0, 90.0, np.nan])
    dates = [AS_OF.isoformat()] * 5
    weighted = WEIGHTING.weighted(popularity, dates, ["day"] * 5)

    assert weighted[4] == pytest.approx(np.quantile([0.1, 0.4, 0.6, 0.9], 0.25))
    assert weighted[4] < np.median(weighted[:4])
    assert np.argmax(weighted) == 3


def test_all_popularity_missing_gives_zero_not_nan() -> None:
    weighted = WEIGHTING.weighted(np.full(3, np.nan), [None, "2019", "0000"], [None] * 3)
    np.testing.assert_array_equal(weighted, 0)
    assert weighted.dtype == np.float32


def test_missing_date_and_popularity_never_beat_a_known_popular_recent_track() -> None:
    weighted = WEIGHTING.weighted(np.array([np.nan, 70.0]), [None, "2019-10-01"], [None, "day"])
    assert weighted[0] < weighted[1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"half_life_years": 0},
        {"half_life_years": -3},
        {"floor": 1.5},
        {"floor": -0.1},
        {"missing_popularity_quantile": 2},
    ],
)
def test_bad_settings_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PopularityWeighting(**kwargs)


dates = st.one_of(
    st.none(),
    st.sampled_from(["0000", "", "1950", "1999-12", "2019-02-29", "2020-02-29"]),
    st.dates(dt.date(1900, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.floats(-50, 150, allow_nan=False)), dates),
        min_size=1,
        max_size=20,
    ),
    half_life=st.floats(0.1, 100),
    floor=st.floats(0, 1),
)
def test_weighted_popularity_is_always_on_zero_one(
    rows: list[tuple[float | None, str | None]], half_life: float, floor: float
) -> None:
    weighting = PopularityWeighting(half_life_years=half_life, floor=floor, as_of=AS_OF)
    popularity = np.array([np.nan if p is None else p for p, _ in rows])
    weighted = weighting.weighted(popularity, [d for _, d in rows], [None] * len(rows))
    assert weighted.shape == (len(rows),)
    assert np.all((weighted >= 0) & (weighted <= 1))
    recency = weighting.recency([d for _, d in rows], [None] * len(rows))
    assert np.all((recency >= floor - 1e-12) & (recency <= 1 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(
    older=st.dates(dt.date(1900, 1, 1), AS_OF),
    newer=st.dates(dt.date(1900, 1, 1), AS_OF),
)
def test_newer_never_weighs_less(older: dt.date, newer: dt.date) -> None:
    if older > newer:
        older, newer = newer, older
    recency = WEIGHTING.recency([older.isoformat(), newer.isoformat()], ["day", "day"])
    assert recency[0] <= recency[1]
