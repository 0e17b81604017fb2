"""The live index as the service sees it: opened once, refreshed when a new generation or commit
appears, with per-generation caches (column arrays, folded texts, filter sets, term doc sets).

One ``Snapshot`` per index state; each thread gets its own Whoosh searcher for that snapshot
(Whoosh searchers are not shared across threads). Snapshots are replaced, never mutated, so a
request in flight keeps using the one it started with while the next request sees the new one.
"""
from __future__ import annotations

import os
from bisect import bisect_right
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import cached_property
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from indexer import analysis
from indexer.errors import IndexDamaged, IndexMissing
from indexer.store import USERDICT_NAME, Generation, IndexStore, column_values, open_index, pin_generation
from search_service import segment_readers
from search_service.synonyms import query_files_stamp


class LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()
        self.hits = 0  # lookups, for /metrics (search_service/metrics.py)
        self.misses = 0

    def get_or(self, key: Any, make: Any) -> Any:
        with self.lock:
            if key in self:
                self.hits += 1
                self.move_to_end(key)
                return self[key]
            self.misses += 1
        value = make()
        with self.lock:
            self[key] = value
            if len(self) > self.size:
                self.popitem(last=False)
        return value


# Per-segment values (columns, field lengths) shared by every snapshot of a generation: Whoosh
# segments never change (deletions live in the TOC), so after an update commit a new snapshot
# reads only its new segments and concatenates the rest (issue 14: no stalls after commits).
_SEGMENT_VALUES = LRU(512)

# Values a new snapshot may serve from the previous snapshot of the same generation until its
# background warm-up has rebuilt them (a few new articles' words missing from the suggestions for
# a second, instead of a seconds-long stall of the first request that needs them).
CARRY_STALE = frozenset({"suggest"})


class Snapshot:
    """One immutable state of the index (a generation at one commit) and its caches."""

    def __init__(self, gen: Generation, marker: str, index_dir: Path, previous: "Snapshot | None" = None) -> None:
        self.gen = gen
        self.marker = marker
        self.index_dir = index_dir  # the store's root: where the query-time dictionaries live
        # The snapshot this one replaces, when of the same generation: what it built can be
        # carried over (see carried); dropped once the warm-up has built this snapshot's own.
        self.previous = previous if previous is not None and previous.gen.path == gen.path else None
        # CARRY_STALE values to serve until this snapshot has its own: the previous snapshot's, or
        # what it was itself serving when a second commit came before its warm-up had finished
        # (else that commit's first did-you-mean built them in the request: seconds).
        self.stale: dict[Hashable, Any] = {}
        if self.previous is not None:
            for name in CARRY_STALE:
                value = self.previous.extra.get(name, self.previous.stale.get(name))
                if value is not None:
                    self.stale[name] = value
            self.previous.previous = None  # never a chain of old snapshots
        # Pin first, then open: gc leaves a generation alone while a reader holds it, and a gc
        # between opening and pinning could otherwise remove what we just opened.
        self._pin = pin_generation(gen)
        self.ix = open_index(gen, self._check_new_segments if self.previous is not None else None)
        # No mmap: Whoosh wraps each mmap'd sub-file in BytesIO, which copies it, so every
        # per-thread reader held its own copy of the postings and term index (~270 MB per server
        # thread on 20k articles). Plain file reads cost the same CPU per search (bench/).
        self.ix.storage.supports_mmap = False
        # Pinned: every thread's searcher reads this commit, so docnums agree with the column
        # arrays even when a writer commits meanwhile (writers keep superseded files for a while).
        if not hasattr(self, "toc"):
            self.toc = self.ix._read_toc()
        self.meta = gen.meta()
        self._local = threading.local()
        self.term_docs = LRU(4096)
        self.filter_sets = LRU(256)
        self.results = LRU(512)
        # Stored fields of recently read documents: one search reads its best 50's (aboutness,
        # scoring.py), then its page's (hits, highlights), each unpickled once.
        self.docs = LRU(256)
        self.extra: dict[Hashable, Any] = {}  # lazily built per-snapshot structures of other modules
        self.extra_lock = threading.RLock()  # cached builders may use other cached values
        self._key_locks: dict[Hashable, threading.RLock] = {}
        userdict = gen.path / USERDICT_NAME
        if userdict.is_file():
            analysis.load_userdict(userdict)
        analysis.ensure_initialised()

    def _check_new_segments(self, ix: Any) -> None:
        """open_index's check after a commit: open (in this thread's reader pool) only the
        segments the previous snapshot did not have; the others were checked when first opened."""
        ix.storage.supports_mmap = False
        self.toc = toc = ix._read_toc()
        known = {seg.segment_id() for seg in self.previous.toc.segments}  # type: ignore[union-attr]
        for seg in toc.segments:
            if seg.segment_id() not in known:
                segment_readers.segment_reader(str(self.gen.path), ix.storage, toc.schema, seg,
                                               toc.generation)

    def searcher(self) -> Searcher:
        s = getattr(self._local, "searcher", None)
        if s is None:
            # This thread's segment readers, carried over from the snapshots it served before:
            # only the commit's new segments are opened (search_service/segment_readers.py).
            reader = segment_readers.reader(str(self.gen.path), self.ix.storage, self.toc)
            s = Searcher(reader, fromindex=self.ix)
            self._local.searcher = s
        return s

    def __del__(self) -> None:
        pin = getattr(self, "_pin", None)
        if pin is not None:
            os.close(pin)
            self._pin = None

    # -- column arrays (indexed by global docnum) ---------------------------------------------
    def leaves(self) -> list[tuple[Any, int]]:
        """(segment reader, first global docnum) per segment, in docnum order."""
        reader = self.searcher().reader()
        return reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]

    @cached_property
    def _leaf_starts(self) -> list[int]:
        return [offset for _leaf, offset in self.leaves()]

    def locate(self, docnum: int) -> tuple[Any, int]:
        """(segment reader, its first global docnum) of the segment holding `docnum`."""
        return self.leaves()[bisect_right(self._leaf_starts, docnum) - 1]

    def segment_value(self, leaf: Any, name: Hashable, make: Any) -> Any:
        """make() for one segment of this generation, cached across snapshots."""
        return _SEGMENT_VALUES.get_or((str(self.gen.path), leaf.segment().segment_id(), name), make)

    def per_segment(self, name: Hashable, make: Any) -> list[Any]:
        """make(segment reader) per segment, cached per segment across snapshots, concatenated."""
        out: list[Any] = []
        for leaf, _offset in self.leaves():
            out.extend(self.segment_value(leaf, name, lambda leaf=leaf: make(leaf)))
        return out

    def _column(self, name: str) -> list[Any]:
        reader = self.searcher().reader()
        if name not in reader.schema or not reader.schema[name].column_type:
            return [None] * reader.doc_count_all()
        # Per segment as in store.column_values (a segment without the column gets its defaults).
        return self.per_segment(("column", name), lambda leaf: list(leaf.column_reader(name)))

    def doc_lengths(self, fieldname: str) -> list[int]:
        """Length of `fieldname` per docnum (BM25 normalisation), read once per segment."""
        return self.per_segment(("length", fieldname), lambda leaf: [
            leaf.doc_field_length(d, fieldname, 0) for d in range(leaf.doc_count_all())])

    @cached_property
    def live_docs(self) -> frozenset[int]:
        # From each segment's deletion set (TOC data), not a per-document is_deleted() walk.
        live: set[int] = set()
        for leaf, offset in self.leaves():
            live.update(range(offset, offset + leaf.doc_count_all()))
            if leaf.has_deletions():
                live.difference_update(offset + d for d in leaf.segment().deleted_docs())
        return frozenset(live)

    @cached_property
    def channel(self) -> list[str]:
        return self._column("channel")

    @cached_property
    def ts(self) -> list[int]:
        return self._column("ts")

    @cached_property
    def year(self) -> list[int]:
        # An article without a date has no year: Whoosh hands back the column's default
        # (2**31 - 1 for a 32-bit NUMERIC), which must not become a "2147483647" facet value.
        return [y if y and 0 < y < 10000 else 0 for y in self._column("year")]

    @cached_property
    def month(self) -> list[str]:
        return self._column("month")

    @cached_property
    def folded(self) -> list[str]:
        """Folded title + "\\n" + body per docnum: what exact substring queries check."""
        return self.per_segment("folded", lambda leaf: [b.decode("utf-8") if b else ""
                                                         for b in leaf.column_reader("folded")])

    @cached_property
    def newest_ts(self) -> int:
        known = [self.ts[d] for d in self.live_docs if self.ts[d] >= 0]
        return max(known) if known else 0

    def carried(self, name: Hashable) -> Any:
        """What the previous snapshot of this generation built under `name`, or None."""
        prev = self.previous
        return prev.extra.get(name) if prev is not None else None

    def cached(self, name: Hashable, make: Any, fresh: bool = False) -> Any:
        # Built values are only ever added, so a hit needs no lock; a build locks its own key only:
        # one slow builder (seconds on a large corpus) must not hold up every other request.
        try:
            return self.extra[name]
        except KeyError:
            pass
        if not fresh and name in CARRY_STALE:
            stale = self.carried(name)
            if stale is None:
                stale = self.stale.get(name)
            if stale is not None:
                return stale
        with self.extra_lock:
            key_lock = self._key_locks.setdefault(name, threading.RLock())
        with key_lock:
            if name not in self.extra:
                self.extra[name] = make()
            return self.extra[name]

    def stored(self, docnum: int) -> dict[str, Any]:
        return dict(self.docs.get_or(docnum, lambda: self.searcher().stored_fields(docnum)))


class SearchIndex:
    """Opened once per process; hands out the current Snapshot, checking for changes at most
    every ``check_interval`` seconds so the hot path stays cheap."""

    def __init__(self, index_dir: str | os.PathLike, check_interval: float = 0.5,
                 warm: Callable[[Snapshot], None] | None = None) -> None:
        self.store = IndexStore(Path(index_dir))
        self.check_interval = check_interval
        # Called in a background thread on each new snapshot (core.warm for a server): the layers
        # above know what every search needs precomputed; this module does not import them.
        self.warm = warm
        self._snapshot: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked < self.check_interval:
            return snap
        with self._lock:
            self._checked = now
            # Query-time dictionaries (synonyms, stop words) are part of the state: editing them
            # starts a fresh snapshot, so no cached result outlives the file it came from.
            marker = self.store.current_marker() + "|" + query_files_stamp(self.store.root)
            if self._snapshot is None or marker != self._snapshot.marker:
                try:
                    gen = self.store.require_current()
                except IndexMissing:
                    # CURRENT removed or garbled under a running service: keep answering from the
                    # snapshot we have (answers must not flap between 200 and 503); readiness
                    # checks tell it apart (indexer.store.serves_current).
                    if self._snapshot is None:
                        raise
                    return self._snapshot
                try:
                    self._snapshot = Snapshot(gen, marker, self.store.root, previous=self._snapshot)
                    # Build the per-snapshot arrays off the request path (requests that need them
                    # first simply compute them too).
                    if self.warm is not None:
                        threading.Thread(target=self.warm, args=(self._snapshot,), daemon=True).start()
                except (OSError, whoosh_index.IndexError, IndexDamaged):
                    # Caught mid-switch (e.g. a generation removed under us): keep answering from
                    # the snapshot we have and look again on the next request.
                    if self._snapshot is None:
                        raise
                    self._checked = 0.0
            return self._snapshot

    def close(self) -> None:
        self._snapshot = None
