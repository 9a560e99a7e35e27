"""What this Spotify app may call, learned from answers.

A 403 on audio-features or a batch endpoint is permanent for an app (Spotify's
November 2024 and February 2026 restrictions), so asking again only wastes quota.
The record belongs to whoever passes it in: each :class:`SpotifyClient` has its own
unless given one, and the bot's one :class:`~recommender.ingest.Ingestion` per
process keeps its client, so every ingest of the process learns from the first.
There is no process-global registry: a probe (``python -m bot check``) or a test
starts from nothing without undoing anyone else's knowledge.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Capabilities:
    """``None`` means "not tried yet"; ``True``/``False`` what Spotify answered."""

    audio_features: bool | None = None
    batch_tracks: bool | None = None
    playlist_items_endpoint: bool | None = None
    popularity: bool | None = None

    @property
    def mode(self) -> str:
        """Which world the app is in, as far as has been observed."""
        if self.audio_features or self.batch_tracks or self.popularity:
            return "full API (extended quota or an app older than the 2026 restrictions)"
        if self.audio_features is False or self.batch_tracks is False:
            return "development mode (2026 restrictions)"
        return "not yet detected"
