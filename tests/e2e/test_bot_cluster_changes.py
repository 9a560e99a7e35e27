"""Two bot processes on one PostgreSQL: a change one makes reaches the one serving the guild.

In a cluster each guild is served by the process that runs its shard, and that
process holds the guild's catalogue in memory. When another process changes the
guild's data (its previous owner during a re-layout, a cluster-wide job), the
serving process hears of it (``Store.watch_guild_changes``, PostgreSQL NOTIFY) and
reloads the guild from the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.cluster import running_cluster_world, running_shard_process

PATIENCE = 30.0
pytestmark = pytest.mark.postgresql_only


async def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (a change travels through the server: no event to await)."""
    async with asyncio.timeout(PATIENCE):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_change_by_another_process_reaches_the_one_serving_the_guild(
    tmp_path: Path,
) -> None:
    async with (
        running_cluster_world(tmp_path) as world,
        running_shard_process(world, "0-1") as serving,
        running_shard_process(world, "2-3") as other,
    ):
        guild = world.guilds_of("0-1")[0]
        added = await world.discord.invoke(
            guild, world.admins[guild.id], "setplaylist", options={"playlist": world.playlist_id}
        )
        await added.wait_final(lambda m: "Added" in (m.content or ""), timeout=15.0)
        assert len(serving.catalogues.get(guild.id)) == 30
        serving.catalogues_loaded.clear()

        # The other process changes the guild's data: its settings, then its sources.
        await other.store.update_guild_settings(guild.id, alpha=0.25)
        await until(lambda: guild.id in serving.catalogues_loaded)
        assert (await serving.store.get_guild_settings(guild.id)).alpha == 0.25
        assert await other.store.remove_source(guild.id, world.playlist_id)
        await until(lambda: len(serving.catalogues.get(guild.id)) == 0)

        # Nothing of it for the process that made the change, nor for its own guilds.
        assert guild.id not in other.catalogues_loaded
        assert set(serving.catalogues_loaded) == {guild.id}
