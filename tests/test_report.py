"""`news-search report` over a query log written through QueryLog and through the served app."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from search_service.cli import main
from search_service.querylog import QueryLog

TODAY = datetime.now(timezone.utc).date()


@pytest.fixture()
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "querylog.sqlite3"
    qlog = QueryLog(path)
    old = TODAY - timedelta(days=20)
    for _ in range(5):
        qlog.record("江城 地铁", 12, took_ms=8.0)
    qlog.record("江城 地铁", 12, took_ms=640.0)
    for _ in range(3):
        qlog.record("不存在的词", 0, took_ms=3.0)
    qlog.record("马拉雄", 2, took_ms=20.0, corrected=True)
    qlog.record("马拉雄", 2, took_ms=10.0, corrected=True)
    qlog.record("支付宝 广场 小程序", 1, took_ms=30.0, relaxed=True)
    qlog.record("超时的查询", 4, took_ms=2001.0, timed_out=True)
    qlog.record("旧查询", 0, day=old, took_ms=900.0)
    qlog.close()
    return path


def run(*args: str):
    return CliRunner().invoke(main, ["report", *args])


def test_json_sections(log_file: Path) -> None:
    result = run("--log", str(log_file), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["from"], data["to"]) == ((TODAY - timedelta(days=6)).isoformat(), TODAY.isoformat())
    assert (data["queries"], data["searches"]) == (5, 13)  # 旧查询 is outside the 7 days
    s = data["sections"]
    assert [r["q"] for r in s["top"]] == ["江城 地铁", "不存在的词", "马拉雄", "支付宝 广场 小程序", "超时的查询"]
    assert s["top"][0] == {"q": "江城 地铁", "searches": 6, "hits": 12, "max_ms": 640.0, "mean_ms": 113.3,
                           "relaxed": 0, "corrected": 0, "timed_out": 0}
    assert [r["q"] for r in s["zero"]] == ["不存在的词"]
    assert [r["q"] for r in s["slow"]] == ["超时的查询", "江城 地铁"]
    assert [(r["q"], r["corrected"]) for r in s["corrected"]] == [("马拉雄", 2)]
    assert [(r["q"], r["relaxed"]) for r in s["relaxed"]] == [("支付宝 广场 小程序", 1)]


def test_period_limit_and_sections(log_file: Path) -> None:
    since = (TODAY - timedelta(days=30)).isoformat()
    data = json.loads(run("--log", str(log_file), "--from", since, "--section", "zero", "--section", "slow",
                          "--slow-ms", "1000", "--limit", "1", "--format", "json").output)
    assert set(data["sections"]) == {"zero", "slow"}
    assert data["sections"]["zero"][0]["q"] == "不存在的词" and len(data["sections"]["zero"]) == 1
    assert [r["q"] for r in data["sections"]["slow"]] == ["超时的查询"]
    data = json.loads(run("--log", str(log_file), "--days", "30", "--min-count", "3", "--format", "json").output)
    assert [r["q"] for r in data["sections"]["top"]] == ["江城 地铁", "不存在的词"]


def test_csv_and_table(log_file: Path) -> None:
    out = run("--log", str(log_file), "--format", "csv", "--section", "zero")
    assert out.stdout_bytes.startswith(b"\xef\xbb\xbfsection,q,searches,")
    rows = list(csv.DictReader(io.StringIO(out.stdout_bytes.decode("utf-8-sig"))))
    assert rows == [{"section": "zero", "q": "不存在的词", "searches": "3", "hits": "0", "max_ms": "3.0",
                     "mean_ms": "3.0", "relaxed": "0", "corrected": "0", "timed_out": "0"}]
    table = run("--log", str(log_file), "--section", "corrected").output.splitlines()
    assert table[0] == f"Query log {(TODAY - timedelta(days=6)).isoformat()} .. {TODAY.isoformat()}: " \
                       "5 distinct queries, 13 searches."
    assert table[2] == "Corrected queries (1)"
    assert table[4].split() == ["马拉雄", "2", "2", "20.0", "15.0", "0", "2", "0"]


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "2026-13-01"), "--from"),
    (("--from", "2026-02-01", "--to", "2026-01-01"), "is after --to"),
])
def test_bad_period(log_file: Path, args: tuple[str, ...], message: str) -> None:
    result = run("--log", str(log_file), *args)
    assert result.exit_code == 2 and message in result.output


def test_missing_log_is_one_clear_error(tmp_path: Path) -> None:
    result = run("--index-dir", str(tmp_path))
    assert result.exit_code == 1 and f"no query log at {tmp_path / 'querylog.sqlite3'}" in result.output


def test_served_searches_reach_the_report(demo_index: Path, tmp_path: Path) -> None:
    from search_service.app import create_app

    path = tmp_path / "q.sqlite3"
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG_PATH": str(path)})
    c = app.test_client()
    c.get("/api/search?q=马拉松")
    c.get("/search?q=没有这种东西的词")
    c.get("/api/search?q=马拉松&page=2")  # a further page is not another search
    data = json.loads(run("--log", str(path), "--format", "json").output)
    assert [(r["q"], r["searches"], r["hits"]) for r in data["sections"]["top"]] == [
        ("没有这种东西的词", 1, 0), ("马拉松", 1, 2)]  # equal counts: by text
    assert all(r["max_ms"] > 0 for r in data["sections"]["top"])


def test_old_log_files_gain_the_report_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE queries (day TEXT NOT NULL, q TEXT NOT NULL, n INTEGER NOT NULL, "
                 "hits INTEGER NOT NULL, PRIMARY KEY (day, q)) WITHOUT ROWID")
    conn.execute("INSERT INTO queries VALUES (?, '江城', 4, 9)", (TODAY.isoformat(),))
    conn.commit()
    conn.close()
    qlog = QueryLog(path)
    assert qlog.record("江城", 9, took_ms=5.0)
    assert qlog.rows_between(date.min, TODAY) == [{"day": TODAY.isoformat(), "q": "江城", "n": 5, "hits": 9,
                                                   "ms_max": 5.0, "ms_sum": 5.0, "relaxed": 0, "corrected": 0,
                                                   "timeouts": 0}]
