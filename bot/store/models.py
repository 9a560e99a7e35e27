"""Records the store reads and writes (plain frozen dataclasses, no SQL)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from recommender.track import Track

SourceKind = Literal["spotify", "csv"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("spotify", "csv")

RatingValue = Literal[1, -1]
LIKE: RatingValue = 1
DISLIKE: RatingValue = -1


@dataclass(frozen=True, slots=True)
class PlaylistSource:
    """One playlist a guild draws its catalogue from.

    ``key`` identifies the source within the guild: the Spotify playlist id for
    ``kind="spotify"``, or a name/hash of the uploaded file for ``kind="csv"``
    (e.g. ``"csv:<sha256>"``). ``track_count`` is set by the store from the
    stored membership; ``skipped_count`` and ``featureless_count`` are what the
    last fetch reported.
    """

    guild_id: int
    key: str
    kind: SourceKind
    display_name: str
    added_by: int
    added_at: dt.datetime
    snapshot_id: str | None = None
    track_count: int = 0
    skipped_count: int = 0
    featureless_count: int = 0
    refreshed_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"source kind must be one of {SOURCE_KINDS}, got {self.kind!r}")
        if not self.key:
            raise ValueError("source key must not be empty")
        if self.skipped_count < 0 or self.featureless_count < 0 or self.track_count < 0:
            raise ValueError("source counts must not be negative")


@dataclass(frozen=True, slots=True)
class StoredCatalogue:
    """Everything needed to rebuild a guild's catalogue without calling any API (the
    rows the store holds; the built, searchable one is ``bot.services.catalogues.GuildCatalogue``).

    ``tracks`` holds each track once, in order of first appearance (sources in the
    order they were added, then playlist position), as this guild sees it: the
    values of its own newest upload of the id, else the shared upstream values.
    ``memberships`` maps a source key to its ordered track ids (duplicates within a
    playlist kept), ready for
    ``recommender.catalogue.Catalogue.from_tracks(tracks, memberships=...)``.
    """

    tracks: list[Track]
    memberships: dict[str, list[str]]
    _sources_of: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _uploads: dict[str, str] = field(default_factory=dict, repr=False)

    def sources_of(self, track_id: str) -> tuple[str, ...]:
        """Keys of the guild's sources that contain ``track_id`` (empty if none)."""
        return self._sources_of.get(track_id, ())

    def upload_source(self, track_id: str) -> str | None:
        """Key of the guild's CSV source whose uploaded values the track holds, or
        ``None`` when they are upstream values (Spotify, ReccoBeats, datasets)."""
        return self._uploads.get(track_id)

    def __len__(self) -> int:
        return len(self.tracks)


@dataclass(frozen=True, slots=True)
class RecommendationItem:
    """One suggestion in a recommendation message: its rank and reaction emoji."""

    position: int
    track_id: str
    emoji: str


@dataclass(frozen=True, slots=True)
class RecommendationMessage:
    """A message the bot posted with suggestions, kept so reactions map to tracks."""

    guild_id: int
    channel_id: int
    message_id: int
    user_id: int
    seed_track_ids: tuple[str, ...]
    created_at: dt.datetime
    items: tuple[RecommendationItem, ...] = ()

    def __post_init__(self) -> None:
        positions = [i.position for i in self.items]
        emojis = [i.emoji for i in self.items]
        if len(set(positions)) != len(positions) or len(set(emojis)) != len(emojis):
            raise ValueError("item positions and emojis must be unique within a message")

    def item_for_emoji(self, emoji: str) -> RecommendationItem | None:
        """The item a reaction with ``emoji`` rates, or ``None``."""
        return next((i for i in self.items if i.emoji == emoji), None)


@dataclass(frozen=True, slots=True)
class Rating:
    """A member's like (+1) or dislike (-1) of a track in one guild."""

    guild_id: int
    user_id: int
    track_id: str
    value: RatingValue
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RatedTrack:
    """A rating with the track record as the rating's guild sees it (``None`` if the
    store holds no record of the track).

    ``upload_source`` is the key of the guild's CSV source whose uploaded values
    ``track`` holds, ``None`` for upstream values.
    """

    rating: Rating
    track: Track | None
    upload_source: str | None = None

    @property
    def name(self) -> str:
        """The track's name, or its id when the record is not cached."""
        return self.track.name if self.track else self.rating.track_id


@dataclass(frozen=True, slots=True)
class RatingCounts:
    """How many members of a guild like and dislike a track."""

    likes: int = 0
    dislikes: int = 0


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What ``forget_member`` deleted."""

    ratings: int
    messages: int
