"""Named phases of a build or update, and the cheap pre-count that gives progress its total.

The library only records facts (which phase, how far, since when); the command line renders
them (indexer/cli.py). Rates come from these same clocks, so what the progress shows and what
the summary prints are one number, not two estimates.
"""
from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# The phases a rebuild goes through, in order (update uses a subset: analyse, merge, write, columns).
PHASES = ("read", "analyse", "merge", "write", "columns", "switch")
_CHUNK = 1 << 20


@dataclass
class PhaseLog:
    """The current phase, its estimated total (records) and the seconds each finished phase took."""

    current: str = ""
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: dict[str, float] = field(default_factory=dict)

    def enter(self, name: str, total: int | None = None) -> None:
        self.close()
        self.current, self.total, self.started = name, total, time.monotonic()

    def close(self) -> None:
        if self.current:
            # A phase entered twice (merge in two commits) adds up.
            self.seconds[self.current] = self.seconds.get(self.current, 0.0) + self.elapsed()
            self.current = ""

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def phase_rate(done: int, seconds: float) -> float:
    """Records per second of a phase; the progress line and the summary both call this."""
    return done / seconds if seconds > 0 else 0.0


def _count_lines(path: str) -> int:
    """Non-empty-ish lines of a JSON Lines file, counted in C-speed chunks (no parsing)."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    lines = 0
    last = b"\n"
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (OSError, EOFError):
        return max(lines, 1)  # the reader reports the damage; the estimate just goes on
    return lines + (last != b"\n")


def count_records(sources: Iterable[Any]) -> int | None:
    """Estimated number of input records (articles or problems): one per line of JSON Lines
    files, one per other file. Costs a read of the JSON Lines bytes, not a parse."""
    from indexer import ingest  # lazily: the CLI imports this module for every command

    total = 0
    for item in ingest.iter_paths(sources):
        if isinstance(item, tuple):
            path = item[0]
            kind = ingest.file_format(os.path.basename(path))
            total += _count_lines(path) if kind in ("jsonl", "jsonl.gz") and os.path.isfile(path) else 1
        elif isinstance(item, ingest.Problem):
            total += 1  # a directory that could not be read: one problem
        else:
            return None  # a database source: its rows are not known before the query
    return total
