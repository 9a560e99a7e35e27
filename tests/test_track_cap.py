"""The per-guild track cap (MAX_TRACKS_PER_GUILD): imports that would pass it are
refused with a message for the admin, before anything of the guild's is stored.

A CSV is refused once parsed; a Spotify playlist as soon as its first page announces
its size (the rest is never read); tracks in several playlists count once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import UserFacingError
from bot.services.catalogues import CatalogueService
from bot.services.sources import SourceService
from bot.store import SqliteStore
from recommender.ingest.service import Ingestion
from recommender.spotify.settings import SpotifySettings
from tests.fakes.spotify import FakeSpotify

GUILD = 4242


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as opened:
        yield opened


def csv_of(numbers: range) -> bytes:
    rows = "".join(f"{n:022d},Song {n},Artist {n % 7}\n" for n in numbers)
    return ("track_id,track_name,track_artist\n" + rows).encode()


def sources(store: SqliteStore, cap: int, ingestion: Ingestion | None = None) -> SourceService:
    return SourceService(store, CatalogueService(store), ingestion, max_tracks=cap)


async def assert_nothing_stored(store: SqliteStore) -> None:
    assert await store.list_sources(GUILD) == []
    stored = await store.load_guild_catalogue(GUILD)
    assert stored.tracks == [] and stored.memberships == {}


# -- CSV ---------------------------------------------------------------------------------


async def test_a_csv_over_the_cap_is_refused_and_nothing_is_stored(store: SqliteStore) -> None:
    service = sources(store, cap=50)

    with pytest.raises(UserFacingError) as refused:
        await service.add_csv(GUILD, 1, "big.csv", csv_of(range(60)))

    message = str(refused.value)
    assert "60 tracks" in message and "50" in message and "Nothing was added" in message
    await assert_nothing_stored(store)


async def test_a_csv_that_passes_the_cap_with_the_other_playlists_is_refused(
    store: SqliteStore,
) -> None:
    service = sources(store, cap=50)
    await service.add_csv(GUILD, 1, "first.csv", csv_of(range(30)))

    with pytest.raises(UserFacingError) as refused:
        await service.add_csv(GUILD, 1, "second.csv", csv_of(range(100, 125)))

    assert "would have 55" in str(refused.value)
    assert "/removeplaylist" in str(refused.value)
    assert [s.display_name for s in await store.list_sources(GUILD)] == ["first.csv"]
    assert len((await store.load_guild_catalogue(GUILD)).tracks) == 30


async def test_tracks_in_several_playlists_count_once(store: SqliteStore) -> None:
    service = sources(store, cap=50)
    await service.add_csv(GUILD, 1, "first.csv", csv_of(range(30)))

    # 30 new rows, 10 of them already in first.csv: 50 distinct tracks, exactly the cap.
    await service.add_csv(GUILD, 1, "second.csv", csv_of(range(20, 50)))

    assert len((await store.load_guild_catalogue(GUILD)).tracks) == 50


async def test_the_cap_counts_per_guild(store: SqliteStore) -> None:
    service = sources(store, cap=50)
    await service.add_csv(GUILD, 1, "first.csv", csv_of(range(40)))

    await service.add_csv(GUILD + 1, 1, "other.csv", csv_of(range(100, 140)))

    assert len((await store.load_guild_catalogue(GUILD + 1)).tracks) == 40


# -- Spotify -----------------------------------------------------------------------------


@pytest.fixture
async def ingestion(full: FakeSpotify, store: SqliteStore) -> AsyncIterator[Ingestion]:
    settings = SpotifySettings.from_env(full.env())
    async with Ingestion(settings, cache=store) as opened:
        yield opened


async def test_a_playlist_announcing_more_than_the_cap_stops_after_its_first_page(
    full: FakeSpotify, store: SqliteStore, ingestion: Ingestion
) -> None:
    playlist = full.add_playlist(600, name="Too Big")
    service = sources(store, cap=250, ingestion=ingestion)

    with pytest.raises(UserFacingError) as refused:
        await service.add_spotify(GUILD, 1, playlist)

    assert "600 entries" in str(refused.value) and "250" in str(refused.value)
    assert full.pages_served <= 1, "the playlist was read past its first page"
    await assert_nothing_stored(store)


async def test_a_playlist_that_fits_only_next_to_nothing_is_refused_early(
    full: FakeSpotify, store: SqliteStore, ingestion: Ingestion
) -> None:
    service = sources(store, cap=250, ingestion=ingestion)
    await service.add_csv(GUILD, 1, "mine.csv", csv_of(range(100)))
    playlist = full.add_playlist(200, name="Two Hundred")

    with pytest.raises(UserFacingError) as refused:
        await service.add_spotify(GUILD, 1, playlist)

    assert "200 entries" in str(refused.value) and "100 tracks" in str(refused.value)
    assert [s.display_name for s in await store.list_sources(GUILD)] == ["mine.csv"]


async def test_refreshing_a_playlist_does_not_count_its_own_tracks_twice(
    full: FakeSpotify, store: SqliteStore, ingestion: Ingestion
) -> None:
    playlist = full.add_playlist(150, name="Steady")
    service = sources(store, cap=200, ingestion=ingestion)
    await service.add_spotify(GUILD, 1, playlist)

    lines = await service.refresh_all(GUILD)

    assert "Steady" in lines[0] and "not refreshed" not in lines[0]
    assert len((await store.load_guild_catalogue(GUILD)).tracks) == 150


async def test_a_playlist_without_an_announced_total_is_checked_once_read(
    full: FakeSpotify, store: SqliteStore, ingestion: Ingestion
) -> None:
    playlist = full.add_playlist(120, name="Sneaky")
    full.config.announce_total = 10  # claims 10 entries, holds 120
    service = sources(store, cap=100, ingestion=ingestion)

    with pytest.raises(UserFacingError) as refused:
        await service.add_spotify(GUILD, 1, playlist)

    assert "120 tracks, more than the 100" in str(refused.value), refused.value
    await assert_nothing_stored(store)
