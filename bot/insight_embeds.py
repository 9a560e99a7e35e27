"""Embeds for /profile and /stats, and attaching a chart PNG to an embed."""

from __future__ import annotations

import io

import discord

from bot.charts import CatalogueStats
from bot.insights import MemberProfile
from bot.rendering import ACCENT

PROFILE_TOP = 10


def with_chart(embed: discord.Embed, png: bytes | None, filename: str) -> list[discord.File]:
    """Show ``png`` as the embed's image; returns the files to send (none without a chart)."""
    if png is None:
        return []
    embed.set_image(url=f"attachment://{filename}")
    return [discord.File(io.BytesIO(png), filename=filename)]


def profile_embed(profile: MemberProfile, member_name: str) -> discord.Embed:
    """The /profile answer: counts and the newest liked tracks (the chart is the image)."""
    embed = discord.Embed(title=f"{member_name}'s taste here"[:256], colour=ACCENT)
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
            name = discord.utils.escape_markdown(rated.name)[:80]
            if rated.track is not None:
                artists = discord.utils.escape_markdown(rated.track.artist_line)[:60]
                lines.append(f"👍 [{name}]({rated.track.url}) — {artists}")
            else:
                lines.append(f"👍 {name}")
    embed.description = "\n".join(lines)[:4096]
    embed.set_footer(text="Green: what you like · red: what you dislike · grey: this server")
    return embed


def stats_embed(stats: CatalogueStats) -> discord.Embed:
    """The /stats answer: the numbers behind the chart, and the most active raters."""
    embed = discord.Embed(title="This server's catalogue", colour=ACCENT)
    if stats.total_tracks == 0:
        embed.description = "No music yet. An admin can add a playlist with `/setplaylist`."
        return embed
    with_features = stats.total_tracks - stats.featureless
    coverage = with_features / stats.total_tracks
    sources = ", ".join(
        f"{discord.utils.escape_markdown(n)} ({c})" for n, c in stats.tracks_by_source
    )
    providers = ", ".join(f"{n} {c}" for n, c in sorted(stats.feature_sources.items()))
    lines = [
        f"**{stats.total_tracks}** tracks from {len(stats.tracks_by_source)} playlists: {sources}",
        f"**{coverage:.0%}** have audio features ({providers or 'none'}); "
        f"{stats.featureless} without still count for popularity and ratings",
    ]
    if stats.decades:
        peak = max(stats.decades, key=lambda d: stats.decades[d])
        lines.append(f"Most tracks are from the **{peak}s**")
    embed.description = "\n".join(lines)[:4096]
    if stats.top_liked:
        liked = "\n".join(
            f"{i}. {discord.utils.escape_markdown(name)[:80]} — {likes} 👍"
            for i, (name, likes) in enumerate(stats.top_liked[:5], start=1)
        )
        embed.add_field(name="Most liked", value=liked[:1024], inline=True)
    if stats.raters:
        # Mentions render as names; the bot's AllowedMentions.none() means nobody is pinged.
        raters = "\n".join(
            f"{i}. <@{user_id}> — {count} ratings"
            for i, (user_id, count) in enumerate(stats.raters[:5], start=1)
        )
        embed.add_field(name="Most active raters", value=raters[:1024], inline=True)
    return embed
