"""What a feature or popularity provider looks like to the provider chain."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

BatchCallback = Callable[[int], Awaitable[None] | None]
"""Called with the number of ids a provider has just finished looking up."""


async def report_batch(callback: BatchCallback | None, count: int) -> None:
    """Call a batch callback, awaiting it when it is async."""
    if callback is not None:
        result = callback(count)
        if inspect.isawaitable(result):
            await result


@runtime_checkable
class FeatureProvider(Protocol):
    """Looks up audio features by Spotify track id.

    ``name`` is recorded as the ``feature_source`` of every value it supplies.
    Ids it does not know are absent from the answer; features are validated with
    :func:`recommender.features.clean_features`.
    """

    name: str

    async def features(
        self, track_ids: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> dict[str, dict[str, float]]:
        """Features of the known ids among ``track_ids``."""
        ...


@runtime_checkable
class PopularityProvider(Protocol):
    """Looks up 0-100 popularity by Spotify track id (``name`` is the source)."""

    name: str

    async def popularity(
        self, track_ids: Sequence[str], *, on_batch: BatchCallback | None = None
    ) -> dict[str, int]:
        """Popularity of the known ids among ``track_ids``."""
        ...
