"""Character unigram + bigram postings of the folded text, one set of arrays per Whoosh segment.

Exact-substring queries (quoted strings, single characters, words the index has no token for)
used to scan every folded text. With these postings a needle costs the postings of its rarest
bigrams plus a check of the few candidates (search_service/ngram_index.py reads them).

Why per segment: Whoosh segments are immutable and named by id, so the arrays of a segment stay
right for as long as the segment exists; an update adds a segment (and its arrays), a merge
writes the merged segment's arrays, deletions are filtered by the reader. Files are named like
the segment's own (MAIN_<id>.ng?.npy), so Whoosh's and our clean-up remove them with it.
Written before the commit's TOC makes the segment visible; a segment without them (killed
writer, older index) is scanned as before, so they only ever make searches faster.

Keys and file names: indexer/store.py (shared with the reader). Arrays: keys (sorted, unique,
uint64), starts (int64, len(keys) + 1), docs (int32 segment-local doc numbers, sorted per key).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from indexer.columns import segment_reader
from indexer.store import NGRAM_SUFFIXES as NGRAM_ORDER, NGRAM_UNIGRAM as UNIGRAM, has_ngrams, ngram_paths as paths

_DOC_BITS = 23                     # up to 8 M documents per segment
_DOC_MASK = (1 << _DOC_BITS) - 1
CHUNK_DOCS = 2000                  # documents deduplicated per numpy pass (bounds the memory)


def _chunk_pairs(texts: Sequence[str], first: int) -> np.ndarray:
    """Unique (key << _DOC_BITS | doc) values of texts[...] numbered from `first`."""
    lengths = [len(t) for t in texts]
    total = sum(lengths)
    if total == 0:
        return np.empty(0, dtype=np.uint64)
    cps = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    docs = np.repeat(np.arange(first, first + len(texts), dtype=np.uint64), lengths)
    same = docs[:-1] == docs[1:]   # a bigram never spans two documents
    bigrams = ((cps[:-1] << np.uint64(21)) | cps[1:])[same]
    unigrams = (cps << np.uint64(21)) | np.uint64(UNIGRAM)
    keys = np.concatenate([bigrams, unigrams])
    owners = np.concatenate([docs[:-1][same], docs])
    return _sorted_unique((keys << np.uint64(_DOC_BITS)) | owners)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    # Sort + neighbour compare: np.unique's hash path measured 6x slower on these values.
    values = np.sort(values)
    keep = np.empty(len(values), dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class _Spool:
    """The sorted unique pairs of each chunk, kept for the second pass: in memory, or appended to
    a temporary file (a segment's pairs are 8 bytes per distinct n-gram per document: ~600 MB
    for 100k synthetic articles, which must not all sit in memory at once)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.parts: list[np.ndarray] = []
        self.sizes: list[int] = []
        self.handle = open(path, "w+b") if path is not None else None

    def add(self, pairs: np.ndarray) -> None:
        if self.handle is None:
            self.parts.append(pairs)
        else:
            pairs.tofile(self.handle)
            self.sizes.append(len(pairs))

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.handle is None:
            yield from self.parts
            return
        self.handle.flush()
        self.handle.seek(0)
        for size in self.sizes:
            yield np.fromfile(self.handle, dtype=np.uint64, count=size)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.path.unlink(missing_ok=True)


def _groups(keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in sorted `keys`."""
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return np.flatnonzero(first)


def _reduce(keys: list[np.ndarray], counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and summed counts of several (keys, counts) pairs."""
    all_keys = np.concatenate(keys)
    all_counts = np.concatenate(counts)
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_counts = all_keys[order], all_counts[order]
    starts = _groups(all_keys)
    return all_keys[starts], np.add.reduceat(all_counts, starts) if len(starts) else all_counts[:0]


def _count(chunks: Iterable[tuple[int, Sequence[str]]], spool: _Spool) -> tuple[np.ndarray, np.ndarray]:
    """First pass: each chunk's pairs into the spool, and the document count of every key."""
    keys: list[np.ndarray] = [np.empty(0, dtype=np.uint64)]
    counts: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for first, texts in chunks:
        pairs = _chunk_pairs(texts, first)
        spool.add(pairs)
        chunk_keys = pairs >> np.uint64(_DOC_BITS)
        starts = _groups(chunk_keys)
        keys.append(chunk_keys[starts])
        counts.append(np.diff(np.append(starts, len(chunk_keys))))
        if len(keys) > 16:  # bounds the memory: reduce to one array of distinct keys
            reduced_keys, reduced_counts = _reduce(keys, counts)
            keys, counts = [reduced_keys], [reduced_counts]
    return _reduce(keys, counts)


def _fill(spool: _Spool, keys: np.ndarray, starts: np.ndarray, docs: np.ndarray) -> None:
    """Second pass: every chunk's doc numbers into their keys' ranges of `docs`. Chunks come in
    document order, so each key's documents stay sorted."""
    filled = np.zeros(len(keys), dtype=np.int64)
    for pairs in spool:
        chunk_keys = pairs >> np.uint64(_DOC_BITS)
        runs = _groups(chunk_keys)
        sizes = np.diff(np.append(runs, len(chunk_keys)))
        at = np.searchsorted(keys, chunk_keys[runs])  # each distinct key of the chunk once
        # Position of each pair: its key's start, plus what earlier chunks filled, plus its rank in the run.
        base = starts[at] + filled[at] - runs
        docs[np.repeat(base, sizes) + np.arange(len(chunk_keys))] = (pairs & np.uint64(_DOC_MASK)).astype(np.int32)
        filled[at] += sizes


def _chunked(texts: Sequence[str]) -> Iterator[tuple[int, Sequence[str]]]:
    for i in range(0, len(texts), CHUNK_DOCS):
        yield i, texts[i:i + CHUNK_DOCS]


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def build_arrays(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, starts, docs) for the folded texts of one segment, indexed by local doc number."""
    if len(texts) > _DOC_MASK:
        raise ValueError(f"a segment of {len(texts)} documents is too large for the n-gram index")
    spool = _Spool()
    keys, counts = _count(_chunked(texts), spool)
    starts = _starts(counts)
    docs = np.empty(int(starts[-1]), dtype=np.int32)
    _fill(spool, keys, starts, docs)
    return keys, starts, docs


def segment_chunks(storage: Any, schema: Any, segment: Any) -> Iterator[tuple[int, list[str]]]:
    """(first doc number, folded title + body texts) of a segment, CHUNK_DOCS documents at a
    time (deleted ones too: the reader filters)."""
    reader = segment_reader(storage, schema, segment)
    try:
        n = reader.doc_count_all()
        if "folded" not in reader.schema:
            for first in range(0, n, CHUNK_DOCS):
                yield first, [""] * min(CHUNK_DOCS, n - first)
            return
        column = iter(reader.column_reader("folded"))
        for first in range(0, n, CHUNK_DOCS):
            yield first, [b.decode("utf-8") if b else "" for b in islice(column, CHUNK_DOCS)]
    finally:
        reader.close()


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_segment(directory: str | os.PathLike, segment_id: str,
                  chunks: Iterable[tuple[int, Sequence[str]]], count: int) -> None:
    """Write the three arrays of a segment of `count` documents from its chunks of texts, through
    temporary files renamed into place, keys last. Memory: one chunk, the keys and their counts;
    the docs array is written through a memory map of its file."""
    if count > _DOC_MASK:
        raise ValueError(f"a segment of {count} documents is too large for the n-gram index")
    target = paths(directory, segment_id)
    tmp = {suffix: path.with_name(path.name + ".tmp") for suffix, path in target.items()}  # *.tmp: removed if killed
    spool = _Spool(target["ngd"].with_name(target["ngd"].name + ".pairs.tmp"))
    try:
        keys, counts = _count(chunks, spool)
        starts = _starts(counts)
        docs = np.lib.format.open_memmap(tmp["ngd"], mode="w+", dtype=np.int32, shape=(int(starts[-1]),))
        _fill(spool, keys, starts, docs)
        docs.flush()
        del docs
    finally:
        spool.close()
    for suffix, array in (("ngs", starts), ("ngk", keys)):
        with open(tmp[suffix], "wb") as handle:
            np.save(handle, array)
    for suffix in NGRAM_ORDER:
        _fsync_replace(tmp[suffix], target[suffix])


def write_missing(storage: Any, schema: Any, segments: Iterable[Any]) -> int:
    """Arrays for every segment that has none yet (new or merged segments). Returns how many."""
    directory = storage.folder
    written = 0
    for segment in segments:
        if not has_ngrams(directory, segment.segment_id()):
            write_segment(directory, segment.segment_id(), segment_chunks(storage, schema, segment),
                          segment.doc_count_all())
            written += 1
    return written
