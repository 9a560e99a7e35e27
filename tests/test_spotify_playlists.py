"""Reading playlists and tracks with the real client, in both API worlds."""

from __future__ import annotations

import dataclasses

import pytest

from recommender.progress import Stage
from recommender.spotify import (
    BadReference,
    PlaylistNotFound,
    PlaylistNotReadable,
    SpotifyClient,
    SpotifySettings,
    get_tracks,
    read_playlist,
)
from tests.fakes import Entry, FakeSpotify


def client_for(fake: FakeSpotify, *, user: str | None = None, **overrides: object) -> SpotifyClient:
    settings = SpotifySettings.from_env(fake.env(user=user))
    return SpotifyClient(dataclasses.replace(settings, backoff_base=0.01, **overrides))


def mixed_playlist(fake: FakeSpotify, n: int = 260, **kw: object) -> tuple[str, list[str]]:
    """A playlist of ``n`` tracks plus a null item, a local track, an episode and a repeat."""
    ids = [fake.add_track() for _ in range(n)]
    entries: list[Entry | str] = [*ids[:120], Entry("null"), Entry("local"), Entry("episode")]
    entries += [*ids[120:], ids[3]]
    return fake.add_playlist(entries, **kw), ids  # type: ignore[arg-type]


async def test_full_api_reads_every_page_concurrently_and_skips_non_tracks(
    full: FakeSpotify,
) -> None:
    playlist_id, ids = mixed_playlist(full)
    pages = []
    async with client_for(full, max_concurrency=8) as client:
        contents = await read_playlist(
            client,
            f"https://open.spotify.com/intl-de/playlist/{playlist_id}?si=abc",
            progress=lambda step: pages.append((step.stage, step.done, step.total)),
        )
    assert [t.id for t in contents.tracks] == ids
    assert (contents.skipped_local, contents.skipped_episodes, contents.skipped_unavailable) == (
        1,
        1,
        1,
    )
    assert contents.duplicates == 1
    assert contents.info.total == 264 and contents.info.snapshot_id
    assert all(
        t.popularity is not None and t.popularity_source == "spotify" for t in contents.tracks
    )
    # Metadata carried the first 100 entries; the rest came 50 at a time from /items.
    item_requests = [r for r in full.requests.requests if r.path.endswith("/items")]
    assert [r.query["limit"] for r in item_requests] == ["50"] * 4
    assert sorted(int(r.query["offset"]) for r in item_requests) == [100, 150, 200, 250]
    assert pages[-1] == (Stage.PLAYLIST, 264, 264)


async def test_items_fall_back_to_tracks_where_items_is_refused(full: FakeSpotify) -> None:
    full.config.items_endpoint = False
    playlist_id, ids = mixed_playlist(full, 330)
    async with client_for(full) as client:
        contents = await read_playlist(client, f"spotify:playlist:{playlist_id}")
        assert client.capabilities.playlist_items_endpoint is False
        again = await read_playlist(client, playlist_id)
    assert [t.id for t in contents.tracks] == ids == [t.id for t in again.tracks]
    assert contents.endpoint == "tracks"
    paths = full.requests.paths()
    assert paths.count(f"/v1/playlists/{playlist_id}/items") == 1  # tried once per process
    tracks_pages = [r for r in full.requests.requests if r.path.endswith("/tracks")]
    assert {r.query["limit"] for r in tracks_pages} == {"100"}


async def test_development_mode_with_the_owners_login_reads_items(dev: FakeSpotify) -> None:
    playlist_id, ids = mixed_playlist(dev, owner="owner")
    async with client_for(dev, user="owner") as client:
        contents = await read_playlist(client, playlist_id)
    assert [t.id for t in contents.tracks] == ids
    assert all(t.popularity is None and t.popularity_source is None for t in contents.tracks)
    assert dev.requests.count("/tracks", status=403) == 0


async def test_a_collaborator_may_read_too(dev: FakeSpotify) -> None:
    playlist_id, ids = mixed_playlist(dev, 30, owner="alice", collaborators={"owner"})
    async with client_for(dev, user="owner") as client:
        contents = await read_playlist(client, playlist_id)
    assert [t.id for t in contents.tracks] == ids


async def test_development_mode_without_login_explains_how_to_get_access(
    dev: FakeSpotify,
) -> None:
    playlist_id, _ = mixed_playlist(dev, 10, name="Friday Mix", owner="alice")
    async with client_for(dev) as client:
        with pytest.raises(PlaylistNotReadable) as caught:
            await read_playlist(client, playlist_id)
    message = str(caught.value)
    assert '"Friday Mix"' in message and playlist_id in message
    assert "spotify-login" in message and "CSV" in message
    assert dev.requests.count("/items", status=403) == 1


async def test_a_login_that_is_not_the_owner_is_told_so(dev: FakeSpotify) -> None:
    playlist_id, _ = mixed_playlist(dev, 10, owner="alice")
    async with client_for(dev, user="owner") as client:
        with pytest.raises(PlaylistNotReadable, match="must own the playlist or collaborate"):
            await read_playlist(client, playlist_id)


async def test_unknown_and_spotify_owned_playlists_are_not_found(dev: FakeSpotify) -> None:
    editorial = dev.add_playlist(3, playlist_id="37i9dQZF1DXcBWIGoYBM5M", owner="spotify")
    async with client_for(dev, user="owner") as client:
        for playlist_id in ("0" * 22, editorial):
            with pytest.raises(PlaylistNotFound, match="37i9dQZF1"):
                await read_playlist(client, playlist_id)


async def test_a_reference_that_is_not_a_playlist_is_bad_input(full: FakeSpotify) -> None:
    async with client_for(full) as client:
        for text in ("https://open.spotify.com/track/6f807x0ima9a1j3VPbc7VN", "hello"):
            with pytest.raises(BadReference, match="not a Spotify playlist"):
                await read_playlist(client, text)
    assert full.requests.requests == []


async def test_release_dates_keep_their_precision(full: FakeSpotify) -> None:
    dates = [("1981", "year"), ("1981-12", "month"), ("1981-12-15", "day"), ("0000", "year")]
    ids = [full.add_track(release_date=d, release_date_precision=p) for d, p in dates]
    async with client_for(full) as client:
        found = await get_tracks(client, ids)
    got = [(found[i].release_date, found[i].release_date_precision) for i in ids]
    assert got == [*dates[:3], (None, None)]


async def test_batch_track_lookup_in_full_mode(full: FakeSpotify) -> None:
    ids = [full.add_track() for _ in range(120)]
    async with client_for(full) as client:
        found = await get_tracks(client, [*ids, "0" * 22])
        assert client.capabilities.batch_tracks is True
    assert set(found) == set(ids)
    assert full.requests.count("/v1/tracks") == 3  # 50 + 50 + 21 ids


async def test_development_mode_falls_back_to_one_request_per_track(dev: FakeSpotify) -> None:
    ids = [dev.add_track() for _ in range(12)]
    async with client_for(dev) as client:
        found = await get_tracks(client, [*ids, "0" * 22])
        assert client.capabilities.batch_tracks is False
        await get_tracks(client, ids[:2])
    assert set(found) == set(ids)
    # The batch endpoint was tried once, then never again in this process.
    assert dev.requests.count("/v1/tracks", status=403) == 1
    assert dev.requests.count("/v1/tracks/", status=404) == 1
