"""Progress while fetching, and a failed refresh that keeps the previous catalogue."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.world import add_playlist, recommend_answer, running_music_bot, running_world
from tests.fakes._common import Faults
from tests.fakes.spotify import Entry


async def test_refresh_failing_after_the_first_pages_keeps_the_old_catalogue(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        old_ids = set(bot.catalogues.get(world.guild.id).catalogue.ids)
        # The playlist grows to several pages; Spotify then fails after the first two
        # requests of the refresh (the playlist and its first page).
        playlist = world.spotify.playlists[world.playlist_id]
        playlist.entries += [Entry("track", world.spotify.add_track()) for _ in range(260)]
        world.spotify.set_faults(Faults(quota_after=2, quota_retry_after=86_400))

        handle = await world.discord.invoke(world.guild, world.admin, "refreshplaylists")
        assert (await handle.wait_response()).deferred
        final = await handle.wait_final(lambda m: "Playlists refreshed" in m.content)
        assert "Club Classics" in final.content and "not refreshed" in final.content
        assert "kept the previous 40 tracks" in final.content
        assert "Traceback" not in final.content
        # Progress was shown while working (edits before the summary).
        assert any("Refreshing 1/1" in (edit.get("content") or "") for edit in final.history)

        # The old catalogue is still served, in memory and after a rebuild from SQLite.
        assert set(bot.catalogues.get(world.guild.id).catalogue.ids) == old_ids
        (source,) = await bot.store.list_sources(world.guild.id)
        assert source.track_count == 40
        await bot.catalogues.reload(world.guild.id)
        assert len(bot.catalogues.get(world.guild.id)) == 40
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Golden Hour", "count": 3}
        )
        answer = await recommend_answer(handle)
        assert answer.embeds and "Golden Hour" in answer.embeds[0]["title"]
