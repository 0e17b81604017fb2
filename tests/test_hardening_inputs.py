"""Issue 19 rows 4 and 10: input files are read under streaming limits; CR-only line ends work."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from indexer import limits
from indexer.ingest import iter_inputs
from indexer.model import Article, Problem


def record(i: int) -> bytes:
    return json.dumps({"id": f"r{i}", "title": f"标题{i}", "body": f"正文内容{i}"}, ensure_ascii=False).encode()


def split(results: list) -> tuple[list[Article], list[Problem]]:
    return ([r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, Problem)])


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_every_line_end_is_read(tmp_path: Path, eol: bytes) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [record(i) for i in range(1, 11)]
    lines[6] = b'{"id": "bad"'
    path.write_bytes(eol.join(lines) + eol)
    articles, problems = split(list(iter_inputs([path])))
    assert [a.id for a in articles] == [f"r{i}" for i in range(1, 11) if i != 7]
    assert [p.where() for p in problems] == [f"{path}:7"]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_an_over_long_line_is_skipped_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             compressed: bool) -> None:
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(limits, "_CHUNK", 1000)  # the long line spans many blocks
    huge = b'{"id": "huge", "title": "t", "body": "' + "长".encode() * 30_000 + b'"}'
    data = b"\n".join([record(1), huge, record(3)]) + b"\n"
    path = tmp_path / ("feed.jsonl.gz" if compressed else "feed.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    articles, problems = split(list(iter_inputs([path])))
    assert [a.id for a in articles] == ["r1", "r3"]
    assert [str(p) for p in problems] == [
        f"{path}:2: record of {len(huge):,} bytes is longer than the limit of 4,096 bytes per line: "
        "skipped unread (one article per line; split the export)"]


def test_a_gzip_bomb_stops_at_the_ratio_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "GZIP_RATIO_FLOOR", 1024 * 1024)
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(record(1) + b"\n" + b" " * (64 * 1024 * 1024) + b"\n" + record(2) + b"\n"))
    articles, problems = split(list(iter_inputs([path])))
    assert [a.id for a in articles] == ["r1"]
    assert len(problems) == 1
    assert problems[0].reason.startswith("gzip data expands more than 200x (")
    assert problems[0].reason.endswith("a compression bomb or a file of empty records; stopped there (after 1 lines)")


def test_a_gzip_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_GZIP_BYTES", 100_000)
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(record(i) for i in range(5000)) + b"\n"))
    articles, problems = split(list(iter_inputs([path])))
    assert 0 < len(articles) < 5000
    assert [p.reason.split(":")[0] for p in problems] == ["gzip data expands past 100,000 bytes"]


def test_problems_are_summarised_after_the_first_hundred(tmp_path: Path) -> None:
    path = tmp_path / "empty-records.jsonl"
    path.write_bytes(b"{}\n" * 1000 + record(1) + b"\n")
    articles, problems = split(list(iter_inputs([path])))
    assert [a.id for a in articles] == ["r1"]
    assert len(problems) == 101
    assert sum(p.count for p in problems) == 1000
    assert str(problems[-1]) == (f"{path}:101: 900 more bad record(s) from here on, not listed one by one "
                                 "(the first 100 are); fix the export and rerun")


def test_rebuild_counts_summarised_problems_as_skipped(tmp_path: Path) -> None:
    from indexer.build import rebuild

    path = tmp_path / "empty-records.jsonl"
    path.write_bytes(b"{}\n" * 300 + record(1) + b"\n")
    report = rebuild([str(path)], tmp_path / "index", procs=1)
    assert (report.indexed, report.skipped, len(report.problems)) == (1, 300, 101)


def test_a_json_file_over_the_cap_is_refused_unparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.ingest as ingest

    monkeypatch.setattr(ingest, "MAX_JSON_BYTES", 1000)
    path = tmp_path / "dump.json"
    path.write_bytes(b"[" + b",".join(record(i) for i in range(100)) + b"]")
    size = path.stat().st_size
    results = list(iter_inputs([path]))
    assert [str(r) for r in results] == [
        f"{path}: JSON file of {size:,} bytes is over the limit of 1,000 (a .json file is parsed whole): "
        "export it as JSON Lines (.jsonl), one article per line"]


def test_a_file_of_only_bad_records_is_not_read_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_BAD_BEFORE_FIRST", 500)
    path = tmp_path / "empty-records.jsonl"
    path.write_bytes(b"{}\n" * 5000 + record(1) + b"\n")
    articles, problems = split(list(iter_inputs([path])))
    assert articles == []
    assert sum(p.count for p in problems) == 500
    assert problems[-1].reason == ("400 more bad record(s) from here on, not listed one by one (the first 100 are); "
                                   "stopped reading: the first 500 records were all bad (not an article export?); "
                                   "fix the export and rerun")
