"""Steering as members pick it on /recommend: a few named choices, made into a Steering.

Discord shows each option's choices as a list to pick from, so nobody has to know
that "happy" means a valence near 0.85 or what a BPM is. Each choice here maps to
the engine's :class:`recommender.query.Steering` (targets on Spotify's 0-1 scale, a
tempo range, a decade, an exploration level); the answer says what was asked in
the same words (:meth:`Picks.describe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from recommender.query import Exploration, Steering

T = TypeVar("T")

MIN_TEMPO = 40.0  # slow music rarely goes below; the engine accepts 1-300
MAX_TEMPO = 220.0


@dataclass(frozen=True)
class Choice:
    """One pick: its value (what Discord sends), its label (what a member reads)."""

    value: str
    label: str


MOODS: dict[str, dict[str, float]] = {
    "happy": {"valence": 0.85},
    "sad": {"valence": 0.15},
    "chill": {"energy": 0.3, "acousticness": 0.6},
    "danceable": {"danceability": 0.85},
    "acoustic": {"acousticness": 0.85},
}
MOOD_CHOICES = (
    Choice("happy", "happy (bright, positive)"),
    Choice("sad", "sad (darker, melancholic)"),
    Choice("chill", "chill (calm, softer)"),
    Choice("danceable", "danceable"),
    Choice("acoustic", "acoustic"),
)

ENERGY: dict[str, float] = {"low": 0.2, "medium": 0.5, "high": 0.85}
ENERGY_CHOICES = (
    Choice("low", "low (calm)"),
    Choice("medium", "medium"),
    Choice("high", "high (intense)"),
)

TEMPO: dict[str, tuple[float, float]] = {
    "slow": (MIN_TEMPO, 95.0),
    "medium": (95.0, 125.0),
    "fast": (125.0, MAX_TEMPO),
}
TEMPO_CHOICES = (
    Choice("slow", "slow (under 95 BPM)"),
    Choice("medium", "medium (95-125 BPM)"),
    Choice("fast", "fast (over 125 BPM)"),
)

DECADES: tuple[int, ...] = tuple(range(1950, 2030, 10))

EXPLORE: dict[str, Exploration] = {
    "familiar": "familiar",
    "balanced": "balanced",
    "adventurous": "adventurous",
}
EXPLORE_CHOICES = (
    Choice("familiar", "familiar (well known, artists you rated)"),
    Choice("balanced", "balanced (the default)"),
    Choice("adventurous", "adventurous (less known, new artists)"),
)


@dataclass(frozen=True)
class Picks:
    """What a member picked on /recommend (each ``None`` when left empty)."""

    mood: str | None = None
    energy: str | None = None
    tempo: str | None = None
    decade: int | None = None
    explore: str | None = None

    def steering(self) -> Steering | None:
        """The engine's :class:`Steering` for these picks (``None`` when they change nothing).

        An explicit ``energy`` wins over the energy a mood implies ("chill" but
        "high"). Unknown values raise ``ValueError`` (Discord only sends the declared
        choices, so one means a client that did not).
        """
        targets: dict[str, float] = {}
        if self.mood is not None:
            targets.update(_pick(MOODS, self.mood, "mood"))
        if self.energy is not None:
            targets["energy"] = _pick(ENERGY, self.energy, "energy")
        steering = Steering(
            targets=targets,
            tempo=None if self.tempo is None else _pick(TEMPO, self.tempo, "tempo"),
            decade=None if self.decade is None else _decade(self.decade),
            exploration="balanced"
            if self.explore is None
            else _pick(EXPLORE, self.explore, "explore"),
        )
        return steering if steering.active else None

    def describe(self) -> str:
        """What was asked in the choices' own words, e.g. "happy · high energy · 1990s"."""
        parts = []
        if self.mood is not None:
            parts.append(self.mood)
        if self.energy is not None:
            parts.append(f"{self.energy} energy")
        if self.tempo is not None:
            parts.append(_label(TEMPO_CHOICES, self.tempo))
        if self.decade is not None:
            parts.append(f"{self.decade}s")
        if self.explore is not None and self.explore != "balanced":
            parts.append(self.explore)
        return " · ".join(parts)


def _pick(table: Mapping[str, T], value: str, what: str) -> T:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"unknown {what} {value!r}") from None


def _decade(decade: int) -> int:
    if decade not in DECADES:
        raise ValueError(f"unknown decade {decade!r}")
    return decade


def _label(choices: tuple[Choice, ...], value: str) -> str:
    return next((c.label for c in choices if c.value == value), value)
