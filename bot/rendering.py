"""Discord embeds and short texts for the bot's replies."""

from __future__ import annotations

import discord

from bot import rating_scheme
from bot.recommending import RecommendOutcome
from bot.store.guild_settings import GuildSettings
from bot.store.models import PlaylistSource, RatedTrack
from recommender.track import Track

ACCENT = discord.Colour(0x1DB954)  # Spotify green reads well on dark and light themes
AUTOCOMPLETE_LIMIT = 25
CHOICE_NAME_LIMIT = 100


def track_label(track: Track, width: int = CHOICE_NAME_LIMIT) -> str:
    """``Title — Artists (Year)`` cut to ``width`` characters (autocomplete choices)."""
    year = f" ({track.year})" if track.year else ""
    artists = f" — {track.artist_line}" if track.artists else ""
    text = f"{track.name}{artists}{year}"
    return text if len(text) <= width else text[: width - 1] + "…"


def _link(track: Track) -> str:
    name = discord.utils.escape_markdown(track.name)[:80]
    return f"[{name}]({track.url})"


def recommendation_embed(outcome: RecommendOutcome) -> discord.Embed:
    """The /recommend answer: the seed, numbered suggestions with reasons, how to rate."""
    seed = outcome.seed
    if seed is not None:
        embed = discord.Embed(
            title=f"Because you like {seed.name}"[:256],
            url=seed.url,
            colour=ACCENT,
        )
        header = f"by {discord.utils.escape_markdown(seed.artist_line)}"
    elif outcome.mode == "profile":
        embed = discord.Embed(title="Picked for you", colour=ACCENT)
        header = ""
    else:
        embed = discord.Embed(title="This server's favourites", colour=ACCENT)
        header = ""
    lines = [header] if header else []
    lines += [f"-# {note}" for note in outcome.notes]
    for suggestion, reason in zip(outcome.suggestions, outcome.reasons, strict=True):
        track = suggestion.track
        position = suggestion.rank - 1
        like, dislike = rating_scheme.LIKE_EMOJIS[position], rating_scheme.DISLIKE_EMOJIS[position]
        year = f" ({track.year})" if track.year else ""
        artists = discord.utils.escape_markdown(track.artist_line)[:80]
        numbers = (
            f"sounds {suggestion.similarity:.0%} alike · popularity {suggestion.popularity:.0%}"
            if outcome.mode != "favourites"
            else f"popularity {suggestion.popularity:.0%}"
        )
        lines.append(
            f"{like} {dislike} **{_link(track)}** — {artists}{year}\n"
            f"-# {discord.utils.escape_markdown(reason)} · {numbers}"
        )
    embed.description = "\n".join(lines)[:4096]
    footer = rating_scheme.legend(len(outcome.suggestions))
    if outcome.mode != "favourites":
        footer += (
            f"\nalpha {outcome.alpha:.2f} (1 = sound only, 0 = popularity only) · "
            f"{outcome.catalogue_size} tracks in this server"
        )
    embed.set_footer(text=footer[:2048])
    return embed


def sources_embed(sources: list[PlaylistSource], max_sources: int) -> discord.Embed:
    """The /playlists answer."""
    embed = discord.Embed(title="This server's playlists", colour=ACCENT)
    if not sources:
        embed.description = "None yet. An admin can add one with `/setplaylist`."
        return embed
    lines = []
    for source in sources:
        kind = "Spotify" if source.kind == "spotify" else "CSV"
        when = discord.utils.format_dt(source.refreshed_at or source.added_at, "R")
        lines.append(
            f"**{discord.utils.escape_markdown(source.display_name)}** ({kind}) — "
            f"{source.track_count} tracks, {source.featureless_count} without features · "
            f"added by <@{source.added_by}>, updated {when}"
        )
    embed.description = "\n".join(lines)[:4096]
    embed.set_footer(text=f"{len(sources)} of {max_sources} playlists")
    return embed


def ratings_embed(ratings: list[RatedTrack], total: int) -> discord.Embed:
    """The /myratings answer."""
    embed = discord.Embed(title="Your ratings in this server", colour=ACCENT)
    if not ratings:
        embed.description = (
            "No ratings yet. React to a `/recommend` answer: "
            f"{rating_scheme.LIKE_EMOJIS[0]} likes, {rating_scheme.DISLIKE_EMOJIS[0]} dislikes."
        )
        return embed
    lines = []
    for rated in ratings:
        mark = "👍" if rated.rating.value > 0 else "👎"
        name = discord.utils.escape_markdown(rated.name)[:80]
        artists = f" — {rated.track.artist_line}" if rated.track else ""
        lines.append(f"{mark} {name}{discord.utils.escape_markdown(artists)[:60]}")
    embed.description = "\n".join(lines)[:4096]
    if total > len(ratings):
        embed.set_footer(text=f"Showing the newest {len(ratings)} of {total}.")
    return embed


def summary_text(title: str, lines: list[str]) -> str:
    """A short multi-line message: a bold title, then one fact per line."""
    body = "\n".join(f"• {line}" for line in lines)
    return f"**{title}**\n{body}"[:2000]


def settings_embed(title: str, settings: GuildSettings) -> discord.Embed:
    """The /settings answer."""
    embed = discord.Embed(title=title, colour=ACCENT)
    cap = str(settings.max_per_artist) if settings.max_per_artist else "no limit"
    embed.description = "\n".join(
        [
            f"**alpha** {settings.alpha:.2f} (1 = sound only, 0 = popularity only)",
            f"**popularity half-life** {settings.popularity_half_life_days / 365.25:.1f} years",
            f"**diversity** {settings.diversity:.2f} · **max per artist** {cap}",
            f"**suggestions** {settings.default_count}",
        ]
    )
    return embed
