"""The /help embed: what the bot does, how to rate, admin commands, where data comes from."""

from __future__ import annotations

import discord

from bot.render import rating_scheme
from bot.render.discord_limits import fit_embed
from bot.render.rendering import ACCENT

MEMBER_COMMANDS = (
    ("/recommend song:", "songs from this server's playlists that sound like one you pick "
     "(up to five with song2..song5); steer with mood, energy, tempo, decade, explore; "
     "leave `song` empty for picks from your ratings"),
    ("Apps > Recommend songs like this", "on any message: the same for the Spotify "
     "links (or a song of this server) in it"),
    ("/profile", "your taste as a chart, and your top liked tracks (only you see it)"),
    ("/myratings", "your likes and dislikes here"),
    ("/playlists", "where this server's music comes from"),
    ("/stats", "what the catalogue holds and what people like"),
    ("/exportmyratings", "a CSV file of your ratings here"),
    ("/forgetme", "delete your ratings here (asks first)"),
)  # fmt: skip
ADMIN_COMMANDS = (
    ("/setplaylist", "add a Spotify playlist link, or attach an exported CSV"),
    ("/removeplaylist", "remove one"),
    ("/refreshplaylists", "fetch the Spotify playlists again"),
    (
        "/settings",
        "defaults for /recommend: alpha, playlist and liked-here weights, diversity, count...",
    ),
)


def _lines(commands: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f"`{name}` {text}" for name, text in commands)


def help_embed() -> discord.Embed:
    """The whole /help answer in one embed (well under Discord's 6,000 characters)."""
    first_like, last_like = rating_scheme.LIKE_EMOJIS[0], rating_scheme.LIKE_EMOJIS[-1]
    first_dislike = rating_scheme.DISLIKE_EMOJIS[0]
    last_dislike = rating_scheme.DISLIKE_EMOJIS[-1]
    embed = discord.Embed(
        title="Music recommendations from this server's playlists",
        colour=ACCENT,
        description=(
            "Admins add playlists; you ask `/recommend` and get tracks that *sound* "
            "alike (energy, mood, tempo...), blended with how popular they are. "
            "Your ratings tune what you get next, and only this server sees them."
        ),
    )
    embed.add_field(name="Commands", value=_lines(MEMBER_COMMANDS), inline=False)
    embed.add_field(
        name="How to rate",
        value=(
            f"Under each answer: {first_like}–{last_like} **like** the suggestion at that "
            f"position, {first_dislike}–{last_dislike} **dislike** it "
            f"({rating_scheme.LIKE_EMOJIS[1]} and {rating_scheme.DISLIKE_EMOJIS[1]} are both "
            "about suggestion 2). The later of a like and a dislike wins; remove your "
            "reaction to take the rating back."
        ),
        inline=False,
    )
    embed.add_field(name="For admins (Manage Server)", value=_lines(ADMIN_COMMANDS), inline=False)
    embed.add_field(
        name="Where the data comes from",
        value=(
            "Track lists and metadata from **Spotify**. Audio features come from Spotify "
            "where the bot's app may still read them, else from **ReccoBeats** and "
            "public **datasets** (Kaggle/TidyTuesday exports); tracks without features "
            "still count for popularity and ratings. Uploaded CSV exports bring their own."
        ),
        inline=False,
    )
    embed.set_footer(
        text="Privacy: /exportmyratings and /forgetme; if the bot leaves this server, "
        "its data here is deleted after a grace period."
    )
    return fit_embed(embed)
