"""Posting arrays of one term, read straight from Whoosh's block postings and cached per snapshot.

Matching (search_service.match) and ranking (search_service.scoring) both start from these arrays;
they live below both so neither imports the other back. Whoosh's collector yields one match per
Python call; reading whole blocks (``_read_ids``/``_read_weights``, private Whoosh API pinned by
tests/test_whoosh_private_api.py) is what makes a frequent word cost milliseconds.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from search_service.index import Snapshot

_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_TF = np.zeros(0, dtype=np.float32)


def _leaf_postings(leaf: Any, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    ids: list[int] = []
    tfs: list[float] = []
    if (fieldname, word) not in leaf:
        return ids, tfs
    m = leaf.postings(fieldname, word)
    # Unwrap a deletion filter: deleted documents are removed by intersecting with live docs.
    m = getattr(m, "child", m)
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block"):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids[m._i:])
            tfs.extend(m._weights[m._i:])
            m._next_block()
    else:  # any other matcher: the generic (slower) protocol
        while m.is_active():
            ids.append(m.id())
            tfs.append(m.weight())
            m.next()
    return ids, tfs


def postings(snap: Snapshot, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """(global doc numbers, term frequencies) of one term, cached per snapshot."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        reader = snap.searcher().reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        all_ids: list[np.ndarray] = []
        all_tfs: list[np.ndarray] = []
        for leaf, offset in leaves:
            ids, tfs = _leaf_postings(leaf, fieldname, word)
            if ids:
                all_ids.append(np.asarray(ids, dtype=np.int64) + offset)
                all_tfs.append(np.asarray(tfs, dtype=np.float32))
        if not all_ids:
            return _EMPTY_IDS, _EMPTY_TF
        return np.concatenate(all_ids), np.concatenate(all_tfs)
    return snap.term_docs.get_or(("postings", fieldname, word), make)


