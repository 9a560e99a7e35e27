"""Discord embeds and short texts for the bot's replies."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.render import rating_scheme
from bot.render.discord_limits import (
    AUTOCOMPLETE_CHOICES,
    CHOICE_NAME,
    CHOICE_VALUE,
    EMBED_DESCRIPTION,
    EMBED_FIELD_VALUE,
    EMBED_TITLE,
    MESSAGE_CONTENT,
    clamp,
    fit_embed,
)
from bot.render.untrusted_text import code, inline, plain, spotify_link
from bot.services.recommending import RecommendOutcome
from bot.store.guild_settings import GuildSettings
from bot.store.models import PlaylistSource, RatedTrack
from recommender.progress import IngestProgress, Stage
from recommender.query import Steering
from recommender.track import Track

ACCENT = discord.Colour(0x1DB954)  # Spotify green reads well on dark and light themes
AUTOCOMPLETE_LIMIT = AUTOCOMPLETE_CHOICES
CHOICE_NAME_LIMIT = CHOICE_NAME
# Per-piece budgets: ten suggestion lines (link ~55 + name + artists + reason +
# numbers, about 360 characters at most each) stay under the 4,096 description.
NAME_WIDTH = 60
ARTISTS_WIDTH = 50
REASON_WIDTH = 120
SOURCE_NAME_WIDTH = 100
TITLE_NAME_WIDTH = 200
LINE_WIDTH = 300
SPOTIFY_ID_WIDTH = 40  # a Spotify id is 22 characters; an uploaded CSV's may be longer
SEED_NAME_WIDTH = 50
SEED_ARTISTS_WIDTH = 40
ASKED_WIDTH = 200
# Above the suggestions: the seed's artists, notes and the steering line (at most
# INTRO_BUDGET). A suggestion line at the widths above takes up to ~410 characters
# (emoji, link, artists, year, reason, similarity, steered values); when ten of them
# do not fit beside the intro they are redrawn at NARROW_WIDTHS (name, artists,
# reason), ~300 at most, so all ten always fit Discord's 4,096.
INTRO_BUDGET = 900
NARROW_WIDTHS = (36, 24, 60)


def track_label(track: Track, width: int = CHOICE_NAME_LIMIT) -> str:
    """``Title — Artists (Year)`` in at most ``width`` characters (autocomplete choices)."""
    year = f" ({track.year})" if track.year else ""
    name = plain(track.name, max(width - len(year), 10))
    room = width - len(name) - len(year) - len(" — ")
    artists = f" — {plain(track.artist_line, room)}" if track.artists and room >= 12 else ""
    return plain(f"{name}{artists}{year}", width)


def song_choices(tracks: list[Track]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for tracks: at most 25, names and values 1-100 characters."""
    return [
        app_commands.Choice(name=track_label(track), value=track.id)
        for track in tracks
        if 1 <= len(track.id) <= CHOICE_VALUE
    ][:AUTOCOMPLETE_CHOICES]


def playlist_choices(sources: list[PlaylistSource], typed: str) -> list[app_commands.Choice[str]]:
    """Autocomplete choices for the guild's sources whose name contains what was typed."""
    wanted = typed.casefold()
    return [
        app_commands.Choice(name=plain(source.display_name, CHOICE_NAME), value=source.key)
        for source in sources
        if wanted in source.display_name.casefold() and 1 <= len(source.key) <= CHOICE_VALUE
    ][:AUTOCOMPLETE_CHOICES]


def fit_lines(lines: list[str], limit: int) -> str:
    """Whole lines joined within ``limit``; the last says "… and N more" when some are left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        ending = len(f"\n… and {len(lines) - index - 1} more")
        if used + len(line) + 1 + ending > limit:
            break
        kept.append(line)
        used += len(line) + 1
    if not kept:
        return clamp(text, limit)
    return "\n".join([*kept, f"… and {len(lines) - len(kept)} more"])


def seed_line(track: Track) -> str:
    """One seed song as the answer names it: linked title, artists, year, Spotify id."""
    year = f" ({track.year})" if track.year else ""
    artists = f" — {inline(track.artist_line, SEED_ARTISTS_WIDTH)}" if track.artists else ""
    link = spotify_link(track.name, track.url, SEED_NAME_WIDTH)
    return f"• {link}{artists}{year} · {code(track.id, SPOTIFY_ID_WIDTH)}"


def recommendation_embed(outcome: RecommendOutcome) -> discord.Embed:
    """The /recommend answer: the seeds, numbered suggestions with what earned them, how to rate.

    Every suggestion stays in the embed whatever the names (its rating reactions are
    under the message): when the lines would not fit, they are rendered narrower.
    """
    embed, header = _answer_heading(outcome)
    steered = [f"-# Steered: {inline(outcome.asked, ASKED_WIDTH)}"] if outcome.asked else []
    top = [*header, *steered, *(f"-# {note}" for note in outcome.notes)]
    intro = fit_lines(top, INTRO_BUDGET) if top else ""
    room = EMBED_DESCRIPTION - len(intro) - 1
    lines = _suggestion_lines(outcome, NAME_WIDTH, ARTISTS_WIDTH, REASON_WIDTH)
    if len("\n".join(lines)) > room:
        lines = _suggestion_lines(outcome, *NARROW_WIDTHS)
    embed.description = "\n".join([intro, fit_lines(lines, room)] if intro else lines)
    if len(outcome.seeds) > 1:
        embed.add_field(
            name="Your songs",
            value=fit_lines([seed_line(seed) for seed in outcome.seeds], EMBED_FIELD_VALUE),
            inline=False,
        )
    footer = rating_scheme.legend(len(outcome.suggestions))
    if outcome.mode != "favourites":
        footer += (
            f"\nalpha {outcome.alpha:.2f} weighs sounding alike against recent & popular; "
            "playlists together and likes here are added on top · "
            f"{outcome.catalogue_size} tracks in this server"
        )
    embed.set_footer(text=footer)
    return fit_embed(embed)


def _answer_heading(outcome: RecommendOutcome) -> tuple[discord.Embed, list[str]]:
    """The embed with its title, and the lines under it that name a single seed."""
    seeds = outcome.seeds
    if len(seeds) == 1:
        seed = seeds[0]
        embed = discord.Embed(
            title=f"Because you like {inline(seed.name, TITLE_NAME_WIDTH)}",
            url=seed.url,
            colour=ACCENT,
        )
        by = f"by {inline(seed.artist_line, LINE_WIDTH)} · " if seed.artists else ""
        return embed, [f"{by}Spotify {code(seed.id, SPOTIFY_ID_WIDTH)}"]
    if seeds:  # named one by one in a field
        return discord.Embed(title=f"Because you like these {len(seeds)} songs", colour=ACCENT), []
    if outcome.mode == "profile":
        return discord.Embed(title="Picked for you", colour=ACCENT), []
    return discord.Embed(title="This server's favourites", colour=ACCENT), []


def _suggestion_lines(
    outcome: RecommendOutcome, name_width: int, artists_width: int, reason_width: int
) -> list[str]:
    lines = []
    for suggestion, reason in zip(outcome.suggestions, outcome.reasons, strict=True):
        track = suggestion.track
        position = suggestion.rank - 1
        like, dislike = rating_scheme.LIKE_EMOJIS[position], rating_scheme.DISLIKE_EMOJIS[position]
        year = f" ({track.year})" if track.year else ""
        artists = f" — {inline(track.artist_line, artists_width)}" if track.artists else ""
        # What earned the place, from the engine's score parts: its reasons say which
        # (sound, taste, playlists together, likes here, steering, recent & popular);
        # the one number shown is how alike it sounds, never the 0-1 popularity weight.
        alike = f" · sounds {suggestion.similarity:.0%} alike" if suggestion.similarity > 0 else ""
        steered = steered_values(suggestion.track, outcome.steering)
        # No bold around the link: a "**" in a name must not pair with the bot's own.
        lines.append(
            f"{like} {dislike} {spotify_link(track.name, track.url, name_width)}{artists}{year}\n"
            f"-# {inline(reason, reason_width)}{alike}{steered}"
        )
    return lines


def steered_values(track: Track, steering: Steering | None) -> str:
    """What a suggestion has of what was steered for, e.g. " · energy 0.82 · 124 BPM".

    The track's own values (Spotify's 0-1 features, its tempo, Spotify's 0-100
    popularity when exploring), so a member can see the steering at work.
    """
    if steering is None:
        return ""
    features = track.features or {}
    parts = [f"{name} {features[name]:.2f}" for name in steering.targets if name in features]
    if steering.tempo is not None and "tempo" in features:
        parts.append(f"{features['tempo']:.0f} BPM")
    if steering.exploration != "balanced" and track.popularity is not None:
        parts.append(f"Spotify popularity {track.popularity}")
    return "".join(f" · {part}" for part in parts)


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
        # The mention is built from an id (renders as a name; nobody is pinged).
        lines.append(
            f"**{inline(source.display_name, SOURCE_NAME_WIDTH)}** ({kind}) — "
            f"{source.track_count} tracks, {source.featureless_count} without features · "
            f"added by <@{int(source.added_by)}>, updated {when}"
        )
    embed.description = fit_lines(lines, EMBED_DESCRIPTION)
    embed.set_footer(text=f"{len(sources)} of {max_sources} playlists")
    return fit_embed(embed)


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
        track = rated.track
        artists = (
            f" — {inline(track.artist_line, ARTISTS_WIDTH)}" if track and track.artists else ""
        )
        lines.append(f"{mark} {inline(rated.name, NAME_WIDTH)}{artists}")
    embed.description = fit_lines(lines, EMBED_DESCRIPTION)
    if total > len(ratings):
        embed.set_footer(text=f"Showing the newest {len(ratings)} of {total}.")
    return fit_embed(embed)


def summary_text(title: str, lines: list[str]) -> str:
    """A short multi-line message: a bold title, then one fact per line.

    ``title`` and ``lines`` are markdown the bot composed, with every untrusted part
    already rendered by :mod:`bot.render.untrusted_text`; lines that do not fit Discord's
    2,000 characters end in "… and N more".
    """
    head = f"**{clamp(title, EMBED_TITLE)}**"
    body = fit_lines([f"• {line}" for line in lines], MESSAGE_CONTENT - len(head) - 1)
    return f"{head}\n{body}" if body else head


def source_added_text(source: PlaylistSource, lines: list[str]) -> str:
    """The /setplaylist result: the playlist's name, its size and what happened."""
    title = f"Added {inline(source.display_name, SOURCE_NAME_WIDTH)}: {source.track_count} tracks"
    return summary_text(title, lines)


def source_removed_text(source: PlaylistSource) -> str:
    """The /removeplaylist answer."""
    return f"Removed **{inline(source.display_name, SOURCE_NAME_WIDTH)}**."


def settings_embed(title: str, settings: GuildSettings) -> discord.Embed:
    """The /settings answer."""
    embed = discord.Embed(title=title, colour=ACCENT)
    cap = str(settings.max_per_artist) if settings.max_per_artist else "no limit"
    embed.description = "\n".join(
        [
            f"**alpha** {settings.alpha:.2f}: sounding alike (1) against recent & "
            "popular (0); the two below are added on top",
            f"**playlist weight** {settings.playlist_weight:.2f}: for tracks often in this "
            "server's playlists together with the song (0 = off; needs two or more playlists)",
            f"**liked here weight** {settings.liked_here_weight:.2f}: for tracks the members "
            "who liked the song also liked (0 = off)",
            f"**popularity half-life** {settings.popularity_half_life_days / 365.25:.1f} years",
            f"**diversity** {settings.diversity:.2f} · **max per artist** {cap}",
            f"**suggestions** {settings.default_count}",
        ]
    )
    return fit_embed(embed)


def progress_text(progress: IngestProgress) -> str:
    """One progress line for a step of an import or a refresh."""
    if progress.stage is Stage.SOURCE:
        name = inline(progress.source or "", 100)
        return f"Refreshing {progress.done}/{progress.total}: {name}…"
    if progress.stage is Stage.PLAYLIST:
        what = "Reading the playlist"
    elif progress.stage is Stage.FEATURES:
        what = f"Looking up audio features ({inline(progress.source or '?', 60)})"
    elif progress.stage is Stage.POPULARITY:
        what = f"Looking up popularity ({inline(progress.source or '?', 60)})"
    else:
        what = "Finishing"
    if progress.total > 0:
        return f"{what}: {progress.done}/{progress.total}…"
    return f"{what}…"
