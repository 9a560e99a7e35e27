"""The shared track cache: every field round-trips, at scale and for odd values."""

from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import Store
from bot.store.sql_tracks import MAX_VARIABLES
from recommender.features import FEATURE_NAMES
from recommender.track import Track
from tests.store_contract.conftest import Backend
from tests.store_contract.views import members
from tests.test_store_support import T0, assert_same_track, source, track


async def test_every_field_round_trips(store: Store) -> None:
    full, bare = track(1), Track(id="bare", name="Only a name")
    await store.put_tracks([full, bare])
    got = await store.get_tracks([full.id, bare.id, "missing"])
    assert set(got) == {full.id, bare.id}
    assert_same_track(got[full.id], full)
    assert_same_track(got[bare.id], bare)
    assert got[full.id].features is not None
    assert set(got[full.id].features) == set(FEATURE_NAMES)
    assert got[bare.id].features is None


async def test_a_later_value_for_the_same_id_wins(store: Store) -> None:
    first = track(1)
    second = Track(id=first.id, name="Renamed", popularity=None, features=None)
    await store.put_tracks([first])
    await store.put_tracks([second])
    assert_same_track((await store.get_tracks([first.id]))[first.id], second)
    # Within one batch too.
    await store.put_tracks([first, second, first])
    assert_same_track((await store.get_tracks([first.id]))[first.id], first)
    assert await store.count_tracks() == 1


async def test_updating_a_track_in_a_playlist_keeps_the_membership(store: Store) -> None:
    # An upsert, not INSERT OR REPLACE, which would delete the row under the playlist.
    await store.put_tracks([track(1)])
    await store.save_source(source(1), [track(1).id])
    await store.put_tracks([Track(id=track(1).id, name="New name")])
    assert await members(store, 1, source(1).key) == [track(1).id]


async def test_100k_tracks_round_trip(store: Store) -> None:
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


async def test_prune_keeps_tracks_that_anything_refers_to(store: Store) -> None:
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


# U+0000 has its own test below: PostgreSQL text cannot hold it.
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=30,
)
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
def test_any_track_round_trips(backend: Backend, tracks: list[Track]) -> None:
    async def run() -> None:
        async with backend.open() as store:
            await store.put_tracks(tracks)
            got = await store.get_tracks([t.id for t in tracks])
        latest = {t.id: t for t in tracks}  # a later duplicate wins
        assert set(got) == set(latest)
        for track_id, expected in latest.items():
            assert_same_track(got[track_id], expected)

    asyncio.run(run())


async def test_nul_characters_in_text_never_fail_a_write(store: Store, backend: Backend) -> None:
    # A hostile upload can carry U+0000. SQLite keeps it; PostgreSQL text cannot hold
    # it, so that backend stores U+FFFD instead of refusing the whole batch.
    odd = Track(
        id="nul0000000000000000000",
        name="a\x00b",
        artists=("x\x00", "y"),
        album="\x00",
        feature_source="file\x00.csv",
    )
    await store.put_tracks([odd, track(1)])
    got = (await store.get_tracks([odd.id]))[odd.id]
    kept = "\x00" if backend.name == "sqlite" else "\ufffd"
    assert (got.name, got.artists, got.album) == (f"a{kept}b", (f"x{kept}", "y"), kept)
    assert got.feature_source == f"file{kept}.csv"
    assert await store.count_tracks() == 2
