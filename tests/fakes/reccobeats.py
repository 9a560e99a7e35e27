"""A fake ReccoBeats API (``/v1/audio-features?ids=``, ``/v1/track?ids=``).

Like the real one: ids are Spotify ids or ReccoBeats UUIDs, at most 40 a call,
given as ``ids=a,b`` or ``ids=a&ids=b``; unknown tracks are omitted from the
``content`` list (not null), and each entry links back to Spotify in ``href``.

What it knows: tracks added with :meth:`FakeReccoBeats.add_track` (or copied with
``mirror``), and, when built with ``live=`` a fake Spotify's track registry, every
track that registry holds *at the time of the request*: a track a test adds to the
fake Spotify after the bot started is known here too, with the same features and
popularity, as ReccoBeats knows the tracks Spotify has. ``forget`` hides a track
(ReccoBeats does not know every track).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._common import FaultInjector, Faults, RequestLog, logging_middleware, serve

MAX_IDS = 40
_UUID_LENGTH = 36  # "8f3c...-...": a ReccoBeats id; Spotify ids have 22 characters


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


def recco_uuid(spotify_id: str) -> str:
    """The (stable) ReccoBeats id of a Spotify track."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, spotify_id))


class FakeReccoBeats:
    """State and handlers; see :func:`running_fake_reccobeats`."""

    def __init__(
        self, config: FakeReccoBeatsConfig | None = None, *, live: Mapping[str, Any] | None = None
    ) -> None:
        """``live``: a fake Spotify's ``tracks`` (by id), read at every request."""
        self.config = config or FakeReccoBeatsConfig()
        self.log = RequestLog()
        self.faults = FaultInjector(self.config.faults)
        self.tracks: dict[str, ReccoTrack] = {}  # by Spotify id
        self.live = live
        self.forgotten: set[str] = set()  # Spotify ids it must not know
        self._uuids: dict[str, str] = {}
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
            recco_uuid(spotify_id), spotify_id, name, features, popularity
        )

    def forget(self, spotify_id: str) -> None:
        """Make ReccoBeats not know a track (added here or in the live registry)."""
        self.forgotten.add(spotify_id)

    def known(self, spotify_id: str) -> ReccoTrack | None:
        """What it answers for a Spotify id now (``None``: unknown)."""
        if spotify_id in self.forgotten:
            return None
        found = self.tracks.get(spotify_id)
        if found is not None or self.live is None:
            return found
        track = self.live.get(spotify_id)
        if track is None:
            return None
        return ReccoTrack(
            recco_uuid(spotify_id), spotify_id, track.name, track.features, track.popularity
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
        found = (self.known(i) if len(i) != _UUID_LENGTH else self._by_uuid(i) for i in ids)
        return [t for t in found if t is not None]

    def _by_uuid(self, wanted: str) -> ReccoTrack | None:
        # Rarely asked (the bot sends Spotify ids): a scan, remembering what it computed.
        for spotify_id in [*self.tracks, *(self.live or ())]:
            known = self._uuids.get(spotify_id)
            if known is None:
                known = self._uuids[spotify_id] = recco_uuid(spotify_id)
            if known == wanted:
                return self.known(spotify_id)
        return None

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
    config: FakeReccoBeatsConfig | None = None, *, live: Mapping[str, Any] | None = None
) -> AsyncIterator[FakeReccoBeats]:
    """Start a fake ReccoBeats on 127.0.0.1 (random port); yield it with ``.url`` set.

    ``live``: a fake Spotify's ``tracks``, known here as they are at each request.
    """
    fake = FakeReccoBeats(config, live=live)
    async with serve(fake.app()) as base:
        fake.base = base
        yield fake
