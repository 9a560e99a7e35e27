"""The /recommend answer's embed: seeds, what earned each suggestion, steering, limits."""

from __future__ import annotations

import re

from bot.render import rendering
from bot.render.steering_choices import Picks
from bot.render.untrusted_text import inline
from bot.services.recommending import RecommendOutcome
from bot.store.guild_settings import GuildSettings
from recommender.answer import Recommendation, ScoreBreakdown
from recommender.query import Steering
from recommender.track import Track
from tests.fakes.discord import limits

HOSTILE = (
    "**Free Nitro**](https://evil.example) [x @everyone <@123> ||spoiler|| ` # "
    + "\u200b\u202e" * 50
    + "x" * 5000
)
LINK = re.compile(r"\]\((https://open\.spotify\.com/track/[0-9A-Za-z]{22})\)")


def _track(index: int, name: str = "", **features: float) -> Track:
    values = {
        "danceability": 0.5, "energy": 0.5, "key": 1.0, "loudness": -7.0, "mode": 1.0,
        "speechiness": 0.05, "acousticness": 0.2, "instrumentalness": 0.0,
        "liveness": 0.1, "valence": 0.5, "tempo": 120.0, **features,
    }  # fmt: skip
    return Track(
        id=f"{index:022d}",
        name=name or f"Song {index}",
        artists=(name or f"Artist {index}", HOSTILE),
        release_date="1994",
        release_date_precision="year",
        popularity=40 + index,
        features=values,
    )


def _suggestion(rank: int, track: Track, reason: str = "close in energy") -> Recommendation:
    return Recommendation(
        rank=rank,
        row=rank,
        track=track,
        score=0.9,
        similarity=0.81,
        recency_popularity=0.2,
        breakdown=ScoreBreakdown(sound=0.7, recent_popular=0.1, steer=0.1),
        reasons=(reason,),
    )


def _outcome(seeds: int, **kw: object) -> RecommendOutcome:
    return RecommendOutcome(
        mode="song",
        seeds=tuple(_track(100 + i, HOSTILE) for i in range(seeds)),
        suggestions=[_suggestion(r, _track(r, HOSTILE), HOSTILE) for r in range(1, 11)],
        alpha=0.8,
        catalogue_size=1234,
        **kw,  # type: ignore[arg-type]
    )


def test_ten_hostile_suggestions_five_hostile_seeds_and_steering_all_fit() -> None:
    picks = Picks(mood="chill", energy="high", tempo="fast", decade=1990, explore="adventurous")
    outcome = _outcome(
        # Notes arrive rendered (the service passes names through untrusted_text).
        5,
        notes=[inline(HOSTILE, 400)] * 4,
        steering=picks.steering(),
        asked=picks.describe(),
    )
    embed = rendering.recommendation_embed(outcome).to_dict()
    limits.check_message({"embeds": [embed]})  # raises Discord's 50035 if anything is over
    description = embed["description"]
    suggested = LINK.findall(description)
    # Every suggestion is shown (its reactions are under the message), each linked once.
    assert suggested == [f"https://open.spotify.com/track/{r:022d}" for r in range(1, 11)]
    # The suggestions come whole after the intro (only notes may be cut, with "… and N more").
    assert description.rstrip().endswith(f"Spotify popularity {41 + 9}")
    seeds = embed["fields"][0]
    assert seeds["name"] == "Your songs"
    assert len(LINK.findall(seeds["value"])) == 5
    for i in range(5):
        assert f"`{100 + i:022d}`" in seeds["value"]  # each seed's Spotify id
    assert "Steered: chill · high energy · fast (over 125 BPM) · 1990s · adventurous" in description
    for hostile in ("https://evil", "@everyone", "<@123>", "\u202e"):
        assert hostile not in str(embed)


def test_one_seed_is_named_in_the_title_with_its_artists_and_id() -> None:
    embed = rendering.recommendation_embed(_outcome(1)).to_dict()
    limits.check_message({"embeds": [embed]})
    assert embed["title"].startswith("Because you like ")
    assert embed["url"] == f"https://open.spotify.com/track/{100:022d}"
    assert f"`{100:022d}`" in embed["description"]
    assert "fields" not in embed
    assert len(LINK.findall(embed["description"])) == 10


def test_each_suggestion_shows_its_values_for_what_was_steered() -> None:
    steering = Steering(targets={"energy": 0.85}, tempo=(125.0, 220.0), exploration="familiar")
    loud = _track(1, "Loud", energy=0.91, tempo=140.0)
    outcome = RecommendOutcome(
        mode="song",
        seeds=(_track(100, "Seed"),),
        suggestions=[_suggestion(1, loud, "closer to the energy 0.85 you asked for")],
        alpha=0.8,
        catalogue_size=10,
        steering=steering,
        asked="high energy · fast (over 125 BPM) · familiar",
    )
    description = rendering.recommendation_embed(outcome).to_dict()["description"]
    line = description.splitlines()[-1]
    assert "closer to the energy 0.85 you asked for" in line
    assert "sounds 81% alike" in line
    assert "energy 0.91" in line and "140 BPM" in line and "Spotify popularity 41" in line
    # Without steering, no steered values.
    plain = rendering.recommendation_embed(_outcome(1)).to_dict()["description"]
    assert "BPM" not in plain and "Steered" not in plain


def test_settings_say_what_alpha_and_the_two_weights_do() -> None:
    settings = GuildSettings(alpha=0.7, playlist_weight=1.5, liked_here_weight=0.4)
    text = rendering.settings_embed("Settings", settings).to_dict()["description"]
    assert "popularity only" not in text and "sound only" not in text
    assert "**alpha** 0.70: sounding alike (1) against recent & popular (0)" in text
    assert "**playlist weight** 1.50" in text and "**liked here weight** 0.40" in text
