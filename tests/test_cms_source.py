"""Database sources without a server: SQLite through a mapping file (watermark sync, bad rows),
the latin1/GBK repair, HTML fragments, masked URLs and the option errors."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from indexer.errors import DatabaseSourceError
from indexer.parse_html import fragment_to_text
from indexer.source_db import column_text, is_db_url, load_mapping, mask_url
from lifecycle_util import cli, live_ids
from search_service.index import SearchIndex

MAPPING = """\
table = "posts"
live = "status = 'published'"
modified = "updated_at"
url_template = "/news/{slug}.html"
base_url = "https://www.example.com"
id_prefix = "p"

[columns]
id = "post_id"
title = "headline"
body = "content"
channel = "section"
published = "pub_time"
author = "byline"
tags = "keywords"
"""


def make_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE posts (post_id INTEGER PRIMARY KEY, headline TEXT, content TEXT, section TEXT,"
                 " pub_time TEXT, byline TEXT, keywords TEXT, slug TEXT, status TEXT, updated_at INTEGER)")
    rows = [(1, "青梧港集装箱吞吐量创新高", "<p>青梧港前十个月完成集装箱吞吐量<b>一千万</b>标箱。</p><p>同比增长百分之八。</p>",
             "财经", "2026-11-01 08:30:00", "林知远", "港口,物流", "qingwu-port", "published", 100),
            (2, "江城地铁五号线试运行", "<p>江城地铁五号线今日开始试运行。</p>", "生活", "2026-11-02 09:00:00",
             "沈清和", "地铁", "metro-5", "published", 100),
            (3, "草稿：尚未发布", "<p>这篇还在编辑中。</p>", "生活", None, None, None, "draft", "draft", 100),
            (4, "山城举办首届桥梁摄影展", "<p>摄影展展出作品两百幅。</p>", "文化", "2026-11-03", None, None,
             "bridges", "published", 100)]
    conn.executemany("INSERT INTO posts VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    return conn


@pytest.fixture()
def site(tmp_path: Path) -> dict:
    db = tmp_path / "cms.db"
    conn = make_db(db)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return {"url": f"sqlite:///{db}", "conn": conn, "mapping": mapping, "index": tmp_path / "index"}


def stored(index: Path, doc_id: str) -> dict:
    snap = SearchIndex(index).snapshot()
    return next(dict(snap.stored(d)) for d in snap.live_docs if snap.stored(d)["id"] == doc_id)


def test_rebuild_from_sqlite_mapping(site: dict) -> None:
    result = cli("rebuild", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert result.exit_code == 0, result.output
    assert "Indexed 3 articles, skipped 0" in result.output
    assert live_ids(site["index"]) == {"p1", "p2", "p4"}  # the draft is not live
    doc = stored(site["index"], "p1")
    assert doc["title"] == "青梧港集装箱吞吐量创新高"
    assert doc["body"] == "青梧港前十个月完成集装箱吞吐量一千万标箱。\n同比增长百分之八。"
    assert doc["url"] == "https://www.example.com/news/qingwu-port.html"
    assert (doc["channel"], doc["published"], doc["author"], doc["tags"]) == ("财经", "2026-11-01T08:30:00", "林知远", "港口,物流")


def test_sync_with_watermark_fetches_only_modified_rows(site: dict) -> None:
    assert cli("rebuild", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet").exit_code == 0
    state = json.loads(next((site["index"] / "sync").glob("*.json")).read_text(encoding="utf-8"))
    assert state["watermark"] == 100 and sorted(state["rows"]) == ["p1", "p2", "p4"]
    conn = site["conn"]
    conn.execute("UPDATE posts SET status = 'published', updated_at = 200 WHERE post_id = 3")        # published
    conn.execute("UPDATE posts SET headline = '青梧港吞吐量再创新高', updated_at = 200 WHERE post_id = 1")  # edited
    conn.execute("UPDATE posts SET status = 'hidden', updated_at = 200 WHERE post_id = 2")            # unpublished
    conn.execute("DELETE FROM posts WHERE post_id = 4")                                                  # deleted
    conn.commit()
    result = cli("sync", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert result.exit_code == 0, result.output
    assert "3 rows, 1 new, 1 changed, 1 unpublished, 1 deleted; index added 1, updated 1, deleted 2" in result.output
    assert live_ids(site["index"]) == {"p1", "p3"}
    assert stored(site["index"], "p1")["title"] == "青梧港吞吐量再创新高"
    # Rows are fetched from the watermark on (>=: same-second edits are not missed); a change that
    # leaves updated_at below it is not seen, by design: the mapping promises updated_at moves.
    conn.execute("UPDATE posts SET headline = '草稿改成正式稿', updated_at = 300 WHERE post_id = 3")
    conn.commit()
    edited = cli("sync", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert "3 rows, 0 new, 1 changed, 0 unpublished, 0 deleted; index added 0, updated 1" in edited.output
    assert stored(site["index"], "p3")["title"] == "草稿改成正式稿"
    conn.execute("UPDATE posts SET headline = '悄悄改的标题' WHERE post_id = 1")  # updated_at stays 200 < 300
    conn.commit()
    quiet = cli("sync", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert "3 rows, 0 new, 0 changed, 0 unpublished, 0 deleted" in quiet.output
    assert stored(site["index"], "p1")["title"] == "青梧港吞吐量再创新高"


def test_bad_row_is_reported_with_its_key_and_skipped(site: dict) -> None:
    site["conn"].execute("UPDATE posts SET headline = NULL, content = '  ' WHERE post_id = 2")
    site["conn"].commit()
    result = cli("rebuild", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert result.exit_code == 0, result.output
    assert f"skipped {site['url']} row post_id=2: no title and no body" in result.stderr
    assert "Indexed 2 articles, skipped 1" in result.output


def test_update_from_database_upserts(site: dict, tmp_path: Path) -> None:
    assert cli("rebuild", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet").exit_code == 0
    site["conn"].execute("UPDATE posts SET content = '<p>改过的正文。</p>' WHERE post_id = 2")
    site["conn"].commit()
    result = cli("update", site["url"], "--mapping", site["mapping"], "--index-dir", site["index"], "--quiet")
    assert "added 0, updated 1, unchanged 2" in result.output, result.output
    assert stored(site["index"], "p2")["body"] == "改过的正文。"


@pytest.mark.parametrize("text, error", [
    ("table = 'posts'\n[colums]\nid = 'x'\n", "unknown key 'colums'"),
    ("table = 'posts'\nquery = 'SELECT 1'\n[columns]\nid = 'x'\n", "exactly one of 'query'"),
    ("table = 'posts'\n[columns]\ntitle = 'x'\n", "needs 'id'"),
    ("table = 'posts; DROP TABLE x'\n[columns]\nid = 'x'\n", "not a plain table name"),
    ("table = 'posts'\nencoding = 'klingon'\n[columns]\nid = 'x'\ntitle = 'y'\n", "not a known encoding"),
    ("table = 'posts'\n[columns]\nid = 'x'\nheadline = 'y'\n", "unknown field 'headline'"),
    ("table = \n", "invalid TOML"),
])
def test_mapping_file_errors_name_file_and_key(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DatabaseSourceError) as info:
        load_mapping(path)
    assert str(info.value).startswith(f"mapping file {path}: ") and error in str(info.value)


def test_option_errors(site: dict, tmp_path: Path) -> None:
    no_mapping = cli("rebuild", site["url"], "--index-dir", site["index"])
    assert no_mapping.exit_code == 2 and "needs exactly one of --preset dedecms or --mapping FILE" in no_mapping.stderr
    on_path = cli("rebuild", str(tmp_path), "--preset", "dedecms", "--index-dir", site["index"])
    assert on_path.exit_code == 2 and "apply to a database URL SOURCE" in on_path.stderr
    unset = cli("sync", site["url"], "--mapping", site["mapping"], "--password-env", "NS_NOT_SET_ANYWHERE",
                "--index-dir", site["index"], env={"NS_NOT_SET_ANYWHERE": None})
    assert unset.exit_code == 2 and "the environment variable NS_NOT_SET_ANYWHERE is not set" in unset.stderr
    not_db = cli("sync", str(tmp_path), "--index-dir", site["index"])
    assert not_db.exit_code == 2 and "SOURCE must be a database URL" in not_db.stderr
    prefix = cli("rebuild", "mysql+pymysql://u@127.0.0.1:1/db", "--preset", "dedecms", "--table-prefix", "x;--",
                 "--index-dir", site["index"])
    assert prefix.exit_code == 1 and "--table-prefix 'x;--': only letters, digits and _" in prefix.stderr
    missing = cli("rebuild", site["url"].replace("cms.db", "nope/cms.db"), "--mapping", site["mapping"],
                  "--index-dir", site["index"])
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.output


GBK_TEXT = "支付宝小程序欲在阿里系内打通关：记者王喆、李堃、刘垚报道"


def mysql_latin1(data: bytes) -> str:
    """MySQL's latin1 -> utf8 conversion: cp1252, with its five undefined bytes kept as U+0081 etc."""
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in data)


def test_gbk_sample_has_cp1252_specific_bytes() -> None:
    assert mysql_latin1(GBK_TEXT.encode("gbk")) != GBK_TEXT.encode("gbk").decode("latin1")


@pytest.mark.parametrize("value, encoding, expected", [
    (GBK_TEXT.encode("gbk").decode("latin1"), "auto", GBK_TEXT),          # latin1 table, GBK bytes
    (mysql_latin1(GBK_TEXT.encode("gbk")), "auto", GBK_TEXT),           # what MySQL's "latin1" (cp1252) gives
    (GBK_TEXT.encode("utf-8").decode("latin1"), "auto", GBK_TEXT),        # UTF-8 bytes in a latin1 table
    (GBK_TEXT.encode("gbk"), "auto", GBK_TEXT),                           # a BLOB
    (GBK_TEXT.encode("gbk").decode("latin1"), "gbk", GBK_TEXT),
    (GBK_TEXT, "auto", GBK_TEXT),                                         # already Unicode
    ("café crème", "auto", "café crème"),                                 # genuine Latin-1 text stays
    ("plain ascii", "gbk", "plain ascii"),
])
def test_column_text_repairs_gbk_in_latin1(value: object, encoding: str, expected: str) -> None:
    assert column_text(value, encoding) == expected


@pytest.mark.parametrize("html, expected", [
    ("<p>第一段&nbsp;文字</p><p style='x'>第二<strong>段</strong></p>", "第一段 文字\n第二段"),
    ("　　首行缩进<br/>第二行<br>第三行", "首行缩进\n第二行\n第三行"),
    ("<div>甲<div>乙</div></div><script>var x=1;</script><style>p{}</style>丙", "甲\n乙\n丙"),
    ("<table><tr><td>一</td><td>二</td></tr><tr><td>三</td></tr></table>", "一二\n三"),
    ("没有标签的正文\n第二段", "没有标签的正文\n第二段"),
    ("&lt;不是标签&gt; &amp; 符号", "<不是标签> & 符号"),
])
def test_fragment_to_text(html: str, expected: str) -> None:
    assert fragment_to_text(html) == expected


@pytest.mark.parametrize("url, masked", [
    ("mysql+pymysql://news:s3cret@db.example.com:3306/cms", "mysql+pymysql://news:***@db.example.com:3306/cms"),
    ("mysql+pymysql://news@db.example.com/cms", "mysql+pymysql://news@db.example.com/cms"),
    ("postgresql+psycopg://u:p%40ss@h/db", "postgresql+psycopg://u:***@h/db"),
    ("sqlite:///site.db", "sqlite:///site.db"),
])
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked and is_db_url(url)


@pytest.mark.parametrize("source", ["news.jsonl", "./mysql/dump.sql", "http://example.com/a.html", "C:\\data"])
def test_paths_are_not_database_urls(source: str) -> None:
    assert not is_db_url(source)
