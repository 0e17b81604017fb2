"""Posting arrays of one term, read straight from Whoosh's block postings and cached per snapshot.

Matching (search_service.match) and ranking (search_service.scoring) both start from these arrays;
they live below both so neither imports the other back. Whoosh's collector yields one match per
Python call; reading whole blocks (``_read_ids``/``_read_weights``, private Whoosh API pinned by
tests/test_whoosh_private_api.py) is what makes a word cost milliseconds, and a frequent word's
postings written as arrays at commit time (indexer/columns.py) make it a slice.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from indexer.columns import block_postings
from search_service import column_arrays
from search_service.index import LRU, Snapshot

_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_TF = np.zeros(0, dtype=np.float32)

# One segment's postings of a term, shared by every snapshot of its generation: segments never
# change (deletions are masked per snapshot in `postings`), so after an update commit the words
# searched before it cost a concatenation, not a decoding of every segment again. Bounded:
# decoded terms have < columns.FREQUENT_DOCS postings (<= 12 kB each); frequent ones are views
# of the mapped arrays.
SEGMENT_POSTINGS = LRU(4096)


def raw_postings(leaf: Any, fieldname: str, word: str) -> Any:
    """The segment's matcher of a term without Whoosh's deletion filter, at its first posting
    (the filter skips leading deleted documents as it is made; private SegmentReader._terms,
    pinned by tests/test_whoosh_private_api.py)."""
    return leaf._terms.matcher(fieldname, leaf._text_to_bytes(fieldname, word), leaf.schema[fieldname].format)


class _Unfiltered:
    """A segment reader whose postings include its deleted documents (as the arrays do)."""

    def __init__(self, leaf: Any) -> None:
        self.leaf = leaf

    def __contains__(self, key: Any) -> bool:
        return key in self.leaf

    def postings(self, fieldname: str, word: str) -> Any:
        return raw_postings(self.leaf, fieldname, word)


def _leaf_postings(leaf: Any, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    """Every posting of the term in the segment, deleted documents included, so that position i
    of the arrays is posting i of Whoosh's blocks (search_service/hit_spans.py)."""
    return block_postings(_Unfiltered(leaf) if hasattr(leaf, "_terms") else leaf, fieldname, word)


def _segment_postings(snap: Snapshot, leaf: Any, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """Local doc numbers and weights of one segment (deleted documents included), cached across
    the snapshots of a generation."""
    key = (str(snap.gen.path), leaf.segment().segment_id(), fieldname, word)
    return SEGMENT_POSTINGS.get_or(key, lambda: _read_segment_postings(snap, leaf, fieldname, word))


segment_postings = _segment_postings


def _read_segment_postings(snap: Snapshot, leaf: Any, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """A slice of the segment's arrays for a frequent term (indexer/columns.py), else decoded
    from Whoosh's blocks."""
    cols = column_arrays.of_leaf(snap, leaf)
    got = cols.postings(fieldname, word) if cols is not None else None
    if got is not None:
        return got
    ids, tfs = _leaf_postings(leaf, fieldname, word)
    return np.asarray(ids, dtype=np.int64), np.asarray(tfs, dtype=np.float32)


def postings(snap: Snapshot, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray]:
    """(global doc numbers, term frequencies) of one term in the live documents, cached per snapshot."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        reader = snap.searcher().reader()
        leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
        all_ids: list[np.ndarray] = []
        all_tfs: list[np.ndarray] = []
        for leaf, offset in leaves:
            ids, tfs = _segment_postings(snap, leaf, fieldname, word)
            if len(ids):
                all_ids.append(ids.astype(np.int64) + offset)
                all_tfs.append(np.asarray(tfs, dtype=np.float32))
        if not all_ids:
            return _EMPTY_IDS, _EMPTY_TF
        ids = np.concatenate(all_ids)
        tfs = np.concatenate(all_tfs)  # a copy: never a read-only slice of a mapped file
        # Live documents only, from either source: the arrays were written before any deletion,
        # and Whoosh's deletion filter, once unwrapped, has already skipped the leading deleted
        # ones; filtering here keeps df (BM25's idf) a count of live articles in both cases.
        keep = column_arrays.live_mask(snap)[ids]
        return (ids, tfs) if keep.all() else (ids[keep], tfs[keep])
    return snap.term_docs.get_or(("postings", fieldname, word), make)


