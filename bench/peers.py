"""The two peers news-search is compared with, on the same articles and queries.

(a) NaiveWhoosh: what a Python user would write after reading the Whoosh and jieba docs. Schema
    with ``jieba.analyse.ChineseAnalyzer`` on title/body, one single-process writer, a new searcher
    per request, ``MultifieldParser`` for the query, ``groupedby`` a channel ``FieldFacet`` and a
    month ``DateRangeFacet``, ``ContextFragmenter`` highlights of 10 hits (title and body).
(b) Fts5: SQLite FTS5 fed the same jieba tokens (search mode, space-joined, lower-cased) in a
    ``unicode61`` table; unicode61 splits on spaces and punctuation but keeps a run of Han
    characters as one token, so multi-character jieba words stay intact (checked by ``selfcheck``).
    bm25() ranks (title weight 3), snippet()/highlight() mark hits, facets are one GROUP-free scan
    of the matching rows counted in Python. Snippets show the space-joined tokens.

Scenarios (same names as run.py): full, filtered, newest, deep. ``search`` returns
(total, number of rendered hits).

CLI (run by run.py in a subprocess so its time and memory are measured alone):
    python bench/peers.py build naive|fts CORPUS OUT [--limit N]
"""
from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from queries import iter_articles  # noqa: E402

PAGE_LEN = 10
DEEP_PAGE = 50


def parse_date(value: Any) -> datetime | None:
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?", str(value or ""))
    if not m:
        return None
    parts = [int(x) if x else 0 for x in m.groups()]
    try:
        return datetime(*parts[:3], parts[3], parts[4], parts[5])
    except ValueError:
        return None


def quiet_jieba() -> None:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)


# -- (a) naive Whoosh ---------------------------------------------------------------------------

class NaiveWhoosh:
    name = "naive-whoosh"

    @staticmethod
    def build(corpus: str, out: str, limit: int | None) -> dict[str, Any]:
        from jieba.analyse import ChineseAnalyzer
        from whoosh import index
        from whoosh.fields import DATETIME, ID, TEXT, Schema

        quiet_jieba()
        analyzer = ChineseAnalyzer()
        schema = Schema(id=ID(stored=True, unique=True), title=TEXT(stored=True, analyzer=analyzer),
                        body=TEXT(stored=True, analyzer=analyzer), channel=ID(stored=True),
                        published=DATETIME(stored=True))
        Path(out).mkdir(parents=True, exist_ok=True)
        ix = index.create_in(out, schema)
        writer = ix.writer()
        n = chars = 0
        first = last = None
        for a in iter_articles(corpus, limit):
            when = parse_date(a.get("published"))
            doc = {"id": str(a["id"]), "title": a.get("title") or "", "body": a.get("body") or "",
                   "channel": a.get("channel") or ""}
            if when is not None:
                doc["published"] = when
                first = when if first is None or when < first else first
                last = when if last is None or when > last else last
            writer.add_document(**doc)
            n += 1
            chars += len(doc["title"]) + len(doc["body"])
        writer.commit()
        meta = {"articles": n, "chars": chars, "first": first.isoformat() if first else None,
                "last": last.isoformat() if last else None}
        Path(out, "bench-meta.json").write_text(json.dumps(meta))
        return meta

    def __init__(self, path: str) -> None:
        from whoosh import index
        from whoosh.qparser import MultifieldParser

        quiet_jieba()
        self.ix = index.open_dir(path)
        self.meta = json.loads(Path(path, "bench-meta.json").read_text())
        self.parser = MultifieldParser(["title", "body"], self.ix.schema)

    def top_ids(self, q: str, k: int = PAGE_LEN) -> list[str]:
        """The first `k` ids in relevance order (the relevance harness; no facets or highlights)."""
        try:
            query = self.parser.parse(q)
        except Exception:  # what the naive user would get: an error page, i.e. nothing
            return []
        with self.ix.searcher() as searcher:
            return [hit["id"] for hit in searcher.search(query, limit=k)]

    def facets(self) -> dict[str, Any]:
        from whoosh import sorting
        from whoosh.support.relativedelta import relativedelta

        start = datetime.fromisoformat(self.meta["first"]).replace(day=1, hour=0, minute=0, second=0)
        end = datetime.fromisoformat(self.meta["last"]) + relativedelta(months=1)
        return {"channel": sorting.FieldFacet("channel"),
                "month": sorting.DateRangeFacet("published", start, end, relativedelta(months=1))}

    def search(self, q: str, scenario: str, filt: dict[str, str] | None = None) -> tuple[int, int]:
        from whoosh import highlight
        from whoosh import query as wq

        query = self.parser.parse(q)
        kwargs: dict[str, Any] = {"groupedby": self.facets()}
        if scenario == "filtered" and filt:
            parts: list[wq.Query] = []
            if filt.get("channel"):
                parts.append(wq.Term("channel", filt["channel"]))
            if filt.get("from"):
                lo = datetime.fromisoformat(filt["from"])
                hi = datetime.fromisoformat(filt["to"]).replace(hour=23, minute=59, second=59)
                parts.append(wq.DateRange("published", lo, hi))
            kwargs["filter"] = wq.And(parts)
        if scenario == "newest":
            kwargs.update(sortedby="published", reverse=True)
        page = DEEP_PAGE if scenario == "deep" else 1
        with self.ix.searcher() as searcher:  # a new searcher per request, as the docs show
            results = searcher.search_page(query, page, pagelen=PAGE_LEN, **kwargs)
            results.results.fragmenter = highlight.ContextFragmenter(maxchars=200, surround=40)
            rendered = 0
            for hit in results:
                hit.highlights("title")
                hit.highlights("body", top=3)
                rendered += 1
            for name in ("channel", "month"):
                results.results.groups(name)
            return results.total, rendered


# -- (b) SQLite FTS5 -------------------------------------------------------------------------------

def tokens(text: str) -> str:
    import jieba

    return " ".join(t for t in jieba.cut_for_search(text.lower()) if t.strip())


def fts_query(q: str) -> str:
    """User text -> FTS5 MATCH: each word (or quoted string) a phrase of its jieba tokens, ANDed."""
    import jieba

    parts = []
    for m in re.finditer(r'"([^"]+)"|(\S+)', q):
        text = (m.group(1) or m.group(2)).lower()
        toks = [t for t in jieba.cut(text) if re.search(r"\w", t)]
        if toks:
            parts.append('"' + " ".join(toks).replace('"', '""') + '"')
    return " AND ".join(parts) if parts else '""'


def fts_or_query(q: str) -> str:
    """User text -> FTS5 MATCH: every distinct jieba token of the query, ORed (like Elasticsearch's
    `match`: any word may match, bm25 ranks documents matching more and rarer words first)."""
    import jieba

    toks = dict.fromkeys(t for t in jieba.cut(q.replace('"', " ").lower()) if re.search(r"\w", t))
    return " OR ".join('"' + t + '"' for t in toks) if toks else '""'


class Fts5:
    name = "sqlite-fts5"

    @staticmethod
    def build(corpus: str, out: str, limit: int | None) -> dict[str, Any]:
        quiet_jieba()
        Path(out).unlink(missing_ok=True)
        db = sqlite3.connect(out)
        db.executescript("""
            CREATE TABLE docs(id INTEGER PRIMARY KEY, ext_id TEXT, title TEXT, channel TEXT,
                              published TEXT, year TEXT, month TEXT);
            CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='unicode61');
        """)
        n = chars = 0
        with db:
            for a in iter_articles(corpus, limit):
                n += 1
                title, body = a.get("title") or "", a.get("body") or ""
                chars += len(title) + len(body)
                when = parse_date(a.get("published"))
                pub = when.isoformat() if when else None
                db.execute("INSERT INTO docs VALUES (?,?,?,?,?,?,?)",
                           (n, str(a["id"]), title, a.get("channel"), pub,
                            pub[:4] if pub else None, pub[:7] if pub else None))
                db.execute("INSERT INTO fts(rowid, title, body) VALUES (?,?,?)", (n, tokens(title), tokens(body)))
            db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        db.close()
        return {"articles": n, "chars": chars}

    def __init__(self, path: str) -> None:
        quiet_jieba()
        self.path = path
        self._local = threading.local()

    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "db", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False)
            self._local.db = conn
        return conn

    def search(self, q: str, scenario: str, filt: dict[str, str] | None = None) -> tuple[int, int]:
        from collections import Counter

        db = self.db()
        match = fts_query(q)
        where, args = "fts MATCH ?", [match]
        if scenario == "filtered" and filt:
            if filt.get("channel"):
                where += " AND d.channel = ?"
                args.append(filt["channel"])
            if filt.get("from"):
                where += " AND d.published >= ? AND d.published <= ?"
                args += [filt["from"], filt["to"] + "T23:59:59"]
        rows = db.execute(f"SELECT d.channel, d.year, d.month FROM fts JOIN docs d ON d.id = fts.rowid "
                          f"WHERE {where}", args).fetchall()
        _facets = (Counter(r[0] for r in rows if r[0]), Counter(r[1] for r in rows if r[1]),
                  Counter(r[2] for r in rows if r[2]))
        order = "d.published DESC" if scenario == "newest" else "bm25(fts, 3.0, 1.0)"
        offset = (DEEP_PAGE - 1) * PAGE_LEN if scenario == "deep" else 0
        hits = db.execute(
            f"SELECT d.ext_id, d.title, highlight(fts, 0, '<em>', '</em>'), "
            f"snippet(fts, 1, '<em>', '</em>', '…', 24) FROM fts JOIN docs d ON d.id = fts.rowid "
            f"WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?", args + [PAGE_LEN, offset]).fetchall()
        return len(rows), len(hits)

    def top_ids(self, q: str, k: int = PAGE_LEN, mode: str = "and") -> list[str]:
        """The first `k` ids by bm25 (title weight 3) with AND (fts_query) or OR (fts_or_query)."""
        match = fts_or_query(q) if mode == "or" else fts_query(q)
        try:
            rows = self.db().execute("SELECT d.ext_id FROM fts JOIN docs d ON d.id = fts.rowid WHERE fts MATCH ? "
                                     "ORDER BY bm25(fts, 3.0, 1.0) LIMIT ?", (match, k)).fetchall()
        except sqlite3.OperationalError:
            return []
        return [r[0] for r in rows]

    def selfcheck(self) -> list[str]:
        """unicode61 must keep multi-character jieba tokens whole: 经济带 matches, 经济带发 does not."""
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61')")
        db.execute("INSERT INTO t VALUES (?)", (tokens("长江经济带发展，5G基站"),))
        problems = []
        for q, want in (('"经济带"', 1), ('"长江"', 1), ('"经济带发"', 0), (fts_query("经济带 发展"), 1)):
            got = db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (q,)).fetchone()[0]
            if got != want:
                problems.append(f"FTS5 {q}: {got} rows, expected {want}")
        return problems


PEERS = {"naive": NaiveWhoosh, "fts": Fts5}


if __name__ == "__main__":
    import argparse
    import warnings

    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description="Build or query a peer index (run by run.py in a fresh process, "
                                             "so jieba has only its own dictionary, as in the peer's build).")
    ap.add_argument("action", choices=["build", "query"])
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("source", help="build: the corpus JSONL; query: a JSON file of requests")
    ap.add_argument("out", help="the peer index path")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    if args.action == "build":
        t = time.perf_counter()
        info = PEERS[args.peer].build(args.source, args.out, args.limit)
        info["seconds"] = round(time.perf_counter() - t, 2)
        print(json.dumps(info))
    else:
        engine = PEERS[args.peer](args.out)
        engine.search("中国", "full")  # warm up: jieba's dictionary, the first searcher
        out: dict[str, Any] = {"selfcheck_problems": engine.selfcheck() if hasattr(engine, "selfcheck") else []}
        rows = []
        for req in json.loads(Path(args.source).read_text(encoding="utf-8")):
            t = time.perf_counter()
            total, rendered = engine.search(req["q"], req["scenario"], req.get("filter"))
            rows.append([round((time.perf_counter() - t) * 1000, 3), total, rendered])
        out["rows"] = rows
        print(json.dumps(out))
