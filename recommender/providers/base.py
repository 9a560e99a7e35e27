"""What a feature or popularity provider looks like to the provider chain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from recommender.progress import ProgressCallback


@runtime_checkable
class FeatureProvider(Protocol):
    """Looks up audio features by Spotify track id.

    ``name`` is recorded as the ``feature_source`` of every value it supplies.
    Ids it does not know are absent from the answer; features are validated with
    :func:`recommender.features.clean_features`. ``progress`` receives a
    :attr:`~recommender.progress.Stage.FEATURES` event (``source=name``) as batches finish.
    """

    name: str

    async def features(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> dict[str, dict[str, float]]:
        """Features of the known ids among ``track_ids``; ``patience`` is the longest
        ``Retry-After`` a remote provider waits through (``None``: its short default)."""
        ...


@runtime_checkable
class PopularityProvider(Protocol):
    """Looks up 0-100 popularity by Spotify track id (``name`` is the source); reports
    :attr:`~recommender.progress.Stage.POPULARITY` events like :class:`FeatureProvider`."""

    name: str

    async def popularity(
        self,
        track_ids: Sequence[str],
        *,
        progress: ProgressCallback | None = None,
        patience: float | None = None,
    ) -> dict[str, int]:
        """Popularity of the known ids among ``track_ids`` (``patience`` as above)."""
        ...
