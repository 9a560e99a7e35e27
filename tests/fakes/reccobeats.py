"""A fake ReccoBeats API (``/v1/audio-features?ids=``, ``/v1/track?ids=``).

Like the real one: ids are Spotify ids or ReccoBeats UUIDs, at most 40 a call,
given as ``ids=a,b`` or ``ids=a&ids=b``; unknown tracks are omitted from the
``content`` list (not null), and each entry links back to Spotify in ``href``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._common import FaultInjector, Faults, RequestLog, logging_middleware, serve

MAX_IDS = 40


@dataclass
class FakeReccoBeatsConfig:
    """Fault injection for the fake (ReccoBeats has no auth and no modes)."""

    faults: Faults = field(default_factory=Faults)


@dataclass
class ReccoTrack:
    uuid: str
    spotify_id: str
    name: str
    features: dict[str, float] | None
    popularity: int | None


class FakeReccoBeats:
    """State and handlers; see :func:`running_fake_reccobeats`."""

    def __init__(self, config: FakeReccoBeatsConfig | None = None) -> None:
        self.config = config or FakeReccoBeatsConfig()
        self.log = RequestLog()
        self.faults = FaultInjector(self.config.faults)
        self.tracks: dict[str, ReccoTrack] = {}  # by Spotify id
        self.base = ""

    @property
    def url(self) -> str:
        """``RECCOBEATS_API_URL`` for this fake."""
        return f"{self.base}/v1"

    @property
    def requests(self) -> RequestLog:
        return self.log

    def set_faults(self, faults: Faults) -> None:
        """Replace the injected faults (counters restart)."""
        self.config.faults = faults
        self.faults = FaultInjector(faults)

    def add_track(
        self,
        spotify_id: str,
        features: dict[str, float] | None,
        popularity: int | None = None,
        name: str = "",
    ) -> None:
        """Make ReccoBeats know a track (``features=None``: known, but no features)."""
        self.tracks[spotify_id] = ReccoTrack(
            str(uuid.uuid5(uuid.NAMESPACE_URL, spotify_id)), spotify_id, name, features, popularity
        )

    def mirror(self, spotify_tracks: Iterable[Any], *, skip_every: int | None = None) -> None:
        """Copy features and popularity of fake Spotify tracks (every Nth one left unknown)."""
        for n, track in enumerate(spotify_tracks, start=1):
            if skip_every and n % skip_every == 0:
                continue
            self.add_track(track.id, track.features, track.popularity, track.name)

    def _lookup(self, request: web.Request) -> list[ReccoTrack] | web.Response:
        ids = [i for value in request.query.getall("ids", []) for i in value.split(",") if i]
        if not ids:
            return web.json_response({"error": "ids is required"}, status=400)
        if len(ids) > MAX_IDS:
            return web.json_response(
                {"error": f"Maximum {MAX_IDS} ids per request", "status": 400}, status=400
            )
        by_uuid = {t.uuid: t for t in self.tracks.values()}
        found = (self.tracks.get(i) or by_uuid.get(i) for i in ids)
        return [t for t in found if t is not None]

    async def audio_features(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        content = []
        for track in found:
            if track.features is None:
                continue  # omitted, not null
            values: dict[str, Any] = dict(track.features)
            values["key"] = int(values["key"])
            values["mode"] = int(values["mode"])
            href = f"https://open.spotify.com/track/{track.spotify_id}"
            content.append({"id": track.uuid, "href": href, **values})
        return web.json_response({"content": content})

    async def track(self, request: web.Request) -> web.Response:
        found = self._lookup(request)
        if isinstance(found, web.Response):
            return found
        content = [
            {
                "id": t.uuid,
                "trackTitle": t.name,
                "artists": [{"id": str(uuid.uuid4()), "name": "Someone", "href": ""}],
                "durationMs": 200_000,
                "isrc": "USRC17607839",
                "ean": None,
                "upc": None,
                "href": f"https://open.spotify.com/track/{t.spotify_id}",
                "availableCountries": "US,GB,DE",
                "popularity": t.popularity,
            }
            for t in found
        ]
        return web.json_response({"content": content})

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[logging_middleware(self.log, lambda: self.faults, lambda r: True)]
        )
        app.router.add_get("/v1/audio-features", self.audio_features)
        app.router.add_get("/v1/track", self.track)
        return app


@contextlib.asynccontextmanager
async def running_fake_reccobeats(
    config: FakeReccoBeatsConfig | None = None,
) -> AsyncIterator[FakeReccoBeats]:
    """Start a fake ReccoBeats on 127.0.0.1 (random port); yield it with ``.url`` set."""
    fake = FakeReccoBeats(config)
    async with serve(fake.app()) as base:
        fake.base = base
        yield fake
