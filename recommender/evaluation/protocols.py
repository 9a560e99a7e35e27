"""Query sets built from a catalogue's playlists, reproducible from one random seed.

(A) **seed-song**: for every playlist with at least 10 distinct tracks, up to 5 of
its tracks with audio features are drawn (without replacement) as single-seed
queries; the answer is the top 10 of the whole catalogue and the relevant tracks
are the rest of that playlist.

(B) **continuation**: for every playlist with at least 20 distinct tracks, its
first 5 tracks are the seeds of one query, the rest are hidden and relevant, and
the answer is the top 100. "First" is the order of that playlist's own rows in the
catalogue file (:func:`playlist_order_from_file`; a track listed twice counts at
its first row). Without the file, the fallback is catalogue row order (the order
in which tracks first appear anywhere in the file), which differs for tracks that
appeared earlier in another playlist. No randomness.

(C) **personalisation**: one simulated member per playlist with at least 20
tracks: they like 10 random tracks of it, dislike 5 random tracks of a random
playlist of another genre, and ask for recommendations for one more random track
of the liked playlist; the relevant tracks are the rest of the liked playlist.

Relevant sets are deduplicated (membership is a set of rows) and never contain a
seed or another release of a seed's song (same cleaned title and artists): the
engine excludes those by design, so counting them would reward recommending the
seed again. Every query carries the playlist(s) its answers come from, which the
membership signal must hold out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from recommender.catalogue import Catalogue
from recommender.ids import parse_spotify_id
from recommender.loaders import map_columns, read_catalogue_frame


class EvaluationProtocol(StrEnum):
    """The three query sets above. The value is the letter the docs and the CLI use
    (``--protocols A,B``); a member equals and hashes like its letter."""

    SEED_SONG = "A"
    CONTINUATION = "B"
    PERSONALISATION = "C"

    @classmethod
    def parse(cls, text: str) -> EvaluationProtocol:
        """The protocol named by its letter (any case) or its name (``seed-song``)."""
        cleaned = text.strip()
        for protocol in cls:
            if cleaned.upper() == protocol.value or cleaned.lower() == protocol.slug:
                return protocol
        raise ValueError(f"not an evaluation protocol: {text!r}")

    @property
    def slug(self) -> str:
        """The name in words: ``seed-song``, ``continuation``, ``personalisation``."""
        return self.name.lower().replace("_", "-")

    @property
    def label(self) -> str:
        """``(A) seed-song``: how the docs name it."""
        return f"({self.value}) {self.slug}"


SEED_SONG_MIN_TRACKS = 10
SEED_SONG_SEEDS = 5
SEED_SONG_K = 10
CONTINUATION_MIN_TRACKS = 20
CONTINUATION_SEEDS = 5
CONTINUATION_K = 100
PERSONAL_MIN_TRACKS = 20
PERSONAL_LIKES = 10
PERSONAL_DISLIKES = 5
PERSONAL_K = 10


@dataclass(frozen=True)
class Query:
    """One evaluation query: seeds, the rows that count as right answers, and context.

    ``holdout`` lists the playlists the membership signal must ignore for this query
    (the playlist the relevant rows come from).
    """

    query_id: str
    seeds: tuple[int, ...]
    relevant: np.ndarray
    k: int
    playlist_id: str
    genre: str = ""
    holdout: tuple[str, ...] = ()

    def to_json(self, catalogue: Catalogue) -> dict[str, object]:
        """The line ``recommend --seeds-file`` reads for this query."""
        return {
            "query_id": self.query_id,
            "seeds": [catalogue.ids[r] for r in self.seeds],
            "k": self.k,
            "holdout_playlists": list(self.holdout),
        }


@dataclass(frozen=True)
class Member:
    """A simulated listener for protocol (C)."""

    query: Query
    liked: tuple[int, ...]
    disliked: tuple[int, ...]
    disliked_playlist: str = field(default="")


def eligible_playlists(catalogue: Catalogue, min_tracks: int) -> list[str]:
    """Ids of playlists with at least ``min_tracks`` distinct tracks, sorted by id."""
    return sorted(pid for pid, rows in catalogue.memberships.items() if len(rows) >= min_tracks)


def _relevant(catalogue: Catalogue, playlist_rows: np.ndarray, taken: Sequence[int]) -> np.ndarray:
    removed = np.unique(np.concatenate([catalogue.duplicates_of(int(r)) for r in taken]))
    return np.setdiff1d(playlist_rows, removed)


def _genre(catalogue: Catalogue, playlist_id: str) -> str:
    playlist = catalogue.playlists.get(playlist_id)
    return playlist.genre if playlist is not None else ""


def seed_song_queries(
    catalogue: Catalogue,
    random_seed: int,
    *,
    min_tracks: int = SEED_SONG_MIN_TRACKS,
    seeds_per_playlist: int = SEED_SONG_SEEDS,
    k: int = SEED_SONG_K,
) -> list[Query]:
    """Protocol (A); the same ``random_seed`` always gives the same queries."""
    rng = np.random.default_rng(random_seed)
    has_features = catalogue.has_features
    queries: list[Query] = []
    for pid in eligible_playlists(catalogue, min_tracks):
        rows = catalogue.memberships[pid]
        candidates = rows[has_features[rows]]
        if candidates.shape[0] == 0:
            continue
        chosen = rng.choice(
            candidates, size=min(seeds_per_playlist, len(candidates)), replace=False
        )
        for seed in sorted(int(r) for r in chosen):
            relevant = _relevant(catalogue, rows, [seed])
            if relevant.shape[0] == 0:
                continue
            queries.append(
                Query(
                    f"A:{pid}:{catalogue.ids[seed]}",
                    (seed,),
                    relevant,
                    k,
                    pid,
                    _genre(catalogue, pid),
                    (pid,),
                )
            )
    return queries


def playlist_order_from_file(path: str | Path, catalogue: Catalogue) -> dict[str, np.ndarray]:
    """Each playlist's rows in the order its lines appear in the catalogue file."""
    frame = read_catalogue_frame(path)
    columns = map_columns([str(c) for c in frame.columns])
    if "playlist_id" not in columns:
        return {}
    order: dict[str, dict[int, None]] = {}
    for pid, raw in zip(frame[columns["playlist_id"]], frame[columns["id"]], strict=True):
        if not isinstance(pid, str) or not isinstance(raw, str):
            continue
        track = parse_spotify_id(raw, "track")
        row = catalogue.row_of(track) if track else None
        if row is not None:
            order.setdefault(pid, {}).setdefault(row, None)
    return {pid: np.fromiter(rows, dtype=np.int64) for pid, rows in order.items()}


def continuation_queries(
    catalogue: Catalogue,
    *,
    playlist_order: dict[str, np.ndarray] | None = None,
    min_tracks: int = CONTINUATION_MIN_TRACKS,
    n_seeds: int = CONTINUATION_SEEDS,
    k: int = CONTINUATION_K,
) -> list[Query]:
    """Protocol (B): deterministic (first ``n_seeds`` rows as seeds)."""
    queries: list[Query] = []
    for pid in eligible_playlists(catalogue, min_tracks):
        rows = catalogue.memberships[pid]
        ordered = (playlist_order or {}).get(pid)
        if ordered is None or ordered.shape[0] != rows.shape[0]:
            ordered = rows
        seeds = tuple(int(r) for r in ordered[:n_seeds])
        relevant = _relevant(catalogue, rows, seeds)
        if relevant.shape[0] == 0:
            continue
        queries.append(Query(f"B:{pid}", seeds, relevant, k, pid, _genre(catalogue, pid), (pid,)))
    return queries


def personalisation_members(
    catalogue: Catalogue,
    random_seed: int,
    *,
    min_tracks: int = PERSONAL_MIN_TRACKS,
    likes: int = PERSONAL_LIKES,
    dislikes: int = PERSONAL_DISLIKES,
    k: int = PERSONAL_K,
) -> list[Member]:
    """Protocol (C): one simulated member per eligible playlist (needs two genres)."""
    rng = np.random.default_rng(random_seed)
    has_features = catalogue.has_features
    eligible = eligible_playlists(catalogue, min_tracks)
    by_genre: dict[str, list[str]] = {}
    for pid in eligible:
        by_genre.setdefault(_genre(catalogue, pid), []).append(pid)
    members: list[Member] = []
    for pid in eligible:
        genre = _genre(catalogue, pid)
        others = [p for g, ps in by_genre.items() if g != genre for p in ps]
        rows = catalogue.memberships[pid]
        usable = rows[has_features[rows]]
        if not others or usable.shape[0] < likes + 2:
            continue
        picked = rng.choice(usable, size=likes + 1, replace=False)
        liked = tuple(sorted(int(r) for r in picked[:likes]))
        seed = int(picked[likes])
        disliked_pid = others[int(rng.integers(len(others)))]
        pool = catalogue.memberships[disliked_pid]
        pool = np.setdiff1d(pool[has_features[pool]], rows)
        disliked = tuple(
            sorted(int(r) for r in rng.choice(pool, size=min(dislikes, len(pool)), replace=False))
        )
        relevant = _relevant(catalogue, rows, [seed, *liked])
        if relevant.shape[0] == 0:
            continue
        query = Query(f"C:{pid}", (seed,), relevant, k, pid, genre, (pid,))
        members.append(Member(query, liked, disliked, disliked_pid))
    return members
