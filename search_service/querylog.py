"""A privacy-minded log of what readers search: feeds hot searches, related searches and
suggestions.

What is kept: the query text (whitespace collapsed), the UTC day, how often it was searched that
day and how many results it last found. Nothing else: no IP address, user agent, cookie, session
or time of day, so a row cannot be tied to a reader. Queries that look like personal data (an
e-mail address, a long digit run such as a phone or ID number) and very long queries (usually
pasted text) are not logged at all.

Bounded storage: one SQLite file (by default INDEX_DIR/querylog.sqlite3) with one row per
(day, query); rows older than ``retention_days`` are dropped and the table is capped at
``max_rows`` rows (the oldest, least searched rows go first).

Logging must never break a search: a database error is logged once and the log switches itself off.
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "querylog.sqlite3"
MAX_LOGGED_CHARS = 64
# Long digit runs (phone numbers, ID and card numbers) and e-mail addresses are personal data.
_PERSONAL = re.compile(r"\d[\d\s-]{6,}\d|[^\s@]+@[^\s@]+")
PRUNE_EVERY = 500  # writes between two prunes


def normalise(q: str) -> str:
    return " ".join(q.split())


def loggable(q: str) -> bool:
    return 0 < len(q) <= MAX_LOGGED_CHARS and not _PERSONAL.search(q)


def _today() -> date:
    return datetime.now(timezone.utc).date()


RETRY_SECONDS = 60


class QueryLog:
    def __init__(self, path: str | Path, retention_days: int = 90, max_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken_at: float | None = None  # when writing last failed (full disk...); retried later
        self._writes = 0
        self._cache: dict[tuple[Any, ...], list[Any]] = {}  # read results, cleared on every write

    # -- connection -------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        if self._broken_at is not None and time.monotonic() - self._broken_at < RETRY_SECONDS:
            return None
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS queries (day TEXT NOT NULL, q TEXT NOT NULL, "
                             "n INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (day, q)) WITHOUT ROWID")
                conn.commit()
                self._conn = conn
                self._broken_at = None
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
        return self._conn

    def _fail(self, exc: Exception) -> None:
        # Not for good: a full disk gets freed; the log is retried after RETRY_SECONDS.
        log.warning("query log %s paused for %ds: %s", self.path, RETRY_SECONDS, exc)
        self._broken_at = time.monotonic()
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None

    @property
    def working(self) -> bool:
        """False while writing is paused after a failure."""
        return self._broken_at is None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing ----------------------------------------------------------------------------
    def record(self, q: str, total: int, day: date | None = None) -> bool:
        """Count one search; False when the query is not logged (personal data, too long, error)."""
        q = normalise(q)
        if not loggable(q):
            return False
        with self._lock:
            db = self._db()
            if db is None:
                return False
            try:
                db.execute("INSERT INTO queries (day, q, n, hits) VALUES (?, ?, 1, ?) "
                           "ON CONFLICT (day, q) DO UPDATE SET n = n + 1, hits = excluded.hits",
                           ((day or _today()).isoformat(), q, int(total)))
                self._writes += 1
                if self._writes % PRUNE_EVERY == 1:
                    self._prune(db)
                db.commit()
            except sqlite3.Error as exc:
                self._fail(exc)
                return False
            self._cache.clear()
        return True

    def _prune(self, db: sqlite3.Connection) -> None:
        cutoff = (_today() - timedelta(days=self.retention_days)).isoformat()
        db.execute("DELETE FROM queries WHERE day < ?", (cutoff,))
        (rows,) = db.execute("SELECT COUNT(*) FROM queries").fetchone()
        if rows > self.max_rows:
            db.execute("DELETE FROM queries WHERE (day, q) IN (SELECT day, q FROM queries "
                       "ORDER BY day, n LIMIT ?)", (rows - self.max_rows,))

    def prune(self) -> None:
        with self._lock:
            db = self._db()
            if db is not None:
                self._prune(db)
                db.commit()
                self._cache.clear()

    # -- reading ----------------------------------------------------------------------------
    def _read(self, key: tuple[Any, ...], sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            db = self._db()
            if db is None:
                return []
            try:
                rows = db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                self._fail(exc)
                return []
            self._cache[key] = rows
            return rows

    def frequent(self, days: int = 30, limit: int = 500, min_count: int = 1) -> list[tuple[str, int]]:
        """(query, searches) over the last `days` days, most searched first; only queries whose
        last search found something (a typo nobody could use is not worth repeating)."""
        since = (_today() - timedelta(days=max(days, 1) - 1)).isoformat()
        rows = self._read(("frequent", since, limit, min_count),
                          "SELECT q, SUM(n) AS c FROM queries WHERE day >= ? GROUP BY q "
                          "HAVING c >= ? AND MAX(hits) > 0 ORDER BY c DESC, q LIMIT ?",
                          (since, min_count, limit))
        return [(q, int(c)) for q, c in rows]

    def hot(self, days: int = 7, limit: int = 10, min_count: int = 1) -> list[dict[str, Any]]:
        return [{"q": q, "count": c} for q, c in self.frequent(days, limit, min_count)]

    def related(self, q: str, words: Any, limit: int = 8, days: int = 30, min_count: int = 1) -> list[str]:
        """Logged queries sharing a word with `q`, most searched first. `words(text)` segments
        text into words (passed in so this module stays free of the analyser)."""
        mine = {w for w in words(q) if len(w) > 1}
        if not mine:
            return []
        own = normalise(q)
        out: list[str] = []
        for other, _count in self.frequent(days, 500, min_count):
            if other != own and mine & set(words(other)):
                out.append(other)
                if len(out) >= limit:
                    break
        return out

    def row_count(self) -> int:
        rows = self._read(("rows", self._writes), "SELECT COUNT(*) FROM queries", ())
        return int(rows[0][0]) if rows else 0
