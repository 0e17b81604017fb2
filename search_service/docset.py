"""A doc-number set that remembers the sorted array it was made from.

Matching works with frozensets (exact set algebra in C); ranking and facet counting want numpy
arrays. A single character matches most of the archive, and turning its 170k-member set back
into an array (np.fromiter) for the ranker and again for the facets cost as much as making the
set. A set made from an array keeps it: set operations give plain frozensets (CPython builds the
base type), so only sets that really are that array carry one.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class DocSet(frozenset):  # type: ignore[type-arg]
    __slots__ = ("array",)
    array: np.ndarray

    def __new__(cls, docs: np.ndarray) -> DocSet:
        """The set of `docs`: sorted, unique int64 doc numbers."""
        out = super().__new__(cls, docs.tolist())
        out.array = docs
        return out

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return frozenset, (list(self),)  # copied or pickled: a plain set


def of_array(docs: np.ndarray) -> frozenset[int]:
    """The set of sorted, unique doc numbers `docs`, keeping the array."""
    return DocSet(np.asarray(docs, dtype=np.int64)) if len(docs) else frozenset()


def as_array(docs: Iterable[int]) -> np.ndarray:
    """Doc numbers of a set as an int64 array (any order: callers sort or count)."""
    if isinstance(docs, DocSet):
        return docs.array
    return np.fromiter(docs, dtype=np.int64, count=len(docs))  # type: ignore[arg-type]
