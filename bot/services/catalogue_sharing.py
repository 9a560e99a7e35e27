"""Built catalogues shared by every guild whose catalogue is the same, content-addressed.

Many servers add the same well-known playlists. Their catalogues are then identical:
the same tracks with the same values, the same playlists, the same settings. Such
guilds share one :class:`BuiltCatalogue` (the recommender with its index, and the
name resolver) instead of each keeping a copy of every vector and name.

Why whole built objects, and not a process-wide table of vectors that each guild's
index points into: the index answers a query with one fused scan over a contiguous
column-major float32 matrix (:mod:`recommender.index`). An index made of references
into a shared table would have to gather its rows into a fresh matrix for every
query (a copy as large as the guild's catalogue) or scan the whole shared table
under a mask (a cost that grows with every other guild's tracks). Sharing whole
built objects keeps every search exactly as fast as before; what two guilds with
overlapping but different playlists have in common (the tracks' ids, names,
artists...) is shared instead through interned strings
(:meth:`recommender.catalogue.Catalogue.from_tracks`).

The cache holds its entries weakly: a built catalogue lives as long as a guild (or a
command running for one) uses it, and frees itself after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from bot.store.models import StoredCatalogue
from recommender.engine import Recommender
from recommender.features import FEATURE_NAMES
from recommender.resolve import SongResolver

PYTHON_BYTES_PER_TRACK = 1100
"""Estimated bytes of Python objects a built catalogue keeps per track (list slots, the
id lookup, the artists, the resolver's song forms and name indexes, and the allocator's
slack around them), beyond its numpy arrays, which are counted exactly."""
CATALOGUE_OVERHEAD_BYTES = 64 * 1024
"""Estimated bytes every built catalogue costs whatever its size (its objects, small
arrays and indexes). With the constant above, the estimate came to 77-103% of the RSS
that catalogues built without sharing took in benchmarks/bench_memory.py (1,000 guilds
of 200 tracks, one of 243,000); an estimate, so the memory budget is one too."""


@dataclass(frozen=True)
class BuildInputs:
    """Everything a guild's built catalogue depends on, besides the shared scaler."""

    stored: StoredCatalogue
    half_life_days: float
    playlist_weight: float
    as_of: dt.date

    def key(self) -> bytes:
        """A digest of every value the built catalogue depends on (content address).

        Two guilds get the same key exactly when their tracks (with every field and
        feature), their playlists' memberships, their settings and the day agree.
        """
        digest = hashlib.blake2b(digest_size=20)
        head = (self.half_life_days, self.playlist_weight, self.as_of.isoformat())
        digest.update(repr(head).encode())
        # repr, not pickle: pickle's output depends on which equal strings happen to be
        # one object, so equal catalogues could hash apart.
        batch: list[str] = []
        for track in self.stored.tracks:
            features = track.features
            batch.append(
                repr(
                    (
                        track.id,
                        track.name,
                        track.artists,
                        track.album,
                        track.release_date,
                        track.release_date_precision,
                        track.popularity,
                        track.duration_ms,
                        None if features is None else [features.get(n) for n in FEATURE_NAMES],
                        track.feature_source,
                        track.popularity_source,
                    )
                )
            )
            if len(batch) >= 4096:
                digest.update("\n".join(batch).encode())
                batch.clear()
        digest.update("\n".join(batch).encode())
        for source_key, track_ids in self.stored.memberships.items():
            digest.update(repr((source_key, track_ids)).encode())
        return digest.digest()


class BuiltCatalogue:
    """One catalogue's searchable objects, shared by every guild with the same content."""

    __slots__ = ("__weakref__", "key", "nbytes", "recommender", "resolver")

    def __init__(self, key: bytes, recommender: Recommender, resolver: SongResolver) -> None:
        self.key = key
        self.recommender = recommender
        self.resolver = resolver
        self.nbytes = estimated_bytes(recommender)

    def __len__(self) -> int:
        return len(self.recommender)


def estimated_bytes(recommender: Recommender) -> int:
    """Bytes a built catalogue holds: its arrays exactly, its Python objects estimated."""
    catalogue = recommender.catalogue
    arrays = (
        recommender.index_nbytes
        + catalogue.features.nbytes
        + catalogue.popularity.nbytes
        + sum(rows.nbytes for rows in catalogue.memberships.values())
    )
    return int(arrays + CATALOGUE_OVERHEAD_BYTES + len(catalogue) * PYTHON_BYTES_PER_TRACK)


class SharedCatalogues:
    """A process-wide, weak, content-addressed cache of :class:`BuiltCatalogue` objects.

    Safe to use from the bulk worker threads that build catalogues.
    """

    def __init__(self) -> None:
        self._by_key: weakref.WeakValueDictionary[bytes, BuiltCatalogue] = (
            weakref.WeakValueDictionary()
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.builds = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)

    def get_or_build(
        self, key: bytes, build: Callable[[], tuple[Recommender, SongResolver]]
    ) -> BuiltCatalogue:
        """The built catalogue for ``key``: a live one if any guild has it, else built.

        Two threads building the same key at once both build, and the second keeps the
        first's result, so every holder ends up with the same object.
        """
        with self._lock:
            found = self._by_key.get(key)
            if found is not None:
                self.hits += 1
                return found
        recommender, resolver = build()
        built = BuiltCatalogue(key, recommender, resolver)
        with self._lock:
            found = self._by_key.get(key)
            if found is not None:
                self.hits += 1
                return found
            self._by_key[key] = built
            self.builds += 1
            return built

    def distinct_bytes(self) -> int:
        """Estimated bytes of every live built catalogue, each counted once."""
        with self._lock:
            return sum(built.nbytes for built in self._by_key.values())
