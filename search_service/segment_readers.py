"""Whoosh segment readers kept per thread across the commits of one generation.

Opening a segment reader opens its files and reads their headers (the terms index's table, the
compound file's directory), and every request thread paid it again for each segment of each new
snapshot after an update commit (issue 14; a few ms per large segment on the real corpus, more as
the segments add up between merges). Segments never change once written; what a later commit changes
about an old segment is its deletion set, which Whoosh keeps on the segment object of the TOC
(``segment.deleted_docs()``). So a thread keeps the readers it opened, keyed by generation and
segment id, and a new snapshot's reader takes them over *rebound* to the new TOC's segment
object: a shallow copy whose segment and per-document reader (deletions, document counts) are
the new ones while the terms index, postings and stored-field files are shared. Only segments
the thread has not seen yet (the commit's new ones) are opened.

Whoosh readers are not safe to share across threads (their files are read by seek/read), so
the pool is thread-local: a reader is only ever used by the thread that opened it, whichever
snapshot it serves. Private Whoosh attributes (``_segment``, ``_gen``, ``_perdoc``) are pinned
by tests/test_whoosh_private_api.py.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any

from whoosh.reading import EmptyReader, MultiReader, SegmentReader

_local = threading.local()
# Generations whose readers a thread keeps (a rebuild's new one and the one it replaces; a
# process serving several index directories reopens past this, it stays correct).
KEEP_GENERATIONS = 2


def _pool(gen_key: str) -> dict[str, SegmentReader]:
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = OrderedDict()
    pool = pools.get(gen_key)
    if pool is None:
        pool = pools[gen_key] = {}
        while len(pools) > KEEP_GENERATIONS:
            pools.popitem(last=False)
    pools.move_to_end(gen_key)
    return pool


def opened_here(gen_key: str, segment_id: str) -> SegmentReader | None:
    """The reader this thread keeps for a segment (for tests and diagnostics), or None."""
    pools = getattr(_local, "pools", None) or {}
    return pools.get(gen_key, {}).get(segment_id)


def _segment_derived(cls: type) -> list[str]:
    """Names of the cached properties of a reader class (stored in the instance once computed)."""
    return [name for klass in cls.__mro__ for name, attr in vars(klass).items()
            if type(attr).__name__ == "cached_property"]


def rebind(base: SegmentReader, segment: Any, schema: Any, generation: int) -> SegmentReader:
    """`base` seen through another commit's segment object: its deletions and counts, the same
    files and terms index."""
    if base.segment() is segment:
        return base
    reader = copy.copy(base)
    # Values the base computed from its own commit's segment (Whoosh caches the deletion set
    # in the instance: SegmentReader.deleted_docs_set) must be recomputed from the new one.
    for name in _segment_derived(type(base)):
        reader.__dict__.pop(name, None)
    reader.schema = schema
    reader._segment = segment
    reader._gen = generation
    perdoc = copy.copy(base._perdoc)
    perdoc._segment = segment
    reader._perdoc = perdoc
    return reader


def segment_reader(gen_key: str, storage: Any, schema: Any, segment: Any, generation: int) -> SegmentReader:
    """A reader of `segment` as of this commit, reusing the one this thread already opened."""
    pool = _pool(gen_key)
    key = segment.segment_id()
    base = pool.get(key)
    if base is None or base.is_closed:
        base = pool[key] = SegmentReader(storage, schema, segment, generation=generation)
    return rebind(base, segment, schema, generation)


def reader(gen_key: str, storage: Any, toc: Any) -> Any:
    """A reader of a whole commit (as Whoosh's Index.reader() shapes it: one segment gives a
    SegmentReader, several a MultiReader) built from this thread's kept segment readers.

    Readers of segments this commit no longer has (merged away) are dropped from the pool;
    snapshots still using them keep their own references."""
    segments = list(toc.segments)
    readers = [segment_reader(gen_key, storage, toc.schema, seg, toc.generation) for seg in segments]
    pool = _pool(gen_key)
    wanted = {seg.segment_id() for seg in segments}
    for key in [k for k in pool if k not in wanted]:
        del pool[key]
    if not readers:
        return EmptyReader(toc.schema)
    if len(readers) == 1:
        return readers[0]
    return MultiReader(readers, generation=toc.generation)
