"""Bounded catalogue memory: identical catalogues shared, least recently used evicted.

Against a real SQLite store: guilds add playlists as the bot would, and the
:class:`~bot.catalogues.CatalogueService` builds, shares and evicts their catalogues.
Assertions are about identity, residency and references, never about timings.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.services.catalogue_budget import CatalogueBudget
from bot.services.catalogue_sharing import BuiltCatalogue, SharedCatalogues
from bot.services.catalogues import CatalogueService, GuildCatalogue
from bot.store import SqliteStore
from recommender.engine import Recommender
from recommender.resolve import SongResolver
from tests.test_store_support import source, track

PLAYLIST = "37i9dQZF1DXcBWIGoYBM5M"
OTHER_PLAYLIST = "37i9dQZF1DX0XUsuxWHRQd"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore.open(tmp_path / "bot.sqlite3") as opened:
        yield opened


async def add_playlist(
    store: SqliteStore, guild_id: int, key: str = PLAYLIST, tracks: range = range(60)
) -> None:
    """The guild adds a Spotify playlist of ``tracks`` (upstream values, as an ingest stores)."""
    records = [track(i) for i in tracks]
    await store.put_tracks(records)
    await store.save_source(source(guild_id, key), [t.id for t in records])


# -- sharing -----------------------------------------------------------------------------


async def test_two_guilds_with_the_same_playlist_share_one_index(store: SqliteStore) -> None:
    await add_playlist(store, 1)
    await add_playlist(store, 2)
    service = CatalogueService(store, shared=SharedCatalogues())

    first = await service.ensure(1)
    second = await service.ensure(2)

    assert first.guild_id == 1 and second.guild_id == 2
    assert first.recommender is second.recommender
    assert first.recommender is not None and second.recommender is not None
    assert first.recommender.index is second.recommender.index
    assert first.resolver is second.resolver
    assert first.built is second.built
    assert len(service.budget) == 1  # counted once in the memory budget


async def test_a_different_track_or_setting_gets_its_own_catalogue(store: SqliteStore) -> None:
    await add_playlist(store, 1)
    await add_playlist(store, 2)
    await add_playlist(store, 3, tracks=range(1, 61))  # one track differs
    await store.update_guild_settings(2, popularity_half_life_days=900)
    service = CatalogueService(store, shared=SharedCatalogues())

    one, two, three = [await service.ensure(g) for g in (1, 2, 3)]

    assert one.recommender is not two.recommender  # other half-life: other priors
    assert one.recommender is not three.recommender
    assert two.recommender is not three.recommender
    assert len(service.budget) == 3


async def test_a_shared_catalogue_frees_itself_when_no_guild_holds_it(store: SqliteStore) -> None:
    await add_playlist(store, 1)
    await add_playlist(store, 2)
    shared = SharedCatalogues()
    service = CatalogueService(store, shared=shared)
    built = weakref.ref(_built(await service.ensure(1)))
    await service.ensure(2)
    assert len(shared) == 1

    service.forget(1)
    gc.collect()
    assert built() is not None  # guild 2 still holds it

    service.forget(2)
    await _eventually(lambda: built() is None)
    assert len(shared) == 0


async def test_a_changed_playlist_stops_sharing_and_the_other_guild_keeps_its_own(
    store: SqliteStore,
) -> None:
    await add_playlist(store, 1)
    await add_playlist(store, 2)
    service = CatalogueService(store, shared=SharedCatalogues())
    before = _built(await service.ensure(2))

    await add_playlist(store, 1, OTHER_PLAYLIST, tracks=range(100, 110))
    changed = await service.reload(1)

    assert changed.built is not before
    assert len(changed) == 70
    assert _built(await service.ensure(2)) is before


async def test_without_sharing_every_guild_has_its_own_copy(store: SqliteStore) -> None:
    await add_playlist(store, 1)
    await add_playlist(store, 2)
    service = CatalogueService(store, shared=None)

    first, second = await service.ensure(1), await service.ensure(2)

    assert first.recommender is not second.recommender
    assert len(service.budget) == 2


def test_the_shared_cache_builds_a_key_once() -> None:
    shared = SharedCatalogues()
    calls: list[int] = []

    def build() -> tuple[Recommender, SongResolver]:
        calls.append(1)
        return _tiny_recommender_and_resolver()

    first = shared.get_or_build(b"k", build)
    second = shared.get_or_build(b"k", build)

    assert first is second
    assert len(calls) == 1
    assert (shared.builds, shared.hits) == (1, 1)


# -- eviction ----------------------------------------------------------------------------


async def test_over_budget_the_least_recently_used_guild_is_evicted_and_rebuilt_on_demand(
    store: SqliteStore,
) -> None:
    for guild_id in (1, 2, 3):
        await add_playlist(store, guild_id, tracks=range(guild_id * 100, guild_id * 100 + 60))
    one_catalogue = _built(await CatalogueService(store, shared=None).ensure(1)).nbytes
    # Room for two of these catalogues, not three.
    service = CatalogueService(store, shared=None, memory_budget_mb=2.5 * one_catalogue / 2**20)

    await service.ensure(1)
    await service.ensure(2)
    await service.ensure(1)  # guild 1 used again: guild 2 is now the least recent
    await service.ensure(3)

    assert service.resident(1) and service.resident(3)
    assert not service.resident(2)
    assert service.budget.resident_bytes <= service.budget.limit_bytes  # type: ignore[operator]

    again = await service.ensure(2)  # rebuilt from the store when asked for

    assert len(again) == 60
    assert again.catalogue is not None and again.catalogue.ids[0] == track(200).id
    assert service.resident(2) and service.resident(3)
    assert not service.resident(1)  # used before guild 3 was: now the least recent


async def test_a_catalogue_in_use_is_never_evicted(store: SqliteStore) -> None:
    for guild_id in (1, 2):
        await add_playlist(store, guild_id, tracks=range(guild_id * 100, guild_id * 100 + 60))
    service = CatalogueService(store, shared=None, memory_budget_mb=0.001)  # fits none

    held = await service.ensure(1)  # a command holds guild 1's catalogue
    await service.ensure(2)

    assert service.resident(1), "evicted while a command held it"
    assert service.resident(2), "the catalogue just asked for is kept even over budget"

    del held
    await service.ensure(2)
    await service.reload(2)  # any new load enforces the budget again

    assert not service.resident(1)
    assert service.resident(2)


async def test_an_evicted_guild_is_not_rebuilt_in_the_background(store: SqliteStore) -> None:
    for guild_id in (1, 2):
        await add_playlist(store, guild_id, tracks=range(guild_id * 100, guild_id * 100 + 60))
    service = CatalogueService(store, shared=None, memory_budget_mb=0.001)
    await service.ensure(1)
    await service.ensure(2)
    assert not service.resident(1)

    await service.refresh_soon(1)  # e.g. a settings change

    assert not service.resident(1)
    assert len(await service.ensure(1)) == 60


def test_the_budget_counts_a_shared_catalogue_once_and_evicts_it_with_all_its_guilds() -> None:
    shared = _fake_built(1000)
    alone = _fake_built(1000)
    budget = CatalogueBudget(limit_bytes=1500)
    budget.touch(1, shared)
    budget.touch(2, shared)
    assert budget.resident_bytes == 1000 and not budget.over()

    budget.touch(3, alone)
    assert budget.over()
    evicted = budget.evict(in_use=lambda guild_id: False, keep=3)

    assert evicted == [1, 2]
    assert 1 not in budget and 2 not in budget and 3 in budget
    assert budget.resident_bytes == 1000


def test_the_budget_skips_catalogues_in_use() -> None:
    budget = CatalogueBudget(limit_bytes=1500)
    first, second, third = _fake_built(1000), _fake_built(1000), _fake_built(1000)
    budget.touch(1, first)
    budget.touch(2, second)
    budget.touch(3, third)

    evicted = budget.evict(in_use=lambda guild_id: guild_id == 1, keep=3)

    assert evicted == [2]
    assert budget.over()  # still over: 1 is in use and 3 was just asked for
    assert budget.evictions == 1


# -- helpers -----------------------------------------------------------------------------


async def _eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition()`` holds. The last build's result stays referenced for a
    moment after it is delivered (by the event loop's running step and by the worker
    thread until it drops its finished work item)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        gc.collect()
        if condition():
            return
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def _built(guild: GuildCatalogue) -> BuiltCatalogue:
    assert guild.built is not None
    return guild.built


def _tiny_recommender_and_resolver() -> tuple[Recommender, SongResolver]:
    from recommender.catalogue import Catalogue

    catalogue = Catalogue.from_tracks([track(i) for i in range(5)])
    return Recommender(catalogue), SongResolver(catalogue)


def _fake_built(nbytes: int) -> BuiltCatalogue:
    built = BuiltCatalogue(b"", *_tiny_recommender_and_resolver())
    built.nbytes = nbytes
    return built


async def test_start_up_preloads_stop_once_the_budget_evicted_a_catalogue(
    store: SqliteStore,
) -> None:
    for guild_id in (1, 2, 3):
        await add_playlist(store, guild_id, tracks=range(guild_id * 100, guild_id * 100 + 60))
    one_catalogue = _built(await CatalogueService(store, shared=None).ensure(1)).nbytes
    service = CatalogueService(store, shared=None, memory_budget_mb=1.5 * one_catalogue / 2**20)

    for guild_id in (1, 2, 3):
        await service.preload(guild_id)  # as each guild comes online

    assert not service.resident(1) and service.resident(2)  # 2 evicted 1
    assert not service.resident(3), "preloaded past the budget"
    assert len(await service.ensure(3)) == 60  # built when it first asks
