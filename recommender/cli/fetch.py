"""``python -m recommender fetch PLAYLIST --out FILE.csv``: a playlist to a catalogue CSV."""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from recommender.cli import EXIT_OK, CliError
from recommender.features import FEATURE_NAMES
from recommender.ingest import Ingestion, IngestProgress, IngestResult
from recommender.spotify.errors import (
    AppRestricted,
    BadReference,
    PlaylistNotFound,
    PlaylistNotReadable,
    RateLimited,
    SpotifyAuthError,
    SpotifyConfigError,
    SpotifyError,
)
from recommender.spotify.settings import SettingsError, SpotifySettings
from recommender.track import RECORD_FIELDS, Track

EXIT_NOT_READABLE = 3
EXIT_RATE_LIMITED = 4

COLUMNS: tuple[str, ...] = ("track_id", *RECORD_FIELDS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fetch`` sub-command."""
    parser = subparsers.add_parser(
        "fetch",
        help="fetch a Spotify playlist with features and popularity to a CSV file",
        description=(
            "Reads the playlist with the Spotify settings from the environment, completes "
            "features and popularity through the provider chain, and writes one row per "
            "track. Exit codes: 0 done, 2 bad input or settings, 3 playlist not found or "
            "not readable, 4 rate limited or quota used up."
        ),
    )
    parser.add_argument("playlist", help="playlist link, spotify:playlist: URI or id")
    parser.add_argument("--out", "-o", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=60.0,
        help="longest Retry-After to wait through, in seconds (default 60: a batch job "
        "can wait out Spotify's 30-second window)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def track_row(track: Track) -> list[str]:
    """One CSV row in :data:`COLUMNS` order; unknown values are empty."""
    features = track.features or {}

    def text(value: object) -> str:
        return "" if value is None else str(value)

    return [
        track.id,
        track.name,
        track.artist_line,
        track.album,
        text(track.release_date),
        text(track.release_date_precision),
        text(track.popularity),
        text(track.duration_ms),
        *(text(features.get(name)) for name in FEATURE_NAMES),
        text(track.feature_source),
        text(track.popularity_source),
    ]


def write_csv(tracks: Sequence[Track], out: Path) -> None:
    """Write atomically: a temporary file beside ``out``, renamed when complete."""
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(COLUMNS)
            writer.writerows(track_row(t) for t in tracks)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self._last = ""

    def __call__(self, step: IngestProgress) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(step.fraction * width)
        label = f"{step.stage}:{step.source}" if step.source else str(step.stage)
        line = f"\r{label:<28.28} [{'#' * filled}{'.' * (width - filled)}] "
        line += f"{step.done}/{step.total}"
        if line != self._last:
            self.stream.write(line)
            self.stream.flush()
            self._last = line

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _exit_code(error: SpotifyError) -> int:
    if isinstance(error, BadReference | SpotifyAuthError | SpotifyConfigError):
        return 2
    if isinstance(error, PlaylistNotFound | PlaylistNotReadable | AppRestricted):
        return EXIT_NOT_READABLE
    if isinstance(error, RateLimited):  # QuotaExceeded included
        return EXIT_RATE_LIMITED
    return 1


async def _ingest(settings: SpotifySettings, args: argparse.Namespace) -> IngestResult:
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress)
    try:
        async with Ingestion(settings) as ingestion:
            return await ingestion.playlist(args.playlist, progress=bar, max_wait=args.max_wait)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    """Fetch, write the CSV, print the summary; map failures to exit codes."""
    out: Path = args.out
    if out.is_dir() or not out.parent.is_dir():
        raise CliError(f"cannot write {out}: the folder does not exist or it is a folder")
    try:
        settings = SpotifySettings.from_env()
    except SettingsError as error:
        raise CliError(str(error)) from None
    if not (settings.has_client_credentials or settings.has_user_token):
        raise CliError(
            "set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (and SPOTIFY_REFRESH_TOKEN "
            "from `python -m recommender spotify-login` to read your own playlists)"
        )
    try:
        result = asyncio.run(_ingest(settings, args))
    except SpotifyError as error:
        raise CliError(error.message, _exit_code(error)) from None
    write_csv(result.tracks, out)
    for line in result.summary.lines():
        print(line)
    print(f"wrote {len(result.tracks)} tracks to {out}")
    return EXIT_OK
