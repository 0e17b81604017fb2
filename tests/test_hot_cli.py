"""`news-search hot list|block|pin` over a query log written by QueryLog (as the service does)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from search_service.cli import main
from search_service.querylog import FILE_NAME, QueryLog


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    qlog = QueryLog(tmp_path / FILE_NAME)
    for q, n in (("江城 马拉松", 6), ("支付宝", 5), ("地铁", 3), ("author:何嘉宁", 7)):
        for v in range(n):
            qlog.record(q, 4, visitor=f"192.0.2.{v}")
    qlog.record("量子引力", 0, visitor="192.0.2.1")
    qlog.close()
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_hot_list_block_and_pin(index_dir: Path):
    d = str(index_dir)
    assert run("hot", "list", "--index-dir", d) == (0, "  1. 江城 马拉松  (6 visitor-days)\n  2. 支付宝  (5 visitor-days)\n")
    code, out = run("hot", "block", "马拉松", "--index-dir", d)
    assert code == 0 and out == f"马拉松 added to {index_dir / 'hot_block.txt'}\n"
    assert run("hot", "block", "马拉松", "--index-dir", d) == (0, "马拉松: nothing to change\n")
    assert run("hot", "pin", "春运", "--index-dir", d)[0] == 0
    code, out = run("hot", "list", "--index-dir", d, "--json")
    assert [json.loads(line) for line in out.splitlines()] == [
        {"q": "春运", "count": 0, "pinned": True}, {"q": "支付宝", "count": 5}]
    code, out = run("hot", "list", "--all", "--index-dir", d, "--json")
    assert {r["q"]: r["hidden"] for r in map(json.loads, out.splitlines())} == {
        "author:何嘉宁": "syntax", "江城 马拉松": "blocked", "支付宝": None, "地铁": "few_visitors",
        "量子引力": "no_results"}
    assert run("hot", "block", "马拉松", "--remove", "--index-dir", d)[0] == 0
    assert run("hot", "pin", "春运", "--remove", "--index-dir", d)[0] == 0
    assert (index_dir / "hot_block.txt").read_text(encoding="utf-8") == ""
    assert run("hot", "list", "--index-dir", d)[1].splitlines()[0] == "  1. 江城 马拉松  (6 visitor-days)"


@pytest.mark.parametrize("args, message", [
    (("hot", "block", "([", "--pattern"), "Invalid value for WORD: not a regular expression"),
    (("hot", "block", "  "), "Invalid value for WORD: must be a non-empty word"),
    (("hot", "pin", "a # b"), "Invalid value for QUERY: must be a non-empty query without '#'"),
])
def test_hot_bad_input(index_dir: Path, args, message):
    code, out = run(*args, "--index-dir", str(index_dir))
    assert code != 0 and message in out


def test_hot_list_without_a_log(tmp_path: Path):
    code, out = run("hot", "list", "--index-dir", str(tmp_path))
    assert code == 1 and out == f"Error: no query log at {tmp_path / FILE_NAME}: it is written by `news-search serve` (QUERY_LOG on)\n"

