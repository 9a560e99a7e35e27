"""Builders shared by the store tests (no tests here)."""

from __future__ import annotations

import datetime as dt

from bot.store import PlaylistSource, SourceKind
from recommender.features import FEATURE_NAMES
from recommender.track import Track

T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def features(seed: int) -> dict[str, float]:
    """A full, valid feature dict that differs per seed."""
    values = {name: ((seed * 7 + i) % 100) / 100 for i, name in enumerate(FEATURE_NAMES)}
    values.update(key=float(seed % 12), mode=float(seed % 2), loudness=-(seed % 60) / 1.5)
    values.update(tempo=60.0 + seed % 140)
    return values


def track(i: int, *, with_features: bool = True) -> Track:
    """A track with every field set (features optional)."""
    return Track(
        id=f"track{i:018d}",
        name=f"Song {i} – ñ",
        artists=(f"Artist {i % 50}", "Guest"),
        album=f"Album {i % 300}",
        release_date=f"{1960 + i % 60}-0{1 + i % 9}-1{i % 10}",
        release_date_precision="day",
        popularity=i % 101,
        duration_ms=180_000 + i,
        features=features(i) if with_features else None,
        feature_source="reccobeats" if with_features else None,
        popularity_source="spotify",
    )


def source(
    guild_id: int,
    key: str = "37i9dQZF1DXcBWIGoYBM5M",
    *,
    kind: SourceKind = "spotify",
    added_by: int = 111,
    snapshot_id: str | None = "snap-1",
    skipped: int = 0,
    featureless: int = 0,
) -> PlaylistSource:
    """A playlist source record as the ingestion layer would describe it."""
    return PlaylistSource(
        guild_id=guild_id,
        key=key,
        kind=kind,
        display_name=f"Playlist {key}",
        added_by=added_by,
        added_at=T0,
        snapshot_id=snapshot_id,
        skipped_count=skipped,
        featureless_count=featureless,
    )


def assert_same_track(got: Track, expected: Track) -> None:
    """Every field equal, features included (``Track`` equality ignores them)."""
    assert got == expected
    assert got.features == expected.features
