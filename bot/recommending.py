"""The /recommend use case: resolve the seed, ask the engine, remember the answer.

The bot's part is mapping: members' ratings to catalogue rows (a taste, the server's
likes), the member's words to a query, and the engine's answer to what Discord
shows. Ranking, taste profiles, boosts, variety and reasons are the engine's
(:meth:`recommender.engine.Recommender.recommend`), computed off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Literal

from bot.catalogues import CatalogueService, GuildCatalogue
from bot.errors import UserFacingError, upstream_message
from bot.rating_scheme import LIKE_EMOJIS, MAX_SUGGESTIONS
from bot.store import Store
from bot.store.busy import retry_when_busy
from bot.store.guild_settings import GuildSettings
from bot.store.models import LIKE, Rating, RecommendationItem, RecommendationMessage
from bot.untrusted_text import inline, shorten_list
from recommender.answer import Answer, Fallback, Recommendation
from recommender.catalogue import Catalogue
from recommender.engine import (
    Boosts,
    Diversity,
    NoFeaturesError,
    OutsideTrack,
    Popular,
    Recommender,
    Seeds,
    Taste,
)
from recommender.ids import parse_spotify_id
from recommender.ingest.service import Ingestion
from recommender.spotify.errors import SpotifyError
from recommender.track import Track

log = logging.getLogger(__name__)

Mode = Literal["song", "profile", "favourites"]


@dataclass(frozen=True)
class RecommendOutcome:
    """What to show: the seed (if any), the engine's suggestions, and how they came about.

    ``fallback`` is set when the engine could not answer the ordinary way (see
    :data:`recommender.answer.Fallback`); ``notes`` say so in words.
    """

    mode: Mode
    seed: Track | None
    suggestions: list[Recommendation]
    alpha: float
    catalogue_size: int
    profile_ratings: int = 0
    notes: list[str] = field(default_factory=list)
    fallback: Fallback | None = None

    @property
    def reasons(self) -> list[str]:
        """One line of reasons per suggestion (the engine's, joined)."""
        return [" · ".join(s.reasons) for s in self.suggestions]


@dataclass(frozen=True)
class _Ratings:
    """A guild's ratings mapped onto its catalogue: one member's, and everyone's likes."""

    liked: list[int]
    disliked: list[int]
    likes_by_member: dict[int, list[int]]

    @property
    def rated(self) -> list[int]:
        return [*self.liked, *self.disliked]

    @property
    def taste(self) -> Taste | None:
        return Taste(self.liked, self.disliked) if self.rated else None


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
        ratings = await self._ratings(guild_id, user_id, recommender.catalogue)
        if not song or not song.strip():
            return await self._without_song(recommender, ratings, settings, count, alpha)
        seed = await self._seed(guild, song)
        row = recommender.catalogue.row_of(seed.id)
        query = Seeds([row]) if row is not None else OutsideTrack(seed)
        try:
            answer = await asyncio.to_thread(
                recommender.recommend,
                query,
                count,
                alpha=alpha,
                taste=ratings.taste,
                boosts=Boosts(likes=ratings.likes_by_member),
                diversity=_diversity(settings),
                explain=True,
            )
        except NoFeaturesError:
            raise UserFacingError(
                f"**{inline(seed.name, 100)}** has no audio features (Spotify, ReccoBeats and the "
                "datasets don't know it), so I can't tell what sounds like it. Try "
                "another song, or set `alpha:0` for this server's most popular tracks."
            ) from None
        notes = []
        if answer.fallback == "closest":
            notes.append(
                f"Nothing in this server's catalogue sounds close to {inline(seed.name, 100)}: "
                "these are the closest by sound, not close matches."
            )
        if answer.taste_ratings:
            notes.append(f"Tuned to your {answer.taste_ratings} ratings.")
        if answer.co_likers:
            notes.append(f"Includes what {answer.co_likers} people here liked along with it.")
        return _outcome("song", seed, answer, alpha, recommender, notes)

    # -- pieces ------------------------------------------------------------------------

    async def _ratings(self, guild_id: int, user_id: int, catalogue: Catalogue) -> _Ratings:
        """The guild's ratings as catalogue rows (tracks no longer in it are skipped)."""
        ratings = await self._store.list_guild_ratings(guild_id)
        # One pass over every rating in the guild: in a worker thread, not on the loop.
        return await asyncio.to_thread(_as_rows, ratings, user_id, catalogue)

    async def _without_song(
        self,
        recommender: Recommender,
        ratings: _Ratings,
        settings: GuildSettings,
        count: int,
        alpha: float,
    ) -> RecommendOutcome:
        boosts = Boosts(likes=ratings.likes_by_member)
        taste = ratings.taste
        if taste is not None:
            try:
                answer = await asyncio.to_thread(
                    recommender.recommend,
                    taste,
                    count,
                    alpha=alpha,
                    boosts=boosts,
                    diversity=_diversity(settings),
                    explain=True,
                )
            except NoFeaturesError:
                pass  # nothing rated has features: the server's favourites, below
            else:
                notes = [f"Picked from your {answer.taste_ratings} ratings."]
                if answer.fallback == "closest":
                    notes.insert(
                        0, "Nothing here is close to your taste yet: the closest by sound."
                    )
                return _outcome("profile", None, answer, alpha, recommender, notes)
        # The server's favourites: what members here liked most, then recent & popular.
        answer = await asyncio.to_thread(
            recommender.recommend,
            Popular(),
            count,
            exclude=ratings.rated,
            boosts=boosts,
            explain=True,
        )
        notes = [
            "You haven't rated anything here yet, so these are the server's "
            "favourites. Rate them to get picks for you."
        ]
        return _outcome("favourites", None, answer, 0.0, recommender, notes)

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
        message = RecommendationMessage(
            guild_id=guild_id,
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            seed_track_ids=(outcome.seed.id,) if outcome.seed else (),
            created_at=dt.datetime.now(dt.UTC),
            items=items,
        )
        # The answer is already posted: a busy database delays storing it, never loses it.
        await retry_when_busy(
            lambda: self._store.save_recommendation(message), what="a recommendation"
        )


def _as_rows(ratings: list[Rating], user_id: int, catalogue: Catalogue) -> _Ratings:
    liked: list[int] = []
    disliked: list[int] = []
    likes_by_member: dict[int, list[int]] = {}
    for rating in ratings:
        row = catalogue.row_of(rating.track_id)
        if row is None:
            continue
        if rating.value == LIKE:
            likes_by_member.setdefault(rating.user_id, []).append(row)
        if rating.user_id == user_id:
            (liked if rating.value == LIKE else disliked).append(row)
    return _Ratings(liked, disliked, likes_by_member)


def _diversity(settings: GuildSettings) -> Diversity:
    return Diversity(settings.diversity, settings.max_per_artist)


def _outcome(
    mode: Mode,
    seed: Track | None,
    answer: Answer,
    alpha: float,
    recommender: Recommender,
    notes: list[str],
) -> RecommendOutcome:
    return RecommendOutcome(
        mode,
        seed,
        list(answer),
        alpha,
        len(recommender),
        answer.taste_ratings,
        notes,
        answer.fallback,
    )


def _short(text: str, width: int = 80) -> str:
    # What the member typed, echoed back: untrusted like any name.
    return inline(text, width)
