"""The provider chain: for each missing value, ask each provider in turn."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from recommender.loaders import CatalogueFormatError
from recommender.progress import ProgressCallback
from recommender.providers.base import FeatureProvider, PopularityProvider
from recommender.spotify.errors import SpotifyError
from recommender.track import Track
from recommender.validation import checked_int

log = logging.getLogger(__name__)

# A provider failing is a degraded answer, not a failed ingest: the next one is tried.
_PROVIDER_FAILURES = (SpotifyError, CatalogueFormatError, OSError)


@dataclass
class ChainReport:
    """Which provider supplied how many values, and which providers failed and why."""

    features_by_source: Counter[str] = field(default_factory=Counter)
    popularity_by_source: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


class ProviderChain:
    """Features: e.g. Spotify -> ReccoBeats -> datasets; popularity likewise.

    Each provider is asked only for the ids still missing a value, and every
    value keeps the name of the provider that supplied it as its source.
    """

    def __init__(
        self,
        feature_providers: Sequence[FeatureProvider] = (),
        popularity_providers: Sequence[PopularityProvider] = (),
    ) -> None:
        self.feature_providers = list(feature_providers)
        self.popularity_providers = list(popularity_providers)

    @property
    def names(self) -> tuple[list[str], list[str]]:
        """Provider names in order: (features, popularity)."""
        return (
            [p.name for p in self.feature_providers],
            [p.name for p in self.popularity_providers],
        )

    async def complete(
        self,
        tracks: Sequence[Track],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> tuple[list[Track], ChainReport]:
        """Return ``tracks`` with missing features and popularity filled where possible;
        ``progress`` hears each provider's batches; ``patience`` is the longest
        ``Retry-After`` a provider waits through (``None``: its short default)."""
        report = ChainReport()
        features: dict[str, tuple[dict[str, float], str]] = {}
        popularity: dict[str, tuple[int, str]] = {}
        for track in tracks:
            if track.features is not None:
                features[track.id] = (track.features, track.feature_source or "unknown")
            if track.popularity is not None:
                popularity[track.id] = (track.popularity, track.popularity_source or "unknown")
        ids = [t.id for t in tracks]

        for provider in self.feature_providers:
            missing = [i for i in ids if i not in features]
            if not missing:
                break
            asked = set(missing)
            found = await self._ask(provider, "features", missing, report, progress, patience)
            for track_id, values in found.items():
                # Providers return clean_features() output (their contract), so no second
                # validation here: on a 10,000-track ingest it costs a noticeable share.
                if track_id in asked and values:
                    features[track_id] = (values, provider.name)
        for popularity_provider in self.popularity_providers:
            missing = [i for i in ids if i not in popularity]
            if not missing:
                break
            asked = set(missing)
            found_pop = await self._ask(
                popularity_provider, "popularity", missing, report, progress, patience
            )
            for track_id, value in found_pop.items():
                checked = checked_int("popularity", value) if track_id in asked else None
                if checked is not None:
                    popularity[track_id] = (checked, popularity_provider.name)

        completed: list[Track] = []
        for track in tracks:
            feats, feature_source = features.get(track.id, (None, None))
            pop, popularity_source = popularity.get(track.id, (None, None))
            if feature_source:
                report.features_by_source[feature_source] += 1
            if popularity_source:
                report.popularity_by_source[popularity_source] += 1
            completed.append(
                dataclasses.replace(
                    track,
                    features=feats,
                    feature_source=feature_source,
                    popularity=pop,
                    popularity_source=popularity_source,
                )
            )
        return completed, report

    async def _ask(
        self,
        provider: FeatureProvider | PopularityProvider,
        kind: str,
        missing: list[str],
        report: ChainReport,
        progress: ProgressCallback | None,
        patience: float | None,
    ) -> dict:
        try:
            if kind == "features":
                return await provider.features(missing, progress=progress, patience=patience)  # type: ignore[union-attr]
            return await provider.popularity(missing, progress=progress, patience=patience)  # type: ignore[union-attr]
        except _PROVIDER_FAILURES as error:
            message = getattr(error, "message", None) or str(error)
            log.warning("%s provider %s failed: %s", kind, provider.name, message)
            report.warnings.append(f"{kind} from {provider.name} skipped: {message}")
            return {}
