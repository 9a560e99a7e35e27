"""The /recommend use case: resolve the seed, rank the guild's catalogue, remember it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from bot.catalogues import CatalogueService, GuildCatalogue
from bot.errors import UserFacingError
from bot.rating_scheme import LIKE_EMOJIS, MAX_SUGGESTIONS
from bot.store import Store
from bot.store.models import RecommendationItem, RecommendationMessage
from recommender.engine import NoFeaturesError, Recommendation
from recommender.ids import parse_spotify_id
from recommender.ingest.service import Ingestion
from recommender.spotify.errors import SpotifyError
from recommender.track import Track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecommendOutcome:
    """The seed, the ranked suggestions and the alpha that produced them."""

    seed: Track
    suggestions: list[Recommendation]
    alpha: float
    catalogue_size: int


class RecommendationService:
    """Answers /recommend for one guild member."""

    def __init__(
        self, store: Store, catalogues: CatalogueService, ingestion: Ingestion | None
    ) -> None:
        self._store = store
        self._catalogues = catalogues
        self._ingestion = ingestion

    async def needs_fetch(self, guild_id: int, song: str) -> bool:
        """Whether ``song`` is a Spotify track link to a track outside the guild's catalogue."""
        track_id = parse_spotify_id(song, "track")
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
        song: str,
        count: int | None = None,
        alpha: float | None = None,
    ) -> RecommendOutcome:
        """Rank suggestions for ``song``; raise :class:`UserFacingError` when impossible."""
        guild = await self._catalogues.ensure(guild_id)
        if guild.recommender is None or guild.resolver is None:
            raise UserFacingError(
                "This server has no music yet. An admin can add a Spotify playlist "
                "(or an exported CSV) with `/setplaylist`."
            )
        settings = await self._store.get_guild_settings(guild_id)
        count = min(count or settings.default_count, MAX_SUGGESTIONS)
        alpha = settings.alpha if alpha is None else alpha
        seed = await self._seed(guild, song)
        rated = await self._store.list_member_ratings(guild_id, user_id)
        catalogue = guild.recommender.catalogue
        # Already-rated tracks are not suggested again: asking twice gives new songs.
        exclude = [r.rating.track_id for r in rated if r.rating.track_id in catalogue]
        try:
            suggestions = await asyncio.to_thread(
                guild.recommender.recommend_similar_to, seed, count, alpha, exclude=exclude
            )
        except NoFeaturesError:
            raise UserFacingError(
                f"**{seed.name}** has no audio features (Spotify, ReccoBeats and the "
                "datasets don't know it), so I can't tell what sounds like it. Try "
                "another song, or set `alpha:0` for this server's most popular tracks."
            ) from None
        return RecommendOutcome(seed, suggestions, alpha, len(catalogue))

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
        if resolution.problem == "empty":
            raise UserFacingError("Tell me a song: start typing and pick one from the list.")
        names = resolution.candidates or guild.resolver.closest(song, limit=3)
        listed = ", ".join(
            f"**{catalogue.names[r]}** by {', '.join(catalogue.artists[r])}" for r in names[:5]
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
            raise UserFacingError(f"I couldn't fetch that track from Spotify: {error}") from None

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
        await self._store.put_tracks([s.track for s in outcome.suggestions] + [outcome.seed])
        await self._store.save_recommendation(
            RecommendationMessage(
                guild_id=guild_id,
                channel_id=channel_id,
                message_id=message_id,
                user_id=user_id,
                seed_track_ids=(outcome.seed.id,),
                created_at=dt.datetime.now(dt.UTC),
                items=items,
            )
        )


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
