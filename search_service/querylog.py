"""A privacy-minded log of what readers search: feeds hot searches, related searches and
suggestions (through search_service.publiclists, which decides what may be shown).

What is kept per (UTC day, query, visitor): the cleaned query text, how many results it last
found, and a visitor key: a keyed hash (HMAC-SHA256, 12 bytes) of the client address under a
random salt of that day. The salt is kept only while its day lasts (so processes and restarts
agree) and deleted afterwards, so yesterday's keys can no longer be tied to any address; no
address, user agent, cookie or time of day is stored. Distinct visitors are counted per day:
however often one visitor searches, a query gains at most one visitor that day.

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


def _today() -> date:
    return datetime.now(timezone.utc).date()


class QueryLog:
    def __init__(self, path: str | Path, retention_days: int = 90, max_rows: int = 50_000,
                 cache_seconds: float = 0.0) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self.max_rows = max_rows
        self.cache_seconds = cache_seconds  # 0: reads are cached until the next write only
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self._writes = 0
        self._cache: dict[tuple[Any, ...], tuple[float, list[Any]]] = {}
        self._salts: dict[str, bytes] = {}

    # -- connection -------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        if self._conn is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("DROP TABLE IF EXISTS queries")  # the old per-request counts: no visitors
                conn.execute("CREATE TABLE IF NOT EXISTS searches (day TEXT NOT NULL, q TEXT NOT NULL, "
                             "visitor BLOB NOT NULL, hits INTEGER NOT NULL, "
                             "PRIMARY KEY (day, q, visitor)) WITHOUT ROWID")
                conn.execute("CREATE TABLE IF NOT EXISTS salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL)")
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
    def record(self, q: str, total: int, day: date | None = None, visitor: str = "") -> bool:
        """Count one search by `visitor` (an address, see visitor_identity); False when the query
        is not logged (personal data, too long, error). Only a keyed hash of `visitor` is stored."""
        q = normalise(q)
        if not keepable(q):
            return False
        day_s = (day or _today()).isoformat()
        with self._lock:
            db = self._db()
            if db is None:
                return False
            try:
                key = self.visitor_key(db, day_s, visitor_identity(visitor))
                db.execute("INSERT INTO searches (day, q, visitor, hits) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (day, q, visitor) DO UPDATE SET hits = excluded.hits",
                           (day_s, q, key, int(total)))
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
                db.commit()
            except sqlite3.Error as exc:
                self._fail(exc)
                return 0
            self._cache.clear()
            return n

    def row_count(self) -> int:
        rows = self._read(("rows", self._writes), "SELECT COUNT(*) FROM searches", ())
        return int(rows[0][0]) if rows else 0
