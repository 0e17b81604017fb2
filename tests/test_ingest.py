"""iter_inputs / check_sources over real files: formats, encodings and every kind of bad input."""
from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path

import pytest

from indexer.errors import SourceNotFound
from indexer.ingest import check_sources, iter_inputs
from indexer.model import Article, Problem

PAGE = "当前位置：首页 > 社会 > 河道清淤工程完工\n河道清淤工程完工\n来源：示例日报 时间：2021-07-01\n经过两个月施工，城区主要河道清淤工程全部完工。\n"
PAGE_TRADITIONAL = "當前位置：首頁 > 社會 > 颱風過境\n颱風過境\n市區多處路樹倒塌，搶修人員已連夜清理。\n"
HTML = (
    "<html><head><title>公园开放_本地_示例网</title></head><body><h1>公园开放</h1>"
    "<p>新建的滨江公园今天正式向市民开放，园内设有步道和儿童游乐区。</p></body></html>"
)


def _jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _collect(*paths: Path | str) -> tuple[list[Article], list[Problem]]:
    results = list(iter_inputs(paths))
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, Problem)]


def test_missing_source_raises_before_iteration(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(SourceNotFound) as info:
        iter_inputs([tmp_path, missing])  # raises on the call, not on first next()
    assert str(missing) in str(info.value) and "existing files or directories" in str(info.value)
    with pytest.raises(SourceNotFound):
        check_sources([str(missing)])
    check_sources([tmp_path])  # an existing path is fine


def test_directory_walk_is_recursive_sorted_and_skips_hidden_and_other_types(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "2.jsonl").write_bytes(_jsonl({"id": "b2", "title": "乙"}))
    (tmp_path / "a" / "deep" / "1.ndjson").write_bytes(_jsonl({"id": "a1", "title": "甲"}))
    (tmp_path / "a" / "0.json").write_bytes(json.dumps([{"id": "a0", "title": "零"}]).encode())
    (tmp_path / "c.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "d.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "e").write_text("无扩展名的标题\n正文一段。\n", encoding="utf-8")
    (tmp_path / "f.jsonl.gz").write_bytes(gzip.compress(_jsonl({"id": "f", "title": "压缩"})))
    for dictionary in ("userdict.txt", "synonyms.txt", "stopwords.txt"):  # beside the articles, not articles
        (tmp_path / dictionary).write_text("澜舟星图 10 nz\n央行 中国人民银行\n", encoding="utf-8")
    for skipped in (".hidden.txt", "notes.md", "photo.jpg", "data.csv"):
        (tmp_path / skipped).write_bytes(b"\x89PNG\x00" if skipped.endswith("jpg") else b"x")
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")

    articles, problems = _collect(tmp_path)
    assert problems == []
    # os.walk order: a directory's own files (sorted), then its subdirectories (sorted).
    assert [a.title for a in articles[:4]] == ["公园开放", "河道清淤工程完工", "无扩展名的标题", "压缩"]
    assert [a.id for a in articles[4:]] == ["a0", "a1", "b2"]
    assert articles[1].channel == "社会" and articles[1].published == "2021-07-01T00:00:00"
    assert articles[4].origin == f"{tmp_path / 'a' / '0.json'}[1]"
    assert articles[5].origin == f"{tmp_path / 'a' / 'deep' / '1.ndjson'}:1"
    # Named explicitly, a dictionary file is read like any text file.
    assert [a.title for a in _collect(tmp_path / "userdict.txt")[0]] == ["澜舟星图 10 nz"]


def test_explicit_unsupported_file_is_a_problem(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# 标题\n")
    assert list(iter_inputs([notes])) == [
        Problem(
            path=str(notes),
            reason="unsupported file type (expected .jsonl, .ndjson, .jsonl.gz, .ndjson.gz, .json, "
            ".html, .htm, .shtml, .xhtml, .txt, .text or no extension)",
        )
    ]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("gbk.txt", PAGE.encode("gbk")),
        ("gb18030.txt", PAGE.encode("gb18030")),
        ("bom.txt", codecs.BOM_UTF8 + PAGE.encode("utf-8")),
        ("utf16le.txt", PAGE.encode("utf-16")),
        ("utf16be.txt", codecs.BOM_UTF16_BE + PAGE.encode("utf-16-be")),
        ("page.html", HTML.encode("gbk")),
    ],
)
def test_simplified_encodings(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    articles, problems = _collect(tmp_path / name)
    assert problems == []
    assert [a.title for a in articles] == ["公园开放" if name.endswith("html") else "河道清淤工程完工"]


@pytest.mark.parametrize("codec", ["big5", "utf-8", "utf-16"])
def test_traditional_encodings(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "tw.txt"
    path.write_bytes(PAGE_TRADITIONAL.encode(codec))
    [article] = iter_inputs([path])
    assert isinstance(article, Article)
    assert (article.title, article.channel, article.body) == ("颱風過境", "社會", "市區多處路樹倒塌，搶修人員已連夜清理。")


def test_gbk_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "gbk.jsonl"
    path.write_bytes(json.dumps({"id": "g", "title": "国内要闻"}, ensure_ascii=False).encode("gbk") + b"\n")
    [article] = iter_inputs([path])
    assert isinstance(article, Article) and article.title == "国内要闻"


def test_html_content_in_txt_file_is_parsed_as_html(tmp_path: Path) -> None:
    path = tmp_path / "saved.txt"
    path.write_text(HTML, encoding="utf-8")
    [article] = iter_inputs([path])
    assert isinstance(article, Article) and article.title == "公园开放" and "<p>" not in article.body


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.html", b" \n\t\n", "empty file"),
        ("empty.jsonl", b"", "empty file"),
        ("blank.jsonl", b"\n\n  \n", "no records (only blank lines)"),
        ("empty.json", b"", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (contains NUL bytes); UTF-16 text needs a byte-order mark"),
        ("latin1.txt", "café crème".encode("cp1252"), "undecodable text: not valid UTF-8, UTF-16 (with BOM), GB18030/GBK or Big5"),
        ("notgzip.jsonl.gz", b"plain text, not gzip", "truncated or corrupt gzip after 0 lines: Not a gzipped file (b'pl')"),
        ("nothing.json", b'{"title": "", "body": "  "}', "no title and no body"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert list(iter_inputs([path])) == [Problem(path=str(path), reason=reason)]


def test_bad_jsonl_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(
        _jsonl({"id": "ok1", "title": "正常"})
        + b"{broken json\n\n"
        + _jsonl({"id": "t", "title": ["列表"]}, {"id": "e", "title": "", "body": ""}, {"id": "ok2", "body": "只有正文"})
    )
    articles, problems = _collect(path)
    assert [a.id for a in articles] == ["ok1", "ok2"]
    assert [(p.line, p.reason) for p in problems] == [
        (2, "invalid JSON at column 2: Expecting property name enclosed in double quotes"),
        (4, "field 'title' must be a string, got a list"),
        (5, "no title and no body"),
    ]
    assert all(str(p).startswith(f"{path}:") for p in problems)


def test_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    records = [{"id": f"n{i}", "title": f"标题{i}", "body": "正文内容" * 40} for i in range(200)]
    data = gzip.compress(_jsonl(*records))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    results = list(iter_inputs([path]))
    articles = [r for r in results if isinstance(r, Article)]
    assert len(articles) > 20
    assert [a.id for a in articles] == [f"n{i}" for i in range(len(articles))]
    last = results[-1]
    assert isinstance(last, Problem) and last.path == str(path) and last.line is None
    assert last.reason.startswith(f"truncated or corrupt gzip after {len(articles)} lines: ")


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(PAGE, encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read mode-000 files (root)")
        assert list(iter_inputs([tmp_path])) == [Problem(path=str(path), reason="cannot read: Permission denied")]
    finally:
        path.chmod(0o644)


def test_symlink_loops_terminate_and_read_each_file_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "page.txt").write_text(PAGE, encoding="utf-8")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # root/sub/up -> root
    (root / "self").symlink_to(root / "self")  # a link to itself: unreadable, not a directory
    articles, problems = _collect(root)
    assert [a.title for a in articles] == ["河道清淤工程完工"]
    assert [(p.path, p.reason) for p in problems] == [
        (str(root / "self"), "cannot read: Too many levels of symbolic links")
    ]
