"""``async with`` support for objects that hold connections."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AsyncClosing:
    """Mixin: ``async with obj:`` returns ``obj`` and awaits ``obj.close()`` on exit."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release what the object holds (subclasses override)."""
        raise NotImplementedError
