"""The shared track cache: every field round-trips, at scale and for odd values."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import SqliteStore
from bot.store.sql_tracks import MAX_VARIABLES
from recommender.features import FEATURE_NAMES
from recommender.track import Track
from tests.test_store_support import T0, assert_same_track, source, track


@pytest.fixture
async def store(tmp_path: Path):
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as store:
        yield store


async def test_every_field_round_trips(store: SqliteStore) -> None:
    full, bare = track(1), Track(id="bare", name="Only a name")
    await store.put_tracks([full, bare])
    got = await store.get_tracks([full.id, bare.id, "missing"])
    assert set(got) == {full.id, bare.id}
    assert_same_track(got[full.id], full)
    assert_same_track(got[bare.id], bare)
    assert got[full.id].features is not None
    assert set(got[full.id].features) == set(FEATURE_NAMES)
    assert got[bare.id].features is None


async def test_a_later_value_for_the_same_id_wins(store: SqliteStore) -> None:
    first = track(1)
    second = Track(id=first.id, name="Renamed", popularity=None, features=None)
    await store.put_tracks([first])
    await store.put_tracks([second])
    assert_same_track((await store.get_tracks([first.id]))[first.id], second)
    # Within one batch too.
    await store.put_tracks([first, second, first])
    assert_same_track((await store.get_tracks([first.id]))[first.id], first)
    assert await store.count_tracks() == 1


async def test_updating_a_track_in_a_playlist_keeps_the_membership(store: SqliteStore) -> None:
    # An upsert, not INSERT OR REPLACE, which would delete the row under the playlist.
    await store.put_tracks([track(1)])
    await store.save_source(source(1), [track(1).id])
    await store.put_tracks([Track(id=track(1).id, name="New name")])
    assert await store.get_source_track_ids(1, source(1).key) == [track(1).id]


async def test_100k_tracks_round_trip(store: SqliteStore) -> None:
    tracks = [track(i, with_features=i % 10 != 0) for i in range(100_000)]
    await store.put_tracks(tracks)
    assert await store.count_tracks() == 100_000

    ids = [t.id for t in tracks]
    got = await store.get_tracks([*ids, "absent"])
    assert len(got) == 100_000
    for expected in tracks[::997]:
        assert_same_track(got[expected.id], expected)
    assert all(got[t.id].features == t.features for t in tracks)
    assert len(ids) > 100 * MAX_VARIABLES  # really spans many chunks

    # The same 100k as one guild's playlist rebuild into a catalogue offline.
    await store.save_source(source(1), ids)
    catalogue = await store.load_guild_catalogue(1)
    assert [t.id for t in catalogue.tracks] == ids
    assert catalogue.tracks[12_345].features == tracks[12_345].features
    assert catalogue.memberships[source(1).key] == ids


async def test_prune_keeps_tracks_that_anything_refers_to(store: SqliteStore) -> None:
    old, new = T0, T0 + dt.timedelta(days=30)
    await store.put_tracks([track(i) for i in range(4)], at=old)
    await store.put_tracks([track(4)], at=new)
    await store.save_source(source(1), [track(0).id])
    await store.set_rating(1, 7, track(1).id, 1)
    from bot.store import RecommendationItem, RecommendationMessage

    await store.save_recommendation(
        RecommendationMessage(1, 2, 3, 7, (), T0, (RecommendationItem(1, track(2).id, "👍"),))
    )
    assert await store.prune_tracks(fetched_before=new) == 1  # only track 3
    assert set(await store.get_tracks([track(i).id for i in range(5)])) == {
        track(i).id for i in (0, 1, 2, 4)
    }


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_feature_values = st.fixed_dictionaries(
    {},
    optional={name: st.floats(-1e6, 1e6, allow_nan=False) for name in FEATURE_NAMES},
)
_tracks = st.builds(
    Track,
    id=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=22),
    name=_text,
    artists=st.lists(_text, max_size=3).map(tuple),
    album=_text,
    release_date=st.none() | st.sampled_from(["0000", "1999", "1999-12", "2024-02-29"]),
    release_date_precision=st.none() | st.sampled_from(["year", "month", "day"]),
    popularity=st.none() | st.integers(0, 100),
    duration_ms=st.none() | st.integers(0, 2**40),
    features=st.none() | _feature_values.map(lambda d: d or None),
    feature_source=st.none() | _text,
    popularity_source=st.none() | _text,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tracks=st.lists(_tracks, max_size=8))
def test_any_track_round_trips(tmp_path: Path, tracks: list[Track]) -> None:
    async def run() -> None:
        async with SqliteStore.open(tmp_path / "hypothesis.sqlite3") as store:
            await store.put_tracks(tracks)
            got = await store.get_tracks([t.id for t in tracks])
        latest = {t.id: t for t in tracks}  # a later duplicate wins
        assert set(got) == set(latest)
        for track_id, expected in latest.items():
            assert_same_track(got[track_id], expected)

    asyncio.run(run())
