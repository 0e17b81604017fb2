"""Candidate documents for an exact substring, from the per-segment n-gram arrays that the
indexer writes (indexer/ngrams.py; file names and keys in indexer/store.py).

A document containing the needle contains every bigram of it, so the intersection of the
needle's bigram postings is a superset of the answer; match.substring_docs then checks the
needle in those candidates only, so the result is exactly what a scan of every text finds.
A single character's unigram postings are the answer itself. Segments without arrays (written
by an older version, or a writer killed before them) yield all their documents: scanned as before.

Loaded arrays are memory-mapped and kept per segment file, so the snapshots of later commits
of the same generation reuse them (only a new segment's arrays are opened).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.store import NGRAM_UNIGRAM, has_ngrams, ngram_paths
from search_service import npyfile
from search_service.index import Snapshot

# Candidates below this many: checking them is cheaper than intersecting more postings.
FEW = 32
_OPEN_SEGMENTS = 256


@dataclass(frozen=True)
class SegmentGrams:
    keys: np.ndarray
    starts: np.ndarray
    docs: np.ndarray

    def postings(self, key: int) -> np.ndarray:
        # The key in the array's own dtype: a Python int against uint64 keys makes numpy cast
        # the whole (memory-mapped, millions long) array to float64 on every look-up.
        i = int(np.searchsorted(self.keys, self.keys.dtype.type(key)))
        if i < len(self.keys) and int(self.keys[i]) == key:
            return self.docs[self.starts[i]:self.starts[i + 1]]
        return self.docs[:0]


_loaded: OrderedDict[tuple[str, str], SegmentGrams] = OrderedDict()
_loaded_lock = threading.Lock()


def _load(directory: Path, segment_id: str) -> SegmentGrams | None:
    key = (str(directory), segment_id)
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
    if not has_ngrams(directory, segment_id):
        return None
    try:
        files = ngram_paths(directory, segment_id)
        grams = SegmentGrams(*(npyfile.open_readonly(files[s]) for s in ("ngk", "ngs", "ngd")))
    except (OSError, ValueError):  # removed or half-written under us: scan that segment
        return None
    with _loaded_lock:
        _loaded[key] = grams
        while len(_loaded) > _OPEN_SEGMENTS:
            _loaded.popitem(last=False)
    return grams


def segments(snap: Snapshot) -> list[tuple[int, int, SegmentGrams | None]]:
    """(first global docnum, documents, arrays or None) per segment of the snapshot's commit."""
    def make() -> list[tuple[int, int, SegmentGrams | None]]:
        out = []
        offset = 0
        for seg in snap.toc.segments:  # the reader's segment order: docnums agree with the columns
            count = seg.doc_count_all()
            out.append((offset, count, _load(snap.gen.path, seg.segment_id())))
            offset += count
        return out
    return snap.cached("ngram_segments", make)


def needle_keys(needle: str) -> list[int]:
    if len(needle) == 1:
        return [ord(needle) << 21 | NGRAM_UNIGRAM]
    return list(dict.fromkeys(ord(a) << 21 | ord(b) for a, b in zip(needle, needle[1:])))


def candidates(snap: Snapshot, needle: str) -> tuple[list[int], bool]:
    """(sorted global docnums that may contain `needle`, whether they all surely do).

    Sure only for a single character found through arrays in every segment."""
    found, sure = candidate_array(snap, needle)
    return found.tolist(), sure


def candidate_array(snap: Snapshot, needle: str) -> tuple[np.ndarray, bool]:
    """candidates() as one int64 array (a single character's can be most of the archive)."""
    keys = needle_keys(needle)
    parts: list[np.ndarray] = []
    sure = len(needle) == 1
    for offset, count, grams in segments(snap):
        if grams is None:
            parts.append(np.arange(offset, offset + count, dtype=np.int64))
            sure = False
            continue
        lists = sorted((grams.postings(k) for k in keys), key=len)
        found = lists[0]
        for more in lists[1:]:
            if len(found) <= FEW:
                break
            found = np.intersect1d(found, more, assume_unique=True)
        parts.append(np.asarray(found, dtype=np.int64) + offset)
    merged = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    return merged, sure
