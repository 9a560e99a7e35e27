"""The /recommend use case: resolve the seed, ask the engine, remember the answer.

The bot's part is mapping: members' ratings to catalogue rows (a taste, the server's
likes), the member's words to a query, and the engine's answer to what Discord
shows. Ranking, taste profiles, boosts, variety and reasons are the engine's
(:meth:`recommender.engine.Recommender.recommend`), computed off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.errors import UserFacingError, upstream_message
from bot.render.rating_scheme import LIKE_EMOJIS, MAX_SUGGESTIONS
from bot.render.steering_choices import Picks
from bot.render.untrusted_text import inline, shorten_list
from bot.services.catalogues import CatalogueService, GuildCatalogue
from bot.services.message_seeds import find_seeds
from bot.store import Store
from bot.store.busy import retry_when_busy
from bot.store.guild_settings import GuildSettings
from bot.store.models import LIKE, Rating, RecommendationItem, RecommendationMessage
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
from recommender.query import MAX_SEEDS, Steering
from recommender.resolve import SongResolver
from recommender.spotify.errors import SpotifyError
from recommender.track import Track

log = logging.getLogger(__name__)

NAME_INDEX_PATIENCE = 1.0
"""Seconds autocomplete waits for a guild's name indexes before answering without them
(about 2 s to build at 66k tracks; Discord drops an autocomplete not answered in 3 s)."""

Mode = Literal["song", "profile", "favourites"]

UNKNOWN_CHOICE = "That choice isn't one I know: pick mood, energy, tempo and decade from the lists."
NOTHING_IN_MESSAGE = (
    "I found no Spotify track link and no song from this server's playlists in that message."
)


@dataclass(frozen=True)
class RecommendOutcome:
    """What to show: the seed (if any), the engine's suggestions, and how they came about.

    ``fallback`` is set when the engine could not answer the ordinary way (see
    :data:`recommender.answer.Fallback`); ``notes`` say so in words.
    """

    mode: Mode
    seeds: tuple[Track, ...]
    suggestions: list[Recommendation]
    alpha: float
    catalogue_size: int
    profile_ratings: int = 0
    notes: list[str] = field(default_factory=list)
    fallback: Fallback | None = None
    #: The steering the answer was asked with, and what the member picked, in words.
    steering: Steering | None = None
    asked: str = ""

    @property
    def seed(self) -> Track | None:
        """The first seed song (the one the chart compares against), if any."""
        return self.seeds[0] if self.seeds else None

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
        # One build of a guild's name indexes at a time, however many members type.
        self._name_builds: dict[int, asyncio.Task[None]] = {}

    async def needs_fetch(self, guild_id: int, song: str | None) -> bool:
        """Whether ``song`` is a Spotify track link to a track outside the guild's catalogue."""
        track_id = parse_spotify_id(song, "track") if song else None
        catalogue = (await self._catalogues.ensure(guild_id)).catalogue
        return track_id is not None and (catalogue is None or track_id not in catalogue)

    async def suggest_songs(self, guild_id: int, text: str, limit: int = 25) -> list[Track]:
        """Autocomplete: the guild's tracks matching what was typed so far (from memory)."""
        guild = await self._catalogues.ensure(guild_id)
        resolver, catalogue = guild.resolver, guild.catalogue
        if resolver is None or catalogue is None:
            return []
        if not resolver.ready:
            building = self._name_build(resolver)
            await asyncio.wait([building], timeout=NAME_INDEX_PATIENCE)
            if not building.done():
                # A big catalogue's first keystroke: offer titles containing the text
                # now rather than miss Discord's 3 s; the build goes on for the next one.
                rows = await asyncio.to_thread(resolver.quick_suggest, text, limit)
                return [catalogue.track(row) for row in rows]
            building.result()  # a failed build fails like any other lookup
        return [catalogue.track(row) for row in resolver.suggest(text, limit=limit)]

    def _name_build(self, resolver: SongResolver) -> asyncio.Task[None]:
        """The (possibly finished) task building ``resolver``'s name indexes off the loop.

        They are built on first use (recommender/resolve.py); on the event loop that
        would hold every guild's interactions for as long as a big catalogue takes.
        """
        key = id(resolver)
        task = self._name_builds.get(key)
        if task is None:
            task = asyncio.create_task(asyncio.to_thread(resolver.prepare))
            self._name_builds[key] = task
            task.add_done_callback(functools.partial(self._name_build_done, key))
        return task

    def _name_build_done(self, key: int, task: asyncio.Task[None]) -> None:
        self._name_builds.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            # Also raised to whoever awaits it; logged here for a build nobody awaited.
            log.warning("could not build a guild's name index: %r", task.exception())

    async def recommend(
        self,
        guild_id: int,
        user_id: int,
        songs: str | Sequence[str | None] | None,
        count: int | None = None,
        alpha: float | None = None,
        picks: Picks | None = None,
    ) -> RecommendOutcome:
        """Rank suggestions for one to five ``songs`` (or the member's taste without any).

        Each song is what a member typed or picked: a catalogue track id, a name, or a
        Spotify track link. ``picks`` steer the answer (mood, energy, tempo, decade,
        exploration). Raises :class:`UserFacingError` with what to do next when it
        cannot.
        """
        guild = await self._catalogues.ensure(guild_id)
        recommender = _recommender_of(guild)
        settings = await self._store.get_guild_settings(guild_id)
        count = min(count or settings.default_count, MAX_SUGGESTIONS)
        alpha = settings.alpha if alpha is None else alpha
        ratings = await self._ratings(guild_id, user_id, recommender.catalogue)
        ask = _Ask(count, alpha, picks or Picks(), _steering(picks))
        typed = _typed_songs(songs)
        if not typed:
            return await self._without_song(recommender, ratings, settings, ask)
        seeds = _unique([await self._seed(guild, song) for song in typed])
        return await self._for_seeds(recommender, seeds, ratings, settings, ask)

    async def recommend_from_message(
        self, guild_id: int, user_id: int, texts: Sequence[str]
    ) -> RecommendOutcome:
        """Suggestions for the songs a message is about ("Recommend songs like this").

        ``texts`` are the message's content and its embeds' text. Spotify track links
        come first (up to five); failing that, a song of this server's catalogue named
        in the text. Raises :class:`UserFacingError` when the message names no song.
        """
        guild = await self._catalogues.ensure(guild_id)
        recommender = _recommender_of(guild)
        found = await asyncio.to_thread(find_seeds, texts, guild.resolver)
        catalogue = recommender.catalogue
        if found.track_ids:
            # Links to this server's songs are used as they are; a link to a song from
            # elsewhere is fetched from Spotify only when it is the only way to answer.
            known = [i for i in found.track_ids if i in catalogue]
            if known and len(known) < len(found.track_ids):
                outcome = await self.recommend(guild_id, user_id, known)
                left_out = len(found.track_ids) - len(known)
                note = (
                    f"{left_out} of the links {'is' if left_out == 1 else 'are'} to songs "
                    "outside this server's playlists, so only the others shaped these."
                )
                return replace(outcome, notes=[note, *outcome.notes])
            songs: list[str] = known or list(found.track_ids[:1])
        elif found.row is not None:
            songs = [catalogue.ids[found.row]]
        elif len(found.candidates) == 1:
            raise UserFacingError(
                f"Did that message mean {_listed(catalogue, found.candidates)}? If so, ask "
                "`/recommend` for it."
            )
        elif found.candidates:
            raise UserFacingError(
                f"That message could mean several songs: {_listed(catalogue, found.candidates)}. "
                "Use `/recommend` and pick one."
            )
        else:
            raise UserFacingError(NOTHING_IN_MESSAGE)
        return await self.recommend(guild_id, user_id, songs)

    async def _for_seeds(
        self,
        recommender: Recommender,
        seeds: list[Track],
        ratings: _Ratings,
        settings: GuildSettings,
        ask: _Ask,
    ) -> RecommendOutcome:
        """The answer for resolved seed songs (in the catalogue or fetched from Spotify)."""
        catalogue = recommender.catalogue
        rows = [row for row in (catalogue.row_of(t.id) for t in seeds) if row is not None]
        outside = [t for t in seeds if catalogue.row_of(t.id) is None]
        notes: list[str] = []
        # The engine takes catalogue rows together, or one track from outside on its own.
        if rows:
            query: Seeds | OutsideTrack = Seeds(rows)
            used = [t for t in seeds if catalogue.row_of(t.id) is not None]
            if outside:
                notes.append(
                    f"{_names(outside)} {'is' if len(outside) == 1 else 'are'} not in this "
                    "server's playlists, so only the others shaped these."
                )
        else:
            query = OutsideTrack(outside[0])
            used = outside[:1]
            if len(outside) > 1:
                notes.append(
                    f"None of these songs is in this server's playlists; these follow "
                    f"{_names(used)} only."
                )
        try:
            answer = await asyncio.to_thread(
                recommender.recommend,
                query,
                ask.count,
                alpha=ask.alpha,
                taste=ratings.taste,
                boosts=_boosts(recommender, settings, ratings),
                diversity=_diversity(settings),
                explain=True,
                steer=ask.steering,
            )
        except NoFeaturesError:
            subject = (
                f"**{inline(used[0].name, 100)}** has"
                if len(used) == 1
                else "None of these songs has"
            )
            raise UserFacingError(
                f"{subject} audio features (Spotify, ReccoBeats and the "
                "datasets don't know it), so I can't tell what sounds like it. Try "
                "another song, or set `alpha:0` for this server's most popular tracks."
            ) from None
        if answer.fallback == "closest":
            notes.append(
                f"Nothing in this server's catalogue sounds close to {_names(used)}: "
                "these are the closest by sound, not close matches."
            )
        if answer.taste_ratings:
            notes.append(f"Tuned to your {answer.taste_ratings} ratings.")
        if answer.co_likers:
            notes.append(f"Includes what {answer.co_likers} people here liked along with it.")
        return _outcome("song", tuple(used), answer, ask, recommender, notes)

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
        ask: _Ask,
    ) -> RecommendOutcome:
        boosts = _boosts(recommender, settings, ratings)
        taste = ratings.taste
        if taste is not None:
            try:
                answer = await asyncio.to_thread(
                    recommender.recommend,
                    taste,
                    ask.count,
                    alpha=ask.alpha,
                    boosts=boosts,
                    diversity=_diversity(settings),
                    explain=True,
                    steer=ask.steering,
                )
            except NoFeaturesError:
                pass  # nothing rated has features: the server's favourites, below
            else:
                notes = [f"Picked from your {answer.taste_ratings} ratings."]
                if answer.fallback == "closest":
                    notes.insert(
                        0, "Nothing here is close to your taste yet: the closest by sound."
                    )
                return _outcome("profile", (), answer, ask, recommender, notes)
        # The server's favourites: what members here liked most, then recent & popular.
        answer = await asyncio.to_thread(
            recommender.recommend,
            Popular(),
            ask.count,
            exclude=ratings.rated,
            boosts=boosts,
            explain=True,
            steer=ask.steering,
        )
        notes = [
            "You haven't rated anything here yet, so these are the server's "
            "favourites. Rate them to get picks for you."
        ]
        return _outcome("favourites", (), answer, replace(ask, alpha=0.0), recommender, notes)

    async def _seed(self, guild: GuildCatalogue, song: str) -> Track:
        assert guild.resolver is not None and guild.catalogue is not None
        if parse_spotify_id(song, "track") is None and not guild.resolver.ready:
            # A name needs the name indexes (an id, what autocomplete sends, does not).
            await asyncio.shield(self._name_build(guild.resolver))
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
        listed = _listed(catalogue, names)
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
            seed_track_ids=tuple(t.id for t in outcome.seeds),
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


def _boosts(recommender: Recommender, settings: GuildSettings, ratings: _Ratings) -> Boosts:
    """The server's extra signals with its own weights (settings ``playlist_weight`` and
    ``liked_here_weight``). Playlists together says something only with several
    playlists to tell apart (with one, every track shares it with the seed)."""
    several = len(recommender.catalogue.memberships) >= 2
    return Boosts(
        playlist_weight=settings.playlist_weight if several else 0.0,
        likes=ratings.likes_by_member,
        co_like_weight=settings.liked_here_weight,
    )


def _recommender_of(guild: GuildCatalogue) -> Recommender:
    if guild.recommender is None or guild.resolver is None:
        raise UserFacingError(
            "This server has no music yet. An admin can add a Spotify playlist "
            "(or an exported CSV) with `/setplaylist`."
        )
    return guild.recommender


def _typed_songs(songs: str | Sequence[str | None] | None) -> list[str]:
    """The non-empty songs a member gave, in order (a lone string is one song)."""
    given = [songs] if isinstance(songs, str) else list(songs or ())
    return [song.strip() for song in given if song and song.strip()][:MAX_SEEDS]


def _unique(tracks: list[Track]) -> list[Track]:
    """Each track once (the same song picked twice is one seed), first picked first."""
    return list({track.id: track for track in tracks}.values())  # dicts keep first places


def _names(tracks: Sequence[Track]) -> str:
    return shorten_list([inline(t.name, 80) for t in tracks], 300)


def _listed(catalogue: Catalogue, rows: Sequence[int]) -> str:
    return shorten_list(
        [
            f"**{inline(catalogue.names[r], 80)}** by {inline(', '.join(catalogue.artists[r]), 60)}"
            for r in rows
        ],
        900,
    )


def _outcome(
    mode: Mode,
    seeds: tuple[Track, ...],
    answer: Answer,
    ask: _Ask,
    recommender: Recommender,
    notes: list[str],
) -> RecommendOutcome:
    return RecommendOutcome(
        mode,
        seeds,
        list(answer),
        ask.alpha,
        len(recommender),
        answer.taste_ratings,
        [*notes, *_relaxed_notes(answer.relaxed, ask.picks)],
        answer.fallback,
        answer.steering,
        ask.picks.describe(),
    )


def _relaxed_notes(relaxed: Sequence[str], picks: Picks) -> list[str]:
    """Say which steering filters matched nothing here and were left out."""
    notes = []
    if "decade" in relaxed:
        notes.append(f"Nothing here is from the {picks.decade}s, so the decade was left out.")
    if "tempo" in relaxed:
        notes.append("Nothing here has that tempo, so the tempo was left out.")
    if "targets" in relaxed:
        notes.append("Nothing here is close to that mood, so the mood was left out.")
    return notes


@dataclass(frozen=True)
class _Ask:
    """What one request asks besides its songs: how many, which alpha, which steering."""

    count: int
    alpha: float
    picks: Picks
    steering: Steering | None


def _steering(picks: Picks | None) -> Steering | None:
    if picks is None:
        return None
    try:
        return picks.steering()
    except ValueError:
        # Discord only sends the declared choices; anything else is a rogue client.
        log.info("unknown steering choice refused: %r", picks)
        raise UserFacingError(UNKNOWN_CHOICE) from None


def _short(text: str, width: int = 80) -> str:
    # What the member typed, echoed back: untrusted like any name.
    return inline(text, width)
