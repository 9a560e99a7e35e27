"""Ingestion: playlists and tracks from Spotify, completed by the provider chain."""

from recommender.ingest.pipeline import IngestResult, fetch_track, ingest_playlist
from recommender.ingest.service import Ingestion, build_chain
from recommender.ingest.summary import IngestSummary
from recommender.progress import IngestProgress, ProgressCallback, Stage

__all__ = [
    "IngestProgress",
    "IngestResult",
    "IngestSummary",
    "Ingestion",
    "ProgressCallback",
    "Stage",
    "build_chain",
    "fetch_track",
    "ingest_playlist",
]
