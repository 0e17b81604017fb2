"""A per-search time budget, so a pathological query returns partial results instead of holding
a worker thread for seconds.

``core.search`` opens a budget (``with budget(ms) as b``); the loops whose cost grows with the
corpus (the exact-substring scan in match.py, the proximity rerank in scoring.py) ask
``expired()`` every few thousand documents and stop early. Whatever stopped early marks the
budget ``timed_out``; the search then returns what it has, flagged ``"timed_out": true``, and
never caches it. The budget lives in a context variable, so the core's function signatures stay
as they are and concurrent requests (threads) each see their own.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
# Documents scanned between two clock reads: a clock read costs ~50 ns, a document scan ~1 us.
CHECK_EVERY = 2048


@dataclass
class Budget:
    deadline: float | None = None   # time.monotonic() value; None: no limit
    timed_out: bool = False          # set when some loop stopped early
    cuts: int = 0                    # how many loops stopped early (to tell which step was cut)


_current: ContextVar[Budget | None] = ContextVar("news_search_budget", default=None)


class Partial(Exception):
    """Raised out of a cache-filling function whose result is incomplete: the caller returns
    ``value`` without caching it."""

    def __init__(self, value: Any) -> None:
        super().__init__("incomplete result (time limit)")
        self.value = value


@contextmanager
def budget(limit_ms: float | None) -> Iterator[Budget]:
    """Run the enclosed search under a time limit (None or <= 0: unlimited)."""
    b = Budget(time.monotonic() + limit_ms / 1000.0 if limit_ms and limit_ms > 0 else None)
    token = _current.set(b)
    try:
        yield b
    finally:
        _current.reset(token)


def expired() -> bool:
    """True once the current budget's deadline has passed (False outside any budget)."""
    b = _current.get()
    return b is not None and b.deadline is not None and time.monotonic() >= b.deadline


def mark_timed_out() -> None:
    b = _current.get()
    if b is not None:
        b.timed_out = True
        b.cuts += 1


def timed_out() -> bool:
    b = _current.get()
    return b is not None and b.timed_out


def cuts() -> int:
    b = _current.get()
    return b.cuts if b is not None else 0


def scan(items: Iterable[T], keep: Callable[[T], bool]) -> tuple[list[T], bool]:
    """Items for which ``keep`` is true, and whether the scan finished before the deadline."""
    out: list[T] = []
    if _current.get() is None or _current.get().deadline is None:  # type: ignore[union-attr]
        return [x for x in items if keep(x)], True
    for i, x in enumerate(items):
        if i % CHECK_EVERY == 0 and expired():
            mark_timed_out()
            return out, False
        if keep(x):
            out.append(x)
    return out, True
