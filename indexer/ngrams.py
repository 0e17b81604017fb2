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
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from indexer.store import NGRAM_UNIGRAM as UNIGRAM, has_ngrams, ngram_paths as paths

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


def build_arrays(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, starts, docs) for the folded texts of one segment, indexed by local doc number."""
    if len(texts) > _DOC_MASK:
        raise ValueError(f"a segment of {len(texts)} documents is too large for the n-gram index")
    parts = [_chunk_pairs(texts[i:i + CHUNK_DOCS], i) for i in range(0, len(texts), CHUNK_DOCS)]
    pairs = np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)
    all_keys = pairs >> np.uint64(_DOC_BITS)
    docs = (pairs & np.uint64(_DOC_MASK)).astype(np.int32)
    first = np.empty(len(all_keys), dtype=bool)
    first[:1] = True
    np.not_equal(all_keys[1:], all_keys[:-1], out=first[1:])
    starts = np.append(np.flatnonzero(first), len(docs)).astype(np.int64)
    return all_keys[first], starts, docs


def segment_texts(storage: Any, schema: Any, segment: Any) -> list[str]:
    """Folded title + body of every document of a segment (deleted ones too: the reader filters)."""
    from whoosh.reading import SegmentReader

    reader = SegmentReader(storage, schema, segment)
    try:
        if "folded" not in reader.schema:
            return [""] * reader.doc_count_all()
        return [b.decode("utf-8") if b else "" for b in reader.column_reader("folded")]
    finally:
        reader.close()


def write_segment(directory: str | os.PathLike, segment_id: str, texts: Sequence[str]) -> None:
    """Write the three arrays through temporary files renamed into place, keys last."""
    arrays = dict(zip(("ngk", "ngs", "ngd"), build_arrays(texts)))
    for suffix, path in paths(directory, segment_id).items():
        tmp = path.with_name(path.name + ".tmp")  # *.tmp: removed by clean_superseded if killed
        with open(tmp, "wb") as handle:
            np.save(handle, arrays[suffix])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def write_missing(storage: Any, schema: Any, segments: Iterable[Any]) -> int:
    """Arrays for every segment that has none yet (new or merged segments). Returns how many."""
    directory = storage.folder
    written = 0
    for segment in segments:
        if not has_ngrams(directory, segment.segment_id()):
            write_segment(directory, segment.segment_id(), segment_texts(storage, schema, segment))
            written += 1
    return written
