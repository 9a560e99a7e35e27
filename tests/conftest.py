"""Shared fixtures: paths to the real datasets (skipped when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.fixtures", "tests.pg"]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SPOTIFY_SONGS = SHARED_DATA / "spotify_songs.csv.gz"
HIT_PREDICTOR = SHARED_DATA / "spotify_hit_predictor_1960_2019.csv.gz"


@pytest.fixture(scope="session")
def spotify_songs_path() -> Path:
    """The TidyTuesday dataset, or a skip where ../shared is not beside the checkout."""
    if not SPOTIFY_SONGS.is_file():
        pytest.skip("../shared/data/spotify_songs.csv.gz not present")
    return SPOTIFY_SONGS


@pytest.fixture(scope="session")
def hit_predictor_path() -> Path:
    """The Hit Predictor dataset, or a skip where ../shared is not beside the checkout."""
    if not HIT_PREDICTOR.is_file():
        pytest.skip("../shared/data/spotify_hit_predictor_1960_2019.csv.gz not present")
    return HIT_PREDICTOR
