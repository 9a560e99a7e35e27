"""Embeds for /profile and /stats, and attaching a chart PNG to an embed."""

from __future__ import annotations

import io

import discord

from bot.render.charts import CatalogueStats
from bot.render.discord_limits import EMBED_DESCRIPTION, EMBED_FIELD_VALUE, fit_embed
from bot.render.rendering import ACCENT, ARTISTS_WIDTH, NAME_WIDTH, SOURCE_NAME_WIDTH, fit_lines
from bot.render.untrusted_text import inline, shorten_list, spotify_link
from bot.services.insights import MemberProfile

PROFILE_TOP = 10
MEMBER_NAME_WIDTH = 100


def with_chart(embed: discord.Embed, png: bytes | None, filename: str) -> list[discord.File]:
    """Show ``png`` as the embed's image; returns the files to send (none without a chart)."""
    if png is None:
        return []
    embed.set_image(url=f"attachment://{filename}")
    return [discord.File(io.BytesIO(png), filename=filename)]


def profile_embed(profile: MemberProfile, member_name: str) -> discord.Embed:
    """The /profile answer: counts and the newest liked tracks (the chart is the image)."""
    embed = discord.Embed(
        title=f"{inline(member_name, MEMBER_NAME_WIDTH)}'s taste here", colour=ACCENT
    )
    if profile.total == 0:
        embed.description = (
            "No ratings yet, so there is no profile to draw. React to a `/recommend` "
            "answer to like or dislike suggestions; `/help` explains how."
        )
        return embed
    lines = [f"**{len(profile.liked)}** liked · **{len(profile.disliked)}** disliked"]
    if profile.liked:
        lines.append("")
        lines.append("**Top liked tracks** (newest first)")
        for rated in profile.liked[:PROFILE_TOP]:
            track = rated.track
            if track is not None:
                artists = f" — {inline(track.artist_line, ARTISTS_WIDTH)}" if track.artists else ""
                lines.append(f"👍 {spotify_link(track.name, track.url, NAME_WIDTH)}{artists}")
            else:
                lines.append(f"👍 {inline(rated.name, NAME_WIDTH)}")
    embed.description = fit_lines(lines, EMBED_DESCRIPTION)
    embed.set_footer(text="Green: what you like · red: what you dislike · grey: this server")
    return fit_embed(embed)


def stats_embed(stats: CatalogueStats) -> discord.Embed:
    """The /stats answer: the numbers behind the chart, and the most active raters."""
    embed = discord.Embed(title="This server's catalogue", colour=ACCENT)
    if stats.total_tracks == 0:
        embed.description = "No music yet. An admin can add a playlist with `/setplaylist`."
        return embed
    with_features = stats.total_tracks - stats.featureless
    coverage = with_features / stats.total_tracks
    sources = shorten_list(
        [f"{inline(n, SOURCE_NAME_WIDTH)} ({c})" for n, c in stats.tracks_by_source], 1500
    )
    providers = ", ".join(
        f"{inline(n, SOURCE_NAME_WIDTH)} {c}" for n, c in sorted(stats.feature_sources.items())
    )
    lines = [
        f"**{stats.total_tracks}** tracks from {len(stats.tracks_by_source)} playlists: {sources}",
        f"**{coverage:.0%}** have audio features ({providers or 'none'}); "
        f"{stats.featureless} without still count for popularity and ratings",
    ]
    if stats.decades:
        peak = max(stats.decades, key=lambda d: stats.decades[d])
        lines.append(f"Most tracks are from the **{peak}s**")
    embed.description = fit_lines(lines, EMBED_DESCRIPTION)
    if stats.top_liked:
        liked = [
            f"{i}. {inline(name, NAME_WIDTH)} — {likes} 👍"
            for i, (name, likes) in enumerate(stats.top_liked[:5], start=1)
        ]
        embed.add_field(name="Most liked", value=fit_lines(liked, EMBED_FIELD_VALUE), inline=True)
    if stats.raters:
        # Mentions render as names; the bot's AllowedMentions.none() means nobody is pinged.
        raters = "\n".join(
            f"{i}. <@{int(user_id)}> — {count} ratings"
            for i, (user_id, count) in enumerate(stats.raters[:5], start=1)
        )
        embed.add_field(name="Most active raters", value=raters, inline=True)
    return fit_embed(embed)
