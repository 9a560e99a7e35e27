"""Read a playlist: metadata first, then every item, pages fetched concurrently."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recommender.ids import parse_spotify_id
from recommender.progress import IngestProgress, ProgressCallback, Stage, notify
from recommender.spotify.client import SpotifyClient, origin_of
from recommender.spotify.errors import (
    BadReference,
    PlaylistKeepsChanging,
    PlaylistNotFound,
    PlaylistNotReadable,
    PlaylistRunaway,
    UnexpectedResponse,
    UnsafeLink,
)
from recommender.spotify.parse import EntryKind, classify_entry
from recommender.spotify.transport import Response
from recommender.track import Track
from recommender.validation import counting_dropped, record_dropped

ITEMS_PAGE = 50  # documented maximum of /playlists/{id}/items
TRACKS_PAGE = 100  # the older /playlists/{id}/tracks accepted 100
# Spotify caps playlists at 10,000 items; ten times that is surely not a playlist.
MAX_ENTRIES = 100_000
# `next` pages allowed beyond what the announced total needs (plus one per 1,000).
PAGE_MARGIN = 3
# Readings of a playlist that changes meanwhile, before giving up.
READS = 2
MAX_NAME_CHARS = 200

log = logging.getLogger(__name__)

TracksCallback = Callable[[list[Track]], None]


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
    snapshot = body.get("snapshot_id")
    return PlaylistInfo(
        id=playlist_id,
        # Upstream text: bounded here, neutralised where it is rendered.
        name=str(body.get("name") or "")[:MAX_NAME_CHARS],
        owner=str(owner.get("display_name") or owner.get("id") or "")[:MAX_NAME_CHARS],
        snapshot_id=snapshot[:MAX_NAME_CHARS] if isinstance(snapshot, str) else None,
        total=total
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0
        else None,
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


async def _notify(progress: ProgressCallback | None, done: int, total: int) -> None:
    await notify(progress, IngestProgress(Stage.PLAYLIST, done, total))


class _PlaylistReader:
    """The state of reading one playlist (which endpoint works, what is known)."""

    def __init__(self, client: SpotifyClient, playlist_id: str, patience: float | None) -> None:
        self.client = client
        self.playlist_id = playlist_id
        self.patience = patience  # the longest Retry-After this reading waits through
        self.name: str | None = None
        caps = client.capabilities
        self.endpoint = "tracks" if caps.playlist_items_endpoint is False else "items"
        self.pages = 0  # item pages requested (the metadata's embedded page not included)
        self.answers_with_items = 0  # 1 when the metadata carried the first page
        self.snapshots: set[str | None] = set()  # every snapshot_id seen while reading
        self._rewrote = False

    def next_offset(self, url: object) -> int:
        """The offset a ``next`` link asks for, if it is a page of this very playlist.

        Only the offset is taken: the request goes to our own ``SPOTIFY_API_URL``
        with our own path, so a link to another host never receives the token. A
        link with the same API path on another origin (a proxy passing Spotify's
        links through) is rewritten onto ours; any other link stops the read.
        """
        what = f"the tracks of playlist {self.playlist_id}"
        if not isinstance(url, str):
            raise UnsafeLink(what)
        parts = urlsplit(url)
        base = urlsplit(self.client.settings.api_url).path.rstrip("/")
        pages_of_this = {f"{base}/playlists/{self.playlist_id}/{e}" for e in ("items", "tracks")}
        if parts.path.rstrip("/") not in pages_of_this:
            log.warning("playlist %s: a `next` link to another resource, refused", self.playlist_id)
            raise UnsafeLink(what)
        if origin_of(url) != self.client.api_origin and not self._rewrote:
            self._rewrote = True
            log.info(
                "playlist %s: `next` links on another origin, read from ours", self.playlist_id
            )
        offsets = parse_qs(parts.query).get("offset", [])
        if len(offsets) != 1 or not offsets[0].isdigit() or int(offsets[0]) > MAX_ENTRIES:
            raise UnsafeLink(what)
        return int(offsets[0])

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
            patience=self.patience,
        )
        if response.status in (400, 404):
            raise PlaylistNotFound(self.playlist_id)
        if response.status == 403:
            raise self._not_readable()
        if not isinstance(response.body, dict):
            raise UnexpectedResponse(
                response.status, f"playlist {self.playlist_id}", "not a JSON object"
            )
        self.name = str(response.body.get("name") or "")[:MAX_NAME_CHARS] or None
        return response.body

    async def page(self, offset: int) -> dict[str, Any]:
        """One page of entries; the first call also settles /items versus /tracks."""
        self.pages += 1
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
        if response.status in (403, 404):
            raise self._not_readable()
        if not isinstance(response.body, dict):
            raise UnexpectedResponse(
                response.status, f"the tracks of playlist {self.playlist_id}", "not a JSON object"
            )
        if self.endpoint == "items":
            self.client.capabilities.playlist_items_endpoint = True
        if "snapshot_id" in response.body:  # not in Spotify's paging object, but if sent...
            self.snapshots.add(response.body.get("snapshot_id"))
        return response.body

    async def _get_page(self, offset: int) -> Response:
        return await self.client.get(
            f"playlists/{self.playlist_id}/{self.endpoint}",
            self._params(limit=str(self.page_size), offset=str(offset)),
            what=f"the tracks of playlist {self.playlist_id}",
            allow=(403, 404),
            patience=self.patience,
        )


async def read_playlist(
    client: SpotifyClient,
    reference: str,
    *,
    progress: ProgressCallback | None = None,
    on_tracks: TracksCallback | None = None,
    patience: float | None = None,
) -> PlaylistContents:
    """Read a playlist's metadata and all of its items, as one consistent version.

    ``reference`` is a link, URI or id. ``progress`` hears a
    :attr:`~recommender.progress.Stage.PLAYLIST` event (entries done of total) as
    pages arrive; ``patience`` is the longest ``Retry-After`` to wait through
    (``None``: the client's short interactive cap); ``on_tracks(tracks)`` receives each
    page's usable tracks at once (so work on them can start early; a reading
    thrown away below has passed its tracks too). When the playlist's ``snapshot_id``
    changed while its pages were read, it is read once more; a second change
    raises :class:`PlaylistKeepsChanging` rather than return a mix of versions.
    Raises :class:`BadReference`, :class:`PlaylistNotFound`,
    :class:`PlaylistNotReadable`, :class:`PlaylistRunaway`, :class:`UnsafeLink`
    or a transport error.
    """
    playlist_id = playlist_id_from(reference)
    name: str | None = None
    for attempt in range(READS):
        # Values dropped by a reading that is thrown away must not be counted twice.
        with counting_dropped() as dropped:
            reader = _PlaylistReader(client, playlist_id, patience)
            contents = await _read_once(reader, progress, on_tracks)
            changed = await _changed_since(reader, contents)
        if not changed:
            for field_name, count in dropped.items():
                record_dropped(field_name, count)
            return contents
        name = contents.info.name or name
        log.info("playlist %s changed while it was read (attempt %d)", playlist_id, attempt + 1)
    raise PlaylistKeepsChanging(playlist_id, name)


async def _read_once(
    reader: _PlaylistReader,
    progress: ProgressCallback | None,
    on_tracks: TracksCallback | None,
) -> PlaylistContents:
    def classify(page: dict[str, Any]) -> list[Classified]:
        entries = _classified(page)
        if on_tracks is not None:
            on_tracks([track for _, track in entries if track is not None])
        return entries

    body = await reader.metadata()
    first = _embedded_page(body)
    if first is None or not isinstance(first.get("items"), list):
        first = await reader.page(0)  # development mode: metadata carries no items
    else:
        reader.answers_with_items += 1
    info = _info(reader.playlist_id, body, first)
    if info.total is not None and info.total > MAX_ENTRIES:
        raise PlaylistRunaway(
            reader.playlist_id, f"{info.total:,} entries, more than the {MAX_ENTRIES:,} read"
        )
    reader.snapshots.add(info.snapshot_id)
    # Entries are classified as each page arrives and the raw JSON dropped: keeping
    # millions of parsed objects alive makes the garbage collector the bottleneck.
    entries = classify(first)
    del body
    total = info.total if info.total is not None else len(entries)
    await _notify(progress, len(entries), total)
    # Pages the announced total needs, plus a margin for a playlist that grew a little
    # while it was read; past that a chain of `next` links is not a playlist any more.
    missing = max(0, total - len(entries))
    budget = reader.pages + math.ceil(missing / reader.page_size) + PAGE_MARGIN + total // 1_000

    next_url = first.get("next")
    if len(entries) < total:
        # Settle the endpoint with one page, then ask for all the others at once:
        # the transport bounds how many are in flight.
        page = await reader.page(len(entries))
        entries.extend(classify(page))
        next_url = page.get("next")
        await _notify(progress, len(entries), total)
        offsets = range(len(entries), total, reader.page_size)
        done = len(entries)

        async def fetch(offset: int) -> tuple[list[Classified], str | None]:
            nonlocal done
            result = await reader.page(offset)
            classified = classify(result)
            done += len(classified)
            await _notify(progress, min(done, total), total)
            return classified, result.get("next")

        pages = await asyncio.gather(*(fetch(offset) for offset in offsets))
        for classified, _ in pages:
            entries.extend(classified)
        if pages:
            next_url = pages[-1][1]
    while next_url:
        # The playlist grew while we read it: follow `next`, only ever on our own API.
        if reader.pages >= budget or len(entries) >= MAX_ENTRIES:
            raise PlaylistRunaway(
                reader.playlist_id,
                f"{reader.pages} pages and {len(entries):,} entries for {total:,} announced",
            )
        page = await reader.page(reader.next_offset(next_url))
        entries.extend(classify(page))
        next_url = page.get("next")
    return _collect(info, entries, reader.endpoint)


async def _changed_since(reader: _PlaylistReader, contents: PlaylistContents) -> bool:
    """True when the playlist is no longer the version whose first page was read.

    A playlist whose entries all came in one answer is one consistent version and
    needs no check; otherwise its ``snapshot_id`` is asked for again (pages carry
    none, though any page that does is compared too).
    """
    if reader.answers_with_items + reader.pages > 1:
        response = await reader.client.get(
            f"playlists/{reader.playlist_id}",
            {"fields": "snapshot_id"},
            what=f"playlist {reader.playlist_id}",
            allow=(403, 404),
            patience=reader.patience,
        )
        if response.ok and isinstance(response.body, dict):
            reader.snapshots.add(response.body.get("snapshot_id"))
    known = {s for s in reader.snapshots if s is not None}
    return len(known) > 1


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
