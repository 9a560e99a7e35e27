"""What an ingest did, for the CLI's final lines and the bot's reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from recommender.spotify.playlists import PlaylistInfo
from recommender.validation import describe_dropped


@dataclass
class IngestSummary:
    """Counts of one ingest.

    ``tracks`` usable tracks (unique); ``skipped_*`` entries that are not tracks;
    ``features_by_source`` / ``popularity_by_source`` map a source name to how
    many tracks got their value from it; ``requests`` and ``retries`` count HTTP
    requests to every service during this ingest (``rate_limited`` the 429s among
    them); ``spotify_mode`` says which API world the app is in; ``warnings`` name
    providers that failed (the ingest went on without them); ``dropped_values``
    counts, by field, the impossible numbers an upstream sent (each kept as
    unknown, see :mod:`recommender.validation`).
    """

    playlist: PlaylistInfo | None = None
    tracks: int = 0
    from_cache: int = 0
    skipped_local: int = 0
    skipped_episodes: int = 0
    skipped_unavailable: int = 0
    duplicates: int = 0
    features_by_source: dict[str, int] = field(default_factory=dict)
    popularity_by_source: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    peak_concurrency: int = 0
    spotify_mode: str = "not yet detected"
    endpoint: str = ""
    warnings: list[str] = field(default_factory=list)
    dropped_values: dict[str, int] = field(default_factory=dict)

    @property
    def without_features(self) -> int:
        """Tracks no provider had features for (kept, but not used for similarity)."""
        return self.tracks - sum(self.features_by_source.values())

    @property
    def without_popularity(self) -> int:
        """Tracks with unknown popularity."""
        return self.tracks - sum(self.popularity_by_source.values())

    def lines(self) -> list[str]:
        """A short human-readable summary, one fact per line."""

        def by_source(counts: dict[str, int], missing: int) -> str:
            parts = [f"{source} {n}" for source, n in sorted(counts.items(), key=lambda x: -x[1])]
            parts.append(f"none {missing}")
            return ", ".join(parts)

        title = f'"{self.playlist.name}" ' if self.playlist and self.playlist.name else ""
        lines = [
            f"{title}{self.tracks} tracks"
            + (f" ({self.from_cache} from cache)" if self.from_cache else ""),
            f"skipped: {self.skipped_local} local, {self.skipped_episodes} episodes, "
            f"{self.skipped_unavailable} unavailable, {self.duplicates} duplicates",
            "features: " + by_source(self.features_by_source, self.without_features),
            "popularity: " + by_source(self.popularity_by_source, self.without_popularity),
            f"requests: {self.requests} ({self.retries} retries, {self.rate_limited} rate limited)",
            f"spotify: {self.spotify_mode}",
        ]
        dropped = describe_dropped(self.dropped_values)
        if dropped:
            lines.append(dropped)
        lines.extend(f"warning: {w}" for w in self.warnings)
        return lines
