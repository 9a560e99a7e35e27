"""A hostile or broken upstream: absurd numbers, foreign links, endless pages, moving playlists."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import field

import pytest
from aiohttp import web

from recommender.cache import MemoryTrackCache
from recommender.ingest import Ingestion
from recommender.spotify import (
    IngestTimedOut,
    PlaylistKeepsChanging,
    PlaylistRunaway,
    SpotifyClient,
    SpotifySettings,
    UnexpectedResponse,
    UnsafeLink,
    read_playlist,
)
from recommender.spotify.errors import MAX_MESSAGE_CHARS, clamp_upstream
from recommender.spotify.playlists import PAGE_MARGIN
from tests.fakes import Entry, FakeReccoBeats, FakeSpotify, Faults
from tests.fakes._common import serve
from tests.fakes.spotify import random_features


def settings_for(
    fake: FakeSpotify, recco: FakeReccoBeats | None = None, **overrides: object
) -> SpotifySettings:
    """Settings pointing at the fakes, with retries fast enough for tests."""
    env = fake.env()
    if recco is not None:
        env["RECCOBEATS_API_URL"] = recco.url
    settings = SpotifySettings.from_env(env)
    fast = {"backoff_base": 0.01, "max_retry_after": 1.0, "request_timeout": 5.0}
    return dataclasses.replace(settings, **{**fast, **overrides})


# -- absurd numbers ---------------------------------------------------------------------


async def test_an_absurd_duration_from_spotify_is_dropped_and_the_playlist_imported(
    full: FakeSpotify,
) -> None:
    normal = [full.add_track() for _ in range(5)]
    huge = full.add_track(duration_ms=1e20)  # once failed the whole write (SQLite INTEGER)
    beyond = full.add_track(duration_ms=10**30)  # an int JSON allows, no float holds exactly
    negative = full.add_track(duration_ms=-1)
    nan = full.add_track(duration_ms=float("nan"), popularity=float("inf"))
    playlist = full.add_playlist([*normal, huge, beyond, negative, nan])

    async with Ingestion(settings_for(full)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist)

    by_id = {t.id: t for t in tracks}
    assert set(by_id) == {*normal, huge, beyond, negative, nan}  # nobody lost
    for track_id in (huge, beyond, negative, nan):
        assert by_id[track_id].duration_ms is None
    assert by_id[nan].popularity is None and by_id[nan].features is not None
    assert all(by_id[t].duration_ms == full.tracks[t].duration_ms for t in normal)
    assert summary.dropped_values == {"duration_ms": 4, "popularity": 1}
    assert "5 impossible values dropped: duration 4, popularity 1" in summary.lines()


async def test_absurd_features_from_a_provider_are_counted_and_the_next_one_asked(
    dev: FakeSpotify, recco: FakeReccoBeats
) -> None:
    ids = [dev.add_track() for _ in range(3)]
    playlist = dev.add_playlist(ids)
    for track_id in ids:
        recco.add_track(track_id, random_features(dev.rng), popularity=40)
    broken = dict(random_features(dev.rng), tempo=1e30, key=12.0)
    recco.add_track(ids[0], broken, popularity=1000)

    settings = settings_for(dev, recco)
    env_user = dev.env(user="owner")["SPOTIFY_REFRESH_TOKEN"]
    async with Ingestion(dataclasses.replace(settings, refresh_token=env_user)) as ingestion:
        tracks, summary = await ingestion.playlist(playlist)

    by_id = {t.id: t for t in tracks}
    assert by_id[ids[0]].features is None and by_id[ids[0]].popularity is None
    assert all(by_id[t].features is not None and by_id[t].popularity == 40 for t in ids[1:])
    assert summary.dropped_values == {"tempo": 1, "key": 1, "popularity": 1}
    assert summary.features_by_source == {"reccobeats": 2}


# -- links to elsewhere --------------------------------------------------------------------


@dataclasses.dataclass
class Witness:
    """Another server on 127.0.0.1: records whatever reaches it (it should be nothing)."""

    base: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)


@contextlib.asynccontextmanager
async def running_witness() -> AsyncIterator[Witness]:
    witness = Witness()

    async def record(request: web.Request) -> web.Response:
        witness.seen.append((request.path, request.headers.get("Authorization")))
        return web.json_response({"href": "", "items": [], "next": None, "total": 0})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    async with serve(app) as base:
        witness.base = base
        yield witness


async def test_a_next_link_to_another_host_never_gets_the_token(full: FakeSpotify) -> None:
    """Same API path on a foreign origin: read on our own origin instead (proxies do this)."""
    async with running_witness() as witness:
        full.config.rewrite_next = lambda url: url.replace(full.base, witness.base)
        full.config.endless_pages = True  # so the reader has `next` links to follow
        playlist = full.add_playlist(120)
        async with SpotifyClient(settings_for(full)) as client:
            with pytest.raises(PlaylistRunaway):
                await read_playlist(client, playlist)
        assert witness.seen == []  # not a request, let alone an Authorization header
    # The links were followed on the configured origin, with their offsets.
    offsets = [int(r.query["offset"]) for r in full.requests.requests if r.path.endswith("/items")]
    assert max(offsets) > 120


async def test_a_next_link_to_another_resource_stops_the_read(full: FakeSpotify) -> None:
    async with running_witness() as witness:
        other = full.add_playlist(3)
        full.config.rewrite_next = lambda url: f"{witness.base}/v1/playlists/{other}/items?offset=0"
        full.config.endless_pages = True
        playlist = full.add_playlist(120)
        async with SpotifyClient(settings_for(full)) as client:
            with pytest.raises(UnsafeLink) as caught:
                await read_playlist(client, playlist)
        assert witness.seen == []
    assert "SPOTIFY_API_URL" in caught.value.message and witness.base not in caught.value.message
    assert full.requests.count(f"/playlists/{other}") == 0


async def test_the_client_refuses_any_absolute_url_off_its_origin(full: FakeSpotify) -> None:
    async with running_witness() as witness, SpotifyClient(settings_for(full)) as client:
        with pytest.raises(UnsafeLink):
            await client.get(f"{witness.base}/v1/me", what="a test")
        # Same host, another port is another origin too.
        with pytest.raises(UnsafeLink):
            await client.get(full.url.replace(full.base, witness.base) + "/me", what="a test")
        assert witness.seen == []


async def test_a_redirect_is_not_followed_with_the_token(full: FakeSpotify) -> None:
    async with running_witness() as witness:
        full.config.redirect_all = witness.base
        async with SpotifyClient(settings_for(full)) as client:
            with pytest.raises(UnexpectedResponse, match="307"):
                await client.get("me", what="your profile")
        assert witness.seen == []


# -- pages without end, playlists without rest ----------------------------------------------


async def test_an_endless_chain_of_empty_pages_ends(full: FakeSpotify) -> None:
    full.config.endless_pages = True
    playlist = full.add_playlist(230)
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(PlaylistRunaway) as caught:
            await read_playlist(client, playlist)
    pages = full.requests.count("/items")
    # The metadata's 100 entries, three pages of 50 for the rest, then the margin.
    assert pages == 3 + PAGE_MARGIN
    assert "nothing was stored" in caught.value.message


async def test_an_absurd_announced_total_is_refused_before_any_page(full: FakeSpotify) -> None:
    full.config.announce_total = 10**12
    playlist = full.add_playlist(5)
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(PlaylistRunaway, match="1,000,000,000,000 entries"):
            await read_playlist(client, playlist)
    assert full.requests.count("/items") == 0


async def test_a_playlist_that_changed_mid_read_is_read_again(full: FakeSpotify) -> None:
    full.config.change_every_pages = 1
    full.config.changes = 1  # one edit while the first reading is under way
    playlist = full.add_playlist(230)
    async with SpotifyClient(settings_for(full)) as client:
        contents = await read_playlist(client, playlist)
    now = [e.track_id for e in full.playlists[playlist].entries]
    assert [t.id for t in contents.tracks] == now  # the new version, complete
    assert len(now) == 231
    assert contents.info.snapshot_id == full.playlists[playlist].snapshot_id
    metadata = [r for r in full.requests.requests if r.path == f"/v1/playlists/{playlist}"]
    assert len(metadata) == 4  # (read + snapshot check) twice


async def test_a_playlist_read_in_one_answer_needs_no_snapshot_check(dev: FakeSpotify) -> None:
    playlist = dev.add_playlist(30)  # the owner's metadata answer carries all 30 entries
    settings = SpotifySettings.from_env(dev.env(user="owner"))
    async with SpotifyClient(settings) as client:
        contents = await read_playlist(client, playlist)
    assert len(contents.tracks) == 30
    assert dev.requests.paths().count(f"/v1/playlists/{playlist}") == 1


async def test_a_playlist_that_keeps_changing_is_reported_and_nothing_stored(
    full: FakeSpotify,
) -> None:
    full.config.change_every_pages = 1  # someone edits it all the time
    playlist = full.add_playlist(230, name="Busy list")
    cache = MemoryTrackCache()
    async with Ingestion(settings_for(full), cache=cache) as ingestion:
        with pytest.raises(PlaylistKeepsChanging) as caught:
            await ingestion.playlist(playlist)
    assert '"Busy list"' in caught.value.message and "twice" in caught.value.message
    assert (
        await cache.get_tracks([e.track_id or "" for e in full.playlists[playlist].entries]) == {}
    )


async def test_an_ingest_past_its_deadline_ends_with_a_clear_error(full: FakeSpotify) -> None:
    full.set_faults(Faults(latency=0.3))
    playlist = full.add_playlist(300)
    cache = MemoryTrackCache()
    async with Ingestion(settings_for(full, ingest_deadline=0.5), cache=cache) as ingestion:
        with pytest.raises(IngestTimedOut) as caught:
            await ingestion.playlist(playlist)
        # The same client still works afterwards (no slot or probe left behind).
        full.set_faults(Faults())
        small = full.add_playlist(3)
        tracks, _ = await ingestion.playlist(small, deadline=None)
    assert len(tracks) == 3
    assert "INGEST_DEADLINE" in caught.value.message
    assert "nothing was stored" in caught.value.message
    ids = [e.track_id or "" for e in full.playlists[playlist].entries]
    assert await cache.get_tracks(ids) == {}


def test_the_deadline_setting_has_a_default_and_zero_means_none() -> None:
    assert SpotifySettings.from_env({}).ingest_deadline == 600.0
    assert SpotifySettings.from_env({"INGEST_DEADLINE": "90"}).ingest_deadline == 90.0
    assert SpotifySettings.from_env({"INGEST_DEADLINE": "0"}).ingest_deadline is None


# -- huge error messages -----------------------------------------------------------------------


async def test_a_huge_upstream_error_message_is_clamped(full: FakeSpotify) -> None:
    full.config.answer_all = (409, "Conflict!\n" + "A" * 1_000_000)
    playlist = full.add_playlist(3)
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(UnexpectedResponse) as caught:
            await read_playlist(client, playlist)
    message = caught.value.message
    assert message.startswith("Spotify answered 409 to playlist")
    assert "Conflict! AAA" in message and "\n" not in message
    assert len(message) < 400


def test_clamping_removes_invisible_and_control_characters() -> None:
    assert clamp_upstream("a\u200bb\x00c\u202ed\r\ne") == "a b c d e"
    assert len(clamp_upstream("x" * 10_000)) == 200
    assert len(UnexpectedResponse(400, "x" * 5_000).message) <= MAX_MESSAGE_CHARS


async def test_a_next_link_looping_back_is_bounded_too(
    full: FakeSpotify,
) -> None:
    """A `next` that loops back to offset 0 is bounded by the page budget, too."""
    full.config.rewrite_next = lambda url: url.split("?")[0] + "?offset=0&limit=50"
    full.config.endless_pages = True
    playlist = full.add_playlist([*(full.add_track() for _ in range(60)), Entry("local")])
    async with SpotifyClient(settings_for(full)) as client:
        with pytest.raises(PlaylistRunaway):
            await read_playlist(client, playlist)
    assert full.requests.count("/items") == PAGE_MARGIN  # the metadata held all 61 entries
