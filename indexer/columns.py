"""Per-segment arrays the search service memory-maps instead of decoding Whoosh structures:
field lengths, dates, channels and months per document, and the postings of frequent terms.

Why: at 10^5-10^6 articles a cold frequent word decoded block by block from Whoosh's postings
costs tens of milliseconds, and a fresh snapshot reads every column and field length document by
document. Written at commit time next to the n-gram arrays (indexer/ngrams.py), with the same
life cycle: a segment never changes, so its arrays stay right for as long as it exists; an
update adds a segment, a merge writes the merged one's, deletions stay in the segment's
deletion set and are filtered by the reader. Whoosh stays the index of record: a segment
without arrays (an older index, a killed writer) is read through Whoosh as before.

Files (named like the segment's own, so clean-ups remove them with it), in write order:
  <seg>.cdoc.npy  structured, one row per document: title/body length, ts, year, channel and
                  month codes (0 = no value)
  <seg>.clab.npy  labels (unicode): str(number of channel values), the channel values, the
                  month values: channel code c is labels[c], month code c is labels[n + c]
  <seg>.ctd.npy   term postings: segment-local doc numbers (int32), sorted per term
  <seg>.ctf.npy   term frequencies (float32, Whoosh's weights), aligned with ctd
  <seg>.cts.npy   starts (int64, len(keys) + 1)
  <seg>.ctk.npy   keys "field\\x1fterm" (sorted unicode): written last, marks the set complete
This module is the format: search_service/column_arrays.py reads it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

# A term's postings are stored when it is in at least this many documents of the segment: below
# that, Whoosh decodes them in well under a millisecond, and the rare terms are most of the
# vocabulary but few of the postings.
FREQUENT_DOCS = 1024
TERM_FIELDS = ("title", "body", "keywords")
LENGTH_FIELDS = ("title", "body")
KEY_SEP = "\x1f"
SUFFIXES = ("cdoc", "clab", "ctd", "ctf", "cts", "ctk")
DOC_DTYPE = np.dtype([("len_title", "<u4"), ("len_body", "<u4"), ("ts", "<i8"), ("year", "<i8"),
                      ("channel", "<i4"), ("month", "<i4")])


def paths(directory: str | os.PathLike, segment_id: str) -> dict[str, Path]:
    return {s: Path(directory) / f"{segment_id}.{s}.npy" for s in SUFFIXES}


def has_arrays(directory: str | os.PathLike, segment_id: str) -> bool:
    return all(p.is_file() for p in paths(directory, segment_id).values())


def term_key(fieldname: str, word: str) -> str:
    return fieldname + KEY_SEP + word


def block_postings(leaf: Any, fieldname: str, word: str) -> tuple[list[int], list[float]]:
    """(segment-local doc numbers, weights) of one term, deleted documents included, read a
    block at a time (private Whoosh API, pinned by tests/test_whoosh_private_api.py)."""
    ids: list[int] = []
    tfs: list[float] = []
    if (fieldname, word) not in leaf:
        return ids, tfs
    m = leaf.postings(fieldname, word)
    m = getattr(m, "child", m)  # a deletion filter: the caller intersects with live documents
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


def _column(leaf: Any, name: str) -> list[Any]:
    if name not in leaf.schema or not leaf.schema[name].column_type:
        return [None] * leaf.doc_count_all()
    return list(leaf.column_reader(name))


def _encode(values: list[Any]) -> tuple[np.ndarray, list[str]]:
    vocab: dict[str, int] = {}
    codes = np.fromiter((vocab.setdefault(v, len(vocab) + 1) if v else 0 for v in values),
                        dtype=np.int32, count=len(values))
    return codes, list(vocab)


def doc_arrays(leaf: Any) -> tuple[np.ndarray, np.ndarray]:
    """(per-document rows, labels) of one segment reader."""
    n = leaf.doc_count_all()
    rows = np.zeros(n, dtype=DOC_DTYPE)
    for f in LENGTH_FIELDS:
        # Whoosh hands back None for a zero length: 0 here.
        rows["len_" + f] = [leaf.doc_field_length(d, f, 0) or 0 for d in range(n)]
    for name in ("ts", "year"):
        rows[name] = [v if v is not None else -1 for v in _column(leaf, name)]
    rows["channel"], channels = _encode(_column(leaf, "channel"))
    rows["month"], months = _encode(_column(leaf, "month"))
    return rows, np.array([str(len(channels)), *channels, *months], dtype=str)


def frequent_terms(leaf: Any, min_docs: int | None = None) -> tuple[np.ndarray, ...]:
    """(keys, starts, docs, weights) of every term of TERM_FIELDS in >= min_docs documents
    (default FREQUENT_DOCS, read at call time). Each term's postings become numpy arrays at once
    (as Python lists, 12 M postings of 100k articles took 1.7 GB)."""
    min_docs = FREQUENT_DOCS if min_docs is None else min_docs
    found: list[tuple[str, np.ndarray, np.ndarray]] = []
    for fieldname in TERM_FIELDS:
        if fieldname not in leaf.schema:
            continue
        for text, info in leaf.iter_field(fieldname):
            if info.doc_frequency() < min_docs:
                continue
            word = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            ids, tfs = block_postings(leaf, fieldname, word)
            found.append((term_key(fieldname, word), np.array(ids, dtype=np.int32), np.array(tfs, dtype=np.float32)))
    found.sort(key=lambda t: t[0])
    keys = np.array([k for k, _, _ in found] or [""], dtype=str)[:len(found)]
    sizes = np.array([len(ids) for _, ids, _ in found], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    docs = np.concatenate([ids for _, ids, _ in found]) if found else np.empty(0, dtype=np.int32)
    weights = np.concatenate([tfs for _, _, tfs in found]) if found else np.empty(0, dtype=np.float32)
    return keys, starts, docs, weights


def segment_arrays(leaf: Any, min_docs: int | None = None) -> dict[str, np.ndarray]:
    rows, labels = doc_arrays(leaf)
    keys, starts, docs, weights = frequent_terms(leaf, min_docs)
    return {"cdoc": rows, "clab": labels, "ctd": docs, "ctf": weights, "cts": starts, "ctk": keys}


def write_segment(directory: str | os.PathLike, segment_id: str, arrays: dict[str, np.ndarray]) -> None:
    """Each array through a temporary file renamed into place, the keys last."""
    for suffix, path in paths(directory, segment_id).items():
        tmp = path.with_name(path.name + ".tmp")  # *.tmp: removed by clean_superseded if killed
        with open(tmp, "wb") as handle:
            np.save(handle, arrays[suffix], allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def segment_reader(storage: Any, schema: Any, segment: Any) -> Any:
    """A reader of one segment that reads its files rather than memory-mapping them: over an
    mmap'd compound segment Whoosh copies each sub-file it opens into memory (1.6 GB for the
    folded-text column of 100k synthetic articles), where reads cost only what is read."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.reading import SegmentReader

    return SegmentReader(FileStorage(storage.folder, supports_mmap=False, readonly=True), schema, segment)


def write_missing(storage: Any, schema: Any, segments: Iterable[Any]) -> int:
    """Arrays for every segment that has none yet (new or merged segments). Returns how many."""
    written = 0
    for segment in segments:
        if has_arrays(storage.folder, segment.segment_id()):
            continue
        reader = segment_reader(storage, schema, segment)
        try:
            arrays = segment_arrays(reader)
        finally:
            reader.close()
        write_segment(storage.folder, segment.segment_id(), arrays)
        written += 1
    return written
