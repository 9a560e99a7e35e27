"""Where fetched track records are kept between runs.

The ingestion layer asks a :class:`TrackCache` before calling any API and writes
back what it learned, so a cache holds upstream values only (what Spotify,
ReccoBeats or a configured dataset said): the ingest trusts what it reads back.
The bot's store implements the same protocol, so a restart does not refetch, and
keeps what a server uploads out of it; :class:`MemoryTrackCache` is the default for
the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from recommender.track import Track


@runtime_checkable
class TrackCache(Protocol):
    """Async key-value store of :class:`Track` records by Spotify id."""

    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        """Return the cached records among ``track_ids`` (missing ids are absent)."""
        ...

    async def put_tracks(self, tracks: Sequence[Track]) -> None:
        """Insert or replace records (a later value for the same id wins)."""
        ...


class MemoryTrackCache:
    """A :class:`TrackCache` in a dict, for one process."""

    def __init__(self) -> None:
        self._tracks: dict[str, Track] = {}

    async def get_tracks(self, track_ids: Sequence[str]) -> dict[str, Track]:
        return {i: self._tracks[i] for i in track_ids if i in self._tracks}

    async def put_tracks(self, tracks: Sequence[Track]) -> None:
        for track in tracks:
            self._tracks[track.id] = track

    def __len__(self) -> int:
        return len(self._tracks)
