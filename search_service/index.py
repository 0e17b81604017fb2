"""The live index as the service sees it: opened once, refreshed when a new generation or commit
appears, with per-generation caches (column arrays, folded texts, filter sets, term doc sets).

One ``Snapshot`` per index state; each thread gets its own Whoosh searcher for that snapshot
(Whoosh searchers are not shared across threads). Snapshots are replaced, never mutated, so a
request in flight keeps using the one it started with while the next request sees the new one.
"""
from __future__ import annotations

import os
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
from indexer.errors import IndexDamaged
from indexer.store import USERDICT_NAME, Generation, IndexStore, column_values, open_index, pin_generation
from search_service.synonyms import query_files_stamp


class LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key: Any, make: Any) -> Any:
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self.lock:
            self[key] = value
            if len(self) > self.size:
                self.popitem(last=False)
        return value


class Snapshot:
    """One immutable state of the index (a generation at one commit) and its caches."""

    def __init__(self, gen: Generation, marker: str, index_dir: Path) -> None:
        self.gen = gen
        self.marker = marker
        self.index_dir = index_dir  # the store's root: where the query-time dictionaries live
        # Pin first, then open: gc leaves a generation alone while a reader holds it, and a gc
        # between opening and pinning could otherwise remove what we just opened.
        self._pin = pin_generation(gen)
        self.ix = open_index(gen)
        # No mmap: Whoosh wraps each mmap'd sub-file in BytesIO, which copies it, so every
        # per-thread reader held its own copy of the postings and term index (~270 MB per server
        # thread on 20k articles). Plain file reads cost the same CPU per search (bench/).
        self.ix.storage.supports_mmap = False
        # Pinned: every thread's searcher reads this commit, so docnums agree with the column
        # arrays even when a writer commits meanwhile (writers keep superseded files for a while).
        self.toc = self.ix._read_toc()
        self.meta = gen.meta()
        self._local = threading.local()
        self.term_docs = LRU(4096)
        self.filter_sets = LRU(256)
        self.results = LRU(512)
        self.extra: dict[Hashable, Any] = {}  # lazily built per-snapshot structures of other modules
        self.extra_lock = threading.RLock()  # cached builders may use other cached values
        self._key_locks: dict[Hashable, threading.RLock] = {}
        userdict = gen.path / USERDICT_NAME
        if userdict.is_file():
            analysis.load_userdict(userdict)
        analysis.ensure_initialised()

    def searcher(self) -> Searcher:
        s = getattr(self._local, "searcher", None)
        if s is None:
            toc = self.toc
            reader = self.ix._reader(self.ix.storage, toc.schema, list(toc.segments), toc.generation)
            s = Searcher(reader, fromindex=self.ix)
            self._local.searcher = s
        return s

    def __del__(self) -> None:
        pin = getattr(self, "_pin", None)
        if pin is not None:
            os.close(pin)
            self._pin = None

    # -- column arrays (indexed by global docnum) ---------------------------------------------
    def _column(self, name: str) -> list[Any]:
        reader = self.searcher().reader()
        if name not in reader.schema or not reader.schema[name].column_type:
            return [None] * reader.doc_count_all()
        return column_values(reader, name)

    @cached_property
    def live_docs(self) -> frozenset[int]:
        reader = self.searcher().reader()
        return frozenset(d for d in range(reader.doc_count_all()) if not reader.is_deleted(d))

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
        """Folded title + "\\n" + body per docnum: what exact substring queries scan."""
        return [b.decode("utf-8") if b else "" for b in self._column("folded")]

    @cached_property
    def newest_ts(self) -> int:
        known = [self.ts[d] for d in self.live_docs if self.ts[d] >= 0]
        return max(known) if known else 0

    def cached(self, name: Hashable, make: Any) -> Any:
        # Built values are only ever added, so a hit needs no lock; a build locks its own key only:
        # one slow builder (seconds on a large corpus) must not hold up every other request.
        try:
            return self.extra[name]
        except KeyError:
            pass
        with self.extra_lock:
            key_lock = self._key_locks.setdefault(name, threading.RLock())
        with key_lock:
            if name not in self.extra:
                self.extra[name] = make()
            return self.extra[name]

    def stored(self, docnum: int) -> dict[str, Any]:
        return self.searcher().stored_fields(docnum)


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
                gen = self.store.require_current()
                try:
                    self._snapshot = Snapshot(gen, marker, self.store.root)
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
