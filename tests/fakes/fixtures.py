"""Pytest fixtures for the Spotify and ReccoBeats fakes (loaded by tests/conftest.py).

Each yields a running fake; change its behaviour through ``.config`` / ``.set_faults``
and add data with ``add_track`` / ``add_playlist``.

The world a new operator lives in is Spotify's development mode with ReccoBeats:
:func:`running_spotify_world` starts that pair (``mode="full"`` for an app with the
full API), the ReccoBeats fake knowing every track of the Spotify fake as it is at
each request, including tracks added later.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.fakes.reccobeats import FakeReccoBeats, running_fake_reccobeats
from tests.fakes.spotify import FakeSpotify, FakeSpotifyConfig, Mode, running_fake_spotify


@contextlib.asynccontextmanager
async def running_spotify_world(
    mode: Mode = "development", config: FakeSpotifyConfig | None = None
) -> AsyncIterator[tuple[FakeSpotify, FakeReccoBeats]]:
    """A fake Spotify in ``mode`` and a fake ReccoBeats with a live view of its tracks."""
    config = config or FakeSpotifyConfig()
    config.mode = mode
    async with (
        running_fake_spotify(config) as spotify,
        running_fake_reccobeats(live=spotify.tracks) as recco,
    ):
        yield spotify, recco


@pytest.fixture
async def full() -> AsyncIterator[FakeSpotify]:
    """A fake Spotify with the full API (extended quota or an older app)."""
    async with running_fake_spotify(FakeSpotifyConfig()) as fake:
        yield fake


@pytest.fixture
async def dev() -> AsyncIterator[FakeSpotify]:
    """A fake Spotify behaving like an app in 2026 development mode."""
    async with running_fake_spotify(FakeSpotifyConfig(mode="development")) as fake:
        yield fake


@pytest.fixture
async def recco() -> AsyncIterator[FakeReccoBeats]:
    """A fake ReccoBeats, empty until tracks are added or mirrored."""
    async with running_fake_reccobeats() as fake:
        yield fake


@pytest.fixture
async def dev_world() -> AsyncIterator[tuple[FakeSpotify, FakeReccoBeats]]:
    """Development-mode Spotify and a ReccoBeats that knows its tracks (the default world)."""
    async with running_spotify_world("development") as pair:
        yield pair
