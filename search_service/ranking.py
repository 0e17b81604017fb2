"""A result order over a large match set, sorted only as far as it is read.

A single character or a frequent word matches most of the archive (170k of 200k synthetic
articles for 有), yet a request shows one page and collapses reprints in a short prefix. Sorting
every match (np.lexsort over four keys) and building a Python list of (docnum, score) for all of
them cost more than everything else such a request does. Here the order is exactly the one
np.lexsort(keys) gives, but only its first k positions are sorted, from a candidate set chosen by
np.partition on the two most significant keys (which keeps every tie at the cut, so the less
significant keys still break ties exactly as a full sort would); the rest is sorted on demand.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

FIRST = 64  # positions sorted on first use; each further read sorts 8x as many


def candidates(keys: Sequence[np.ndarray], k: int) -> np.ndarray | None:
    """Indices holding the first k positions of np.lexsort(keys) (possibly more: every tie at the
    cut on the two most significant keys), or None when that is everything."""
    n = len(keys[-1]) if keys else 0
    if k >= n:
        return None
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    primary = keys[-1]
    cut = np.partition(primary, k - 1)[k - 1]
    if isinstance(cut, np.floating) and np.isnan(cut):
        return None  # NaNs sort last in both; only a full sort orders among them
    before = np.flatnonzero(primary < cut)
    tied = np.flatnonzero(primary == cut)
    need = k - len(before)
    if len(keys) >= 2 and need < len(tied):
        second = keys[-2][tied]
        cut2 = np.partition(second, need - 1)[need - 1]
        if not (isinstance(cut2, np.floating) and np.isnan(cut2)):
            tied = tied[second <= cut2]
    return np.concatenate([before, tied])


def top(keys: Sequence[np.ndarray], k: int) -> np.ndarray:
    """np.lexsort(keys)[:k], without sorting past the k-th position."""
    found = candidates(keys, k)
    if found is None:
        return np.lexsort(tuple(keys))[:k]
    return found[np.lexsort(tuple(key[found] for key in keys))][:k]


class Ranking(Sequence[tuple[int, float | None]]):
    """(docnum, score) in the order np.lexsort(keys) puts `docs` (score None without `scores`),
    sorted lazily: reading position i sorts a prefix somewhat longer than i, never the rest."""

    def __init__(self, docs: np.ndarray, keys: Sequence[np.ndarray], scores: np.ndarray | None) -> None:
        self.docs = docs
        self.keys = tuple(keys)
        self.scores = scores
        self._order = np.zeros(0, dtype=np.int64)  # indices of the sorted prefix

    def __len__(self) -> int:
        return len(self.docs)

    def _sorted(self, k: int) -> np.ndarray:
        if k > len(self._order) and len(self._order) < len(self.docs):
            want = max(k, FIRST, 8 * len(self._order))
            self._order = top(self.keys, want) if want < len(self.docs) else np.lexsort(self.keys)
        return self._order

    def _entries(self, idx: np.ndarray) -> list[tuple[int, float | None]]:
        docs = self.docs[idx].tolist()
        if self.scores is None:
            return [(d, None) for d in docs]
        return list(zip(docs, self.scores[idx].tolist()))

    @overload
    def __getitem__(self, i: int) -> tuple[int, float | None]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[int, float | None]]: ...

    def __getitem__(self, i: int | slice) -> tuple[int, float | None] | list[tuple[int, float | None]]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            return self._entries(self._sorted(stop)[start:stop:step]) if stop > start else []
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("ranking index out of range")
        return self._entries(self._sorted(i + 1)[i:i + 1])[0]

    def __iter__(self) -> Iterator[tuple[int, float | None]]:
        done = 0
        while done < len(self):
            order = self._sorted(done + 1)
            yield from self._entries(order[done:])
            done = len(order)

    def doc_array(self) -> np.ndarray:
        """Every doc number in result order (sorts all of them)."""
        return self.docs[self._sorted(len(self))]
