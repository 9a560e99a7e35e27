"""Pytest fixtures for the Spotify and ReccoBeats fakes (loaded by tests/conftest.py).

Each yields a running fake; change its behaviour through ``.config`` / ``.set_faults``
and add data with ``add_track`` / ``add_playlist``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.reccobeats import FakeReccoBeats, running_fake_reccobeats
from tests.fakes.spotify import FakeSpotify, FakeSpotifyConfig, running_fake_spotify


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
