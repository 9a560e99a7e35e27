"""Read a playlist: metadata first, then every item, pages fetched concurrently."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from recommender.ids import parse_spotify_id
from recommender.spotify.client import SpotifyClient
from recommender.spotify.errors import BadReference, PlaylistNotFound, PlaylistNotReadable
from recommender.spotify.parse import EntryKind, classify_entry
from recommender.spotify.transport import Response
from recommender.track import Track

ITEMS_PAGE = 50  # documented maximum of /playlists/{id}/items
TRACKS_PAGE = 100  # the older /playlists/{id}/tracks accepted 100

PageCallback = Callable[[int, int], Awaitable[None] | None]


@dataclass(frozen=True)
class PlaylistInfo:
    """A playlist's metadata. ``total`` counts every entry, skipped ones included."""

    id: str
    name: str
    owner: str
    snapshot_id: str | None
    total: int | None
    public: bool | None = None
    collaborative: bool = False


@dataclass
class PlaylistContents:
    """A playlist's usable tracks (unique, in order) and what was skipped."""

    info: PlaylistInfo
    tracks: list[Track] = field(default_factory=list)
    skipped_local: int = 0
    skipped_episodes: int = 0
    skipped_unavailable: int = 0
    duplicates: int = 0
    endpoint: str = "items"


def playlist_id_from(reference: str) -> str:
    """The id of a playlist link, ``spotify:playlist:`` URI or bare id; else BadReference."""
    playlist_id = parse_spotify_id(reference, "playlist")
    if playlist_id is None:
        raise BadReference(reference, "playlist")
    return playlist_id


def _info(playlist_id: str, body: dict[str, Any], page: dict[str, Any] | None) -> PlaylistInfo:
    raw_owner = body.get("owner")
    owner: dict[str, Any] = raw_owner if isinstance(raw_owner, dict) else {}
    total = page.get("total") if page else None
    return PlaylistInfo(
        id=playlist_id,
        name=str(body.get("name") or ""),
        owner=str(owner.get("display_name") or owner.get("id") or ""),
        snapshot_id=body.get("snapshot_id"),
        total=total if isinstance(total, int) else None,
        public=body.get("public"),
        collaborative=bool(body.get("collaborative")),
    )


def _embedded_page(body: dict[str, Any]) -> dict[str, Any] | None:
    """The paging object inside a PlaylistObject: ``items`` (2026) or ``tracks`` (older)."""
    for key in ("items", "tracks"):
        page = body.get(key)
        if isinstance(page, dict):
            return page
    return None


async def _notify(callback: PageCallback | None, done: int, total: int) -> None:
    if callback is not None:
        result = callback(done, total)
        if inspect.isawaitable(result):
            await result


class _PlaylistReader:
    """The state of reading one playlist (which endpoint works, what is known)."""

    def __init__(self, client: SpotifyClient, playlist_id: str) -> None:
        self.client = client
        self.playlist_id = playlist_id
        self.name: str | None = None
        caps = client.capabilities
        self.endpoint = "tracks" if caps.playlist_items_endpoint is False else "items"

    @property
    def page_size(self) -> int:
        return ITEMS_PAGE if self.endpoint == "items" else TRACKS_PAGE

    def _params(self, **extra: str) -> dict[str, str]:
        params = {"additional_types": "track,episode", **extra}
        if self.client.settings.market:
            params["market"] = self.client.settings.market
        return params

    def _not_readable(self) -> PlaylistNotReadable:
        return PlaylistNotReadable(
            self.playlist_id, self.name, user_login=self.client.has_user_token
        )

    async def metadata(self) -> dict[str, Any]:
        response = await self.client.get(
            f"playlists/{self.playlist_id}",
            self._params(),
            what=f"playlist {self.playlist_id}",
            allow=(400, 403, 404),
        )
        if response.status in (400, 404):
            raise PlaylistNotFound(self.playlist_id)
        if response.status == 403 or not isinstance(response.body, dict):
            raise self._not_readable()
        self.name = str(response.body.get("name") or "") or None
        return response.body

    async def page(self, offset: int) -> dict[str, Any]:
        """One page of entries; the first call also settles /items versus /tracks."""
        response = await self._get_page(offset)
        if response.status in (403, 404) and self.endpoint == "items":
            # /items is refused where only the older /tracks exists (older proxies,
            # some extended-quota setups); try it before calling the playlist unreadable.
            self.endpoint = "tracks"
            fallback = await self._get_page(offset)
            if fallback.ok:
                self.client.capabilities.playlist_items_endpoint = False
                response = fallback
            else:
                self.endpoint = "items"
        if response.status in (403, 404) or not isinstance(response.body, dict):
            raise self._not_readable()
        if self.endpoint == "items":
            self.client.capabilities.playlist_items_endpoint = True
        return response.body

    async def _get_page(self, offset: int) -> Response:
        return await self.client.get(
            f"playlists/{self.playlist_id}/{self.endpoint}",
            self._params(limit=str(self.page_size), offset=str(offset)),
            what=f"the tracks of playlist {self.playlist_id}",
            allow=(403, 404),
        )


async def read_playlist(
    client: SpotifyClient, reference: str, *, on_page: PageCallback | None = None
) -> PlaylistContents:
    """Read a playlist's metadata and all of its items.

    ``reference`` is a link, URI or id. ``on_page(done, total)`` is called (and
    awaited if async) as pages arrive. Raises :class:`BadReference`,
    :class:`PlaylistNotFound`, :class:`PlaylistNotReadable` or a transport error.
    """
    reader = _PlaylistReader(client, playlist_id_from(reference))
    body = await reader.metadata()
    first = _embedded_page(body)
    if first is None or not isinstance(first.get("items"), list):
        first = await reader.page(0)  # development mode: metadata carries no items
    info = _info(reader.playlist_id, body, first)
    # Entries are classified as each page arrives and the raw JSON dropped: keeping
    # millions of parsed objects alive makes the garbage collector the bottleneck.
    entries = _classified(first)
    del body
    total = info.total if info.total is not None else len(entries)
    await _notify(on_page, len(entries), total)

    next_url = first.get("next")
    if len(entries) < total:
        # Settle the endpoint with one page, then ask for all the others at once:
        # the transport bounds how many are in flight.
        page = await reader.page(len(entries))
        entries.extend(_classified(page))
        next_url = page.get("next")
        await _notify(on_page, len(entries), total)
        offsets = range(len(entries), total, reader.page_size)
        done = len(entries)

        async def fetch(offset: int) -> tuple[list[Classified], str | None]:
            nonlocal done
            result = await reader.page(offset)
            classified = _classified(result)
            done += len(classified)
            await _notify(on_page, min(done, total), total)
            return classified, result.get("next")

        pages = await asyncio.gather(*(fetch(offset) for offset in offsets))
        for classified, _ in pages:
            entries.extend(classified)
        if pages:
            next_url = pages[-1][1]
    while next_url and len(entries) < 100_000:
        # The playlist grew while we read it: follow the absolute `next` links.
        response = await client.get(next_url, what=f"playlist {reader.playlist_id}")
        entries.extend(_classified(response.body))
        next_url = response.body.get("next")
    return _collect(info, entries, reader.endpoint)


Classified = tuple[EntryKind, Track | None]


def _classified(page: dict[str, Any]) -> list[Classified]:
    return [classify_entry(entry) for entry in page.get("items") or ()]


def _collect(info: PlaylistInfo, entries: list[Classified], endpoint: str) -> PlaylistContents:
    contents = PlaylistContents(info=info, endpoint=endpoint)
    seen: set[str] = set()
    for kind, track in entries:
        if kind == "local":
            contents.skipped_local += 1
        elif kind == "episode":
            contents.skipped_episodes += 1
        elif track is None:
            contents.skipped_unavailable += 1
        elif track.id in seen:
            contents.duplicates += 1
        else:
            seen.add(track.id)
            contents.tracks.append(track)
    return contents
