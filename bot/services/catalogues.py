"""Per-guild catalogues in memory: a recommender and a name index for each guild.

Built from the store (no API calls), so a restart serves every guild at once.
A rebuild happens off the event loop (on the bounded bulk pool, :mod:`bot.infra.offload`)
and replaces the guild's entry in one assignment: readers never see a half-built
catalogue, and a failed rebuild leaves the previous one in place. A change that
needs no answer from the rebuild (a removed playlist, a new half-life) asks for one
in the background (:meth:`CatalogueService.refresh_soon`) and the command replies
at once; the guild is served the previous catalogue until the new one is ready.

Memory is bounded (issue 11): guilds whose catalogues are identical share one built
object (:mod:`bot.services.catalogue_sharing`), and when the catalogues in memory pass the
budget (``CATALOGUE_MEMORY_MB``) the least recently used ones are evicted
(:mod:`bot.services.catalogue_budget`) and rebuilt from the store when their guild next asks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import sys
from dataclasses import dataclass, field

from bot.infra.memory import return_freed_memory
from bot.infra.offload import run_bulk
from bot.services.catalogue_budget import CatalogueBudget
from bot.services.catalogue_sharing import BuildInputs, BuiltCatalogue, SharedCatalogues
from bot.store import Store
from bot.store.errors import StorageError
from bot.store.guild_settings import GuildSettings
from bot.store.models import StoredCatalogue
from recommender.catalogue import Catalogue
from recommender.engine import DEFAULT_PLAYLIST_WEIGHT, Recommender
from recommender.popularity import PopularityWeighting
from recommender.resolve import SongResolver
from recommender.scaling import FeatureScaler

log = logging.getLogger(__name__)

SHARED = SharedCatalogues()
"""The process's built catalogues by content (every :class:`CatalogueService` shares it)."""

PRELOAD_AT_ONCE = 2
"""Start-up preloads at once (the bulk pool's width: more would only queue there)."""

_SERVICE_REFERENCES = 2
"""References to a resident :class:`GuildCatalogue` while nobody uses it, as
``sys.getrefcount(self._catalogues[guild_id])`` counts them: the service's dict and
the call's own argument. One more means a command holds it (it is in use)."""


@dataclass(frozen=True)
class GuildCatalogue:
    """What one guild recommends from; ``recommender`` is ``None`` when it is empty."""

    guild_id: int
    recommender: Recommender | None = None
    resolver: SongResolver | None = None
    #: The shared object behind ``recommender`` and ``resolver`` (kept alive by this).
    built: BuiltCatalogue | None = field(default=None, repr=False, compare=False)

    @property
    def catalogue(self) -> Catalogue | None:
        """The tracks, or ``None`` when the guild has none."""
        return self.recommender.catalogue if self.recommender else None

    def __len__(self) -> int:
        return len(self.recommender) if self.recommender else 0


class CatalogueService:
    """Holds every guild's :class:`GuildCatalogue` and rebuilds them on change."""

    def __init__(
        self,
        store: Store,
        scaler: FeatureScaler | None = None,
        *,
        memory_budget_mb: float | None = None,
        shared: SharedCatalogues | None = SHARED,
    ) -> None:
        """``memory_budget_mb``: the catalogues kept in memory at most (``None``: all);
        ``shared``: the cache identical catalogues are shared through (``None``: every
        guild builds its own, the reference the memory benchmark compares against)."""
        self._store = store
        # One frozen scaler for every guild: a track's vector never depends on the guild.
        # (Shared catalogues assume it: a service with another scaler must not share.)
        self._scaler = scaler or FeatureScaler.reference()
        self._shared = shared if scaler is None else None
        limit = None if memory_budget_mb is None else int(memory_budget_mb * 1024 * 1024)
        self.budget = CatalogueBudget(limit)
        self._catalogues: dict[int, GuildCatalogue] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._refreshing: dict[int, asyncio.Task[None]] = {}
        self._stale: set[int] = set()
        # Start-up preloads wait here, as many at a time as the bulk pool builds.
        self._preloading = asyncio.Semaphore(PRELOAD_AT_ONCE)

    def get(self, guild_id: int) -> GuildCatalogue:
        """The guild's catalogue if it is in memory (an empty one otherwise)."""
        resident = self._catalogues.get(guild_id)
        if resident is None:
            return GuildCatalogue(guild_id)
        if resident.built is not None:
            self.budget.touch(guild_id, resident.built)
        return resident

    def resident(self, guild_id: int) -> bool:
        """Whether the guild's catalogue is in memory (loaded and not evicted)."""
        return guild_id in self._catalogues

    async def ensure(self, guild_id: int) -> GuildCatalogue:
        """The guild's catalogue, loading it from the store on first use.

        Whatever order Discord's start-up events arrive in, the first command of a
        guild finds its catalogue. A catalogue the store cannot give (a
        :class:`~bot.store.errors.StorageError`, or anything else) raises: an
        unreadable catalogue must never pass for an empty one. The next call tries
        again.
        """
        if guild_id not in self._catalogues:
            async with self._locks.setdefault(guild_id, asyncio.Lock()):
                # Several commands may have waited for the same load: build it once.
                if guild_id not in self._catalogues:
                    catalogue = await self._load(guild_id)
                    log.info("guild %s: %d tracks loaded", guild_id, len(catalogue))
        return self.get(guild_id)

    async def preload(self, guild_id: int) -> None:
        """Load a guild's catalogue as the guild comes online, while they fit the budget.

        Once the budget has evicted a catalogue, preloading more would only build
        catalogues to evict others (with 10,000 guilds the start-up built every one,
        minutes of CPU, and kept a tenth: docs/benchmarks.md, "Cluster"); the rest are
        built when their guild first asks (:meth:`ensure`). A few at a time, so the
        records read for later guilds do not pile up in memory waiting for a build;
        checked again after the wait, since every guild of a shard arrives at once.
        """
        if self.budget.evictions:
            return
        async with self._preloading:
            if not self.budget.evictions:
                await self.ensure(guild_id)

    def forget(self, guild_id: int) -> None:
        """Drop a guild's catalogue from memory (its data was deleted)."""
        self._catalogues.pop(guild_id, None)
        self.budget.drop(guild_id)

    async def reload(self, guild_id: int) -> GuildCatalogue:
        """Rebuild one guild's catalogue from the store."""
        async with self._locks.setdefault(guild_id, asyncio.Lock()):
            return await self._load(guild_id)

    async def _load(self, guild_id: int) -> GuildCatalogue:
        """Read, build (or find the shared one) and install; the guild's lock is held."""
        stored = await self._store.load_guild_catalogue(guild_id)
        settings = await self._store.get_guild_settings(guild_id)
        if not stored.tracks:
            built = GuildCatalogue(guild_id)
        else:
            built = await run_bulk(self._build, guild_id, stored, settings)
        del stored  # its records may be freed before the next guild's are read
        self._catalogues[guild_id] = built
        if built.built is None:
            self.budget.drop(guild_id)
        else:
            self.budget.touch(guild_id, built.built)
        self._evict(keep=guild_id)
        # A catalogue is ~10 Python objects a track that live until the next rebuild;
        # without this, every full collection walks them all (300-500 ms pauses of
        # the event loop at 100k tracks, docs/benchmarks.md). Refcounting still frees
        # a replaced or evicted catalogue.
        gc.freeze()
        # Reading a guild's tracks makes ~1 KB of short-lived objects a track: hand the
        # pages they (and a replaced or evicted catalogue) leave free back to the system
        # (a fifth less RSS after a second 243k-row CSV, docs/benchmarks.md).
        await asyncio.to_thread(return_freed_memory)
        return built

    def _in_use(self, guild_id: int) -> bool:
        """Whether a command holds the guild's catalogue right now."""
        return sys.getrefcount(self._catalogues[guild_id]) > _SERVICE_REFERENCES

    def _evict(self, keep: int) -> None:
        """Evict least recently used catalogues while over the memory budget."""
        evicted = self.budget.evict(self._in_use, keep=keep)
        if not evicted:
            return
        for guild_id in evicted:
            del self._catalogues[guild_id]
        log.info(
            "evicted the catalogues of %d guilds (least recently used); %.0f MB in memory",
            len(evicted),
            self.budget.resident_bytes / 2**20,
        )

    def refresh_soon(self, guild_id: int) -> asyncio.Task[None]:
        """Rebuild the guild's catalogue in the background; return the task to await.

        Changes that arrive while a rebuild runs are folded into one more rebuild
        after it, so the last change always ends up in the catalogue. A failure is
        logged; the guild keeps its previous catalogue.
        """
        running = self._refreshing.get(guild_id)
        if running is not None and not running.done():
            self._stale.add(guild_id)
            return running
        task = asyncio.create_task(self._refresh(guild_id), name=f"catalogue-{guild_id}")
        self._refreshing[guild_id] = task
        return task

    async def _refresh(self, guild_id: int) -> None:
        try:
            while True:
                self._stale.discard(guild_id)
                if guild_id not in self._catalogues:
                    return  # not in memory: built from the store when next asked for
                try:
                    catalogue = await self.reload(guild_id)
                    log.info("guild %s: catalogue rebuilt, %d tracks", guild_id, len(catalogue))
                except StorageError as error:
                    log.error("guild %s: could not rebuild its catalogue: %s", guild_id, error)
                except Exception:
                    log.exception("guild %s: could not rebuild its catalogue", guild_id)
                if guild_id not in self._stale:
                    return
        finally:
            if self._refreshing.get(guild_id) is asyncio.current_task():
                del self._refreshing[guild_id]

    async def close(self) -> None:
        """Stop background rebuilds (at shutdown, before the store closes)."""
        tasks = list(self._refreshing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def reload_all(self, guild_ids: list[int]) -> None:
        """Rebuild several guilds; one failure is logged and does not stop the others."""
        for guild_id in guild_ids:
            try:
                catalogue = await self.reload(guild_id)
                log.info("guild %s: %d tracks loaded", guild_id, len(catalogue))
            except StorageError as error:
                # The store's message names the file, the problem and the fix.
                log.error("guild %s: could not load its catalogue: %s", guild_id, error)
            except Exception:
                log.exception("guild %s: could not load its catalogue", guild_id)

    def _build(
        self, guild_id: int, stored: StoredCatalogue, settings: GuildSettings
    ) -> GuildCatalogue:
        # Co-membership says something only when there are several playlists to tell
        # apart (with one, every track shares it with the seed).
        playlists = DEFAULT_PLAYLIST_WEIGHT if len(stored.memberships) >= 2 else 0.0
        inputs = BuildInputs(
            stored, settings.popularity_half_life_days, playlists, as_of=dt.date.today()
        )

        def build() -> tuple[Recommender, SongResolver]:
            catalogue = Catalogue.from_tracks(stored.tracks, memberships=stored.memberships)
            weighting = PopularityWeighting(
                half_life_years=inputs.half_life_days / 365.25, as_of=inputs.as_of
            )
            recommender = Recommender(
                catalogue, scaler=self._scaler, weighting=weighting, playlist_weight=playlists
            )
            return recommender, SongResolver(catalogue)

        if self._shared is None:
            built = BuiltCatalogue(b"", *build())
        else:
            built = self._shared.get_or_build(inputs.key(), build)
        return GuildCatalogue(guild_id, built.recommender, built.resolver, built)
