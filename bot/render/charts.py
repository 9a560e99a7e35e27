"""PNG charts for Discord: radar charts of audio features and the catalogue overview.

Pure functions from plain data to PNG bytes (no Discord, no store), so the docs
script and the tests render exactly what the bot attaches. They are synchronous
and CPU-bound: the bot calls them through :func:`render`, which runs them in a
worker thread so the event loop keeps answering interactions meanwhile.

Readability on Discord: the background is Discord's dark-theme message colour
(``#2b2d31``) with light text, figures are 800x600 pixels, and the only font is
DejaVu Sans, which ships inside matplotlib (nothing to install on a bare server).

Feature axes are on [0, 1]. Seven of Spotify's audio features already are;
``tempo`` and ``loudness`` are mapped linearly from the fixed ranges in
:data:`FIXED_RANGES` and clipped (see that constant for why those ranges).
"""

from __future__ import annotations

import asyncio
import functools
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image  # a matplotlib dependency

from bot.render.untrusted_text import plain

# Headless: never try to open a window on a server. The charts only use Figure and
# its Agg canvas, never pyplot, so the backend choice is a safety net.
matplotlib.use("Agg")

RADAR_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "valence",
    "tempo",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
)
FIXED_RANGES: dict[str, tuple[float, float]] = {
    # Nearly all popular music sits between 60 and 200 BPM; 40-220 leaves headroom
    # so a slow ballad and a drum-and-bass track do not both pin to an edge.
    "tempo": (40.0, 220.0),
    # Mastered music is rarely quieter than -30 dB LUFS-ish (Spotify's loudness);
    # the documented -60 dB floor would squash every real track into the top half.
    "loudness": (-30.0, 0.0),
}

BACKGROUND = "#2b2d31"  # Discord dark theme, message area
PANEL = "#313338"
TEXT = "#dbdee1"
MUTED = "#949ba4"
GRID = "#4e5058"
SEED_COLOUR = "#1db954"  # Spotify green, as the embeds' accent
LIKED_COLOUR = "#1db954"
DISLIKED_COLOUR = "#f23f43"
BASELINE_COLOUR = "#949ba4"
SUGGESTION_COLOURS = (
    "#5865f2", "#fee75c", "#eb459e", "#57f287", "#3ba5ff",
    "#ff8a3d", "#c27cff", "#00d1c1", "#ff6b6b", "#b5e853",
)  # fmt: skip
WIDTH_PX, HEIGHT_PX, DPI = 800, 600, 100
FONT = "DejaVu Sans"
LABEL_WIDTH = 32

# matplotlib keeps global state (font cache, text layout caches) that is not
# documented as thread-safe; renders are serialised, which is still off the loop.
_RENDER_LOCK = threading.Lock()
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")

P = ParamSpec("P")
T = TypeVar("T")


async def render(renderer: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a chart function in a worker thread (matplotlib takes tens of milliseconds)."""
    # A private one-thread pool: renders are serialised anyway, and queued charts in
    # the default pool would hold every worker, stalling the engine's to_thread calls.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_EXECUTOR, functools.partial(renderer, *args, **kwargs))


def normalise(features: Mapping[str, float]) -> list[float]:
    """The :data:`RADAR_FEATURES` of one track on [0, 1], in axis order."""
    values = []
    for name in RADAR_FEATURES:
        value = float(features[name])
        low, high = FIXED_RANGES.get(name, (0.0, 1.0))
        values.append(min(1.0, max(0.0, (value - low) / (high - low))))
    return values


def mean_profile(vectors: Sequence[Mapping[str, float]]) -> list[float] | None:
    """The mean of the normalised vectors, or ``None`` when there are none."""
    rows = [normalise(v) for v in vectors]
    if not rows:
        return None
    return [sum(column) / len(rows) for column in zip(*rows, strict=True)]


@dataclass(frozen=True)
class RadarSeries:
    """One polygon on a radar chart."""

    label: str
    values: list[float]
    colour: str
    width: float = 1.5
    fill: float = 0.0
    dashed: bool = False


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    # Labels are names from outside: one clean line (no bidi tricks or line breaks).
    text = plain(text, width, break_links=False)
    # A "$" would start matplotlib's mathtext ("Joey Bada$$" failed to draw).
    return text.replace("$", r"\$")


def _figure() -> Figure:
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=BACKGROUND)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # A fixed canvas size (no bbox_inches="tight") keeps every chart exactly 800x600.
    figure.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    # Antialiased lines make a true-colour PNG of ~150 KB; a 256-colour palette
    # looks the same on a flat background and is three to four times smaller.
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def radar_png(title: str, series: Sequence[RadarSeries], *, subtitle: str = "") -> bytes:
    """A radar chart of ``series`` over :data:`RADAR_FEATURES`, with a legend on the right."""
    with _RENDER_LOCK, matplotlib.rc_context({"font.family": FONT}):
        figure = _figure()
        axes = figure.add_axes((0.11, 0.1, 0.44, 0.7), projection="polar")
        axes.set_facecolor(PANEL)
        angles = [2 * math.pi * i / len(RADAR_FEATURES) for i in range(len(RADAR_FEATURES))]
        closed = [*angles, angles[0]]
        for item in series:
            values = [*item.values, item.values[0]]
            axes.plot(
                closed,
                values,
                color=item.colour,
                linewidth=item.width,
                linestyle="--" if item.dashed else "-",
                label=_short(item.label),
                zorder=3 if item.fill else 2,  # filled (main) series on top
            )
            if item.fill:
                axes.fill(closed, values, color=item.colour, alpha=item.fill)
        axes.set_ylim(0, 1)
        axes.set_xticks(angles)
        axes.set_xticklabels(RADAR_FEATURES, color=TEXT, fontsize=9)
        axes.set_yticks([0.25, 0.5, 0.75, 1.0])
        axes.set_yticklabels([], color=MUTED)
        axes.tick_params(axis="x", pad=6)
        axes.grid(color=GRID, linewidth=0.8)
        axes.spines["polar"].set_color(GRID)
        figure.text(0.04, 0.94, _short(title, 60), color=TEXT, fontsize=15, weight="bold")
        if subtitle:
            figure.text(0.04, 0.895, _short(subtitle, 90), color=MUTED, fontsize=10)
        legend = figure.legend(
            loc="center left",
            bbox_to_anchor=(0.62, 0.47),
            frameon=False,
            fontsize=9,
            labelcolor=TEXT,
            handlelength=1.6,
        )
        legend.set_in_layout(False)
        figure.text(
            0.62,
            0.05,
            "0 = centre, 1 = edge; tempo 40-220 BPM\nand loudness -30-0 dB scaled to 0-1",
            color=MUTED,
            fontsize=8,
        )
        return _png(figure)


def recommendation_chart(
    seed_label: str | None,
    seed_features: Mapping[str, float] | None,
    suggestions: Sequence[tuple[str, Mapping[str, float] | None]],
) -> bytes | None:
    """The /recommend radar: the seed (bold, filled) against each suggestion.

    ``suggestions`` are ``(label, features)`` in rank order; featureless ones are
    left out. ``None`` when nothing has features (nothing to draw).
    """
    series: list[RadarSeries] = []
    if seed_features is not None:
        series.append(
            RadarSeries(
                f"seed: {seed_label or 'your song'}",
                normalise(seed_features),
                SEED_COLOUR,
                width=3.0,
                fill=0.25,
            )
        )
    for position, (label, features) in enumerate(suggestions, start=1):
        if features is None:
            continue
        colour = SUGGESTION_COLOURS[(position - 1) % len(SUGGESTION_COLOURS)]
        series.append(RadarSeries(f"{position}. {label}", normalise(features), colour, width=1.2))
    if not series:
        return None
    title = "How the suggestions sound" if seed_features is None else "Seed vs suggestions"
    subtitle = f"audio features of {sum(1 for s in suggestions if s[1] is not None)} suggestions"
    return radar_png(title, series, subtitle=subtitle)


def profile_chart(
    liked: Sequence[Mapping[str, float]],
    disliked: Sequence[Mapping[str, float]],
    baseline: Sequence[Mapping[str, float]] = (),
) -> bytes | None:
    """A member's taste: mean features of liked vs disliked tracks (and the server's mean)."""
    series: list[RadarSeries] = []
    if (mean := mean_profile(baseline)) is not None:
        series.append(RadarSeries("this server's catalogue", mean, BASELINE_COLOUR, dashed=True))
    if (mean := mean_profile(disliked)) is not None:
        series.append(
            RadarSeries(f"disliked ({len(disliked)})", mean, DISLIKED_COLOUR, width=2.2, fill=0.15)
        )
    if (mean := mean_profile(liked)) is not None:
        series.append(
            RadarSeries(f"liked ({len(liked)})", mean, LIKED_COLOUR, width=2.8, fill=0.25)
        )
    if not liked and not disliked:
        return None
    return radar_png("Your taste", series, subtitle="mean audio features of what you rated")


@dataclass(frozen=True)
class CatalogueStats:
    """What /stats draws (plain numbers; built by :mod:`bot.services.insights`)."""

    tracks_by_source: list[tuple[str, int]]
    feature_sources: dict[str, int]
    featureless: int
    decades: dict[int, int]
    top_liked: list[tuple[str, int]]
    total_tracks: int
    raters: list[tuple[int, int]] = field(default_factory=list)


def _style(axes: Axes, title: str) -> None:
    axes.set_facecolor(PANEL)
    axes.set_title(title, color=TEXT, fontsize=11, loc="left", pad=6)
    axes.tick_params(colors=TEXT, labelsize=8)
    for spine in axes.spines.values():
        spine.set_color(GRID)


def _barh(axes: Axes, items: Sequence[tuple[str, int]], colour: str, empty: str) -> None:
    if not items:
        axes.text(
            0.5, 0.5, empty, color=MUTED, ha="center", va="center",
            transform=axes.transAxes, fontsize=9,
        )  # fmt: skip
        axes.set_xticks([])
        axes.set_yticks([])
        return
    labels = [_short(label, 24) for label, _ in items][::-1]
    values = [value for _, value in items][::-1]
    axes.barh(range(len(values)), values, color=colour)
    axes.set_yticks(range(len(values)))
    axes.set_yticklabels(labels)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def stats_chart(stats: CatalogueStats) -> bytes:
    """The /stats overview: sources, feature coverage, decades, most liked tracks."""
    with _RENDER_LOCK, matplotlib.rc_context({"font.family": FONT}):
        figure = _figure()
        grid = figure.add_gridspec(
            2, 2, left=0.2, right=0.97, top=0.86, bottom=0.08, wspace=0.55, hspace=0.45
        )
        figure.text(
            0.03, 0.93, f"This server's catalogue: {stats.total_tracks} tracks",
            color=TEXT, fontsize=15, weight="bold",
        )  # fmt: skip

        sources = figure.add_subplot(grid[0, 0])
        _style(sources, "Tracks by playlist")
        _barh(sources, stats.tracks_by_source[:6], SEED_COLOUR, "no playlists yet")

        coverage = figure.add_subplot(grid[0, 1])
        _style(coverage, "Audio features from")
        covered = sorted(stats.feature_sources.items(), key=lambda kv: -kv[1])[:5]
        _barh(coverage, [*covered, ("none", stats.featureless)], "#5865f2", "no tracks")

        decades = figure.add_subplot(grid[1, 0])
        _style(decades, "Release decades")
        if stats.decades:
            keys = sorted(stats.decades)
            decades.bar([f"{d}s" for d in keys], [stats.decades[d] for d in keys],
                        color="#fee75c")  # fmt: skip
            decades.yaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            _barh(decades, [], "#fee75c", "no release dates")

        liked = figure.add_subplot(grid[1, 1])
        _style(liked, "Most liked here")
        _barh(liked, stats.top_liked[:6], "#eb459e", "no likes yet")
        return _png(figure)
