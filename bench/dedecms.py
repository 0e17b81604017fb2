"""A DedeCMS-shaped database filled from JSON Lines articles, and the timing of a rebuild from it.

    NEWS_SEARCH_DB_PASSWORD=... python bench/dedecms.py --url mysql+pymysql://user@127.0.0.1:3306/ \
        --database ns_bench --corpus ../shared/corpus/news.jsonl [--limit N] [--index-dir DIR]

Creates DATABASE (dropping it first) with dede_arctype, dede_archives (utf8mb4) and dede_addonarticle
declared latin1 but holding GB18030 bytes, as old GBK sites do; loads the articles (ids 1..N in file
order, bodies as <p> paragraphs) and runs `news-search rebuild URL --preset dedecms` once, printing its
wall and CPU time. The tests use the same functions to build their fixtures.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BEIJING = timezone(timedelta(hours=8))
# channel -> (typeid, typedir); articles without a channel get typeid 0 (no arctype row).
CHANNEL_TYPES = {"国内": (1, "gnxw"), "国际": (2, "gjxw"), "新闻": (3, "hqxw"), "科技": (4, "keji"), "财经": (5, "caijing"),
                 "生活": (6, "shenghuo"), "体育": (7, "tiyu"), "教育": (8, "jiaoyu"), "汽车": (9, "qiche"),
                 "房产": (10, "fangchan")}
LEGACY = "gb18030"  # a superset of GBK: every corpus character has bytes

SCHEMA = (
    "CREATE TABLE {p}arctype (id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, typename CHAR(30) NOT NULL DEFAULT '',"
    " typedir CHAR(60) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE {p}archives (id MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY, typeid SMALLINT UNSIGNED NOT NULL DEFAULT 0,"
    " arcrank SMALLINT NOT NULL DEFAULT 0, ismake SMALLINT NOT NULL DEFAULT 1, title VARCHAR(255) NOT NULL DEFAULT '',"
    " writer CHAR(20) NOT NULL DEFAULT '', source CHAR(30) NOT NULL DEFAULT '', keywords VARCHAR(255) NOT NULL DEFAULT '',"
    " pubdate INT UNSIGNED NOT NULL DEFAULT 0, senddate INT UNSIGNED NOT NULL DEFAULT 0,"
    " filename VARCHAR(40) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4",
    # Old GBK DedeCMS sites: the table says latin1, the bytes are GBK.
    "CREATE TABLE {p}addonarticle (aid MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY, typeid SMALLINT UNSIGNED NOT NULL"
    " DEFAULT 0, body MEDIUMTEXT) DEFAULT CHARSET=latin1",
)


def unix_time(published: str | None) -> int:
    """ISO date or datetime (Beijing time, as the corpus is) -> Unix time; 0 when missing."""
    if not published:
        return 0
    moment = datetime.fromisoformat(published)
    return int(moment.replace(tzinfo=BEIJING).timestamp())


def body_html(text: str) -> str:
    return "".join(f"<p>{html.escape(line, quote=False)}</p>\r\n" for line in text.split("\n") if line.strip())


def create_database(engine: Any, database: str, prefix: str = "dede_") -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))
        conn.execute(text(f"CREATE DATABASE `{database}` DEFAULT CHARSET utf8mb4"))
        conn.execute(text(f"USE `{database}`"))
        for statement in SCHEMA:
            conn.execute(text(statement.format(p=prefix)))
        conn.execute(text(f"INSERT INTO {prefix}arctype (id, typename, typedir) VALUES (:id, :name, :dir)"),
                     [{"id": tid, "name": name, "dir": "{cmspath}/" + tdir} for name, (tid, tdir) in CHANNEL_TYPES.items()])


def article_rows(aid: int, rec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(archives row, addonarticle row) of one JSONL record; the body is GB18030 bytes."""
    typeid = CHANNEL_TYPES.get(rec.get("channel") or "", (0, ""))[0]
    tags = rec.get("tags") or []
    archive = {"id": aid, "typeid": typeid, "arcrank": rec.get("arcrank", 0), "title": rec.get("title") or "",
               "writer": rec.get("author") or "", "source": rec.get("source") or "",
               "keywords": ",".join(tags) if isinstance(tags, list) else str(tags),
               "pubdate": unix_time(rec.get("published")), "senddate": unix_time(rec.get("published"))}
    addon = {"aid": aid, "typeid": typeid, "body": body_html(rec.get("body") or "").encode(LEGACY)}
    return archive, addon


def insert_articles(engine: Any, database: str, rows: Iterable[tuple[int, dict[str, Any]]],
                    prefix: str = "dede_", batch: int = 500) -> int:
    from sqlalchemy import text

    ins_a = text(f"INSERT INTO `{database}`.{prefix}archives (id, typeid, arcrank, title, writer, source, keywords,"
                 " pubdate, senddate) VALUES (:id, :typeid, :arcrank, :title, :writer, :source, :keywords,"
                 " :pubdate, :senddate)")
    ins_b = text(f"INSERT INTO `{database}`.{prefix}addonarticle (aid, typeid, body) VALUES (:aid, :typeid, :body)")
    count = 0
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def flush(conn: Any) -> None:
        if pending:
            conn.execute(ins_a, [a for a, _ in pending])
            conn.execute(ins_b, [b for _, b in pending])
            pending.clear()

    with engine.begin() as conn:
        for aid, rec in rows:
            pending.append(article_rows(aid, rec))
            count += 1
            if len(pending) >= batch:
                flush(conn)
        flush(conn)
    return count


def jsonl_record(aid: int, rec: dict[str, Any]) -> dict[str, Any]:
    """The same article as the DedeCMS preset reads it back, as a JSON Lines record."""
    typeid, typedir = CHANNEL_TYPES.get(rec.get("channel") or "", (0, ""))
    channel = rec.get("channel") if typeid else None
    return {"id": str(aid), "title": rec.get("title"), "body": rec.get("body"), "channel": channel,
            "published": rec.get("published"), "author": rec.get("author"), "source": rec.get("source"),
            "tags": rec.get("tags") or [], "url": f"/{typedir}/{aid}.html" if typedir else f"/{aid}.html"}


def without_password(url: Any) -> str:
    """The URL as text with no password at all (news-search gets it from --password-env)."""
    from sqlalchemy.engine import URL

    return URL.create(url.drivername, url.username, None, url.host, url.port, url.database,
                      url.query).render_as_string(hide_password=False)


def read_jsonl(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                out.append(json.loads(line))
                if limit and len(out) >= limit:
                    break
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="server URL without a database (password: NEWS_SEARCH_DB_PASSWORD)")
    parser.add_argument("--database", default="ns_bench_dedecms")
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/news.jsonl"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/ns-bench-dedecms-index"))
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    password = os.environ.get("NEWS_SEARCH_DB_PASSWORD")
    url = make_url(args.url)
    engine = create_engine(url.set(password=password) if password else url)
    started = time.monotonic()
    create_database(engine, args.database)
    records = read_jsonl(args.corpus, args.limit)
    loaded = insert_articles(engine, args.database, enumerate(records, start=1))
    print(f"loaded {loaded:,} articles into {args.database} in {time.monotonic() - started:.1f}s")
    source = without_password(url.set(database=args.database))
    cmd = ["news-search", "rebuild", source, "--preset", "dedecms", "--index-dir", str(args.index_dir),
           "--procs", str(args.procs), "--quiet"] + (["--password-env", "NEWS_SEARCH_DB_PASSWORD"] if password else [])
    load_before = os.getloadavg()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(done.stdout.strip() or done.stderr.strip())
    print(f"rebuild from MariaDB: wall {wall:.1f}s, CPU {cpu:.1f}s (news-search and its workers), "
          f"load average before {load_before[0]:.1f} / after {os.getloadavg()[0]:.1f}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
