"""Small synthetic catalogues, written as CSV in each schema the loaders accept.

``synthetic_tracks`` makes plausible tracks (features drawn around a few "genre"
centres, so neighbours exist); ``edge_case_tracks`` adds the awkward ones every
loader must survive; ``write_catalogue`` writes them in one of ``SCHEMAS`` (gzip
when the path ends in ``.gz``). Nothing here reads ../shared, so tests built on it
always run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.features import FEATURE_NAMES

SCHEMAS: tuple[str, ...] = ("tidytuesday", "hit_predictor", "exportify", "fetch")
AS_OF = dt.date(2020, 1, 1)
"""The day synthetic dates are measured from (pass it to PopularityWeighting)."""


@dataclass(frozen=True)
class SynthTrack:
    """One row of a synthetic catalogue; ``features`` may be partial or out of range."""

    id: str
    name: str
    artists: tuple[str, ...]
    album: str = ""
    release_date: str | None = None
    popularity: int | None = None
    duration_ms: int = 200_000
    features: dict[str, float] | None = None
    playlists: tuple[str, ...] = field(default=())


def track_id(number: int, prefix: str = "T") -> str:
    """A valid 22-character Spotify-style id, readable in failure messages."""
    return f"{prefix}{number:0{22 - len(prefix)}d}"


def random_features(rng: np.random.Generator, centre: np.ndarray | None = None) -> dict[str, float]:
    """Plausible raw audio features (valid ranges), optionally near a genre centre."""
    c = centre if centre is not None else rng.uniform(0.2, 0.8, 6)
    unit = lambda mean: float(np.clip(rng.normal(mean, 0.08), 0, 1))  # noqa: E731
    return {
        "danceability": unit(c[0]),
        "energy": unit(c[1]),
        "key": float(rng.integers(-1, 12) if rng.random() < 0.05 else rng.integers(0, 12)),
        "loudness": float(np.clip(rng.normal(-14 + 10 * c[1], 2.0), -60, 5)),
        "mode": float(rng.integers(0, 2)),
        "speechiness": float(np.clip(rng.exponential(0.02 + 0.2 * c[2] ** 3), 0, 1)),
        "acousticness": unit(c[3] ** 2),
        "instrumentalness": float(np.clip(rng.exponential(0.4 * c[4] ** 4), 0, 1)),
        "liveness": float(np.clip(rng.exponential(0.18), 0.01, 1)),
        "valence": unit(c[5]),
        "tempo": float(np.clip(rng.normal(90 + 60 * c[0], 12), 40, 220)),
    }


def synthetic_tracks(n: int = 300, *, seed: int = 0, genres: int = 8) -> list[SynthTrack]:
    """``n`` clean tracks with full features, day-precision dates and popularity."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, (genres, 6))
    tracks = []
    for i in range(n):
        genre = int(rng.integers(genres))
        released = AS_OF - dt.timedelta(days=int(rng.integers(0, 50 * 365)))
        tracks.append(
            SynthTrack(
                id=track_id(i),
                name=f"Song {i}",
                artists=(f"Artist {int(rng.integers(n // 3 + 1))}",),
                album=f"Album {i // 4}",
                release_date=released.isoformat(),
                popularity=int(np.clip(rng.normal(45, 22), 0, 100)),
                duration_ms=int(rng.integers(120_000, 360_000)),
                features=random_features(rng, centres[genre]),
                playlists=(f"PL{genre:020d}", *([f"PLmix{i % 3:018d}"] if i % 5 == 0 else [])),
            )
        )
    return tracks


def _features(**overrides: float) -> dict[str, float]:
    base = random_features(np.random.default_rng(99))
    return {**base, **overrides}


# Ids of the edge cases, so tests can look them up by meaning.
MISSING_FEATURE = track_id(1, "E")
OUT_OF_RANGE = track_id(2, "E")
TEMPO_ZERO = track_id(3, "E")
DATE_0000 = track_id(4, "E")
YEAR_ONLY = track_id(5, "E")
MONTH_ONLY = track_id(6, "E")
NO_DATE = track_id(7, "E")
NO_POPULARITY = track_id(8, "E")
ORIGINAL = track_id(9, "E")
REMASTER = track_id(10, "E")
FEAT_VERSION = track_id(11, "E")
FRACTIONAL_KEY = track_id(12, "E")
BAD_ID = "not-a-spotify-id"


def edge_case_tracks() -> list[SynthTrack]:
    """Tracks a loader must keep (featureless where needed) or skip (bad id)."""
    partial = _features()
    del partial["valence"]
    return [
        SynthTrack(MISSING_FEATURE, "Missing Valence", ("Edge",), "", "2015-05-05", 50, 1, partial),
        SynthTrack(OUT_OF_RANGE, "Too Loud", ("Edge",), "", "2015", 50, 1, _features(loudness=12)),
        SynthTrack(TEMPO_ZERO, "No Tempo", ("Edge",), "", "2015-05-05", 50, 1, _features(tempo=0)),
        SynthTrack(DATE_0000, "Zero Date", ("Edge",), "", "0000", 60, 1, _features()),
        SynthTrack(YEAR_ONLY, "Year Only", ("Edge",), "", "1987", 60, 1, _features()),
        SynthTrack(MONTH_ONLY, "Month Only", ("Edge",), "", "2001-03", 60, 1, _features()),
        SynthTrack(NO_DATE, "No Date", ("Edge",), "", None, 60, 1, _features()),
        SynthTrack(
            NO_POPULARITY, "Unknown Fame", ("Edge",), "", "2019-12-01", None, 1, _features()
        ),
        SynthTrack(ORIGINAL, "Same Song", ("Twin", "Guest"), "", "1970-01-01", 70, 1, _features()),
        SynthTrack(
            REMASTER,
            "Same Song - Remastered 2011",
            ("Twin", "Guest"),
            "",
            "2011-01-01",
            40,
            1,
            _features(energy=0.9),
        ),
        SynthTrack(
            FEAT_VERSION,
            "Same Song (feat. Guest)",
            ("Twin", "Guest"),
            "",
            "1971-01-01",
            30,
            1,
            _features(energy=0.1),
        ),
        SynthTrack(FRACTIONAL_KEY, "Odd Key", ("Edge",), "", "2015", 50, 1, _features(key=2.5)),
        SynthTrack(BAD_ID, "Bad Id", ("Edge",), "", "2015", 50, 1, _features()),
    ]


# -- writing ----------------------------------------------------------------------------

_EXPORTIFY_FEATURES = {name: name.capitalize() for name in FEATURE_NAMES}


def _feature_cells(track: SynthTrack, names: dict[str, str]) -> dict[str, object]:
    features = track.features or {}
    return {column: features.get(name, "") for name, column in names.items()}


def _records(tracks: list[SynthTrack], schema: str) -> list[dict[str, object]]:
    plain = {name: name for name in FEATURE_NAMES}
    records: list[dict[str, object]] = []
    for t in tracks:
        date = t.release_date or ""
        popularity = "" if t.popularity is None else t.popularity
        if schema == "tidytuesday":
            for playlist in t.playlists or ("",):
                records.append(
                    {
                        "track_id": t.id,
                        "track_name": t.name,
                        "track_artist": ", ".join(t.artists),
                        "track_popularity": popularity,
                        "track_album_id": "A" * 22,
                        "track_album_name": t.album,
                        "track_album_release_date": date,
                        "playlist_name": f"Playlist {playlist[-3:]}" if playlist else "",
                        "playlist_id": playlist,
                        "playlist_genre": "pop" if playlist else "",
                        "playlist_subgenre": "dance pop" if playlist else "",
                        **_feature_cells(t, plain),
                        "duration_ms": t.duration_ms,
                    }
                )
        elif schema == "hit_predictor":
            records.append(
                {
                    "track": t.name,
                    "artist": ", ".join(t.artists),
                    "uri": f"spotify:track:{t.id}" if len(t.id) == 22 else t.id,
                    **_feature_cells(t, plain),
                    "duration_ms": t.duration_ms,
                    "time_signature": 4,
                    "chorus_hit": 30.5,
                    "sections": 9,
                    "target": 1,
                }
            )
        elif schema == "exportify":
            records.append(
                {
                    "Track URI": f"spotify:track:{t.id}" if len(t.id) == 22 else t.id,
                    "Track Name": t.name,
                    "Artist Name(s)": ", ".join(t.artists),
                    "Album Name": t.album,
                    "Album Release Date": date,
                    "Duration (ms)": t.duration_ms,
                    "Popularity": popularity,
                    **_feature_cells(t, _EXPORTIFY_FEATURES),
                }
            )
        elif schema == "fetch":
            precision = {4: "year", 7: "month", 10: "day"}.get(len(date), "")
            records.append(
                {
                    "track_id": t.id,
                    "name": t.name,
                    "artists": ", ".join(t.artists),
                    "album": t.album,
                    "release_date": date,
                    "release_date_precision": precision,
                    "popularity": popularity,
                    "duration_ms": t.duration_ms,
                    **_feature_cells(t, plain),
                    "feature_source": "reccobeats" if t.features else "",
                    "popularity_source": "spotify" if t.popularity is not None else "",
                }
            )
        else:
            raise ValueError(f"unknown schema {schema!r}; expected one of {SCHEMAS}")
    return records


def write_catalogue(path: Path, tracks: list[SynthTrack], schema: str) -> Path:
    """Write ``tracks`` as a CSV in ``schema`` (gzip when ``path`` ends in ``.gz``)."""
    pd.DataFrame.from_records(_records(tracks, schema)).to_csv(path, index=False)
    return path


def without_popularity(tracks: list[SynthTrack]) -> list[SynthTrack]:
    """The same tracks with popularity unknown (as in the Hit Predictor dataset)."""
    return [replace(t, popularity=None) for t in tracks]
