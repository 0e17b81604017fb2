"""Background work that gives way to requests in the same process.

A server process runs its searches and, after every commit, a warm-up thread that rebuilds the
suggestion data (pure Python, about a second on 20k articles). Under the GIL the two take turns:
each time a search releases the GIL (a file read, zlib) the warm-up holds it for a whole switch
interval, and a search that takes 50 ms of CPU answered in ~0.9 s (bench/after_update.py). So
requests say they are running, and the background loops call ``pause()`` every few hundred
steps: while a request is in flight it sleeps in short naps, up to ``MAX_WAIT_S`` per call, so
it still finishes under steady traffic. A rebuild that has a stale copy to serve meanwhile also
waits first for a quiet moment (``wait_quiet``): the searches right after a commit come first.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT_S = 0.05   # the longest one pause() waits: background work always moves on
NAP_S = 0.001
QUIET_S = 0.25      # wait_quiet: this long without a request counts as quiet
QUIET_MAX_WAIT_S = 5.0

_lock = threading.Lock()
_running = 0
_last_end = 0.0


@contextmanager
def request() -> Iterator[None]:
    """Mark a request as running for as long as the block runs."""
    global _running, _last_end
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            _last_end = time.perf_counter()


def running() -> int:
    """How many requests are in flight now."""
    return _running


def pause() -> float:
    """Called by background loops between steps: wait while requests run (bounded); returns
    the seconds waited."""
    if not _running:
        return 0.0
    started = time.perf_counter()
    while _running and time.perf_counter() - started < MAX_WAIT_S:
        time.sleep(NAP_S)
    return time.perf_counter() - started


def wait_quiet(quiet_s: float = QUIET_S, max_wait_s: float = QUIET_MAX_WAIT_S) -> float:
    """Wait until no request has run for `quiet_s` seconds, or `max_wait_s` at most; returns the
    seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_wait_s:
        now = time.perf_counter()
        if not _running and now - _last_end >= quiet_s:
            break
        time.sleep(min(quiet_s, 0.05))
    return time.perf_counter() - started
