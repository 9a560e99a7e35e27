"""Steering on /recommend (mood, energy, tempo, decade, explore) through the real bot.

Each control is checked by what the bot answered: the suggestions linked in the
embed, looked up in the guild's catalogue (their features, year, popularity), and
compared between two answers for the same seeds that differ only in that control.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from bot.client import MusicBot
from bot.render.steering_choices import DECADES
from recommender.features import FEATURE_NAMES
from tests.e2e.world import World, add_playlist, recommend_answer, running_music_bot, running_world

LINK = re.compile(r"\]\(https://open\.spotify\.com/track/([0-9A-Za-z]{22})\)")
TRACKS = 150


def _catalogue(bot: MusicBot, world: World) -> Any:
    catalogue = bot.catalogues.get(world.guild.id).catalogue  # type: ignore[attr-defined]
    assert catalogue is not None
    return catalogue


async def _answer(world: World, **options: Any) -> tuple[dict[str, Any], list[str]]:
    """The member's /recommend answer: its embed and the suggested track ids, in order."""
    handle = await world.discord.invoke(world.guild, world.member, "recommend", options=options)
    message = await recommend_answer(handle, timeout=15)
    assert not message.ephemeral, message.content
    embed = message.embeds[0]
    return embed, LINK.findall(embed["description"])


def _feature(catalogue: Any, ids: list[str], name: str) -> list[float]:
    column = FEATURE_NAMES.index(name)
    return [float(catalogue.features[catalogue.row_of(i), column]) for i in ids]


def _seeds(catalogue: Any, count: int) -> dict[str, str]:
    """``song``, ``song2``... options: the first tracks with features, as autocomplete gives."""
    rows = [r for r in range(len(catalogue)) if catalogue.has_features[r]][:count]
    names = ["song", *(f"song{i}" for i in range(2, count + 1))]
    return {name: catalogue.ids[row] for name, row in zip(names, rows, strict=True)}


async def test_the_steering_options_offer_named_choices(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world):
        options = {o["name"]: o for o in world.discord.command("recommend", world.guild)["options"]}
        assert [c["value"] for c in options["explore"]["choices"]] == [
            "familiar", "balanced", "adventurous",
        ]  # fmt: skip
        assert [c["value"] for c in options["energy"]["choices"]] == ["low", "medium", "high"]
        assert [c["value"] for c in options["decade"]["choices"]] == list(DECADES)
        assert {c["value"] for c in options["mood"]["choices"]} >= {"happy", "sad", "chill"}
        assert options["tempo"]["choices"][0]["name"] == "slow (under 95 BPM)"
        for name in ("mood", "energy", "tempo", "decade", "explore"):
            assert not options[name].get("required")


async def test_each_control_moves_the_answer_the_right_way(tmp_path: Path) -> None:
    async with running_world(tmp_path, TRACKS) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        catalogue = _catalogue(bot, world)
        one, three = _seeds(catalogue, 1), _seeds(catalogue, 3)

        # Energy: high gives more energetic suggestions than low, for one seed or three.
        for seeds in (one, three):
            high_embed, high = await _answer(world, **seeds, count=8, energy="high")
            _, low = await _answer(world, **seeds, count=8, energy="low")
            assert len(high) == len(low) == 8
            mean_high = statistics.mean(_feature(catalogue, high, "energy"))
            mean_low = statistics.mean(_feature(catalogue, low, "energy"))
            assert mean_high > mean_low + 0.2, (mean_high, mean_low)
            assert "Steered: high energy" in high_embed["description"]
            assert "energy 0." in high_embed["description"]  # each line shows its energy

        # Mood: happy is brighter (valence) than sad.
        _, happy = await _answer(world, **one, count=8, mood="happy")
        _, sad = await _answer(world, **one, count=8, mood="sad")
        assert statistics.mean(_feature(catalogue, happy, "valence")) > statistics.mean(
            _feature(catalogue, sad, "valence")
        )

        # Tempo and decade filter: every suggestion is inside the range asked for.
        embed, fast = await _answer(world, **three, count=5, tempo="fast")
        assert fast and all(t >= 125 for t in _feature(catalogue, fast, "tempo"))
        assert "BPM" in embed["description"]
        _, slow = await _answer(world, **three, count=5, tempo="slow")
        assert slow and all(t <= 95 for t in _feature(catalogue, slow, "tempo"))
        embed, nineties = await _answer(world, **one, count=5, decade=1990)
        years = [catalogue.track(catalogue.row_of(i)).year for i in nineties]
        assert years and all(1990 <= y <= 1999 for y in years), years
        assert "Steered: 1990s" in embed["description"]

        # Exploration: adventurous suggests less popular tracks than familiar.
        def popularity(ids: list[str]) -> float:
            return statistics.mean(float(catalogue.popularity[catalogue.row_of(i)]) for i in ids)

        embed, familiar = await _answer(world, **one, count=10, explore="familiar")
        _, adventurous = await _answer(world, **one, count=10, explore="adventurous")
        assert popularity(adventurous) < popularity(familiar) - 10
        assert "Spotify popularity" in embed["description"]


async def test_a_filter_nothing_matches_is_left_out_and_said(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world:
        # Nothing in this world is from the 1950s.
        for track in world.spotify.tracks.values():
            if track.release_date.startswith("195"):
                track.release_date, track.release_date_precision = "1975", "year"
        async with running_music_bot(world) as bot:
            await add_playlist(world, bot)
            embed, ids = await _answer(world, song="Halo", count=4, decade=1950)
            assert len(ids) == 4
            assert (
                "Nothing here is from the 1950s, so the decade was left out."
                in (embed["description"])
            )
            # Without a song (the server's favourites for a member with no ratings) too.
            embed, ids = await _answer(world, decade=1950, explore="adventurous")
            assert embed["title"] == "This server's favourites" and ids
            assert "Steered: 1950s · adventurous" in embed["description"]
            assert "the decade was left out" in embed["description"]


async def test_admins_weigh_playlists_together_and_likes_here(tmp_path: Path) -> None:
    async with running_world(tmp_path) as world, running_music_bot(world) as bot:
        await add_playlist(world, bot)
        declared = world.discord.command("settings", world.guild)["options"]
        ranges = {o["name"]: (o.get("min_value"), o.get("max_value")) for o in declared}
        assert ranges["playlist_weight"] == (0, 10) and ranges["liked_here_weight"] == (0, 5)

        # A second, small playlist: the seed and five others are "often together".
        catalogue = _catalogue(bot, world)
        ids = dict(zip(catalogue.names, catalogue.ids, strict=True))
        together = [ids[n] for n in ("Halo", "Wildfire", "Afterglow", "Daydream", "Heartbeat")]
        seed = ids["Golden Hour"]
        small = world.spotify.add_playlist([seed, *together], name="Tiny Mix")
        handle = await world.discord.invoke(
            world.guild, world.admin, "setplaylist", options={"playlist": small}
        )
        await handle.wait_final(lambda m: "Added" in (m.content or ""), timeout=15)

        async def answer_with(weight: float) -> tuple[str, list[str]]:
            handle = await world.discord.invoke(
                world.guild,
                world.admin,
                "settings",
                options={"playlist_weight": weight, "liked_here_weight": 1.5},
            )
            shown = await handle.wait_final(lambda m: bool(m.embeds))
            assert f"**playlist weight** {weight:.2f}" in shown.embeds[0]["description"]
            assert "**liked here weight** 1.50" in shown.embeds[0]["description"]
            embed, suggested = await _answer(world, song=seed, count=5)
            return embed["description"], suggested

        description, heavy = await answer_with(10.0)
        assert set(heavy) == set(together)
        assert description.count("often in playlists together with Golden Hour") == 5
        description, off = await answer_with(0.0)
        assert "often in playlists together" not in description
        assert set(off) != set(together)
        stored = await bot.store.get_guild_settings(world.guild.id)  # type: ignore[attr-defined]
        assert (stored.playlist_weight, stored.liked_here_weight) == (0.0, 1.5)
