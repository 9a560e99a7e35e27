"""Guild settings, playlist sources, membership and the start-up catalogue."""

from __future__ import annotations

import dataclasses

import pytest

from bot.store import (
    GuildSettings,
    InvalidGuildSettingError,
    Store,
)
from recommender.engine import DEFAULT_ALPHA
from tests.store_contract.views import members
from tests.test_store_support import T0, source, track

GUILD, OTHER = 1001, 2002


@pytest.fixture
async def store(store: Store) -> Store:
    """The backend's store with twenty cached tracks."""
    await store.put_tracks([track(i) for i in range(20)])
    return store


def ids(*numbers: int) -> list[str]:
    return [track(i).id for i in numbers]


# -- settings --------------------------------------------------------------------------


def test_settings_have_documented_defaults_and_validate() -> None:
    settings = GuildSettings()
    assert settings.alpha == DEFAULT_ALPHA
    assert settings.replace(alpha=1).alpha == 1.0
    for bad in ({"alpha": 1.5}, {"alpha": True}, {"diversity": -0.1}, {"default_count": 0}):
        with pytest.raises(InvalidGuildSettingError):
            GuildSettings(**bad)
    with pytest.raises(InvalidGuildSettingError, match="one of"):
        settings.replace(colour="blue")
    assert GuildSettings.from_dict({"alpha": 0.2, "future_setting": 1}).alpha == 0.2
    assert GuildSettings.from_dict({"alpha": 9, "diversity": 0.9}, lenient=True) == GuildSettings(
        diversity=0.9
    )


async def test_settings_persist_per_guild(store: Store) -> None:
    assert await store.get_guild_settings(GUILD) == GuildSettings()
    updated = await store.update_guild_settings(GUILD, alpha=0.8, popularity_half_life_days=90)
    assert updated == GuildSettings(alpha=0.8, popularity_half_life_days=90.0)
    assert await store.get_guild_settings(GUILD) == updated
    assert await store.get_guild_settings(OTHER) == GuildSettings()

    with pytest.raises(InvalidGuildSettingError):
        await store.update_guild_settings(GUILD, alpha=2)
    assert await store.get_guild_settings(GUILD) == updated

    await store.update_guild_settings(GUILD, max_per_artist=0)
    assert await store.get_guild_settings(GUILD) == updated.replace(max_per_artist=0)


# -- sources ---------------------------------------------------------------------------


async def test_save_list_count_and_remove_sources(store: Store) -> None:
    saved = await store.save_source(source(GUILD, "pl-a", skipped=2, featureless=1), ids(0, 1, 2))
    assert (saved.track_count, saved.skipped_count, saved.featureless_count) == (3, 2, 1)
    assert saved.refreshed_at is not None and saved.added_at == T0
    await store.save_upload(source(GUILD, "csv:9f86d0", kind="csv", snapshot_id=None), [track(3)])
    assert [s.key for s in await store.list_sources(GUILD)] == ["pl-a", "csv:9f86d0"]
    assert await store.count_sources(GUILD) == 2

    assert await store.remove_source(GUILD, "pl-a")
    assert not await store.remove_source(GUILD, "pl-a")
    assert await store.get_source(GUILD, "pl-a") is None
    assert await store.count_sources(GUILD) == 1
    with pytest.raises(KeyError):
        await members(store, GUILD, "pl-a")


async def test_a_refresh_replaces_membership_and_keeps_who_added_it(store: Store) -> None:
    await store.save_source(source(GUILD, "pl", added_by=1), ids(0, 1, 2))
    later = dataclasses.replace(
        source(GUILD, "pl", added_by=2, snapshot_id="snap-2"),
        added_at=T0.replace(year=2026),
        display_name="Renamed",
    )
    refreshed = await store.save_source(later, ids(2, 5, 2))
    assert await members(store, GUILD, "pl") == ids(2, 5, 2)  # order, duplicates
    assert (refreshed.added_by, refreshed.added_at) == (1, T0)
    assert (refreshed.snapshot_id, refreshed.display_name, refreshed.track_count) == (
        "snap-2",
        "Renamed",
        3,
    )


async def test_catalogue_is_the_deduplicated_union_of_the_guilds_sources(
    store: Store,
) -> None:
    await store.save_source(source(GUILD, "a"), ids(0, 1, 2, 1))
    await store.save_source(source(GUILD, "b"), ids(2, 3))
    await store.save_source(source(GUILD, "empty"), [])
    await store.save_source(source(OTHER, "a"), ids(9))

    catalogue = await store.load_guild_catalogue(GUILD)
    assert [t.id for t in catalogue.tracks] == ids(0, 1, 2, 3)
    assert catalogue.tracks[0] == track(0)
    assert catalogue.tracks[0].features == track(0).features
    assert catalogue.memberships == {"a": ids(0, 1, 2, 1), "b": ids(2, 3), "empty": []}
    assert catalogue.sources_of(track(2).id) == ("a", "b")
    assert catalogue.sources_of(track(1).id) == ("a",)
    assert catalogue.sources_of(track(9).id) == ()

    assert len(await store.load_guild_catalogue(3003)) == 0


# -- isolation -------------------------------------------------------------------------


async def test_one_guild_never_sees_another_guilds_sources(store: Store) -> None:
    await store.save_source(source(GUILD, "shared-playlist"), ids(0, 1))
    await store.save_source(source(OTHER, "shared-playlist", snapshot_id="x"), ids(5))

    assert await members(store, GUILD, "shared-playlist") == ids(0, 1)
    assert await members(store, OTHER, "shared-playlist") == ids(5)
    assert [s.guild_id for s in await store.list_sources(OTHER)] == [OTHER]

    # Removing or refreshing in one guild leaves the other alone.
    await store.remove_source(OTHER, "shared-playlist")
    assert await members(store, GUILD, "shared-playlist") == ids(0, 1)
    assert [t.id for t in (await store.load_guild_catalogue(GUILD)).tracks] == ids(0, 1)
    assert len(await store.load_guild_catalogue(OTHER)) == 0
