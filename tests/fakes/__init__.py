"""Local fakes of external services, speaking their real protocols on 127.0.0.1.

Spotify and ReccoBeats: ``running_fake_spotify(config)`` and
``running_fake_reccobeats(config)`` are async context managers yielding a fake
with ``.url`` (and ``.accounts_url`` for Spotify), a request log (``.requests``)
and methods to add data; ``tests.fakes.fixtures`` wraps them as pytest fixtures.
"""

from tests.fakes._common import Faults, RecordedRequest, RequestLog
from tests.fakes.reccobeats import FakeReccoBeats, FakeReccoBeatsConfig, running_fake_reccobeats
from tests.fakes.spotify import Entry, FakeSpotify, FakeSpotifyConfig, running_fake_spotify

__all__ = [
    "Entry",
    "FakeReccoBeats",
    "FakeReccoBeatsConfig",
    "FakeSpotify",
    "FakeSpotifyConfig",
    "Faults",
    "RecordedRequest",
    "RequestLog",
    "running_fake_reccobeats",
    "running_fake_spotify",
]
