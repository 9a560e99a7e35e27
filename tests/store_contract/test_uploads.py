"""The trust boundary in the store: what a guild uploads is that guild's alone.

Guild A takes tracks from Spotify; guild B uploads a CSV naming the same (public)
ids with other names, artists, popularity and features, and claiming Spotify as
their source; guild C only knows the ids. Each sees its own values, or upstream
ones, never another guild's uploads, before and after a restart.

(The schema's own guard, that an uploaded row cannot name another guild's source,
is tested per backend in tests/test_store_sqlite.py and tests/test_store_postgres.py.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.store import LIKE, Store
from recommender.ingest import Ingestion
from recommender.spotify import SpotifySettings, TrackNotFound
from recommender.track import Track
from tests.fakes import FakeReccoBeats, FakeSpotify
from tests.store_contract.conftest import Backend
from tests.store_contract.views import catalogue_tracks, members
from tests.test_store_support import T0, assert_same_track, features, source, track

GUILD_A, GUILD_B, GUILD_C = 1001, 2002, 3003
MEMBER = 7
UPLOAD_KEY, OLDER_UPLOAD_KEY = "csv:b0b0b0b0", "csv:a1a1a1a1"


def upstream(i: int) -> Track:
    """What Spotify and ReccoBeats said about track ``i``."""
    return track(i)


def forged(i: int, tag: str = "B") -> Track:
    """Guild B's upload of the same id: every value differs, provenance claims Spotify."""
    return Track(
        id=track(i).id,
        name=f"Free Nitro {tag}{i}](https://evil.example/claim) [x",
        artists=(f"Impostor {tag}",),
        album=f"Bogus {tag}",
        release_date="1999",
        release_date_precision="year",
        popularity=(track(i).popularity or 0) // 2 + 1,
        duration_ms=1_000 + i,
        features=features(i + 500),
        feature_source="spotify",
        popularity_source="spotify",
    )


UPLOADED_ONLY = Track(
    id="0uploadedonly000000000",
    name="Secret demo only B has",
    artists=("B's band",),
    features=features(77),
    feature_source="b.csv",
)


def ids(*numbers: int) -> list[str]:
    return [track(i).id for i in numbers]


def csv_source(guild_id: int, key: str = UPLOAD_KEY):
    return source(guild_id, key, kind="csv", snapshot_id=None)


async def _two_guilds_conflicting(store: Store) -> None:
    await store.put_tracks([upstream(i) for i in range(5)])
    await store.save_source(source(GUILD_A, "pl-a"), ids(0, 1, 2, 3, 4))
    await store.save_upload(
        csv_source(GUILD_B), [forged(i) for i in (3, 2, 1, 0)] + [UPLOADED_ONLY]
    )
    for guild in (GUILD_A, GUILD_B):
        await store.set_rating(guild, MEMBER, track(1).id, LIKE, at=T0)
    # C learned the ids (they are public) and rates them somehow.
    await store.set_rating(GUILD_C, MEMBER, UPLOADED_ONLY.id, LIKE, at=T0)
    await store.set_rating(GUILD_C, MEMBER + 1, track(2).id, LIKE, at=T0)
    # B rates an id it did not upload.
    await store.set_rating(GUILD_B, MEMBER + 1, track(4).id, LIKE, at=T0)


async def _assert_each_guild_sees_its_own(store: Store) -> None:
    everything = [*ids(0, 1, 2, 3, 4), UPLOADED_ONLY.id]

    # A: upstream values only, whatever B uploaded.
    catalogue_a = await store.load_guild_catalogue(GUILD_A)
    assert [t.id for t in catalogue_a.tracks] == ids(0, 1, 2, 3, 4)
    for got in catalogue_a.tracks:
        assert_same_track(got, upstream(int(got.id[-4:])))
        assert catalogue_a.upload_source(got.id) is None
    (rated_a,) = await store.list_member_ratings(GUILD_A, MEMBER)
    assert rated_a.track is not None and rated_a.upload_source is None
    assert_same_track(rated_a.track, upstream(1))
    assert rated_a.name == upstream(1).name

    # B: its own upload, in its file's order, with its provenance.
    catalogue_b = await store.load_guild_catalogue(GUILD_B)
    assert [t.id for t in catalogue_b.tracks] == [*ids(3, 2, 1, 0), UPLOADED_ONLY.id]
    for got in catalogue_b.tracks[:4]:
        assert_same_track(got, forged(int(got.id[-4:])))
    assert_same_track(catalogue_b.tracks[4], UPLOADED_ONLY)
    assert {catalogue_b.upload_source(t.id) for t in catalogue_b.tracks} == {UPLOAD_KEY}
    (not_uploaded,) = await store.list_member_ratings(GUILD_B, MEMBER + 1)
    assert not_uploaded.track is not None and not_uploaded.upload_source is None
    assert_same_track(not_uploaded.track, upstream(4))  # not uploaded: upstream
    (rated_b,) = await store.list_member_ratings(GUILD_B, MEMBER)
    assert rated_b.upload_source == UPLOAD_KEY
    assert rated_b.track is not None
    assert_same_track(rated_b.track, forged(1))
    assert rated_b.name == forged(1).name

    # C: an id is not enough to read what B uploaded.
    assert len(await store.load_guild_catalogue(GUILD_C)) == 0
    (secret,) = await store.list_member_ratings(GUILD_C, MEMBER)
    assert secret.track is None and secret.name == UPLOADED_ONLY.id
    (other,) = await store.list_member_ratings(GUILD_C, MEMBER + 1)
    assert other.track is not None and other.upload_source is None
    assert_same_track(other.track, upstream(2))

    # The shared cache never took B's values (an ingest reads only this).
    shared = await store.get_tracks(everything)
    assert set(shared) == set(ids(0, 1, 2, 3, 4))
    for track_id, got in shared.items():
        assert_same_track(got, upstream(int(track_id[-4:])))
    assert await store.count_tracks() == 5


async def test_conflicting_uploads_stay_in_their_guild_before_and_after_a_restart(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await _two_guilds_conflicting(store)
        await _assert_each_guild_sees_its_own(store)
    async with backend.open() as store:
        await _assert_each_guild_sees_its_own(store)


async def test_the_upload_order_does_not_matter(backend: Backend) -> None:
    # B uploads first, then A fetches from Spotify: A still sees upstream values,
    # and B still sees its own after A's put of the same ids.
    async with backend.open() as store:
        await store.save_upload(csv_source(GUILD_B), [forged(i) for i in (3, 2, 1, 0)])
        await store.put_tracks([upstream(i) for i in range(5)])
        await store.save_source(source(GUILD_A, "pl-a"), ids(0, 1, 2, 3, 4))
        assert_same_track((await catalogue_tracks(store, GUILD_A))[track(0).id], upstream(0))
        assert_same_track((await catalogue_tracks(store, GUILD_B))[track(0).id], forged(0))


async def test_a_guild_sees_its_newest_upload_and_removal_reveals_the_next(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await store.put_tracks([upstream(0)])
        await store.save_source(source(GUILD_B, "pl-b"), ids(0))
        await store.save_upload(csv_source(GUILD_B, OLDER_UPLOAD_KEY), [forged(0, "old")])
        await store.save_upload(csv_source(GUILD_B), [forged(0, "new"), forged(1, "new")])

        catalogue = await store.load_guild_catalogue(GUILD_B)
        assert_same_track(catalogue.tracks[0], forged(0, "new"))
        assert catalogue.upload_source(track(0).id) == UPLOAD_KEY
        assert catalogue.sources_of(track(0).id) == ("pl-b", OLDER_UPLOAD_KEY, UPLOAD_KEY)

        # Re-uploading the older file makes it the newest.
        await store.save_upload(csv_source(GUILD_B, OLDER_UPLOAD_KEY), [forged(0, "old")])
        view = await catalogue_tracks(store, GUILD_B)
        assert_same_track(view[track(0).id], forged(0, "old"))

        # Removing an upload removes its values only; the other upload still holds id 0.
        assert await store.remove_source(GUILD_B, OLDER_UPLOAD_KEY)
        view = await catalogue_tracks(store, GUILD_B)
        assert_same_track(view[track(0).id], forged(0, "new"))
        assert_same_track(view[track(1).id], forged(1, "new"))

        # The last upload gone: the Spotify source's upstream values, and id 1 is gone.
        assert await store.remove_source(GUILD_B, UPLOAD_KEY)
        view = await catalogue_tracks(store, GUILD_B)
        assert set(view) == set(ids(0))
        assert_same_track(view[track(0).id], upstream(0))
        catalogue = await store.load_guild_catalogue(GUILD_B)
        assert catalogue.upload_source(track(0).id) is None
        assert await backend.count_rows("uploaded_tracks") == 0


async def test_a_refreshed_upload_replaces_what_it_uploaded(backend: Backend) -> None:
    async with backend.open() as store:
        await store.save_upload(csv_source(GUILD_B), [forged(0), forged(1)])
        changed = dataclasses.replace(forged(1), name="Renamed", features=None)
        saved = await store.save_upload(csv_source(GUILD_B), [changed, changed])
        assert saved.track_count == 2  # the file's rows; the values once per id
        assert await members(store, GUILD_B, UPLOAD_KEY) == ids(1, 1)
        view = await catalogue_tracks(store, GUILD_B)
        assert set(view) == set(ids(1))
        assert_same_track(view[track(1).id], changed)
        assert await backend.count_rows("uploaded_tracks") == 1


async def test_removing_a_source_or_the_guild_deletes_only_that_guilds_uploads(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await store.save_upload(csv_source(GUILD_A), [forged(0, "A")])
        await store.save_upload(csv_source(GUILD_B), [forged(0, "B")])
        await store.save_upload(csv_source(GUILD_C), [forged(0, "C")])
        assert await backend.count_rows("uploaded_tracks") == 3

        assert await store.remove_source(GUILD_A, UPLOAD_KEY)
        await store.mark_guild_left(GUILD_B, at=T0)
        assert await store.purge_departed_guilds(older_than=dt.timedelta(0), now=T0) == [GUILD_B]
        later = T0 + dt.timedelta(days=1)
        await store.mark_guild_left(GUILD_C, at=later)  # left, not yet purged
        assert await backend.count_rows("uploaded_tracks") == 1
        assert_same_track((await catalogue_tracks(store, GUILD_C))[track(0).id], forged(0, "C"))
        assert await store.purge_departed_guilds(dt.timedelta(0), now=later) == [GUILD_C]
        assert await backend.count_rows("uploaded_tracks") == 0
        assert await store.get_tracks(ids(0)) == {}


async def test_uploads_and_upstream_sources_are_saved_through_their_own_door(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await store.put_tracks([upstream(0)])
        with pytest.raises(ValueError, match="save_upload"):
            await store.save_source(csv_source(GUILD_B), ids(0))
        with pytest.raises(ValueError, match="save_source"):
            await store.save_upload(source(GUILD_B, "pl"), [forged(0)])
        assert await store.count_sources(GUILD_B) == 0
        assert await backend.count_rows("uploaded_tracks") == 0
        assert_same_track((await store.get_tracks(ids(0)))[track(0).id], upstream(0))


async def test_a_failed_upload_changes_nothing(backend: Backend) -> None:
    async with backend.open() as store:
        await store.save_upload(csv_source(GUILD_B), [forged(0)])
        bad = dataclasses.replace(forged(1), popularity=101)  # the schema refuses it
        with pytest.raises(backend.integrity_errors):
            await store.save_upload(csv_source(GUILD_B), [forged(2), bad])
        assert await members(store, GUILD_B, UPLOAD_KEY) == ids(0)
        assert set(await catalogue_tracks(store, GUILD_B)) == set(ids(0))


async def test_an_ingest_of_the_same_ids_reads_upstream_values_never_an_upload(
    backend: Backend, dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    spotify_ids = [dev.add_track(name=f"Real song {i}") for i in range(4)]
    playlist_id = dev.add_playlist(spotify_ids, owner="owner")
    # ReccoBeats knows all but the last: the ingest finds no features for it, so
    # any it returned would have to come from the cache.
    recco.mirror([dev.tracks[i] for i in spotify_ids[:3]])
    settings = dataclasses.replace(
        SpotifySettings.from_env({**dev.env(user="owner"), "RECCOBEATS_API_URL": recco.url}),
        backoff_base=0.01,
    )
    upload = [
        dataclasses.replace(forged(i), id=track_id, feature_source="reccobeats")
        for i, track_id in enumerate(spotify_ids)
    ]
    secret = dataclasses.replace(UPLOADED_ONLY, id="1" * 22)  # on no upstream service

    async with backend.open() as store:
        await store.save_upload(csv_source(GUILD_B), [*upload, secret])
        async with Ingestion(settings, cache=store) as ingestion:
            tracks, summary = await ingestion.playlist(playlist_id)
            assert summary.from_cache == 0
            await store.put_tracks(tracks)
            await store.save_source(source(GUILD_C, playlist_id), [t.id for t in tracks])
            # A link to the uploaded-only id: Spotify does not know it, the upload
            # does not answer for it.
            with pytest.raises(TrackNotFound):
                await ingestion.track(secret.id)

        catalogue_c = await store.load_guild_catalogue(GUILD_C)
        for got in catalogue_c.tracks:
            real = dev.tracks[got.id]
            assert (got.name, got.artists) == (real.name, tuple(real.artists))
            assert catalogue_c.upload_source(got.id) is None
        # Development mode: popularity and features only from ReccoBeats, so the
        # track it does not know has neither (B's upload would have had both).
        assert [t.popularity for t in catalogue_c.tracks] == [
            *(dev.tracks[i].popularity for i in spotify_ids[:3]),
            None,
        ]
        assert [t.features is not None for t in catalogue_c.tracks] == [True, True, True, False]
        assert catalogue_c.tracks[0].features == pytest.approx(dev.tracks[spotify_ids[0]].features)
        # B still sees its upload for the same ids.
        catalogue_b = await store.load_guild_catalogue(GUILD_B)
        assert [t.name for t in catalogue_b.tracks] == [t.name for t in (*upload, secret)]
        assert await store.get_tracks([secret.id]) == {}
