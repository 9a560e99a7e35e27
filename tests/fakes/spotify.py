"""A fake Spotify Web API and accounts service, shaped like the official reference.

Two behaviours (``FakeSpotifyConfig.mode``):

* ``"full"``: an app with extended quota (or an older app): batch ``/tracks?ids=``,
  ``/audio-features``, ``popularity``, ``/playlists/{id}/tracks`` (100 a page) and
  the playlist object's ``tracks`` page, for any token.
* ``"development"``: an app created after 2026-02-11: no audio-features (403 with
  no message), no batch endpoints, no popularity, ``/tracks`` on playlists
  refused, and playlist items (``/items``, and ``items`` in the playlist object)
  only for a user token of the owner or a collaborator.

Payloads follow Spotify's Web API reference
(https://developer.spotify.com/documentation/web-api/reference, and the official OpenAPI
file mirrored in sonallux/spotify-web-api): absolute ``next`` links to this server,
null items, local tracks, episodes, year/month/day dates and ``0000``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import secrets
import string
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from aiohttp import web

from recommender.features import FEATURE_NAMES
from tests.fakes._common import (
    FaultInjector,
    Faults,
    RequestLog,
    json_error,
    logging_middleware,
    serve,
)

Mode = Literal["full", "development"]
BASE62 = string.digits + string.ascii_letters
USER = web.RequestKey("user", str)  # the user of the request's token (absent: app token)


try:  # serialising 10,000-track playlists quickly keeps the fake out of benchmark timings
    from orjson import dumps as _orjson_dumps

    def _dumps(value: Any) -> str:
        try:
            return _orjson_dumps(value).decode()
        except TypeError:  # absurd numbers (ints beyond 64 bits) that tests send on purpose
            return json.dumps(value)
except ImportError:  # pragma: no cover
    _dumps = json.dumps


def json_response(body: Any, *, status: int = 200) -> web.Response:
    """``web.json_response`` with the fastest available encoder."""
    return web.json_response(body, status=status, dumps=_dumps)


def random_id(rng: random.Random) -> str:
    """A 22-character base-62 Spotify id."""
    return "".join(rng.choice(BASE62) for _ in range(22))


@dataclass
class FakeSpotifyConfig:
    """How the fake behaves. ``token_lifetime`` (seconds) can be shorter than the
    advertised ``token_expires_in`` to make tokens expire behind the client's back.
    The last group of fields makes it hostile (absurd numbers need no switch: give
    ``add_track`` e.g. ``duration_ms=1e20`` or ``popularity=float("nan")``)."""

    mode: Mode = "full"
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret-0123456789"
    token_expires_in: int = 3600
    token_lifetime: float | None = None
    items_endpoint: bool = True
    premium_lapsed: bool = False
    login_user: str = "owner"
    faults: Faults = field(default_factory=Faults)
    # A hostile or broken upstream (issue 9):
    rewrite_next: Callable[[str], str] | None = None  # e.g. `next` links to another host
    endless_pages: bool = False  # `next` never ends: empty pages past the last entry
    change_every_pages: int | None = None  # the playlist grows after every N item pages
    changes: int | None = None  # ...at most this many times (None: for ever)
    answer_all: tuple[int, str] | None = None  # every /v1 request: this status and message
    redirect_all: str | None = None  # every /v1 request: 307 to this origin, same path
    announce_total: int | None = None  # paging objects claim this many entries


@dataclass
class FakeTrack:
    """A track the fake knows; ``features=None`` means Spotify has none for it."""

    id: str
    name: str
    artists: list[str]
    album: str
    album_id: str
    release_date: str
    release_date_precision: str
    popularity: int
    duration_ms: int
    features: dict[str, float] | None = None


@dataclass
class Entry:
    """One playlist entry: a track id, or ``"null"``, ``"local"`` or ``"episode"``."""

    kind: Literal["track", "null", "local", "episode"]
    track_id: str | None = None


@dataclass
class FakePlaylist:
    id: str
    name: str
    owner: str
    entries: list[Entry]
    collaborators: set[str] = field(default_factory=set)
    public: bool = True

    @property
    def snapshot_id(self) -> str:
        digest = hashlib.sha1(repr([(e.kind, e.track_id) for e in self.entries]).encode())
        return base64.b64encode(digest.digest()).decode()


def random_features(rng: random.Random) -> dict[str, float]:
    """A plausible audio-features vector."""
    values = {name: round(rng.random(), 4) for name in FEATURE_NAMES}
    values["key"] = float(rng.randint(-1, 11))
    values["mode"] = float(rng.randint(0, 1))
    values["loudness"] = round(rng.uniform(-30, 0), 3)
    values["tempo"] = round(rng.uniform(60, 200), 3)
    return values


def random_date(rng: random.Random) -> tuple[str, str]:
    """A release date with its precision, including the ``0000`` Spotify sometimes sends."""
    roll = rng.random()
    year = rng.randint(1955, 2025)
    if roll < 0.05:
        return "0000", "year"
    if roll < 0.15:
        return str(year), "year"
    if roll < 0.25:
        return f"{year}-{rng.randint(1, 12):02d}", "month"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "day"


class FakeSpotify:
    """State and handlers of the fake; see :func:`running_fake_spotify`."""

    def __init__(self, config: FakeSpotifyConfig | None = None) -> None:
        self.config = config or FakeSpotifyConfig()
        self.tracks: dict[str, FakeTrack] = {}
        self.playlists: dict[str, FakePlaylist] = {}
        self.log = RequestLog()
        self.faults = FaultInjector(self.config.faults)
        self.base = ""  # set when the server starts
        self._tokens: dict[str, tuple[str | None, float]] = {}  # token -> (user, expiry)
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self._codes: dict[str, tuple[str, str, str]] = {}  # code -> (user, challenge, redirect)
        self.token_requests: list[str] = []  # grant types, in order
        self.rng = random.Random(1)
        self.pages_served = 0  # item pages (/items, /tracks) answered
        self.changes_made = 0  # times change_every_pages altered a playlist
        # Built track objects, so a page of a big playlist is served quickly (read-only).
        self._objects: dict[tuple[str, str], tuple[FakeTrack, dict[str, Any]]] = {}

    # -- test set-up ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the Web API (``SPOTIFY_API_URL``)."""
        return f"{self.base}/v1"

    @property
    def accounts_url(self) -> str:
        """Base URL of the accounts service (``SPOTIFY_ACCOUNTS_URL``)."""
        return self.base

    @property
    def requests(self) -> RequestLog:
        """The request log."""
        return self.log

    def env(self, *, user: str | None = None) -> dict[str, str]:
        """Environment variables pointing the real client at this fake.

        With ``user``, also a refresh token for that user (``SPOTIFY_REFRESH_TOKEN``).
        """
        env = {
            "SPOTIFY_CLIENT_ID": self.config.client_id,
            "SPOTIFY_CLIENT_SECRET": self.config.client_secret,
            "SPOTIFY_API_URL": self.url,
            "SPOTIFY_ACCOUNTS_URL": self.accounts_url,
            "RECCOBEATS_API_URL": "off",
        }
        if user is not None:
            env["SPOTIFY_REFRESH_TOKEN"] = self.issue_refresh_token(user)
        return env

    def set_faults(self, faults: Faults) -> None:
        """Replace the injected faults (counters restart)."""
        self.config.faults = faults
        self.faults = FaultInjector(faults)

    def add_track(self, track_id: str | None = None, *, features: bool = True, **kw: Any) -> str:
        """Add a track (random values for whatever is not given); return its id."""
        rng = self.rng
        track_id = track_id or random_id(rng)
        date, precision = random_date(rng)
        track = FakeTrack(
            id=track_id,
            name=kw.pop("name", f"Song {len(self.tracks) + 1}"),
            artists=kw.pop("artists", [f"Artist {rng.randint(1, 500)}"]),
            album=kw.pop("album", f"Album {rng.randint(1, 2000)}"),
            album_id=kw.pop("album_id", random_id(rng)),
            release_date=kw.pop("release_date", date),
            release_date_precision=kw.pop("release_date_precision", precision),
            popularity=kw.pop("popularity", rng.randint(0, 100)),
            duration_ms=kw.pop("duration_ms", rng.randint(90_000, 400_000)),
            features=kw.pop("features_values", random_features(rng) if features else None),
        )
        if kw:
            raise TypeError(f"unknown track fields: {sorted(kw)}")
        self.tracks[track_id] = track
        return track_id

    def add_playlist(
        self,
        entries: list[Entry | str] | int,
        *,
        playlist_id: str | None = None,
        name: str = "Fake playlist",
        owner: str = "owner",
        collaborators: set[str] | None = None,
    ) -> str:
        """Add a playlist of track ids / :class:`Entry` (an int: that many new tracks)."""
        if isinstance(entries, int):
            entries = [self.add_track() for _ in range(entries)]
        playlist_id = playlist_id or random_id(self.rng)
        self.playlists[playlist_id] = FakePlaylist(
            playlist_id,
            name,
            owner,
            [e if isinstance(e, Entry) else Entry("track", e) for e in entries],
            collaborators or set(),
        )
        return playlist_id

    def issue_refresh_token(self, user: str = "owner") -> str:
        """A refresh token for ``user``, as ``spotify-login`` would have obtained."""
        token = "AQ" + secrets.token_urlsafe(24)
        self._refresh_tokens[token] = user
        return token

    def expire_tokens(self) -> None:
        """Make every access token issued so far invalid (token expiry)."""
        self._tokens = {t: (u, 0.0) for t, (u, _) in self._tokens.items()}

    # -- auth -------------------------------------------------------------------------

    def _new_token(self, user: str | None) -> dict[str, Any]:
        token = "BQ" + secrets.token_urlsafe(32)
        lifetime = self.config.token_lifetime
        if lifetime is None:
            lifetime = self.config.token_expires_in
        self._tokens[token] = (user, time.monotonic() + lifetime)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.config.token_expires_in,
        }

    def _client_ok(self, request: web.Request, form: Any) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except ValueError:
                return False
            expected = f"{self.config.client_id}:{self.config.client_secret}"
            return decoded == expected
        return form.get("client_id") == self.config.client_id

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = str(form.get("grant_type", ""))
        self.token_requests.append(grant)

        def oauth_error(error: str, description: str, status: int = 400) -> web.Response:
            return json_response({"error": error, "error_description": description}, status=status)

        if not self._client_ok(request, form):
            return oauth_error("invalid_client", "Invalid client")
        if grant == "client_credentials":
            if not request.headers.get("Authorization", "").startswith("Basic "):
                return oauth_error("invalid_client", "Invalid client")
            return json_response(self._new_token(None))
        if grant == "refresh_token":
            user = self._refresh_tokens.get(str(form.get("refresh_token", "")))
            if user is None:
                return oauth_error("invalid_grant", "Invalid refresh token")
            return json_response({**self._new_token(user), "scope": "playlist-read-private"})
        if grant == "authorization_code":
            found = self._codes.pop(str(form.get("code", "")), None)
            if found is None:
                return oauth_error("invalid_grant", "Invalid authorization code")
            user, challenge, redirect = found
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if computed != challenge:
                return oauth_error("invalid_grant", "code_verifier was incorrect")
            if form.get("redirect_uri") != redirect:
                return oauth_error("invalid_grant", "Invalid redirect URI")
            refresh = self.issue_refresh_token(user)
            body = {
                **self._new_token(user),
                "refresh_token": refresh,
                "scope": "playlist-read-private",
            }
            return json_response(body)
        return oauth_error("unsupported_grant_type", f"grant_type {grant!r} not supported")

    async def authorize(self, request: web.Request) -> web.Response:
        """Auto-approves as ``config.login_user`` and redirects back with a code."""
        q = request.query
        if q.get("client_id") != self.config.client_id:
            return web.Response(status=400, text="INVALID_CLIENT: Invalid client")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="unsupported_response_type")
        code = secrets.token_urlsafe(16)
        self._codes[code] = (self.config.login_user, q.get("code_challenge", ""), q["redirect_uri"])
        target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}"
        raise web.HTTPFound(target)

    def token_kind(self, request: web.Request) -> str | None:
        entry = self._token_entry(request)
        if entry is None:
            return None
        return "user" if entry[0] else "client"

    def _token_entry(self, request: web.Request) -> tuple[str | None, float] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self._tokens.get(header[7:])

    @web.middleware
    async def auth_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if self.config.answer_all is not None:
            status, message = self.config.answer_all
            return json_error(status, message)
        if self.config.redirect_all is not None:
            raise web.HTTPTemporaryRedirect(self.config.redirect_all + request.path_qs)
        if "Authorization" not in request.headers:
            return json_error(401, "No token provided")
        entry = self._token_entry(request)
        if entry is None or entry[1] <= time.monotonic():
            response = json_error(401, "The access token expired")
            response.headers["WWW-Authenticate"] = 'Bearer realm="spotify", error="invalid_token"'
            return response
        if self.config.premium_lapsed:
            return json_error(
                403,
                "Active premium subscription required for the owner of the app. When the "
                "subscription status changes, it can take a few hours before requests are "
                "allowed again.",
            )
        request[USER] = entry[0]
        return await handler(request)

    # -- payloads ---------------------------------------------------------------------

    @property
    def development(self) -> bool:
        return self.config.mode == "development"

    def _ext(self, kind: str, item_id: str) -> dict[str, Any]:
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{item_id}"},
            "href": f"{self.url}/{kind}s/{item_id}",
            "id": item_id,
            "type": kind,
            "uri": f"spotify:{kind}:{item_id}",
        }

    def track_object(self, track: FakeTrack) -> dict[str, Any]:
        """A TrackObject; development mode drops popularity and available_markets."""
        key = (track.id, self.config.mode)
        cached = self._objects.get(key)
        if cached is None or cached[0] is not track:
            cached = (track, self._build_track_object(track))
            self._objects[key] = cached
        return cached[1]  # shared: callers must not mutate it

    def _build_track_object(self, track: FakeTrack) -> dict[str, Any]:
        artist_objects = []
        for name in track.artists:
            artist_id = hashlib.md5(name.encode()).hexdigest()[:22]
            artist_objects.append({**self._ext("artist", artist_id), "name": name})
        album = {
            **self._ext("album", track.album_id),
            "album_type": "album",
            "total_tracks": 12,
            "name": track.album,
            "release_date": track.release_date,
            "release_date_precision": track.release_date_precision,
            "images": [{"url": "https://i.scdn.co/image/ab67", "height": 640, "width": 640}],
            "artists": artist_objects[:1],
        }
        obj: dict[str, Any] = {
            **self._ext("track", track.id),
            "album": album,
            "artists": artist_objects,
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": False,
            "external_ids": {"isrc": f"USRC1{abs(hash(track.id)) % 10**7:07d}"},
            "is_local": False,
            "name": track.name,
            "preview_url": None,
            "track_number": 1,
        }
        if not self.development:
            obj["popularity"] = track.popularity
            obj["available_markets"] = ["DE", "GB", "US"]
            album["available_markets"] = ["DE", "GB", "US"]
        return obj

    def _local_object(self, n: int) -> dict[str, Any]:
        nulls = {"external_urls": {}, "href": None, "id": None, "uri": None}
        return {
            **nulls,
            "type": "track",
            "album": {
                **nulls,
                "type": "album",
                "name": "Manic (Deluxe)",
                "album_type": None,
                "artists": [],
                "images": [],
                "release_date": None,
                "release_date_precision": None,
            },
            "artists": [{**nulls, "type": "artist", "name": "Halsey"}],
            "disc_number": 0,
            "duration_ms": 174000,
            "explicit": False,
            "external_ids": {},
            "is_local": True,
            "name": f"Local song {n}",
            "popularity": 0,
            "preview_url": None,
            "track_number": 0,
            "uri": f"spotify:local:Halsey:Manic+%28Deluxe%29:Local+song+{n}:174",
        }

    def _episode_object(self, n: int, typed: bool) -> dict[str, Any]:
        episode_id = f"{n:022d}"[-22:]
        base = {
            **self._ext("episode", episode_id),
            "name": f"Episode {n}",
            "duration_ms": 1_800_000,
        }
        if typed:  # additional_types=episode: a real EpisodeObject
            return {
                **base,
                "release_date": "2024-05-01",
                "release_date_precision": "day",
                "show": {**self._ext("show", "5" * 22), "name": "A podcast"},
                "description": "",
                "languages": ["en"],
            }
        # Otherwise Spotify sends a track-shaped object flagged as an episode.
        return {
            **base,
            "episode": True,
            "track": False,
            "album": {"name": "A podcast"},
            "artists": [],
            "is_local": False,
        }

    def entry_object(self, entry: Entry, n: int, *, new_names: bool, typed: bool) -> dict[str, Any]:
        """A PlaylistTrackObject (``item`` and/or ``track`` per the endpoint)."""
        if entry.kind == "track" and entry.track_id in self.tracks:
            item: dict[str, Any] | None = self.track_object(self.tracks[entry.track_id])
        elif entry.kind == "local":
            item = self._local_object(n)
        elif entry.kind == "episode":
            item = self._episode_object(n, typed)
        else:
            item = None  # no longer available
        added_by = None if n % 97 == 0 else {**self._ext("user", "owner"), "external_urls": {}}
        obj: dict[str, Any] = {
            "added_at": None if added_by is None else "2021-03-04T05:06:07Z",
            "added_by": added_by,
            "is_local": entry.kind == "local",
            "track": item,
        }
        if new_names:
            obj["item"] = item
        else:
            obj["primary_color"] = None
            obj["video_thumbnail"] = {"url": None}
        return obj

    def paging(
        self,
        request: web.Request,
        path: str,
        playlist: FakePlaylist,
        offset: int,
        limit: int,
        *,
        new_names: bool,
    ) -> dict[str, Any]:
        """A paging object with absolute ``next``/``previous`` links to this server."""
        types = request.query.get("additional_types", "")
        typed = "episode" in types
        total = len(playlist.entries)
        window = playlist.entries[offset : offset + limit]
        origin = f"{request.url.scheme}://{request.url.host}:{request.url.port}"

        def link(at: int) -> str:
            query = {"offset": at, "limit": limit}
            if types:
                query["additional_types"] = types
            return f"{origin}{path}?{urlencode(query)}"

        more = offset + limit < total or self.config.endless_pages
        next_link = link(offset + limit) if more else None
        if next_link is not None and self.config.rewrite_next is not None:
            next_link = self.config.rewrite_next(next_link)
        return {
            "href": link(offset),
            "items": [
                self.entry_object(e, offset + i, new_names=new_names, typed=typed)
                for i, e in enumerate(window)
            ],
            "limit": limit,
            "next": next_link,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": total if self.config.announce_total is None else self.config.announce_total,
        }

    # -- Web API handlers -------------------------------------------------------------

    def _playlist(self, request: web.Request) -> FakePlaylist:
        playlist = self.playlists.get(request.match_info["playlist_id"])
        if playlist is None or (self.development and playlist.owner == "spotify"):
            raise web.HTTPNotFound(
                text='{"error": {"status": 404, "message": "Resource not found"}}',
                content_type="application/json",
            )
        return playlist

    def _may_read_items(self, request: web.Request, playlist: FakePlaylist) -> bool:
        if not self.development:
            return True
        user = request.get(USER)
        return user is not None and (user == playlist.owner or user in playlist.collaborators)

    @staticmethod
    def _limits(request: web.Request, maximum: int) -> tuple[int, int] | web.Response:
        try:
            limit = int(request.query.get("limit", "20"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return json_error(400, "Invalid limit")
        if not 1 <= limit <= maximum or offset < 0:
            return json_error(400, "Invalid limit")
        return limit, offset

    async def get_playlist(self, request: web.Request) -> web.Response:
        playlist = self._playlist(request)
        body: dict[str, Any] = {
            **self._ext("playlist", playlist.id),
            "collaborative": bool(playlist.collaborators),
            "description": "A playlist for tests",
            "followers": {"href": None, "total": 3},
            "images": [],
            "name": playlist.name,
            "owner": {**self._ext("user", playlist.owner), "display_name": playlist.owner.title()},
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
        }
        path = f"/v1/playlists/{playlist.id}"
        if not self.development:
            body["tracks"] = self.paging(
                request, f"{path}/tracks", playlist, 0, 100, new_names=False
            )
        elif self._may_read_items(request, playlist):
            body["items"] = self.paging(request, f"{path}/items", playlist, 0, 50, new_names=True)
        return json_response(body)

    async def get_playlist_items(self, request: web.Request) -> web.Response:
        if not self.config.items_endpoint:
            return json_error(404, "Service not found")
        playlist = self._playlist(request)
        if not self._may_read_items(request, playlist):
            return json_error(403, "Forbidden")
        limits = self._limits(request, 50)
        if isinstance(limits, web.Response):
            return limits
        limit, offset = limits
        body = self.paging(request, request.path, playlist, offset, limit, new_names=True)
        self._page_served(playlist)
        return json_response(body)

    async def get_playlist_tracks(self, request: web.Request) -> web.Response:
        playlist = self._playlist(request)
        if self.development:
            return json_error(403, "Forbidden")
        limits = self._limits(request, 100)
        if isinstance(limits, web.Response):
            return limits
        limit, offset = limits
        body = self.paging(request, request.path, playlist, offset, limit, new_names=False)
        self._page_served(playlist)
        return json_response(body)

    def _page_served(self, playlist: FakePlaylist) -> None:
        """``change_every_pages``: someone adds a track while the client reads."""
        self.pages_served += 1
        every, limit = self.config.change_every_pages, self.config.changes
        if (
            not every
            or self.pages_served % every
            or (limit is not None and self.changes_made >= limit)
        ):
            return
        self.changes_made += 1
        playlist.entries.append(Entry("track", self.add_track()))

    def _ids(self, request: web.Request, maximum: int) -> list[str] | web.Response:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not ids or len(ids) > maximum:
            return json_error(400, "Bad request: too many ids requested" if ids else "invalid id")
        return ids

    async def get_tracks(self, request: web.Request) -> web.Response:
        if self.development:
            return json_error(403, "Forbidden")
        ids = self._ids(request, 50)
        if isinstance(ids, web.Response):
            return ids
        tracks = [self.track_object(self.tracks[i]) if i in self.tracks else None for i in ids]
        return json_response({"tracks": tracks})

    async def get_track(self, request: web.Request) -> web.Response:
        track_id = request.match_info["track_id"]
        if len(track_id) != 22 or any(c not in BASE62 for c in track_id):
            return json_error(400, "Invalid base62 id")
        track = self.tracks.get(track_id)
        if track is None:
            return json_error(404, "Resource not found")
        return json_response(self.track_object(track))

    def _features_object(self, track: FakeTrack) -> dict[str, Any] | None:
        if track.features is None:
            return None
        values: dict[str, Any] = dict(track.features)
        values["key"] = int(values["key"])
        values["mode"] = int(values["mode"])
        return {
            **values,
            "type": "audio_features",
            "id": track.id,
            "uri": f"spotify:track:{track.id}",
            "track_href": f"{self.url}/tracks/{track.id}",
            "analysis_url": f"{self.url}/audio-analysis/{track.id}",
            "duration_ms": track.duration_ms,
            "time_signature": 4,
        }

    async def get_audio_features(self, request: web.Request) -> web.Response:
        if self.development:
            return json_error(403, None)  # the real body has no message
        ids = self._ids(request, 100)
        if isinstance(ids, web.Response):
            return ids
        found = [self._features_object(self.tracks[i]) if i in self.tracks else None for i in ids]
        return json_response({"audio_features": found})

    async def get_audio_features_one(self, request: web.Request) -> web.Response:
        if self.development:
            return json_error(403, None)
        track = self.tracks.get(request.match_info["track_id"])
        features = self._features_object(track) if track else None
        if features is None:
            return json_error(404, "analysis not found")
        return json_response(features)

    async def get_album(self, request: web.Request) -> web.Response:
        album_id = request.match_info["album_id"]
        track = next((t for t in self.tracks.values() if t.album_id == album_id), None)
        if track is None:
            return json_error(404, "Resource not found")
        album = dict(self.track_object(track)["album"])  # the cached object stays intact
        album.update(copyrights=[], genres=[], label="Fake Records", tracks={"items": []})
        if not self.development:
            album["popularity"] = track.popularity
        return json_response(album)

    async def get_me(self, request: web.Request) -> web.Response:
        user = request.get(USER)
        if user is None:
            return json_error(401, "This request requires user authentication.")
        return json_response({**self._ext("user", user), "display_name": user.title()})

    def app(self) -> web.Application:
        """The aiohttp application serving the accounts service and ``/v1``."""
        app = web.Application(
            middlewares=[
                logging_middleware(
                    self.log,
                    lambda: self.faults,
                    lambda request: request.path.startswith("/v1/"),
                    self.token_kind,
                ),
                self.auth_middleware,
            ]
        )
        r = app.router
        r.add_post("/api/token", self.token)
        r.add_get("/authorize", self.authorize)
        r.add_get("/v1/me", self.get_me)
        r.add_get("/v1/playlists/{playlist_id}", self.get_playlist)
        r.add_get("/v1/playlists/{playlist_id}/items", self.get_playlist_items)
        r.add_get("/v1/playlists/{playlist_id}/tracks", self.get_playlist_tracks)
        for path in ("/v1/tracks", "/v1/tracks/"):  # spotipy adds the slash
            r.add_get(path, self.get_tracks)
        r.add_get("/v1/tracks/{track_id}", self.get_track)
        for path in ("/v1/audio-features", "/v1/audio-features/"):
            r.add_get(path, self.get_audio_features)
        r.add_get("/v1/audio-features/{track_id}", self.get_audio_features_one)
        r.add_get("/v1/albums/{album_id}", self.get_album)
        return app


@contextlib.asynccontextmanager
async def running_fake_spotify(
    config: FakeSpotifyConfig | None = None,
) -> AsyncIterator[FakeSpotify]:
    """Start a fake Spotify on 127.0.0.1 (random port); yield it with ``.url`` set."""
    fake = FakeSpotify(config)
    async with serve(fake.app()) as base:
        fake.base = base
        yield fake
