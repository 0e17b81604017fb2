"""A privacy-minded log of what readers search: feeds hot searches, related searches and
suggestions.

What is kept: the query text (whitespace collapsed), the UTC day, how often it was searched that
day and how many results it last found, plus for editors' reports (`news-search report`) the
slowest and summed time taken and how many of those searches were relaxed, corrected or timed
out. Nothing else: no IP address, user agent, cookie, session
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


# Columns added for `news-search report`; older log files get them on open (defaults: nothing known).
REPORT_COLUMNS = (("ms_max", "REAL NOT NULL DEFAULT 0"), ("ms_sum", "REAL NOT NULL DEFAULT 0"),
                  ("relaxed", "INTEGER NOT NULL DEFAULT 0"), ("corrected", "INTEGER NOT NULL DEFAULT 0"),
                  ("timeouts", "INTEGER NOT NULL DEFAULT 0"))
REPORT_FIELDS = ("day", "q", "n", "hits", "ms_max", "ms_sum", "relaxed", "corrected", "timeouts")


def _add_report_columns(conn: sqlite3.Connection) -> None:
    present = {row[1] for row in conn.execute("PRAGMA table_info(queries)")}
    for name, decl in REPORT_COLUMNS:
        if name not in present:
            conn.execute(f"ALTER TABLE queries ADD COLUMN {name} {decl}")


def _today() -> date:
    return datetime.now(timezone.utc).date()


class QueryLog:
    def __init__(self, path: str | Path, retention_days: int = 90, max_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self._writes = 0
        self._cache: dict[tuple[Any, ...], list[Any]] = {}  # read results, cleared on every write

    # -- connection -------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS queries (day TEXT NOT NULL, q TEXT NOT NULL, "
                             "n INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (day, q)) WITHOUT ROWID")
                _add_report_columns(conn)
                conn.commit()
                self._conn = conn
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
        return self._conn

    def _fail(self, exc: Exception) -> None:
        log.warning("query log %s disabled: %s", self.path, exc)
        self._broken = True
        self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing ----------------------------------------------------------------------------
    def record(self, q: str, total: int, day: date | None = None, *, took_ms: float | None = None,
               relaxed: bool = False, corrected: bool = False, timed_out: bool = False) -> bool:
        """Count one search; False when the query is not logged (personal data, too long, error).
        The keyword arguments feed `news-search report` (time taken, whether the answer was
        relaxed, corrected or cut short)."""
        q = normalise(q)
        if not loggable(q):
            return False
        ms = max(0.0, float(took_ms or 0.0))
        flags = (int(bool(relaxed)), int(bool(corrected)), int(bool(timed_out)))
        with self._lock:
            db = self._db()
            if db is None:
                return False
            try:
                db.execute("INSERT INTO queries (day, q, n, hits, ms_max, ms_sum, relaxed, corrected, timeouts) "
                           "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (day, q) DO UPDATE SET n = n + 1, hits = excluded.hits, "
                           "ms_max = MAX(ms_max, excluded.ms_max), ms_sum = ms_sum + excluded.ms_sum, "
                           "relaxed = relaxed + excluded.relaxed, corrected = corrected + excluded.corrected, "
                           "timeouts = timeouts + excluded.timeouts",
                           ((day or _today()).isoformat(), q, int(total), ms, ms, *flags))
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

    def rows_between(self, since: date, until: date) -> list[dict[str, Any]]:
        """Every (day, query) row of the period, for `news-search report` (which aggregates)."""
        rows = self._read(("between", since, until, self._writes),
                          "SELECT day, q, n, hits, ms_max, ms_sum, relaxed, corrected, timeouts FROM queries "
                          "WHERE day >= ? AND day <= ? ORDER BY day, q", (since.isoformat(), until.isoformat()))
        return [dict(zip(REPORT_FIELDS, row)) for row in rows]

    def row_count(self) -> int:
        rows = self._read(("rows", self._writes), "SELECT COUNT(*) FROM queries", ())
        return int(rows[0][0]) if rows else 0
