"""Per-guild recommendation defaults, validated on construction.

Stored as one JSON document per guild (see :mod:`bot.store.migrations`), so adding
a setting is a new field with a default here, not a schema migration: rows written
before the field existed simply lack the key and get the default.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from bot.store.errors import InvalidGuildSettingError
from recommender.engine import DEFAULT_ALPHA
from recommender.query import DEFAULT_CO_LIKE_WEIGHT, DEFAULT_PLAYLIST_WEIGHT

log = logging.getLogger(__name__)

# Beyond these a signal drowns sound and popularity (both on [0, 1]) whatever they say.
MAX_PLAYLIST_WEIGHT = 10.0
MAX_LIKED_HERE_WEIGHT = 5.0


def _check_float(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidGuildSettingError(name, value, f"a number between {low:g} and {high:g}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidGuildSettingError(name, value, f"a number between {low:g} and {high:g}")
    return number


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidGuildSettingError(name, value, f"a whole number between {low} and {high}")
    return value


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's defaults for ``/recommend``; admins change them with ``/settings``.

    Attributes:
        alpha: weight of sounding alike against recent & popular (1.0 = sound only,
            0.0 = recent & popular only); the two signals below are added on top.
        playlist_weight: weight of "often in this server's playlists together" (0 =
            off; counts only when the server has two or more playlists).
        liked_here_weight: weight of "liked together here" (what the members who
            liked the seeds also liked; 0 = off).
        popularity_half_life_days: age at which a release's popularity counts half.
        diversity: how much relevance the re-ranking trades for variety
            (0 = none, 1 = maximal).
        max_per_artist: at most this many suggestions by one artist (0 = no cap).
        default_count: suggestions per ``/recommend`` when the member gives no count.
    """

    alpha: float = DEFAULT_ALPHA
    popularity_half_life_days: float = 3652.5  # 10 years, the engine default
    diversity: float = 0.3
    max_per_artist: int = 2
    default_count: int = 5
    playlist_weight: float = DEFAULT_PLAYLIST_WEIGHT
    liked_here_weight: float = DEFAULT_CO_LIKE_WEIGHT

    def __post_init__(self) -> None:
        # Normalise ints given for float settings so equality and JSON are stable.
        set_ = object.__setattr__
        set_(self, "alpha", _check_float("alpha", self.alpha, 0.0, 1.0))
        set_(
            self,
            "popularity_half_life_days",
            _check_float("popularity_half_life_days", self.popularity_half_life_days, 1, 36500),
        )
        set_(self, "diversity", _check_float("diversity", self.diversity, 0.0, 1.0))
        _check_int("max_per_artist", self.max_per_artist, 0, 10)
        _check_int("default_count", self.default_count, 1, 10)
        for name, high in (
            ("playlist_weight", MAX_PLAYLIST_WEIGHT),
            ("liked_here_weight", MAX_LIKED_HERE_WEIGHT),
        ):
            set_(self, name, _check_float(name, getattr(self, name), 0.0, high))

    def replace(self, **changes: Any) -> GuildSettings:
        """Return a copy with ``changes`` applied (validated; unknown names raise)."""
        known = {f.name for f in fields(self)}
        for name in changes:
            if name not in known:
                raise InvalidGuildSettingError(name, changes[name], f"one of {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, lenient: bool = False) -> GuildSettings:
        """Build settings from a dict; unknown keys are ignored, missing ones defaulted.

        With ``lenient=True`` (used when reading the database) an invalid stored
        value falls back to its default with a warning instead of raising, so one
        hand-edited value cannot make a guild unusable.
        """
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        try:
            return cls(**values)
        except InvalidGuildSettingError:
            if not lenient:
                raise
        kept: dict[str, Any] = {}
        for name, value in values.items():
            try:
                cls(**{name: value})
            except InvalidGuildSettingError as exc:
                log.warning("ignoring stored guild setting: %s", exc)
            else:
                kept[name] = value
        return cls(**kept)
