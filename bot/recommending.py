"""The /recommend use case: resolve the seed, rank the guild's catalogue, explain, remember."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bot.catalogues import CatalogueService, GuildCatalogue
from bot.errors import UserFacingError, upstream_message
from bot.rating_scheme import LIKE_EMOJIS, MAX_SUGGESTIONS
from bot.store import Store
from bot.store.guild_settings import GuildSettings
from bot.store.models import LIKE, RecommendationItem, RecommendationMessage
from bot.untrusted_text import inline, shorten_list
from recommender import reasons
from recommender.cooccurrence import CoOccurrence
from recommender.engine import NoFeaturesError, Recommendation, Recommender
from recommender.features import FEATURE_NAMES, clean_features
from recommender.ids import parse_spotify_id
from recommender.index import Bonus
from recommender.ingest.service import Ingestion
from recommender.profile import TasteProfile
from recommender.spotify.errors import SpotifyError
from recommender.track import Track

log = logging.getLogger(__name__)

CO_LIKE_WEIGHT = 0.3  # "liked together here" adds at most this much to a score
MIN_CO_LIKERS = 2  # fewer members who liked the seed than this: not enough data
Mode = Literal["song", "profile", "favourites"]


@dataclass(frozen=True)
class RecommendOutcome:
    """What to show: the seed (if any), the suggestions with a reason each, and how."""

    mode: Mode
    seed: Track | None
    suggestions: list[Recommendation]
    reasons: list[str]
    alpha: float
    catalogue_size: int
    profile_ratings: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Member:
    """A member's ratings, mapped onto the guild's catalogue."""

    liked: list[int]
    disliked: list[int]
    rated_ids: list[str]
    profile: TasteProfile | None


class RecommendationService:
    """Answers /recommend for one guild member."""

    def __init__(
        self, store: Store, catalogues: CatalogueService, ingestion: Ingestion | None
    ) -> None:
        self._store = store
        self._catalogues = catalogues
        self._ingestion = ingestion

    async def needs_fetch(self, guild_id: int, song: str | None) -> bool:
        """Whether ``song`` is a Spotify track link to a track outside the guild's catalogue."""
        track_id = parse_spotify_id(song, "track") if song else None
        catalogue = (await self._catalogues.ensure(guild_id)).catalogue
        return track_id is not None and (catalogue is None or track_id not in catalogue)

    async def suggest_songs(self, guild_id: int, text: str, limit: int = 25) -> list[Track]:
        """Autocomplete: the guild's tracks matching what was typed so far (from memory)."""
        guild = await self._catalogues.ensure(guild_id)
        if guild.resolver is None or guild.catalogue is None:
            return []
        catalogue = guild.catalogue
        return [catalogue.track(row) for row in guild.resolver.suggest(text, limit=limit)]

    async def recommend(
        self,
        guild_id: int,
        user_id: int,
        song: str | None,
        count: int | None = None,
        alpha: float | None = None,
    ) -> RecommendOutcome:
        """Rank suggestions for ``song`` (or the member's taste when ``song`` is empty).

        Raises :class:`UserFacingError` with what to do next when it cannot.
        """
        guild = await self._catalogues.ensure(guild_id)
        recommender = guild.recommender
        if recommender is None or guild.resolver is None:
            raise UserFacingError(
                "This server has no music yet. An admin can add a Spotify playlist "
                "(or an exported CSV) with `/setplaylist`."
            )
        settings = await self._store.get_guild_settings(guild_id)
        count = min(count or settings.default_count, MAX_SUGGESTIONS)
        alpha = settings.alpha if alpha is None else alpha
        member = await self._member(guild_id, user_id, recommender)
        if not song or not song.strip():
            return await self._without_song(guild, member, settings, count, alpha)
        seed = await self._seed(guild, song)
        seed_row = recommender.catalogue.row_of(seed.id)
        bonus, co_likers = await self._co_likes(guild_id, recommender, seed_row)
        try:
            suggestions = await asyncio.to_thread(
                recommender.recommend_similar_to,
                seed,
                count,
                alpha,
                exclude=member.rated_ids,
                profile=member.profile,
                bonus=bonus,
                diversity=settings.diversity,
                max_per_artist=settings.max_per_artist,
            )
        except NoFeaturesError:
            raise UserFacingError(
                f"**{inline(seed.name, 100)}** has no audio features (Spotify, ReccoBeats and the "
                "datasets don't know it), so I can't tell what sounds like it. Try "
                "another song, or set `alpha:0` for this server's most popular tracks."
            ) from None
        explained = await self._explain(guild_id, recommender, suggestions, seed, member)
        notes = []
        if member.profile is not None:
            notes.append(f"Tuned to your {member.profile.ratings} ratings.")
        if co_likers:
            notes.append(f"Includes what {co_likers} people here liked along with it.")
        return RecommendOutcome(
            "song",
            seed,
            suggestions,
            explained,
            alpha,
            len(recommender),
            member.profile.ratings if member.profile else 0,
            notes,
        )

    # -- pieces ------------------------------------------------------------------------

    async def _member(self, guild_id: int, user_id: int, recommender: Recommender) -> _Member:
        catalogue = recommender.catalogue
        rated = await self._store.list_member_ratings(guild_id, user_id)
        liked, disliked, rated_ids = [], [], []
        for entry in rated:
            row = catalogue.row_of(entry.rating.track_id)
            if row is None:
                continue
            rated_ids.append(entry.rating.track_id)
            (liked if entry.rating.value == LIKE else disliked).append(row)
        profile = TasteProfile.from_ratings(recommender.index.unit_vectors, liked, disliked)
        return _Member(liked, disliked, rated_ids, profile)

    async def _co_likes(
        self, guild_id: int, recommender: Recommender, seed_row: int | None
    ) -> tuple[Bonus | None, int]:
        """Tracks liked by the members who liked the seed; nothing without enough data."""
        if seed_row is None:
            return None, 0
        catalogue = recommender.catalogue
        groups: dict[str, list[int]] = {}
        for rating in await self._store.list_guild_ratings(guild_id):
            row = catalogue.row_of(rating.track_id)
            if rating.value == LIKE and row is not None:
                groups.setdefault(str(rating.user_id), []).append(row)
        likers = sum(1 for rows in groups.values() if seed_row in rows and len(rows) > 1)
        if likers < MIN_CO_LIKERS:
            return None, 0  # cold start: one person's likes are not "the server's taste"
        scores = CoOccurrence(len(catalogue), groups).scores([seed_row])
        if scores.empty:
            return None, 0
        return Bonus(scores.rows, scores.values * np.float32(CO_LIKE_WEIGHT)), likers

    async def _without_song(
        self,
        guild: GuildCatalogue,
        member: _Member,
        settings: GuildSettings,
        count: int,
        alpha: float,
    ) -> RecommendOutcome:
        recommender = guild.recommender
        assert recommender is not None
        if member.profile is None:
            suggestions = await self._favourites(guild.guild_id, recommender, member, count)
            explained = await self._explain(guild.guild_id, recommender, suggestions, None, member)
            return RecommendOutcome(
                "favourites",
                None,
                suggestions,
                explained,
                0.0,
                len(recommender),
                notes=[
                    "You haven't rated anything here yet, so these are the server's "
                    "favourites. Rate them to get picks for you."
                ],
            )
        suggestions = await asyncio.to_thread(
            recommender.recommend_for_profile,
            member.profile,
            count,
            alpha,
            exclude=member.rated_ids,
            diversity=settings.diversity,
            max_per_artist=settings.max_per_artist,
        )
        explained = await self._explain(guild.guild_id, recommender, suggestions, None, member)
        return RecommendOutcome(
            "profile",
            None,
            suggestions,
            explained,
            alpha,
            len(recommender),
            member.profile.ratings,
            [f"Picked from your {member.profile.ratings} ratings."],
        )

    async def _favourites(
        self, guild_id: int, recommender: Recommender, member: _Member, count: int
    ) -> list[Recommendation]:
        """The guild's most liked tracks, topped up with its most popular ones."""
        counts = await self._store.count_ratings(guild_id)
        catalogue = recommender.catalogue
        liked = sorted(
            ((c.likes - c.dislikes, track_id) for track_id, c in counts.items() if c.likes),
            reverse=True,
        )
        rows = [catalogue.row_of(t) for _, t in liked if t not in member.rated_ids]
        favourite_rows = [r for r in rows if r is not None][:count]
        exclude = member.rated_ids + [catalogue.ids[r] for r in favourite_rows]
        popular = recommender.popular(max(1, count - len(favourite_rows)), exclude=exclude)
        favourites = [
            Recommendation(
                rank=0,
                row=r,
                track=catalogue.track(r),
                score=1.0,
                similarity=0.0,
                popularity=float(recommender.index.prior[r]),
            )
            for r in favourite_rows
        ]
        merged = (favourites + popular)[:count]
        return [
            Recommendation(i, r.row, r.track, r.score, r.similarity, r.popularity, r.bonus)
            for i, r in enumerate(merged, start=1)
        ]

    async def _explain(
        self,
        guild_id: int,
        recommender: Recommender,
        suggestions: list[Recommendation],
        seed: Track | None,
        member: _Member,
    ) -> list[str]:
        """One short, true reason per suggestion (see recommender.reasons)."""
        counts = await self._store.count_ratings(guild_id, [s.track.id for s in suggestions])
        seed_raw = _raw(seed) if seed is not None else None
        unit = recommender.index.unit_vectors
        explained = []
        for suggestion in suggestions:
            parts: list[str] = []
            if seed is not None and seed_raw is not None and suggestion.similarity > 0:
                features = reasons.closest_features(
                    recommender.scaler, seed_raw, recommender.raw_features(suggestion.row)
                )
                parts.append(reasons.sound_reason(features, seed.name) or "")
            if member.profile is not None and member.liked:
                nearest = reasons.nearest_liked(unit, suggestion.row, member.liked)
                if nearest is not None and (seed is None or suggestion.similarity > 0):
                    parts.append(f"because you liked {recommender.catalogue.names[nearest]}")
            likes = counts.get(suggestion.track.id)
            parts.append(reasons.likes_reason(likes.likes if likes else 0) or "")
            if not any(parts):
                parts.append(f"popular ({suggestion.popularity:.0%})")
            explained.append(" · ".join(p for p in parts if p)[:160])
        return explained

    async def _seed(self, guild: GuildCatalogue, song: str) -> Track:
        assert guild.resolver is not None and guild.catalogue is not None
        resolution = guild.resolver.resolve(song)
        catalogue = guild.catalogue
        if resolution.row is not None:
            return catalogue.track(resolution.row)
        if resolution.spotify_id is not None:
            return await self._fetch_track(resolution.spotify_id)
        if resolution.problem == "not a track link":
            raise UserFacingError(
                "That Spotify link is not a track. Paste a track link or pick a song from the list."
            )
        names = resolution.candidates or guild.resolver.closest(song, limit=3)
        listed = shorten_list(
            [
                f"**{inline(catalogue.names[r], 80)}** by "
                f"{inline(', '.join(catalogue.artists[r]), 60)}"
                for r in names
            ],
            900,
        )
        if resolution.problem == "ambiguous":
            raise UserFacingError(
                f"“{_short(song)}” could be several songs: {listed}. Pick one from the "
                "list while typing, or write `title - artist`."
            )
        hint = f" Closest: {listed}." if listed else ""
        raise UserFacingError(
            f"I can't find “{_short(song)}” in this server's catalogue.{hint} You can "
            "also paste a Spotify track link."
        )

    async def _fetch_track(self, track_id: str) -> Track:
        if self._ingestion is None:
            raise UserFacingError(
                "That track is not in this server's catalogue, and this bot has no "
                "Spotify credentials to look it up. Pick a song from the list."
            )
        try:
            return await self._ingestion.track(track_id)
        except SpotifyError as error:
            log.info("track %s could not be fetched: %s", track_id, error)
            raise UserFacingError(
                f"I couldn't fetch that track from Spotify: {upstream_message(error)}"
            ) from None

    async def remember(
        self,
        *,
        guild_id: int,
        channel_id: int,
        message_id: int,
        user_id: int,
        outcome: RecommendOutcome,
    ) -> None:
        """Store the message's items so reactions map to tracks, even after a restart."""
        items = tuple(
            RecommendationItem(position=s.rank, track_id=s.track.id, emoji=LIKE_EMOJIS[s.rank - 1])
            for s in outcome.suggestions
        )
        # No put_tracks here: the suggestions come from this guild's catalogue (its own
        # uploads among them) and a fetched seed is already cached; the shared cache
        # takes upstream values only.
        await self._store.save_recommendation(
            RecommendationMessage(
                guild_id=guild_id,
                channel_id=channel_id,
                message_id=message_id,
                user_id=user_id,
                seed_track_ids=(outcome.seed.id,) if outcome.seed else (),
                created_at=dt.datetime.now(dt.UTC),
                items=items,
            )
        )


def _raw(track: Track) -> np.ndarray | None:
    features = clean_features(track.features)
    if features is None:
        return None
    return np.array([features[name] for name in FEATURE_NAMES])


def _short(text: str, width: int = 80) -> str:
    # What the member typed, echoed back: untrusted like any name.
    return inline(text, width)
