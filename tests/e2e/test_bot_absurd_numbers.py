"""Absurd numbers through the real bot: a CSV upload and a Spotify playlist import cleanly."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.world import running_music_bot, running_world
from tests.fakes.discord import FakeAttachment

HEADER = (
    "Track URI,Track Name,Artist Name(s),Popularity,Duration (ms),Danceability,Energy,Key,"
    "Loudness,Mode,Speechiness,Acousticness,Instrumentalness,Liveness,Valence,Tempo\n"
)
FEATURES = "0.5,0.6,5,-7.0,1,0.05,0.2,0.0,0.1,0.4,120.0"


def _row(n: int, duration: str, popularity: str = "50") -> str:
    return f"spotify:track:{n:022d},Song {n},Band,{popularity},{duration},{FEATURES}\n"


async def test_a_csv_with_absurd_numbers_imports_and_the_summary_counts_them(
    tmp_path: Path,
) -> None:
    rows = [
        _row(1, "200000"),
        _row(2, "inf"),  # once: "Something went wrong"
        _row(3, "1e30"),  # once: SQLite INTEGER overflow
        _row(4, "-5"),
        _row(5, "NaN", popularity="1e30"),
    ]
    upload = FakeAttachment("absurd.csv", (HEADER + "".join(rows)).encode())
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        final = await handle.wait_final(lambda m: "Added" in (m.content or ""))

        assert "5 tracks" in final.content
        assert "5 impossible values dropped: duration 4, popularity 1" in final.content
        catalogue = bot.catalogues.get(world.guild.id).catalogue
        assert catalogue is not None and len(catalogue) == 5
        durations = {t.id: t.duration_ms for t in catalogue.tracks()}
        assert durations[f"{1:022d}"] == 200000
        assert [durations[f"{n:022d}"] for n in range(2, 6)] == [None] * 4


async def test_a_spotify_duration_of_1e20_no_longer_fails_the_playlist(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        first = world.spotify.playlists[world.playlist_id].entries[0].track_id
        assert first is not None
        world.spotify.tracks[first].duration_ms = 1e20  # type: ignore[assignment]
        async with running_music_bot(world) as bot:
            handle = await world.discord.invoke(
                world.guild, world.admin, "setplaylist", options={"playlist": world.playlist_id}
            )
            final = await handle.wait_final(lambda m: "Added" in (m.content or ""))

            assert "40 tracks" in final.content
            assert "1 impossible value dropped: duration 1" in final.content
            stored = await bot.store.get_tracks([first])
            assert stored[first].duration_ms is None
