"""Never silently arbitrary, through the real bot: when nothing in a server's catalogue
sounds close to the seed, the answer says so and lists the closest by sound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.world import recommend_answer, running_music_bot, running_world
from tests.fakes.discord import FakeAttachment

HEADER = (
    "Track URI,Track Name,Artist Name(s),Popularity,Duration (ms),Danceability,Energy,Key,"
    "Loudness,Mode,Speechiness,Acousticness,Instrumentalness,Liveness,Valence,Tempo\n"
)
NOTE = "Nothing in this server's catalogue sounds close to"


def _catalogue_csv() -> bytes:
    """Forty near-identical dance tracks and one quiet, slow, spoken outlier."""
    rows = [
        f"spotify:track:{n:022d},Club Song {n},Band {n},60,200000,"
        f"{0.80 + n / 1000:.3f},{0.90 - n / 1000:.3f},7,-5.0,1,0.04,0.05,0.0,0.10,"
        f"{0.85 + n / 2000:.4f},{126 + n / 10:.1f}\n"
        for n in range(1, 41)
    ]
    rows.append(
        f"spotify:track:{99:022d},Lonely Outlier,Hermit,10,200000,"
        "0.05,0.02,0,-40.0,0,0.90,0.99,0.95,0.90,0.02,60.0\n"
    )
    return (HEADER + "".join(rows)).encode()


def _text(message: Any) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_a_seed_nothing_sounds_like_gets_the_closest_marked_as_such(
    tmp_path: Path,
) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        upload = FakeAttachment("club.csv", _catalogue_csv())
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"file": upload}
        )
        await handle.wait_final(lambda m: "Added" in (m.content or ""))

        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Lonely Outlier"}
        )
        outlier = _text(await recommend_answer(handle))
        assert NOTE in outlier and "Lonely Outlier" in outlier
        assert "Club Song" in outlier  # still an answer: the closest ones, marked

        # The contrast: a seed with close neighbours gets an ordinary answer.
        handle = await world.discord.invoke(
            world.guild, world.member, "recommend", options={"song": "Club Song 7"}
        )
        ordinary = _text(await recommend_answer(handle))
        assert "Club Song" in ordinary and NOTE not in ordinary
