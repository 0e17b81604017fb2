"""A privacy-minded log of what readers search: feeds hot searches, related searches and
suggestions (through search_service.publiclists, which decides what may be shown).

What is kept per (UTC day, query, visitor): the cleaned query text, how many results it last
found, and a visitor key: a keyed hash (HMAC-SHA256, 12 bytes) of the client address under a
random salt of that day. The salt is kept only while its day lasts (so processes and restarts
agree) and deleted afterwards, so yesterday's keys can no longer be tied to any address; no
address, user agent, cookie or time of day is stored. Distinct visitors are counted per day:
however often one visitor searches, a query gains at most one visitor that day.

For editors' reports (`news-search report`, never shown to readers) a second table keeps per
(UTC day, query) how often it was searched, how many results it last found, the slowest and
summed time taken and how many of those searches were relaxed, corrected or timed out.

Queries are cleaned first (queryfilter.clean: control, bidi and escape characters removed), and
ones that look like personal data or contact lures (after NFKC) or very long ones are not logged.

Bounded storage: one SQLite file (by default INDEX_DIR/querylog.sqlite3); rows older than
``retention_days`` are dropped and the table is capped at ``max_rows`` rows (oldest first).

Logging must never break a search: a database error is logged once and the log switches itself off.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import sqlite3
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from search_service.queryfilter import MAX_KEPT_CHARS, clean, keepable

log = logging.getLogger(__name__)

FILE_NAME = "querylog.sqlite3"
MAX_LOGGED_CHARS = MAX_KEPT_CHARS
PRUNE_EVERY = 500  # writes between two prunes


def normalise(q: str) -> str:
    return clean(q)


def loggable(q: str) -> bool:
    return keepable(clean(q))


def visitor_identity(address: str | None) -> str:
    """The part of a client address that stands for one visitor: an IPv6 host usually owns a
    whole /64, so its addresses count as one."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


# Columns added for `news-search report`; older log files get them on open (defaults: nothing known).
REPORT_COLUMNS = (("ms_max", "REAL NOT NULL DEFAULT 0"), ("ms_sum", "REAL NOT NULL DEFAULT 0"),
                  ("relaxed", "INTEGER NOT NULL DEFAULT 0"), ("corrected", "INTEGER NOT NULL DEFAULT 0"),
                  ("timeouts", "INTEGER NOT NULL DEFAULT 0"))
REPORT_FIELDS = ("day", "q", "n", "hits", "ms_max", "ms_sum", "relaxed", "corrected", "timeouts")


def _add_report_columns(conn: sqlite3.Connection) -> None:
    present = {row[1] for row in conn.execute("PRAGMA table_info(report_stats)")}
    for name, decl in REPORT_COLUMNS:
        if name not in present:
            conn.execute(f"ALTER TABLE report_stats ADD COLUMN {name} {decl}")


def _today() -> date:
    return datetime.now(timezone.utc).date()


RETRY_SECONDS = 60


class QueryLog:
    def __init__(self, path: str | Path, retention_days: int = 90, max_rows: int = 50_000,
                 cache_seconds: float = 0.0) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_rows = max_rows
        self.cache_seconds = cache_seconds  # 0: reads are cached until the next write only
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken_at: float | None = None  # when writing last failed (full disk...); retried later
        self._writes = 0
        self._cache: dict[tuple[Any, ...], tuple[float, list[Any]]] = {}
        self._salts: dict[str, bytes] = {}

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
                conn.execute("CREATE TABLE IF NOT EXISTS report_stats (day TEXT NOT NULL, q TEXT NOT NULL, "
                             "n INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (day, q)) WITHOUT ROWID")
                _add_report_columns(conn)
                # The old per-request counts have no visitors: they can feed editors' reports only.
                if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queries'").fetchone():
                    conn.execute("INSERT OR IGNORE INTO report_stats (day, q, n, hits) SELECT day, q, n, hits FROM queries")
                    conn.execute("DROP TABLE queries")
                conn.execute("CREATE TABLE IF NOT EXISTS searches (day TEXT NOT NULL, q TEXT NOT NULL, "
                             "visitor BLOB NOT NULL, hits INTEGER NOT NULL, "
                             "PRIMARY KEY (day, q, visitor)) WITHOUT ROWID")
                conn.execute("CREATE TABLE IF NOT EXISTS salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL)")
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

    def _salt(self, db: sqlite3.Connection, day: str) -> bytes:
        salt = self._salts.get(day)
        if salt is None:
            db.execute("INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)", (day, os.urandom(16)))
            salt = bytes(db.execute("SELECT salt FROM salts WHERE day = ?", (day,)).fetchone()[0])
            self._salts = {day: salt}  # only the current day's salt is ever needed
        return salt

    def visitor_key(self, db: sqlite3.Connection, day: str, identity: str) -> bytes:
        key = hmac.new(self._salt(db, day), identity.encode("utf-8", "replace"), hashlib.sha256)
        return key.digest()[:12]

    # -- writing ----------------------------------------------------------------------------
    def record(self, q: str, total: int, day: date | None = None, visitor: str = "", *,
               public: bool = True, took_ms: float | None = None, relaxed: bool = False,
               corrected: bool = False, timed_out: bool = False) -> bool:
        """Count one search by `visitor` (an address, see visitor_identity) for the public lists
        when `public` (only a keyed hash of `visitor` is stored), and always for editors' reports
        (time taken, whether the answer was relaxed, corrected or cut short); False when the query
        is not logged (personal data, too long, error)."""
        q = normalise(q)
        if not keepable(q):
            return False
        day_s = (day or _today()).isoformat()
        ms = max(0.0, float(took_ms or 0.0))
        flags = (int(bool(relaxed)), int(bool(corrected)), int(bool(timed_out)))
        with self._lock:
            db = self._db()
            if db is None:
                return False
            try:
                if public:
                    key = self.visitor_key(db, day_s, visitor_identity(visitor))
                    db.execute("INSERT INTO searches (day, q, visitor, hits) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (day, q, visitor) DO UPDATE SET hits = excluded.hits",
                               (day_s, q, key, int(total)))
                db.execute("INSERT INTO report_stats (day, q, n, hits, ms_max, ms_sum, relaxed, corrected, timeouts) "
                           "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT (day, q) DO UPDATE SET n = n + 1, hits = excluded.hits, "
                           "ms_max = MAX(ms_max, excluded.ms_max), ms_sum = ms_sum + excluded.ms_sum, "
                           "relaxed = relaxed + excluded.relaxed, corrected = corrected + excluded.corrected, "
                           "timeouts = timeouts + excluded.timeouts",
                           (day_s, q, int(total), ms, ms, *flags))
                self._writes += 1
                if self._writes % PRUNE_EVERY == 1:
                    self._prune(db)
                db.commit()
            except sqlite3.Error as exc:
                self._fail(exc)
                return False
            if not self.cache_seconds:
                self._cache.clear()
        return True

    def _prune(self, db: sqlite3.Connection) -> None:
        today = _today().isoformat()
        cutoff = (_today() - timedelta(days=self.retention_days)).isoformat()
        db.execute("DELETE FROM salts WHERE day < ?", (today,))  # past days' keys become unlinkable
        self._salts = {d: s for d, s in self._salts.items() if d >= today}
        db.execute("DELETE FROM searches WHERE day < ?", (cutoff,))
        db.execute("DELETE FROM report_stats WHERE day < ?", (cutoff,))
        (reported,) = db.execute("SELECT COUNT(*) FROM report_stats").fetchone()
        if reported > self.max_rows:
            db.execute("DELETE FROM report_stats WHERE (day, q) IN (SELECT day, q FROM report_stats "
                       "ORDER BY day, n LIMIT ?)", (reported - self.max_rows,))
        (rows,) = db.execute("SELECT COUNT(*) FROM searches").fetchone()
        if rows > self.max_rows:
            db.execute("DELETE FROM searches WHERE (day, q, visitor) IN "
                       "(SELECT day, q, visitor FROM searches "
                       "ORDER BY day LIMIT ?)", (rows - self.max_rows,))

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
            cached = self._cache.get(key)
            fresh = cached is not None and (not self.cache_seconds
                                            or time.monotonic() - cached[0] < self.cache_seconds)
            if cached is not None and fresh:
                return cached[1]
            db = self._db()
            if db is None:
                return []
            try:
                rows = db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                self._fail(exc)
                return []
            self._cache[key] = (time.monotonic(), rows)
            return rows

    def visitors(self, days: int = 30, limit: int = 500,
                 min_count: int = 1) -> list[tuple[str, int, int, int]]:
        """(query, visitor-days, peak visitors in one day, best hits) over the last `days` days,
        for queries that some day had at least `min_count` distinct visitors; most visited first.
        One visitor adds at most one to a day, so `peak` can never exceed 1 for a lone visitor."""
        since = (_today() - timedelta(days=max(days, 1) - 1)).isoformat()
        rows = self._read(("visitors", since, limit, min_count),
                          "SELECT q, SUM(v) AS c, MAX(v) AS peak, MAX(h) FROM (SELECT q, COUNT(*) AS v, "
                          "MAX(hits) AS h FROM searches WHERE day >= ? GROUP BY day, q) GROUP BY q "
                          "HAVING peak >= ? ORDER BY c DESC, q LIMIT ?", (since, min_count, limit))
        return [(q, int(c), int(p), int(h)) for q, c, p, h in rows]

    def frequent(self, days: int = 30, limit: int = 500, min_count: int = 1) -> list[tuple[str, int]]:
        """(query, visitor-days) of queries that found something (a typo nobody could use is not
        worth repeating), most visited first. Not filtered for publishing: see publiclists."""
        rows = self.visitors(days, limit * 2, min_count)
        return [(q, c) for q, c, _peak, hits in rows if hits > 0][:limit]

    def forget(self, q: str) -> int:
        """Delete every row of one query (an editor's removal); returns the rows deleted."""
        with self._lock:
            db = self._db()
            if db is None:
                return 0
            try:
                n = db.execute("DELETE FROM searches WHERE q = ?", (normalise(q),)).rowcount
                db.execute("DELETE FROM report_stats WHERE q = ?", (normalise(q),))
                db.commit()
            except sqlite3.Error as exc:
                self._fail(exc)
                return 0
            self._cache.clear()
            return n

    def rows_between(self, since: date, until: date) -> list[dict[str, Any]]:
        """Every (day, query) row of the period, for `news-search report` (which aggregates)."""
        rows = self._read(("between", since, until, self._writes),
                          "SELECT day, q, n, hits, ms_max, ms_sum, relaxed, corrected, timeouts FROM report_stats "
                          "WHERE day >= ? AND day <= ? ORDER BY day, q", (since.isoformat(), until.isoformat()))
        return [dict(zip(REPORT_FIELDS, row)) for row in rows]

    def row_count(self) -> int:
        rows = self._read(("rows", self._writes), "SELECT COUNT(*) FROM searches", ())
        return int(rows[0][0]) if rows else 0
