"""Adding, removing and refreshing a guild's playlist sources (Spotify or CSV)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.catalogues import CatalogueService
from bot.errors import UserFacingError, csv_problem, upstream_message
from bot.store import Store
from bot.store.models import PlaylistSource
from bot.untrusted_text import code, inline
from recommender.ingest.progress import IngestProgress
from recommender.ingest.service import Ingestion
from recommender.ingest.summary import IngestSummary
from recommender.loaders import CatalogueFormatError, catalogue_from_frame, read_catalogue_bytes
from recommender.spotify.errors import SpotifyError
from recommender.spotify.playlists import playlist_id_from

log = logging.getLogger(__name__)

MAX_CSV_BYTES = 8 * 1024 * 1024
Report = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class SourceResult:
    """A source after adding or refreshing it, with lines describing what happened."""

    source: PlaylistSource
    lines: list[str]
    changed: bool = True


class _Throttled:
    """Forward progress text at most every ``interval`` seconds (Discord edits are rate limited)."""

    def __init__(self, report: Report | None, interval: float = 1.5) -> None:
        self._report = report
        self._interval = interval
        self._last = 0.0

    async def __call__(self, progress: IngestProgress) -> None:
        now = time.monotonic()
        if self._report is None or now - self._last < self._interval:
            return
        self._last = now
        await self._report(describe_progress(progress))


def describe_progress(progress: IngestProgress) -> str:
    """A one-line progress message for an ingest step."""
    stage = progress.stage
    if stage == "playlist":
        what = "Reading the playlist"
    elif stage.startswith("features:"):
        what = f"Looking up audio features ({stage.split(':', 1)[1]})"
    elif stage.startswith("popularity:"):
        what = f"Looking up popularity ({stage.split(':', 1)[1]})"
    else:
        what = "Finishing"
    if progress.total > 0:
        return f"{what}: {progress.done}/{progress.total}…"
    return f"{what}…"


class SourceService:
    """Use cases behind /setplaylist, /removeplaylist and /refreshplaylists."""

    def __init__(
        self,
        store: Store,
        catalogues: CatalogueService,
        ingestion: Ingestion | None,
        *,
        max_sources: int = 10,
    ) -> None:
        self._store = store
        self._catalogues = catalogues
        self._ingestion = ingestion
        self._max_sources = max_sources

    async def _check_room(self, guild_id: int, key: str) -> None:
        if await self._store.get_source(guild_id, key) is not None:
            return  # re-adding an existing source refreshes it
        if await self._store.count_sources(guild_id) >= self._max_sources:
            raise UserFacingError(
                f"This server already has {self._max_sources} playlists, the most allowed. "
                "Remove one with `/removeplaylist` first."
            )

    async def add_spotify(
        self, guild_id: int, user_id: int, reference: str, report: Report | None = None
    ) -> SourceResult:
        """Fetch a Spotify playlist and make it one of the guild's sources."""
        try:
            playlist_id = playlist_id_from(reference)
        except SpotifyError:
            raise UserFacingError(
                "That is not a Spotify playlist link, `spotify:playlist:` URI or id. "
                "Copy the link from Spotify (Share → Copy link to playlist)."
            ) from None
        if self._ingestion is None:
            raise UserFacingError(
                "This bot has no Spotify credentials, so it can't read playlists. Export "
                "the playlist to CSV (e.g. with Exportify) and attach the file to "
                "`/setplaylist` instead."
            )
        await self._check_room(guild_id, playlist_id)
        try:
            result = await self._ingestion.playlist(
                playlist_id, progress=_Throttled(report), max_wait=60.0
            )
        except SpotifyError as error:
            log.info("guild %s: playlist %s not added: %s", guild_id, playlist_id, error)
            raise UserFacingError(upstream_message(error)) from None
        summary = result.summary
        info = summary.playlist
        previous = await self._store.get_source(guild_id, playlist_id)
        source = PlaylistSource(
            guild_id=guild_id,
            key=playlist_id,
            kind="spotify",
            display_name=(info.name if info and info.name else playlist_id)[:200],
            added_by=user_id,
            added_at=dt.datetime.now(dt.UTC),
            snapshot_id=info.snapshot_id if info else None,
            skipped_count=summary.skipped_local
            + summary.skipped_episodes
            + summary.skipped_unavailable,
            featureless_count=summary.without_features,
        )
        await self._store.put_tracks(result.tracks)
        saved = await self._store.save_source(source, [t.id for t in result.tracks])
        await self._catalogues.reload(guild_id)
        return SourceResult(
            saved,
            _summary_lines(summary),
            changed=previous is None or (previous.snapshot_id != saved.snapshot_id),
        )

    async def add_csv(
        self, guild_id: int, user_id: int, filename: str, data: bytes
    ) -> SourceResult:
        """Make an uploaded CSV export one of the guild's sources."""
        if len(data) > MAX_CSV_BYTES:
            raise UserFacingError(
                f"That file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB. "
                "Split the playlist or remove columns you don't need."
            )
        columns: list[str] | None = None  # the header row, to list it shortened
        try:
            frame = read_catalogue_bytes(data, filename)
            columns = [str(column) for column in frame.columns]
            catalogue, report = catalogue_from_frame(frame, source=filename)
        except CatalogueFormatError as error:
            raise UserFacingError(csv_problem(filename, str(error), columns)) from None
        if len(catalogue) == 0:
            raise UserFacingError(
                f"{code(filename, 100)} has no rows with a Spotify track id or link."
            )
        key = "csv:" + hashlib.sha256(data).hexdigest()[:16]
        await self._check_room(guild_id, key)
        tracks = catalogue.tracks()
        source = PlaylistSource(
            guild_id=guild_id,
            key=key,
            kind="csv",
            display_name=filename[:200],
            added_by=user_id,
            added_at=dt.datetime.now(dt.UTC),
            skipped_count=report.skipped_bad_id,
            featureless_count=report.featureless,
        )
        # The file's values are this guild's own: never the shared upstream cache.
        saved = await self._store.save_upload(source, tracks)
        await self._catalogues.reload(guild_id)
        lines = [
            f"{report.tracks} tracks from {report.rows_read} rows",
            f"{report.featureless} without audio features (kept for popularity and ratings)",
        ]
        if report.skipped_bad_id:
            lines.append(f"{report.skipped_bad_id} rows skipped: no Spotify track id")
        if report.dropped:
            lines.append(report.dropped_line() or "")
        return SourceResult(saved, lines)

    async def list_sources(self, guild_id: int) -> list[PlaylistSource]:
        """The guild's sources, oldest first (/playlists and its autocomplete)."""
        return await self._store.list_sources(guild_id)

    async def remove(self, guild_id: int, key: str) -> PlaylistSource:
        """Remove one source; raise :class:`UserFacingError` if the guild has no such source."""
        source = await self._store.get_source(guild_id, key)
        if source is None or not await self._store.remove_source(guild_id, key):
            raise UserFacingError("This server has no such playlist. See `/playlists`.")
        await self._catalogues.reload(guild_id)
        return source

    async def refresh_all(self, guild_id: int, report: Report | None = None) -> list[str]:
        """Refetch every Spotify source; unchanged snapshots keep their tracks."""
        sources = [s for s in await self._store.list_sources(guild_id) if s.kind == "spotify"]
        if not sources:
            raise UserFacingError("This server has no Spotify playlists to refresh.")
        lines: list[str] = []
        for number, source in enumerate(sources, start=1):
            if report:
                await report(
                    f"Refreshing {number}/{len(sources)}: {inline(source.display_name, 100)}…"
                )
            try:
                result = await self.add_spotify(guild_id, source.added_by, source.key)
            except UserFacingError as error:
                # Nothing was written (save_source runs only after a complete fetch):
                # say so, because "not refreshed" alone reads like "now empty".
                lines.append(
                    f"**{inline(source.display_name, 100)}**: not refreshed (kept the previous "
                    f"{source.track_count} tracks), {error}"
                )
                continue
            state = "updated" if result.changed else "unchanged"
            lines.append(
                f"**{inline(result.source.display_name, 100)}**: {state}, "
                f"{result.source.track_count} tracks"
            )
        return lines


def _summary_lines(summary: IngestSummary) -> list[str]:
    lines = summary.lines()
    # The raw request counts are for operators; members see what matters to them.
    # Lines quote the playlist's name and upstream warnings: untrusted text.
    return [inline(line, 300) for line in lines if not line.startswith(("requests:", "spotify:"))]
