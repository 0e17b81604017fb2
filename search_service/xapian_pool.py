"""Xapian shards as one searchable state: open, watch, leave out the ones that are down.

``ShardPool`` holds the shard specs of NEWS_SEARCH_XAPIAN_SHARDS (``host:port`` of an
xapian-tcpsrv, or a local directory). ``state()`` hands out the current ``XapianState``: one
``xapian.Database`` with every reachable shard added (so term statistics merge and BM25 over the
shards equals BM25 over one database), the generation served and the shards left out.

- A shard that cannot be opened, or fails during a search (NetworkError, NetworkTimeoutError,
  DatabaseModifiedError...), is left out of the next state; a background thread retries it at
  most every RETRY_SECONDS and a state with it comes back once it opens. A remote shard's error
  names it (its context is ``remote:tcp(host:port)``): that shard is left out at once, without a
  probe, since every further call on a connection to a host that stopped answering waits the
  whole timeout again.
- Every CHECK_SECONDS at most, a probe connection per shard is reopened: a shard that changed
  (an update commit, a new generation) gives a new state. States are never mutated, so a search
  in flight keeps the one it started with.
- The generation served is the oldest one the reachable shards name (metadata
  ``news_search:generation``): during a rebuild no mixed generations are served.

Xapian Database objects are not thread-safe: a state serialises the searches on it (its lock).
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xapian

from indexer import xapian_doc as xd
from search_service.errors import ShardsUnavailable
from search_service.index import LRU
from search_service.scoring import KEYWORD_RANKS_CACHED

_REMOTE_CONTEXT = re.compile(r"remote:tcp\(([^()\s]+)\)")
CHECK_SECONDS = 0.5
FOLDED_CACHED = 20_000  # folded texts per state (proximity of the best PROXIMITY_TOP articles)
RETRY_SECONDS = 1.0
# What a shard failing mid-search raises: leave it out and try again once.
SHARD_ERRORS: tuple[type[BaseException], ...] = (
    xapian.NetworkError, xapian.DatabaseModifiedError, xapian.DatabaseClosedError,
    xapian.DatabaseOpeningError, xapian.DatabaseCorruptError, xapian.DatabaseError)


def _local_dir(spec: str, generation: str) -> str | None:
    """The directory of `generation` in a local shard (None: a bare database, no generations)."""
    path = Path(spec) / generation
    return os.fspath(path) if generation and path.is_dir() else None


def _local_key(spec: str) -> tuple[str, int]:
    """What identifies a local shard's live state: the generation its stub names, its revision."""
    live = xd.live_generation_dir(spec)
    path = os.fspath(live) if live is not None else spec
    return path, xapian.Database(path).get_revision()


class _Bounded(dict):
    """A dict that forgets its oldest entries past `size` (insertion order)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.size:
            del self[next(iter(self))]


class XapianState:
    """The reachable shards at one revision, as one database, with per-state caches."""

    def __init__(self, specs: list[str], shards: dict[str, xapian.Database], missing: list[str],
                 generation: str, marker: str = "") -> None:
        self.specs = [s for s in specs if s in shards]
        # Names this state (generation, each shard's revision, the shards left out): ETags.
        self.marker = marker
        self.missing = list(missing)
        self.db = xapian.Database()
        for spec in self.specs:
            self.db.add_database(shards[spec])
        self.generation = generation
        self.userdict = next((shards[s].get_metadata(xd.META_USERDICT).decode("utf-8") for s in self.specs), "")
        self.built = next((shards[s].get_metadata(xd.META_BUILT).decode("utf-8") for s in self.specs), "")
        gen_term = "XV" + self.generation
        # Documents carry XV<gen> (remote shards hold two generations during a rebuild); a shard
        # built without the term is served whole.
        self.gen_query = xapian.Query(gen_term) if self.generation and self.db.get_termfreq(gen_term) \
            else xapian.Query.MatchAll
        self.lock = threading.RLock()
        self.sets = LRU(4096)        # query description -> doc set
        self.results = LRU(256)      # search parameters -> result
        self.docs = LRU(4096)        # docid -> stored fields
        self.spans = _Bounded(4096)  # docid -> word spans value (SLOT_SPANS), fetched with the fields
        # What ranking reads of the best articles, kept across requests as the Whoosh snapshot
        # keeps its folded texts and keyword ranks (scoring.proximity / keyword_ranks): docid ->
        # folded title + body, docid -> {keyword: rank}.
        self.folded = LRU(FOLDED_CACHED)
        self.keyword_ranks = LRU(KEYWORD_RANKS_CACHED)
        self.values: dict[Any, Any] = {}
        self.failed = False

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self.values:
            self.values[key] = make()
        return self.values[key]


class ShardPool:
    def __init__(self, specs: list[str], timeout_ms: int = 1000, partial: bool = True) -> None:
        if not specs:
            raise ShardsUnavailable("NEWS_SEARCH_XAPIAN_SHARDS names no shard")
        self.specs = list(specs)
        self.timeout_ms = int(timeout_ms)
        self.allow_partial = partial
        self._lock = threading.Lock()
        self._probes: dict[str, xapian.Database] = {}   # remote shards: one connection each
        self._keys: dict[str, Any] = {}                  # spec -> what identified its state
        self._down: dict[str, str] = {}                  # spec -> why it is left out
        self._state: XapianState | None = None
        self._checked = 0.0
        self._retrying = False
        self._changed = True

    # -- the state ------------------------------------------------------------------------------

    def state(self) -> XapianState:
        """The current state; ShardsUnavailable when no shard answers or, with partial answers
        off, when any shard is left out."""
        with self._lock:
            now = time.monotonic()
            if self._state is not None and self._state.failed:
                self._changed = True
            if not self._changed and now - self._checked >= CHECK_SECONDS:
                self._checked = now
                self._changed = self._probe_changed()
            if self._changed or self._state is None:
                self._changed = False
                self._checked = now
                self._state = self._new_state()
            st = self._state
        if not st.specs:
            raise ShardsUnavailable(f"no Xapian shard answers: {self._reasons(st.missing)}")
        if st.missing and not self.allow_partial:
            raise ShardsUnavailable(f"Xapian shards unavailable: {self._reasons(st.missing)} "
                                    "(NEWS_SEARCH_XAPIAN_PARTIAL=false)")
        return st

    def failed(self, st: XapianState, exc: BaseException | None = None) -> None:
        """A search on `st` hit a shard error: leave out the shard it names, else probe every
        shard, before the next state."""
        st.failed = True
        with self._lock:
            spec = self.shard_named(exc) if exc is not None else None
            if spec is not None and spec not in self._down:
                self._mark_down(spec, exc)
            elif spec is None:
                self._probe_changed()
            self._changed = True

    def shard_named(self, exc: BaseException) -> str | None:
        """The remote shard a Xapian error names in its context (None: no shard of ours)."""
        context = exc.get_context() if isinstance(exc, xapian.Error) else ""
        found = _REMOTE_CONTEXT.search(context or str(exc))
        if found is None:
            return None
        for spec in self.specs:
            if not xd.is_local(spec) and "%s:%d" % xd.host_port(spec) == found.group(1):
                return spec
        return None

    def _reasons(self, specs: list[str]) -> str:
        return "; ".join(f"{s} ({self._down.get(s, 'down')})" for s in specs)

    def _key(self, spec: str) -> Any:
        """What identifies a shard's current state (raises when it does not answer)."""
        if xd.is_local(spec):
            return _local_key(spec)
        probe = self._probes.get(spec)
        if probe is None:
            probe = self._probes[spec] = xd.open_readable(spec, self.timeout_ms)
        probe.reopen()
        return probe.get_metadata(xd.META_GENERATION), probe.get_doccount(), probe.get_lastdocid()

    def _probe_changed(self) -> bool:
        changed = False
        for spec in self.specs:
            if spec in self._down:
                continue
            try:
                changed |= self._key(spec) != self._keys.get(spec)
            except Exception as exc:  # noqa: BLE001 - whatever it is, the shard is out
                self._mark_down(spec, exc)
                changed = True
        return changed

    def _mark_down(self, spec: str, exc: BaseException) -> None:
        self._probes.pop(spec, None)
        self._keys.pop(spec, None)
        self._down[spec] = (str(exc) or type(exc).__name__)[:200]
        self._start_retry()

    def _new_state(self) -> XapianState:
        live: dict[str, xapian.Database] = {}
        for spec in self.specs:
            if spec in self._down:
                continue
            try:
                self._keys[spec] = self._key(spec)
                live[spec] = xd.open_readable(spec, self.timeout_ms)
            except Exception as exc:  # noqa: BLE001
                self._mark_down(spec, exc)
        shards: dict[str, xapian.Database] = {}
        try:
            generation = xd.serving_generation(db.get_metadata(xd.META_GENERATION).decode("utf-8")
                                               for db in live.values()) or ""
            for spec, db in live.items():
                # A local shard that switched already is read at the generation served.
                path = _local_dir(spec, generation) if xd.is_local(spec) else None
                shards[spec] = xapian.Database(path) if path is not None else db
            missing = [s for s in self.specs if s not in shards]
            key = repr((generation, [(s, self._keys.get(s)) for s in self.specs if s in shards], missing))
            marker = hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()
            return XapianState(self.specs, shards, missing, generation, marker)
        except SHARD_ERRORS as exc:  # a shard failed while reading its metadata
            for spec in live:
                self._mark_down(spec, exc)
            return XapianState(self.specs, {}, list(self.specs), "")

    # -- coming back ----------------------------------------------------------------------------

    def _start_retry(self) -> None:
        if not self._retrying:
            self._retrying = True
            threading.Thread(target=self._retry_loop, name="xapian-shard-retry", daemon=True).start()

    def _retry_loop(self) -> None:
        while True:
            time.sleep(RETRY_SECONDS)
            with self._lock:
                down = list(self._down)
                if not down:
                    self._retrying = False
                    return
            for spec in down:
                try:
                    db = xd.open_readable(spec, self.timeout_ms)
                    db.get_metadata(xd.META_GENERATION)
                except Exception as exc:  # noqa: BLE001 - still down
                    with self._lock:
                        self._down[spec] = (str(exc) or type(exc).__name__)[:200]
                    continue
                with self._lock:
                    self._down.pop(spec, None)
                    self._changed = True
