"""The pictures behind /recommend, /profile and /stats: data from the store, PNGs off the loop.

Every chart here is optional: a rendering failure is logged and the caller sends
its embed without the picture, so a broken font or a matplotlib bug can never
fail a command.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import weakref
from dataclasses import dataclass

import numpy as np

from bot.render import charts
from bot.services.catalogues import CatalogueService
from bot.services.recommending import RecommendOutcome
from bot.store import Store
from bot.store.models import RatedTrack
from recommender.catalogue import Catalogue
from recommender.features import FEATURE_NAMES
from recommender.track import Track

log = logging.getLogger(__name__)

TOP_SHOWN = 10
DECADE_FLOOR = 1900  # earlier years in exports are data errors, not 19th-century pop


@dataclass(frozen=True)
class MemberProfile:
    """A member's ratings in one guild, split for /profile."""

    liked: list[RatedTrack]
    disliked: list[RatedTrack]

    @property
    def total(self) -> int:
        """How many ratings the member has here."""
        return len(self.liked) + len(self.disliked)


def _label(track: Track) -> str:
    return f"{track.name} — {track.artist_line}" if track.artists else track.name


def _features(rated: list[RatedTrack]) -> list[dict[str, float]]:
    return [r.track.features for r in rated if r.track is not None and r.track.features]


class InsightService:
    """Builds chart data and renders charts in a worker thread."""

    def __init__(self, store: Store, catalogues: CatalogueService) -> None:
        self._store = store
        self._catalogues = catalogues
        self._baselines: dict[int, tuple[weakref.ref[Catalogue], list[dict[str, float]]]] = {}

    async def recommendation_chart(self, outcome: RecommendOutcome) -> bytes | None:
        """The radar PNG for a /recommend answer, or ``None`` (nothing to draw, or it failed)."""
        seed = outcome.seed
        suggestions = [(_label(s.track), s.track.features) for s in outcome.suggestions]
        try:
            return await charts.render(
                charts.recommendation_chart,
                _label(seed) if seed else None,
                seed.features if seed else None,
                suggestions,
            )
        except Exception:
            log.exception("could not render the /recommend chart; sending the embed alone")
            return None

    async def member_profile(self, guild_id: int, user_id: int) -> MemberProfile:
        """The member's likes and dislikes here, newest first."""
        ratings = await self._store.list_member_ratings(guild_id, user_id)
        return MemberProfile(
            liked=[r for r in ratings if r.rating.value > 0],
            disliked=[r for r in ratings if r.rating.value < 0],
        )

    async def profile_chart(self, guild_id: int, profile: MemberProfile) -> bytes | None:
        """The member's taste radar (liked vs disliked vs the server), or ``None``."""
        catalogue = (await self._catalogues.ensure(guild_id)).catalogue
        baseline = await self._baseline(guild_id, catalogue) if catalogue is not None else []
        try:
            return await charts.render(
                charts.profile_chart,
                _features(profile.liked),
                _features(profile.disliked),
                baseline,
            )
        except Exception:
            log.exception("could not render the /profile chart; sending the embed alone")
            return None

    async def _baseline(self, guild_id: int, catalogue: Catalogue) -> list[dict[str, float]]:
        """The catalogue's mean radar values, computed once per catalogue off the loop.

        One pass over every track's features (100k at most a few tens of
        milliseconds in numpy, where building 100k ``Track`` records on the event
        loop took 0.9 s); cached until the guild's catalogue is rebuilt.
        """
        cached = self._baselines.get(guild_id)
        if cached is not None and cached[0]() is catalogue:
            return cached[1]
        mean = await asyncio.to_thread(catalogue_mean, catalogue)
        baseline = [mean] if mean is not None else []
        self._baselines[guild_id] = (weakref.ref(catalogue), baseline)
        return baseline

    async def catalogue_stats(self, guild_id: int) -> charts.CatalogueStats:
        """What the guild's catalogue holds and how members use it."""
        stored = await self._store.load_guild_catalogue(guild_id)
        sources = await self._store.list_sources(guild_id)
        by_source = sorted(
            ((s.display_name, len(stored.memberships.get(s.key, ()))) for s in sources),
            key=lambda item: -item[1],
        )
        # A loop over every track: in a worker thread, not on the event loop.
        feature_sources, decades, names = await asyncio.to_thread(_track_counts, stored.tracks)
        counts = await self._store.count_ratings(guild_id)
        liked = sorted(
            ((track_id, c.likes) for track_id, c in counts.items() if c.likes > 0),
            key=lambda item: (-item[1], names.get(item[0], item[0])),
        )[:TOP_SHOWN]
        if missing := [tid for tid, _ in liked if tid not in names]:
            # A liked track whose playlist was removed: still a favourite, name from the cache.
            names.update({t.id: t.name for t in (await self._store.get_tracks(missing)).values()})
        raters = collections.Counter(
            r.user_id for r in await self._store.list_guild_ratings(guild_id)
        )
        return charts.CatalogueStats(
            tracks_by_source=by_source,
            feature_sources=feature_sources,
            featureless=len(stored.tracks) - sum(feature_sources.values()),
            decades=decades,
            top_liked=[(names.get(tid, tid), likes) for tid, likes in liked],
            total_tracks=len(stored.tracks),
            raters=raters.most_common(TOP_SHOWN),
        )

    async def stats_chart(self, stats: charts.CatalogueStats) -> bytes | None:
        """The /stats overview PNG, or ``None`` if rendering failed."""
        try:
            return await charts.render(charts.stats_chart, stats)
        except Exception:
            log.exception("could not render the /stats chart; sending the embed alone")
            return None


def catalogue_mean(catalogue: Catalogue) -> dict[str, float] | None:
    """Feature values whose radar position is the mean radar position of the catalogue.

    :func:`bot.render.charts.mean_profile` clips each track to its axis before averaging;
    the same is done here column by column, and each mean is mapped back into the
    axis range so that the chart places it exactly there. ``None`` without features.
    """
    features = catalogue.features[catalogue.has_features]
    if features.shape[0] == 0:
        return None
    out: dict[str, float] = {}
    for name in charts.RADAR_FEATURES:
        low, high = charts.FIXED_RANGES.get(name, (0.0, 1.0))
        column = features[:, FEATURE_NAMES.index(name)]
        mean = float(np.clip((column - low) / (high - low), 0.0, 1.0).mean())
        out[name] = low + mean * (high - low)
    return out


def _track_counts(
    tracks: list[Track],
) -> tuple[dict[str, int], dict[int, int], dict[str, str]]:
    """Tracks per feature provider and per decade, and every track's name by id."""
    feature_sources: collections.Counter[str] = collections.Counter()
    decades: collections.Counter[int] = collections.Counter()
    for track in tracks:
        if track.features:
            feature_sources[_provider(track.feature_source)] += 1
        if track.year and track.year >= DECADE_FLOOR:
            decades[track.year // 10 * 10] += 1
    return dict(feature_sources), dict(decades), {t.id: t.name for t in tracks}


def _provider(source: str | None) -> str:
    """Group feature sources: providers by name, every uploaded file as "CSV files"."""
    if source in ("spotify", "reccobeats", "dataset"):
        return source
    if source and source.startswith("dataset"):
        return "dataset"
    return "CSV files" if source else "unknown"
