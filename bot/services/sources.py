"""Adding, removing and refreshing a guild's playlist sources (Spotify or CSV).

Adding is two phases, so an import job (:mod:`bot.services.import_jobs`) can cancel or time
out the first and never the second: *prepare* reads the playlist from Spotify or
parses the file (on the bulk pool, off the event loop) and writes nothing to the
guild; :meth:`SourceService.save` stores what was read (the store swaps a big
source in as a whole) and rebuilds the guild's catalogue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import UserFacingError, csv_problem, upstream_message
from bot.infra.offload import release, run_bulk
from bot.render.untrusted_text import code, inline
from bot.services.catalogues import CatalogueService
from bot.services.import_jobs import JobStopped
from bot.services.track_cap import TrackCap
from bot.store import Store
from bot.store.models import PlaylistSource
from recommender.ingest.pipeline import IngestResult
from recommender.ingest.service import Ingestion
from recommender.ingest.summary import IngestSummary
from recommender.loaders import (
    CatalogueFormatError,
    LoadReport,
    catalogue_from_frame,
    read_catalogue_bytes,
)
from recommender.progress import IngestProgress, ProgressCallback, Stage, notify
from recommender.spotify.errors import SpotifyError
from recommender.spotify.playlists import playlist_id_from
from recommender.track import Track

log = logging.getLogger(__name__)

MAX_CSV_BYTES = 8 * 1024 * 1024
T = TypeVar("T")
Step = Callable[[Awaitable[T]], Awaitable[T]]
"""Runs one cancellable phase of a job (:meth:`bot.services.import_jobs.ImportJob.step`)."""


async def _unbounded(work: Awaitable[T]) -> T:
    return await work


@dataclass(frozen=True)
class SourceResult:
    """A source after adding or refreshing it, with lines describing what happened."""

    source: PlaylistSource
    lines: list[str]
    changed: bool = True


@dataclass(frozen=True)
class PreparedSource:
    """A source read from Spotify or a file, not saved yet."""

    source: PlaylistSource
    tracks: list[Track]
    lines: list[str]
    upload: bool  # the values are the guild's own (a CSV), not upstream ones


class _CsvProblem(Exception):
    """A CSV the loader refused, with the header row when it was read."""

    def __init__(self, message: str, columns: list[str] | None) -> None:
        super().__init__(message)
        self.columns = columns


def _parse_csv(data: bytes, filename: str) -> tuple[list[Track], LoadReport]:
    """The file's tracks and the loader's report (CPU-bound: runs on the bulk pool)."""
    columns: list[str] | None = None  # the header row, to list it shortened
    try:
        frame = read_catalogue_bytes(data, filename)
        columns = [str(column) for column in frame.columns]
        catalogue, report = catalogue_from_frame(frame, source=filename)
    except CatalogueFormatError as error:
        raise _CsvProblem(str(error), columns) from None
    return catalogue.tracks(), report


class SourceService:
    """Use cases behind /setplaylist, /removeplaylist and /refreshplaylists."""

    def __init__(
        self,
        store: Store,
        catalogues: CatalogueService,
        ingestion: Ingestion | None,
        *,
        max_sources: int = 10,
        max_tracks: int = 100_000,
    ) -> None:
        self._store = store
        self._catalogues = catalogues
        self._ingestion = ingestion
        self._max_sources = max_sources
        self._cap = TrackCap(store, max_tracks)

    async def _check_room(self, guild_id: int, key: str) -> None:
        if await self._store.get_source(guild_id, key) is not None:
            return  # re-adding an existing source refreshes it
        if await self._store.count_sources(guild_id) >= self._max_sources:
            raise UserFacingError(
                f"This server already has {self._max_sources} playlists, the most allowed. "
                "Remove one with `/removeplaylist` first."
            )

    async def prepare_spotify(
        self,
        guild_id: int,
        user_id: int,
        reference: str,
        progress: ProgressCallback | None = None,
    ) -> PreparedSource:
        """Read a Spotify playlist (with features and popularity) to add or refresh it;
        ``progress`` hears the ingest's steps (e.g. :meth:`JobMessage.progress`).

        Nothing of the guild's is written (tracks and features go to the shared cache
        of upstream values, as any ingest does). Raises :class:`UserFacingError`.
        """
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
            result = await self._read_within_cap(guild_id, playlist_id, progress)
        except SpotifyError as error:
            log.info("guild %s: playlist %s not added: %s", guild_id, playlist_id, error)
            raise UserFacingError(upstream_message(error)) from None
        await self._cap.check_tracks(guild_id, playlist_id, (t.id for t in result.tracks))
        summary = result.summary
        info = summary.playlist
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
        # The ingestion's cache is this store: the tracks are in it already.
        return PreparedSource(source, result.tracks, _summary_lines(summary), upload=False)

    async def prepare_csv(
        self, guild_id: int, user_id: int, filename: str, data: bytes
    ) -> PreparedSource:
        """Parse an uploaded CSV export (off the event loop) to add it as a source."""
        if len(data) > MAX_CSV_BYTES:
            raise UserFacingError(
                f"That file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB. "
                "Split the playlist or remove columns you don't need."
            )
        try:
            tracks, report = await run_bulk(_parse_csv, data, filename)
        except _CsvProblem as error:
            raise UserFacingError(csv_problem(filename, str(error), error.columns)) from None
        if not tracks:
            raise UserFacingError(
                f"{code(filename, 100)} has no rows with a Spotify track id or link."
            )
        key = "csv:" + hashlib.sha256(data).hexdigest()[:16]
        await self._check_room(guild_id, key)
        await self._cap.check_tracks(guild_id, key, (t.id for t in tracks))
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
        lines = [
            f"{report.tracks} tracks from {report.rows_read} rows",
            f"{report.featureless} without audio features (kept for popularity and ratings)",
        ]
        if report.skipped_bad_id:
            lines.append(f"{report.skipped_bad_id} rows skipped: no Spotify track id")
        if report.dropped:
            lines.append(report.dropped_line() or "")
        return PreparedSource(source, tracks, lines, upload=True)

    async def _read_within_cap(
        self, guild_id: int, playlist_id: str, progress: ProgressCallback | None
    ) -> IngestResult:
        """Ingest the playlist, stopping as soon as its announced size passes the cap."""
        assert self._ingestion is not None
        watch = _CapWatch(self._cap, guild_id, playlist_id, progress)
        reading = asyncio.create_task(
            self._ingestion.playlist(playlist_id, progress=watch, max_wait=60.0)
        )
        watch.reading = reading
        try:
            return await reading
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if watch.refusal is None or (current is not None and current.cancelling()):
                raise  # cancelled from outside (the admin, a deadline, shutdown)
            raise watch.refusal from None

    async def save(self, prepared: PreparedSource) -> SourceResult:
        """Store a prepared source (replacing the guild's source of that key as a
        whole) and rebuild the guild's catalogue; ``prepared.tracks`` is emptied."""
        source = prepared.source
        previous = await self._store.get_source(source.guild_id, source.key)
        if prepared.upload:
            # The file's values are this guild's own: never the shared upstream cache.
            saved = await self._store.save_upload(source, prepared.tracks)
        else:
            saved = await self._store.save_source(source, [t.id for t in prepared.tracks])
        # The store has them now (the catalogue is rebuilt from it): let them go in a
        # worker, not all at once on the event loop when the job ends.
        await release(prepared.tracks)
        await self._catalogues.reload(source.guild_id)
        changed = previous is None or previous.snapshot_id != saved.snapshot_id
        return SourceResult(saved, prepared.lines, changed=prepared.upload or changed)

    async def add_spotify(
        self,
        guild_id: int,
        user_id: int,
        reference: str,
        progress: ProgressCallback | None = None,
    ) -> SourceResult:
        """Fetch a Spotify playlist and make it one of the guild's sources."""
        return await self.save(await self.prepare_spotify(guild_id, user_id, reference, progress))

    async def add_csv(
        self, guild_id: int, user_id: int, filename: str, data: bytes
    ) -> SourceResult:
        """Make an uploaded CSV export one of the guild's sources."""
        return await self.save(await self.prepare_csv(guild_id, user_id, filename, data))

    async def list_sources(self, guild_id: int) -> list[PlaylistSource]:
        """The guild's sources, oldest first (/playlists and its autocomplete)."""
        return await self._store.list_sources(guild_id)

    async def remove(self, guild_id: int, key: str) -> PlaylistSource:
        """Remove one source; raise :class:`UserFacingError` if the guild has no such source."""
        source = await self._store.get_source(guild_id, key)
        if source is None or not await self._store.remove_source(guild_id, key):
            raise UserFacingError("This server has no such playlist. See `/playlists`.")
        # The reply need not wait for the rebuild (seconds at 100k tracks): the guild
        # is served the previous catalogue until the new one is swapped in.
        self._catalogues.refresh_soon(guild_id)
        return source

    async def refresh_all(
        self,
        guild_id: int,
        progress: ProgressCallback | None = None,
        step: Step[PreparedSource] = _unbounded,
    ) -> list[str]:
        """Refetch every Spotify source; unchanged snapshots keep their tracks.

        ``step`` runs each playlist's read (an import job's cancel and deadline); a
        stopped job ends the list with why, and the playlists not reached yet keep
        their tracks.
        """
        sources = [s for s in await self._store.list_sources(guild_id) if s.kind == "spotify"]
        if not sources:
            raise UserFacingError("This server has no Spotify playlists to refresh.")
        lines: list[str] = []
        for number, source in enumerate(sources, start=1):
            # Which playlist, not each one's own steps: those would hide which it is.
            step_event = IngestProgress(Stage.SOURCE, number, len(sources), source.display_name)
            await notify(progress, step_event)
            try:
                prepared = await step(self.prepare_spotify(guild_id, source.added_by, source.key))
                result = await self.save(prepared)
            except UserFacingError as error:
                # Nothing was written (the source is saved only after a complete
                # fetch): say so, because "not refreshed" alone reads like "now empty".
                lines.append(
                    f"**{inline(source.display_name, 100)}**: not refreshed (kept the previous "
                    f"{source.track_count} tracks), {error}"
                )
                continue
            except JobStopped as stopped:
                left = len(sources) - number + 1
                lines.append(
                    f"{stopped} Not refreshed: {left} of {len(sources)} playlists "
                    "(they keep their tracks)."
                )
                break
            state = "updated" if result.changed else "unchanged"
            lines.append(
                f"**{inline(result.source.display_name, 100)}**: {state}, "
                f"{result.source.track_count} tracks"
            )
        return lines


class _CapWatch:
    """Passes progress on; on the playlist's first page, checks its announced size
    against the guild's track cap and stops the reading task if it cannot fit (a
    progress callback's own exceptions are swallowed, so it cancels instead)."""

    def __init__(
        self, cap: TrackCap, guild_id: int, key: str, progress: ProgressCallback | None
    ) -> None:
        self._cap = cap
        self._guild_id = guild_id
        self._key = key
        self._progress = progress
        self._checked = False
        self.reading: asyncio.Task[IngestResult] | None = None
        self.refusal: UserFacingError | None = None

    async def __call__(self, event: IngestProgress) -> None:
        if event.stage is Stage.PLAYLIST and not self._checked:
            self._checked = True
            try:
                await self._cap.check_announced(self._guild_id, self._key, event.total)
            except UserFacingError as refusal:
                self.refusal = refusal
                assert self.reading is not None
                self.reading.cancel()
                return
        await notify(self._progress, event)


def _summary_lines(summary: IngestSummary) -> list[str]:
    lines = summary.lines()
    # The raw request counts are for operators; members see what matters to them.
    # Lines quote the playlist's name and upstream warnings: untrusted text.
    return [inline(line, 300) for line in lines if not line.startswith(("requests:", "spotify:"))]
