"""Item-to-item evidence from sets of tracks that belong together.

A *group* is any set of tracks someone put together: a playlist, or the tracks one
member of a server liked. Two tracks that share groups are likely to please the
same listener, whatever their audio features say. For a set of seed tracks, every
track in a group containing a seed earns ``1 / sqrt(group size)`` per such group
(a 20-track playlist says more about its members than a 2,000-track one), summed
and divided by the best score, so the values lie in (0, 1].

Groups can be held out per query (``exclude_groups``): an evaluation must never
score a seed with the playlist its held-out answers come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class CoScores:
    """Tracks that share groups with the seeds: rows (sorted), scores in (0, 1], evidence."""

    rows: np.ndarray
    values: np.ndarray
    groups_used: int

    @property
    def empty(self) -> bool:
        """True when no group links the seeds to any other track."""
        return self.rows.shape[0] == 0


class CoOccurrence:
    """A sparse group-by-track incidence matrix with per-query scoring."""

    def __init__(self, n_tracks: int, groups: Mapping[str, Sequence[int] | np.ndarray]) -> None:
        self.group_ids: list[str] = []
        indptr = [0]
        indices: list[np.ndarray] = []
        for group_id, members in groups.items():
            rows = np.unique(np.asarray(members, dtype=np.int64))
            if rows.shape[0] < 2:
                continue  # a group of one links nothing
            if rows.min() < 0 or rows.max() >= n_tracks:
                raise ValueError(f"group {group_id!r} has rows outside the catalogue")
            self.group_ids.append(group_id)
            indices.append(rows)
            indptr.append(indptr[-1] + rows.shape[0])
        self._position = {g: i for i, g in enumerate(self.group_ids)}
        data_indices = np.concatenate(indices) if indices else np.empty(0, dtype=np.int64)
        sizes = np.diff(np.asarray(indptr))
        weights = np.repeat(1.0 / np.sqrt(np.maximum(sizes, 1)), sizes)
        # groups x tracks, weighted; its transpose (tracks x groups) finds a seed's groups.
        self._by_group = sparse.csr_matrix(
            (weights, data_indices, np.asarray(indptr)), shape=(len(self.group_ids), n_tracks)
        )
        self._by_track = self._by_group.T.tocsr()

    def __len__(self) -> int:
        return len(self.group_ids)

    def groups_of(self, row: int) -> list[str]:
        """The groups containing a track."""
        start, end = self._by_track.indptr[row], self._by_track.indptr[row + 1]
        return [self.group_ids[g] for g in self._by_track.indices[start:end]]

    def scores(
        self,
        seed_rows: Sequence[int],
        *,
        exclude_groups: Iterable[str] = (),
        seed_weights: Sequence[float] | None = None,
    ) -> CoScores:
        """Co-occurrence scores of every track linked to the seeds (seeds included)."""
        if not seed_rows or not self.group_ids:
            return CoScores(np.empty(0, np.int64), np.empty(0, np.float32), 0)
        weights = np.ones(len(seed_rows)) if seed_weights is None else np.asarray(seed_weights)
        seed_vector = sparse.csr_matrix(
            (weights, (np.zeros(len(seed_rows), dtype=np.int64), np.asarray(seed_rows))),
            shape=(1, self._by_track.shape[0]),
        )
        # Which groups hold the seeds (and how strongly), minus the held-out ones.
        group_weights = (seed_vector @ self._by_track).toarray().ravel()
        for group_id in exclude_groups:
            position = self._position.get(group_id)
            if position is not None:
                group_weights[position] = 0.0
        used = np.flatnonzero(group_weights)
        if used.shape[0] == 0:
            return CoScores(np.empty(0, np.int64), np.empty(0, np.float32), 0)
        totals = sparse.csr_matrix(group_weights[used]) @ self._by_group[used]
        totals = totals.tocsr()
        rows = totals.indices.astype(np.int64)
        values = totals.data.astype(np.float32)
        order = np.argsort(rows)
        rows, values = rows[order], values[order]
        values /= values.max()
        return CoScores(rows, values, int(used.shape[0]))
