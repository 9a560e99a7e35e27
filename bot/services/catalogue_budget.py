"""Which guilds' catalogues stay in memory: least recently used first out, under a budget.

A catalogue is counted once however many guilds share it
(:mod:`bot.services.catalogue_sharing`), and it leaves memory only with the last guild that
holds it. So the unit of eviction is the built catalogue: its last use is the latest
use by any of its guilds, and evicting it evicts all of them. A catalogue that a
running command holds is never evicted, nor the one just asked for: a guild larger
than the whole budget still gets its answer (and is the first to go afterwards).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from bot.services.catalogue_sharing import BuiltCatalogue


class CatalogueBudget:
    """Residency bookkeeping for built catalogues (no I/O, no locks: the event loop's).

    ``limit_bytes`` of ``None`` keeps everything (no budget).
    """

    def __init__(self, limit_bytes: int | None) -> None:
        self.limit_bytes = limit_bytes
        self._of_guild: dict[int, BuiltCatalogue] = {}
        # id(built) -> (built, its guilds), least recently used first.
        self._order: OrderedDict[int, tuple[BuiltCatalogue, set[int]]] = OrderedDict()
        self.resident_bytes = 0
        self.evictions = 0

    def __contains__(self, guild_id: object) -> bool:
        return guild_id in self._of_guild

    def __len__(self) -> int:
        """Distinct built catalogues in memory."""
        return len(self._order)

    def touch(self, guild_id: int, built: BuiltCatalogue) -> None:
        """``guild_id`` uses ``built`` now (it becomes the most recently used)."""
        previous = self._of_guild.get(guild_id)
        if previous is not None and previous is not built:
            self.drop(guild_id)
        self._of_guild[guild_id] = built
        entry = self._order.get(id(built))
        if entry is None:
            self._order[id(built)] = (built, {guild_id})
            self.resident_bytes += built.nbytes
        else:
            entry[1].add(guild_id)
            self._order.move_to_end(id(built))

    def drop(self, guild_id: int) -> None:
        """Forget the guild (its catalogue was replaced, emptied or deleted)."""
        built = self._of_guild.pop(guild_id, None)
        if built is None:
            return
        _, guilds = self._order[id(built)]
        guilds.discard(guild_id)
        if not guilds:
            del self._order[id(built)]
            self.resident_bytes -= built.nbytes

    def over(self) -> bool:
        """Whether the resident catalogues take more than the budget."""
        return self.limit_bytes is not None and self.resident_bytes > self.limit_bytes

    def evict(self, in_use: Callable[[int], bool], keep: int | None = None) -> list[int]:
        """Evict least recently used catalogues until under budget; return their guilds.

        ``in_use(guild_id)`` says whether a command holds the guild's catalogue; such
        a catalogue stays, as does the one of ``keep``.
        """
        evicted: list[int] = []
        if not self.over():
            return evicted
        for _, guilds in list(self._order.values()):
            if not self.over():
                break
            if keep in guilds or any(in_use(g) for g in guilds):
                continue
            for guild_id in sorted(guilds):
                self.drop(guild_id)
                evicted.append(guild_id)
            self.evictions += 1
        return evicted
