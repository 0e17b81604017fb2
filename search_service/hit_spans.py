"""A page's highlight spans read from the character postings, only in the blocks holding a hit.

highlight.page_spans walks each query word's postings to the page's hits with Whoosh's
skip_to: every block header on the way is read and unpickled, and so is the first block of
every term even when no hit has the word (the largest share of rendering a page). The term's
posting arrays, already read for matching (search_service.postings, per segment, deleted
documents included), say which hits hold it and at which posting: Whoosh writes a term's
postings in blocks of `blocklimit` (indexer/segment_build.py does the same), so the hit sits in
block posting // blocklimit (the first block's size). That block is reached by reading one
length per block on the way (no unpickling), and only its values are decoded. Each block reached is checked against the
arrays (its posting count and its header's last doc number); when a hit is not where expected
(a writer with other block sizes, inlined postings) the term is walked with skip_to as before.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from search_service.highlight import page_spans as walked_spans
from search_service.index import Snapshot
from search_service.postings import raw_postings, segment_postings

Span = tuple[int, int]
_INT_SIZE = 4  # the block length before each posting block (whoosh.filedb.structfile _INT_SIZE)


def _block_reader(leaf: Any, fieldname: str, word: str) -> Any | None:
    """Whoosh's block matcher of one term in one segment (at its first block), or None."""
    if (fieldname, word) not in leaf:
        return None
    if not hasattr(leaf, "_terms"):
        return None
    m = raw_postings(leaf, fieldname, word)  # every posting: positions as in the arrays
    needed = ("_goto", "_nextoffset", "_lastblock", "_blocklength", "_postfile", "_read_ids", "_read_values")
    return m if all(hasattr(m, a) for a in needed) else None


def _leaf_spans(leaf: Any, fieldname: str, word: str, ids: np.ndarray, local: list[int],
                where: list[int]) -> dict[int, list[Span]] | None:
    """Spans of `word` in the segment's documents `local` (ascending), which sit at postings
    `where` of the term's posting ids `ids`; None when a block is not the one the ids say."""
    m = _block_reader(leaf, fieldname, word)
    if m is None:
        return None
    # Every block but the last holds as many postings as the first (the writer's blocklimit).
    limit = m._blocklength if not m._lastblock else len(ids)
    # A block is the expected one when its header's last id is that of the ids' slice.
    block_max = ids[min(len(ids), limit) - 1::limit].tolist() + ([int(ids[-1])] if len(ids) % limit else [])
    block, pos = 0, 0  # the matcher starts in the first block
    current_next = m._nextoffset
    last = m._lastblock
    out: dict[int, list[Span]] = {}
    for doc, i in zip(local, where):
        want = i // limit
        if want > block:
            nxt = current_next
            while block < want:
                if last:
                    return None
                pos = nxt
                length = m._postfile.get_int(pos)
                last = length < 0
                nxt = pos + _INT_SIZE + abs(length)
                block += 1
            m._goto(pos)
            current_next = m._nextoffset
        k = i - want * limit
        if m._blocklength != min(limit, len(ids) - want * limit) or m._maxid != block_max[want]:
            return None
        if m._values is None:
            m._read_values()
        m._i = k
        out[doc] = [(s, e) for _pos, s, e in m.value_as("characters")]
    return out


def page_spans(snap: Snapshot, fieldname: str, docnums: list[int], terms: set[str]) -> dict[int, list[Span]]:
    """highlight.page_spans's answer: spans of `terms` in `fieldname` of each of `docnums`."""
    out: dict[int, list[Span]] = {d: [] for d in docnums}
    if not terms or not docnums:
        return out
    by_leaf: dict[int, list[int]] = {}
    leaves = snap.leaves()
    for d in sorted(set(docnums)):
        leaf, offset = snap.locate(d)
        by_leaf.setdefault(offset, []).append(d)
    leaf_of = {offset: leaf for leaf, offset in leaves}
    for term in terms:
        for offset, docs in by_leaf.items():
            leaf = leaf_of[offset]
            ids, _weights = segment_postings(snap, leaf, fieldname, term)
            if not len(ids):
                continue
            local = np.asarray(docs, dtype=np.int64) - offset
            where = np.searchsorted(ids, local)
            ok = where < len(ids)
            ok[ok] = ids[where[ok]] == local[ok]
            if not ok.any():
                continue
            held, at = local[ok].tolist(), where[ok].tolist()
            got = _leaf_spans(leaf, fieldname, term, ids, held, at)
            if got is None:  # not where the arrays say: walk this term as before
                got = {d - offset: s for d, s in walked_spans(snap.searcher(), fieldname, [offset + x for x in held], {term}).items()}
            for doc, spans in got.items():
                out[doc + offset].extend(spans)
    return out
