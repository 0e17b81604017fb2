"""The per-segment arrays of indexer/columns.py, memory-mapped: frequent terms' postings as
slices, and field lengths, dates, years, channel and month codes without a per-document walk.

Every function answers exactly what the Whoosh path gives; a segment without arrays (an older
index, a writer killed before them) is read through Whoosh as before, so a snapshot may mix
both. Loaded arrays are kept per segment file: snapshots of later commits of the same
generation open only their new segments' arrays.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.columns import has_arrays, paths, term_key
from search_service import npyfile
from search_service.index import Snapshot

_OPEN_SEGMENTS = 256


@dataclass(frozen=True)
class SegmentColumns:
    rows: np.ndarray      # structured, one row per document (indexer.columns.DOC_DTYPE)
    labels: np.ndarray    # str(n channel values), channel values, month values
    keys: np.ndarray      # sorted "field\x1fterm"
    starts: np.ndarray
    docs: np.ndarray
    weights: np.ndarray

    def postings(self, fieldname: str, word: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(local doc numbers, weights) of a frequent term; None when not stored here (a rarer
        term, or one the segment lacks: the caller asks Whoosh)."""
        key = term_key(fieldname, word)
        i = int(np.searchsorted(self.keys, key))
        if i < len(self.keys) and self.keys[i] == key:
            a, b = int(self.starts[i]), int(self.starts[i + 1])
            return self.docs[a:b], self.weights[a:b]
        return None

    def code_labels(self, column: str) -> list[str]:
        """Value of each local code of `column` (channel, month); index 0 stands for no value."""
        n = int(self.labels[0])
        values = self.labels[1:n + 1] if column == "channel" else self.labels[n + 1:]
        return [None, *values.tolist()]  # type: ignore[list-item]


_loaded: OrderedDict[tuple[str, str], SegmentColumns] = OrderedDict()
_loaded_lock = threading.Lock()


def load(directory: Path, segment_id: str) -> SegmentColumns | None:
    key = (str(directory), segment_id)
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
    if not has_arrays(directory, segment_id):
        return None
    try:
        files = paths(directory, segment_id)
        cols = SegmentColumns(*(npyfile.open_readonly(files[s])
                                for s in ("cdoc", "clab", "ctk", "cts", "ctd", "ctf")))
    except (OSError, ValueError):  # removed or half-written under us: read through Whoosh
        return None
    with _loaded_lock:
        _loaded[key] = cols
        while len(_loaded) > _OPEN_SEGMENTS:
            _loaded.popitem(last=False)
    return cols


def of_leaf(snap: Snapshot, leaf: Any) -> SegmentColumns | None:
    return load(snap.gen.path, leaf.segment().segment_id())


def segments(snap: Snapshot) -> list[tuple[Any, int, SegmentColumns | None]]:
    """(segment reader, first global docnum, arrays or None) per segment, in docnum order."""
    return snap.cached("column_segments", lambda: [(leaf, offset, of_leaf(snap, leaf))
                                                   for leaf, offset in snap.leaves()])


def complete(snap: Snapshot) -> bool:
    """Whether every segment of the snapshot has its arrays."""
    return all(cols is not None for _, _, cols in segments(snap))


def _rows(snap: Snapshot, name: str) -> np.ndarray | None:
    if not complete(snap):
        return None
    parts = [np.asarray(cols.rows[name]) for _, _, cols in segments(snap)]  # type: ignore[union-attr]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def field_lengths(snap: Snapshot, fieldname: str) -> np.ndarray | None:
    """Length of `fieldname` (title, body) per docnum as float32, or None without arrays."""
    got = _rows(snap, "len_" + fieldname)
    return got.astype(np.float32) if got is not None else None


def ts(snap: Snapshot) -> np.ndarray | None:
    """Publication time per docnum (int64, -1 unknown), or None without arrays."""
    return _rows(snap, "ts")


def year(snap: Snapshot) -> np.ndarray | None:
    """Year per docnum, 0 for none (as Snapshot.year maps Whoosh's default), or None."""
    got = _rows(snap, "year")
    return np.where((got > 0) & (got < 10000), got, 0) if got is not None else None


def live_mask(snap: Snapshot) -> np.ndarray:
    """True per live docnum, from each segment's deletion set."""
    def make() -> np.ndarray:
        parts = []
        for leaf, _offset in snap.leaves():
            part = np.ones(leaf.doc_count_all(), dtype=bool)
            if leaf.has_deletions():
                part[np.fromiter(leaf.segment().deleted_docs(), dtype=np.int64)] = False
            parts.append(part)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    return snap.cached("live_mask", make)


def docs_where(snap: Snapshot, mask: np.ndarray) -> frozenset[int]:
    """The live docnums where `mask` holds."""
    return frozenset(np.flatnonzero(mask & live_mask(snap)).tolist())


# -- facet codes ---------------------------------------------------------------------------------
# One grow-only vocabulary per generation and column: code c is the c-th value added, so the
# codes of a segment, computed once, stay valid in every later snapshot of the generation.
_VOCABS: dict[tuple[str, str], dict[Any, int]] = {}
_VOCAB_LOCK = threading.Lock()


def _segment_codes(snap: Snapshot, leaf: Any, offset: int, column: str,
                   vocab: dict[Any, int]) -> np.ndarray:
    cols = of_leaf(snap, leaf)
    n = leaf.doc_count_all()
    if cols is None or column not in ("channel", "month", "year"):
        values = getattr(snap, column)[offset:offset + n]
        with _VOCAB_LOCK:
            return np.fromiter((vocab.setdefault(v, len(vocab) + 1) if v else 0 for v in values),
                               dtype=np.int32, count=n)
    if column == "year":
        raw = np.asarray(cols.rows["year"])
        years = np.where((raw > 0) & (raw < 10000), raw, 0)
        local_labels, local = np.unique(years, return_inverse=True)
        labels: list[Any] = [int(y) or None for y in local_labels.tolist()]
    else:
        local = np.asarray(cols.rows[column])
        labels = cols.code_labels(column)
    with _VOCAB_LOCK:
        mapping = np.array([vocab.setdefault(v, len(vocab) + 1) if v else 0 for v in labels], dtype=np.int32)
    return mapping[local] if len(mapping) else np.zeros(n, dtype=np.int32)


def codes(snap: Snapshot, column: str) -> tuple[np.ndarray, list[Any]]:
    """Integer code per docnum of `column` (channel, year, month) and the value of each code
    (code 0 = no value); from the arrays where a segment has them, else from Whoosh's column."""
    def make() -> tuple[np.ndarray, list[Any]]:
        vocab = _VOCABS.setdefault((str(snap.gen.path), column), {})
        parts = [snap.segment_value(leaf, ("codes", column),
                                    lambda leaf=leaf, o=offset: _segment_codes(snap, leaf, o, column, vocab))
                 for leaf, offset in snap.leaves()]
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        with _VOCAB_LOCK:
            labels: list[Any] = [None, *vocab]
        return out, labels
    return snap.cached(("codes", column), make)
