"""A rebuild over an archive full of broken files (issue 7).

One corpus holds more than 30 kinds of broken input, each in its own sub-directory, mixed with good
articles. The rebuild must complete, index every good article (checked by id, with the fields the
case cares about), report every bad input exactly once with its path (and line) and reason, and its
counts must match those reports exactly, both through the library and through the CLI.
"""
from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from indexer.build import BuildReport, rebuild
from search_service.cli import main
from search_service import core
from search_service.errors import NotFound
from search_service.index import SearchIndex

PARAS = (
    "江城海关5日发布数据，今年一季度江城跨境电商进出口额同比增长31%。",
    "市交通部门表示，新开通的三条公交线路将覆盖城东新区的主要居民小区。",
    "区教育局介绍，今年秋季学期课后服务已覆盖全区所有公办小学。",
    "气象台预计，本周后半段江城将迎来一次明显降温，最低气温降至5摄氏度。",
)


@dataclass
class Expect:
    # id -> stored fields the case promises (an empty dict: only that the id is indexed)
    good: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (path relative to the corpus root, line or None, fragment of the reason)
    problems: list[tuple[str, int | None, str]] = field(default_factory=list)
    # (origin relative to the corpus root, id) of inputs skipped as duplicates
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    extra_sources: list[str] = field(default_factory=list)


CASES: dict[str, Callable[[Path], Expect]] = {}


def case(fn: Callable[[Path], Expect]) -> Callable[[Path], Expect]:
    CASES[fn.__name__] = fn
    return fn


def record(doc_id: Any, n: int = 0, **fields: Any) -> dict[str, Any]:
    base = {"id": doc_id, "title": f"江城新闻{doc_id}号", "body": PARAS[n % len(PARAS)] + f"（编号{doc_id}）",
            "channel": "新闻", "published": "2021-05-03 08:30"}
    base.update(fields)
    return base


def jsonl(*items: Any) -> str:
    return "".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n"
                   for item in items)


def page(title: str, url: str, n: int = 0) -> str:
    """A scraped page dump in the usual CMS layout; its id is the canonical URL."""
    return (f"当前位置:主页 > 财经 > {title}\n\n{title}\n\n来源：远帆资讯网 更新时间：2022-05-06 14:25\n\n"
            f"{PARAS[n % len(PARAS)]}\n\n{PARAS[(n + 1) % len(PARAS)]}\n\n地址:{url}\n\n返回顶部\n")


def html_page(title: str, url: str, n: int = 0) -> str:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{title}_示例网</title>"
            f"<link rel=canonical href='{url}'></head><body><h1>{title}</h1>"
            f"<p>{PARAS[n % len(PARAS)]}</p><p>{PARAS[(n + 1) % len(PARAS)]}</p></body></html>")


def put(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# ------------------------------------------------------------------------------ good inputs

@case
def good_jsonl(d: Path) -> Expect:
    put(d / "feed.jsonl", jsonl(record("g-1"), record("g-2", 1), record("g-3", 2)))
    return Expect(good={"g-1": {"title": "江城新闻g-1号", "published": "2021-05-03T08:30:00"}, "g-2": {}, "g-3": {}})


@case
def good_pages(d: Path) -> Expect:
    put(d / "p1.txt", page("江城跨境电商一季度增长", "http://example.cn/cj/20220506/1.html"))
    put(d / "p2.html", html_page("城东新区新开三条公交线路", "https://example.cn/jt/2.html", 1))
    return Expect(good={"http://example.cn/cj/20220506/1.html": {"title": "江城跨境电商一季度增长", "channel": "财经"},
                        "https://example.cn/jt/2.html": {"title": "城东新区新开三条公交线路"}})


# ---------------------------------------------------------------------- binary and empty files

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" + bytes(range(256))


@case
def binary_files(d: Path) -> Expect:
    put(d / "image.txt", PNG)
    put(d / "image.html", PNG)
    put(d / "image.jsonl", PNG)
    return Expect(problems=[("binary_files/image.txt", None, "binary file"),
                            ("binary_files/image.html", None, "binary file"),
                            ("binary_files/image.jsonl", None, "binary file (contains NUL bytes)")])


@case
def gzip_without_gz_name(d: Path) -> Expect:
    put(d / "export.jsonl", gzip.compress(jsonl(record("gz-hidden")).encode(), mtime=0))
    return Expect(problems=[("gzip_without_gz_name/export.jsonl", None, "rename it to .jsonl.gz")])


@case
def empty_files(d: Path) -> Expect:
    put(d / "zero.txt", b"")
    put(d / "zero.jsonl", b"")
    put(d / "zero.html", b"")
    put(d / "spaces.txt", " \n\t\n  \r\n")
    put(d / "bom_only.txt", codecs.BOM_UTF8)
    return Expect(problems=[(f"empty_files/{name}", None, "empty file")
                            for name in ("zero.txt", "zero.jsonl", "zero.html", "spaces.txt", "bom_only.txt")])


@case
def zero_length_jsonl_lines(d: Path) -> Expect:
    # Blank, whitespace-only and CRLF lines between records are not problems.
    text = "\n\n" + jsonl(record("zl-1")) + "\n   \n\r\n" + json.dumps(record("zl-2")) + "\r\n\n"
    put(d / "gaps.jsonl", text)
    put(d / "only_gaps.jsonl", "\n\n \n\t\n")
    return Expect(good={"zl-1": {}, "zl-2": {}},
                  problems=[("zero_length_jsonl_lines/only_gaps.jsonl", None, "no records (only blank lines)")])


# ------------------------------------------------------------------------------- JSON errors

@case
def invalid_json_lines(d: Path) -> Expect:
    put(d / "bad.jsonl", jsonl(record("ij-1"), '{"id": "ij-x", "title": "半截', "{'id': 'single-quotes'}",
                               '{"id": "ij-y", "title": "尾逗号",}', "not json at all", record("ij-2")))
    return Expect(good={"ij-1": {}, "ij-2": {}},
                  problems=[("invalid_json_lines/bad.jsonl", line, "invalid JSON at column") for line in (2, 3, 4, 5)])


@case
def non_object_lines(d: Path) -> Expect:
    put(d / "values.jsonl", jsonl([record("no-1")], "\"一个字符串\"", "42", "null", "true", record("no-2")))
    reasons = ["got an array", "got a string", "got a number", "got null", "got a boolean"]
    return Expect(good={"no-2": {}},
                  problems=[("non_object_lines/values.jsonl", i + 1, "expected a JSON object, " + r)
                            for i, r in enumerate(reasons)])


@case
def wrong_field_types(d: Path) -> Expect:
    rows = [("title", 123, "field 'title' must be a string, got a number"),
            ("body", ["段落"], "field 'body' must be a string, got a list"),
            ("id", {"n": 1}, "field 'id' must be a string or an integer, got an object"),
            ("id", 1.5, "field 'id' must be a string or an integer, got a number"),
            ("published", {"year": 2020}, "field 'published' must be a string or a number, got an object"),
            ("published", True, "field 'published' must be a string or a number, got a boolean"),
            ("tags", 7, "field 'tags' must be a list of strings or a string, got a number"),
            ("tags", ["ok", 3], "field 'tags' must contain only strings, found a number"),
            ("channel", False, "field 'channel' must be a string, got a boolean"),
            ("url", ["http://x"], "field 'url' must be a string, got a list")]
    put(d / "types.jsonl", jsonl(*(record(f"wt-{i}", **{name: value}) for i, (name, value, _) in enumerate(rows))))
    return Expect(problems=[("wrong_field_types/types.jsonl", i + 1, reason) for i, (_, _, reason) in enumerate(rows)])


@case
def missing_title_and_body(d: Path) -> Expect:
    put(d / "missing.jsonl", jsonl({"id": "mt-1", "channel": "新闻"},
                                   {"id": "mt-2", "title": " \u200b\u3000", "body": "\u0001\u0007\n\t"},
                                   {"id": "mt-3", "title": None, "body": ""},
                                   {"id": "mt-title-only", "title": "只有标题的快讯"},
                                   {"id": "mt-body-only", "body": PARAS[2]}))
    return Expect(good={"mt-title-only": {"title": "只有标题的快讯", "body": ""},
                        "mt-body-only": {"title": "", "body": PARAS[2]}},
                  problems=[("missing_title_and_body/missing.jsonl", line, "no title and no body") for line in (1, 2, 3)])


@case
def absurd_and_future_dates(d: Path) -> Expect:
    # An unusable date is dropped (the article stays findable, undated), never a crash.
    dates: list[Any] = ["9999-99-99", "2020-02-30", "0000-00-00", "昨天下午", "2021-13-01 25:61", "2099-01-01",
                        4102444800, 4102444800000, -99999999999999, 10 ** 400, 1e308, "1899-12-31"]
    put(d / "dates.jsonl", jsonl(*(record(f"dt-{i}", published=v) for i, v in enumerate(dates)),
                                 '{"id": "dt-nan", "title": "非数", "published": NaN}',
                                 '{"id": "dt-inf", "title": "无穷", "published": -Infinity}'))
    good = {f"dt-{i}": {"published": None} for i in range(len(dates))}
    good.update({"dt-nan": {"published": None}, "dt-inf": {"published": None}})
    return Expect(good=good)


@case
def deeply_nested_json(d: Path) -> Expect:
    put(d / "deep.json", "[" * 100_000)
    put(d / "deep.jsonl", jsonl(record("dn-1"), '{"id": "dn-x", "tags": ' + "[" * 100_000 + "]" * 100_000 + "}"))
    return Expect(good={"dn-1": {}},
                  problems=[("deeply_nested_json/deep.json", None, "nested too deeply"),
                            ("deeply_nested_json/deep.jsonl", 2, "nested too deeply")])


@case
def json_documents(d: Path) -> Expect:
    put(d / "list.json", json.dumps([record("jd-1"), 5, record("jd-x", title=1), record("jd-2")], ensure_ascii=False))
    put(d / "empty_list.json", "[]")
    put(d / "broken.json", '{"id": "jd-broken", "title": ')
    put(d / "mislabelled.json", jsonl(record("jd-3"), record("jd-4")))  # JSON Lines named .json
    return Expect(good={"jd-1": {}, "jd-2": {}, "jd-3": {}, "jd-4": {}},
                  problems=[("json_documents/list.json", None, "item 2: expected a JSON object, got a number"),
                            ("json_documents/list.json", None, "item 3: field 'title' must be a string"),
                            ("json_documents/empty_list.json", None, "empty JSON list"),
                            ("json_documents/broken.json", None, "invalid JSON at line 1")])


# ------------------------------------------------------------------------------- big inputs

@case
def five_mb_single_article(d: Path) -> Expect:
    big = "\n".join(PARAS * (5_000_000 // len("".join(PARAS).encode())))
    put(d / "dump.jsonl", jsonl(record("big-1", body=big), record("big-ok")))
    put(d / "dump.txt", page("整站导出的一页", "http://example.cn/dump/1.html").replace(PARAS[1], big))
    return Expect(good={"big-ok": {}},
                  problems=[("five_mb_single_article/dump.jsonl", 1, "article too large"),
                            ("five_mb_single_article/dump.txt", None, "article too large")])


@case
def long_unbroken_token(d: Path) -> Expect:
    # A base64 blob pasted into a body: one 70,000-letter token, longer than Whoosh's 64 KiB terms.
    put(d / "blob.jsonl", jsonl(record("blob-1", body=PARAS[0] + "\n" + "Q" * 70_000)))
    return Expect(good={"blob-1": {}})


# ------------------------------------------------------------------------------------- HTML

@case
def broken_html(d: Path) -> Expect:
    full = html_page("江城夜市重新开张", "https://example.cn/sh/9.html", 2)
    put(d / "truncated.html", full[: full.index("</p>") + 4])  # cut after the first paragraph
    put(d / "no_content.html", "<html><head></head><body><div></div><script>var a=1;</script></body></html>")
    put(d / "nested.html", "<html><body>" + "<div>" * 20_000 + "<p>" + PARAS[0] + "</p></body></html>")
    put(d / "only_tags.htm", "<<<>>><></><!---->")
    return Expect(good={"https://example.cn/sh/9.html": {"title": "江城夜市重新开张", "body": PARAS[2]}},
                  problems=[("broken_html/no_content.html", None, "no title and no body"),
                            ("broken_html/nested.html", None, "no title and no body"),
                            ("broken_html/only_tags.htm", None, "no title and no body")])


@case
def boilerplate_only_page(d: Path) -> Expect:
    put(d / "footer.txt", "返回顶部\n版权所有 远帆资讯网\n免责声明:本站部分内容转载自合作媒体\n")
    return Expect(problems=[("boilerplate_only_page/footer.txt", None, "no title and no body")])


# -------------------------------------------------------------------------------- encodings

@case
def legacy_encodings(d: Path) -> Expect:
    put(d / "gbk.txt", page("江城港口货物吞吐量创新高", "http://example.cn/gbk/1.html", 3).encode("gbk"))
    big5 = ("當前位置:首頁 > 生活 > 臺灣夜市小吃節開幕\n\n臺灣夜市小吃節開幕\n\n來源：南嶼新聞網 時間：2023-08-12 19:30\n\n"
            "本屆小吃節共有一百二十個攤位參加，主辦單位預計三天將吸引十萬人次。\n\n地址:http://example.cn/big5/1.html\n")
    put(d / "big5.txt", big5.encode("big5"))
    return Expect(good={"http://example.cn/gbk/1.html": {"title": "江城港口货物吞吐量创新高"},
                        "http://example.cn/big5/1.html": {"title": "臺灣夜市小吃節開幕"}})


@case
def wrong_encodings(d: Path) -> Expect:
    put(d / "latin1.txt", "Café résumé naïve, olé! Voilà déjà vu à la française.\n".encode("cp1252"))
    put(d / "utf16_no_bom.txt", page("没有字节序标记", "http://example.cn/u16/1.html").encode("utf-16-le"))
    mixed = page("混合编码的一页", "http://example.cn/mixed/1.html").encode("utf-8") + PARAS[3].encode("gbk") * 3
    put(d / "mixed.txt", mixed)
    put(d / "utf32.jsonl", jsonl(record("w32")).encode("utf-32"))
    return Expect(problems=[("wrong_encodings/latin1.txt", None, "undecodable text"),
                            ("wrong_encodings/utf16_no_bom.txt", None, "binary file (contains NUL bytes)"),
                            ("wrong_encodings/mixed.txt", None, "undecodable text"),
                            ("wrong_encodings/utf32.jsonl", None, "UTF-32 JSON Lines are not supported")])


@case
def mixed_encoding_lines(d: Path) -> Expect:
    lines = [jsonl(record("me-utf8")).encode("utf-8"), jsonl(record("me-gbk", title="港口吞吐量创新高")).encode("gbk"),
             jsonl({"id": "me-big5", "title": "臺灣夜市小吃節", "body": "本屆小吃節共有一百二十個攤位參加。"}).encode("big5"), b'{"id": "me-bad", "title": "\xff\xfe\xfd"}\n']
    put(d / "lines.jsonl", b"".join(lines))
    return Expect(good={"me-utf8": {}, "me-gbk": {"title": "港口吞吐量创新高"}, "me-big5": {"title": "臺灣夜市小吃節"}},
                  problems=[("mixed_encoding_lines/lines.jsonl", 4, "undecodable text")])


@case
def byte_order_marks(d: Path) -> Expect:
    put(d / "utf8_bom.txt", codecs.BOM_UTF8 + page("带BOM的网页", "http://example.cn/bom/1.html").encode())
    put(d / "utf16_bom.txt", page("UTF16的网页", "http://example.cn/bom/2.html").encode("utf-16"))
    put(d / "utf16.jsonl", jsonl(record("bom-16a"), record("bom-16b")).encode("utf-16"))
    # Two exports concatenated: the second one's BOM sits at the start of line 2.
    put(d / "concat.jsonl", codecs.BOM_UTF8 + jsonl(record("bom-1")).encode() + codecs.BOM_UTF8
        + jsonl(record("bom-2")).encode())
    return Expect(good={"http://example.cn/bom/1.html": {"title": "带BOM的网页"},
                        "http://example.cn/bom/2.html": {"title": "UTF16的网页"},
                        "bom-16a": {}, "bom-16b": {}, "bom-1": {}, "bom-2": {}})


@case
def control_characters(d: Path) -> Expect:
    put(d / "escaped.jsonl", jsonl(record("cc-1", title="江城\u0007新闻\u001b[31m快讯\u007f\u0085", author="张\u0000三"),
                                   json.dumps(record("cc-2", title="a\ud800b\udfffc"))))  # lone surrogates
    put(d / "raw.jsonl", '{"id": "cc-raw", "title": "响铃\x07字符"}\n')
    return Expect(good={"cc-1": {"title": "江城新闻[31m快讯", "author": "张三"}, "cc-2": {"title": "abc"}},
                  problems=[("control_characters/raw.jsonl", 1, "Invalid control character")])


# ------------------------------------------------------------------------ file system oddities

@case
def symlink_loops(d: Path) -> Expect:
    put(d / "inside" / "loop.jsonl", jsonl(record("sl-1")))
    os.symlink("..", d / "inside" / "back_up")      # a directory loop: read once, not reported
    os.symlink(".", d / "inside" / "here")
    os.symlink("self.txt", d / "self.txt")           # a file loop: unreadable
    os.symlink("b.txt", d / "a.txt")
    os.symlink("a.txt", d / "b.txt")
    return Expect(good={"sl-1": {}},
                  problems=[(f"symlink_loops/{n}", None, "Too many levels of symbolic links")
                            for n in ("a.txt", "b.txt", "self.txt")])


@case
def dangling_symlink(d: Path) -> Expect:
    d.mkdir(parents=True)
    os.symlink("does-not-exist.jsonl", d / "gone.jsonl")
    return Expect(problems=[("dangling_symlink/gone.jsonl", None, "cannot read: No such file or directory")])


@case
def special_files(d: Path) -> Expect:
    d.mkdir(parents=True)
    os.mkfifo(d / "pipe.jsonl")  # opening it would block forever
    os.mkfifo(d / "pipe.txt")
    return Expect(problems=[("special_files/pipe.jsonl", None, "not a regular file (a FIFO)"),
                            ("special_files/pipe.txt", None, "not a regular file (a FIFO)")])


@case
def unreadable_file(d: Path) -> Expect:
    d.mkdir(parents=True)
    if os.geteuid() != 0:
        put(d / "secret.txt", page("无权读取", "http://example.cn/secret/1.html")).chmod(0)
        return Expect(problems=[("unreadable_file/secret.txt", None, "cannot read: Permission denied")])
    # root reads mode-000 files; a file whose read fails is /proc/self/mem (offset 0 is unmapped).
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("no unreadable file can be made here: running as root without /proc")
    os.symlink("/proc/self/mem", d / "secret.txt")
    return Expect(problems=[("unreadable_file/secret.txt", None, "cannot read: Input/output error")])


@case
def odd_file_names(d: Path) -> Expect:
    name = os.fsdecode(b"caf\xe9-\xff.jsonl")  # not UTF-8: kept as surrogate escapes
    put(d / name, jsonl(record("fn-1"), "{oops"))
    put(d / "空 格 与 中文.txt", page("文件名带空格", "http://example.cn/fn/2.html"))
    put(d / "photo.png", PNG)                         # unsupported type inside a tree: ignored
    put(d / ".hidden.jsonl", jsonl(record("fn-hidden")))
    put(d / ".git" / "x.jsonl", jsonl(record("fn-git")))
    return Expect(good={"fn-1": {}, "http://example.cn/fn/2.html": {}},
                  problems=[(f"odd_file_names/{name}", 2, "invalid JSON")])


@case
def unsupported_explicit_file(d: Path) -> Expect:
    path = put(d / "report.docx", b"PK\x03\x04")
    return Expect(problems=[("unsupported_explicit_file/report.docx", None, "unsupported file type")],
                  extra_sources=[str(path)])


# ------------------------------------------------------------------------------- gzip

@case
def gzip_damage(d: Path) -> Expect:
    put(d / "plain.jsonl.gz", jsonl(record("gd-plain")))
    put(d / "empty.jsonl.gz", b"")
    rng = random.Random(7)
    filler = "".join(rng.choice("0123456789abcdef") for _ in range(400_000))
    packed = gzip.compress(jsonl(record("gd-1"), record("gd-2"), record("gd-3"),
                                 record("gd-filler", body=filler)).encode(), mtime=0)
    put(d / "cut.jsonl.gz", packed[: len(packed) * 3 // 4])
    return Expect(good={"gd-1": {}, "gd-2": {}, "gd-3": {}},
                  problems=[("gzip_damage/plain.jsonl.gz", None, "truncated or corrupt gzip after 0 lines"),
                            ("gzip_damage/empty.jsonl.gz", None, "empty file"),
                            ("gzip_damage/cut.jsonl.gz", None, "truncated or corrupt gzip after 3 lines")])


# -------------------------------------------------------------------------- ids and duplicates

@case
def duplicate_ids(d: Path) -> Expect:
    put(d / "a_first.jsonl", jsonl(record("dup-1", title="先到的版本"), record("dup-2"),
                                   record("dup-2", title="同一文件里的重复")))
    put(d / "b_second.jsonl", jsonl(record("dup-1", title="后到的不同内容", body=PARAS[3])))
    return Expect(good={"dup-1": {"title": "先到的版本"}, "dup-2": {"title": "江城新闻dup-2号"}},
                  duplicates=[("duplicate_ids/a_first.jsonl:3", "dup-2"), ("duplicate_ids/b_second.jsonl:1", "dup-1")])


@case
def odd_ids(d: Path) -> Expect:
    put(d / "ids.jsonl", jsonl(record("../../etc/passwd"), record(0), record(10 ** 30),
                               record("", url="HTTPS://Example.CN/odd/1.html?utm_source=x#top"),
                               record("  带空格的id  ")))
    return Expect(good={"../../etc/passwd": {}, "0": {}, str(10 ** 30): {},
                        "https://example.cn/odd/1.html": {}, "带空格的id": {}})


# ------------------------------------------------------------------------------- fixtures

@dataclass
class Built:
    root: Path
    sources: list[str]
    expected: dict[str, Expect]
    report: BuildReport
    index_dir: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("bad_archive")
    expected = {name: make(root / name) for name, make in CASES.items()}
    sources = [str(root)] + [s for e in expected.values() for s in e.extra_sources]
    # The index lives inside the archive tree (`rebuild .` with the default ./index_data): the
    # walker must not read its own half-written index.
    index_dir = root / "index_data"
    report = rebuild(sources, index_dir, procs=1)
    return Built(root, sources, expected, report, index_dir)


def all_problems(b: Built) -> list[tuple[str, int | None, str]]:
    return [p for e in b.expected.values() for p in e.problems]


def test_corpus_has_at_least_30_kinds_of_broken_input(built: Built) -> None:
    kinds = {(name, Path(path).suffix, frag) for name, e in built.expected.items() for path, _, frag in e.problems}
    kinds |= {(name, "duplicate", "") for name, e in built.expected.items() if e.duplicates}
    kinds |= {(name, "tolerated", "") for name in ("zero_length_jsonl_lines", "absurd_and_future_dates",
                                                   "long_unbroken_token", "byte_order_marks", "symlink_loops")}
    assert len(kinds) >= 30


def test_summary_counts_match_reports_exactly(built: Built) -> None:
    r = built.report
    assert r.indexed == sum(len(e.good) for e in built.expected.values())
    assert r.skipped == len(r.problems) == len(all_problems(built))
    assert r.duplicates == len(r.duplicate_of) == sum(len(e.duplicates) for e in built.expected.values())


def test_index_holds_exactly_the_good_articles(built: Built) -> None:
    searcher = SearchIndex(built.index_dir).snapshot().searcher()
    indexed = {fields["id"] for fields in searcher.all_stored_fields()}
    assert indexed == {doc_id for e in built.expected.values() for doc_id in e.good}


def test_nothing_read_from_the_index_directory(built: Built) -> None:
    assert not [p for p in built.report.problems if "index_data" in p.path]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(built: Built, name: str) -> None:
    expect = built.expected[name]
    index = SearchIndex(built.index_dir)
    for doc_id, fields in expect.good.items():
        try:
            article = core.get_article(index, doc_id)
        except NotFound:
            pytest.fail(f"good article {doc_id!r} of {name} is not indexed")
        for key, value in fields.items():
            assert article[key] == value, (doc_id, key)
    for rel, line, fragment in expect.problems:
        path = str(built.root / rel)
        matching = [p for p in built.report.problems if p.path == path and p.line == line and fragment in p.reason]
        assert len(matching) == 1, (rel, line, fragment, [str(p) for p in built.report.problems if p.path == path])
    for origin, doc_id in expect.duplicates:
        assert built.report.duplicate_of.count((str(built.root / origin), doc_id)) == 1


def test_each_problem_is_reported_once(built: Built) -> None:
    counts = Counter((p.path, p.line, p.reason) for p in built.report.problems)
    assert [key for key, n in counts.items() if n > 1] == []
    for problem in built.report.problems:
        assert problem.reason and problem.path.startswith(str(built.root))


def test_cli_rebuild_reports_every_problem_once(built: Built, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["rebuild", *built.sources, "--index-dir", str(built.root / "index_cli"),
                                       "--procs", "2", "--quiet"])
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stderr.splitlines()
    expected = all_problems(built)
    for rel, line, fragment in expected:
        where = str(built.root / rel) + (f":{line}" if line is not None else "")
        # Undecodable bytes of a file name print as \udcXX escapes: legible, never a crash.
        where = where.encode("utf-8", "backslashreplace").decode("utf-8")
        hits = [ln for ln in lines if ln.startswith(f"skipped {where}: ") and fragment in ln]
        assert len(hits) == 1, (where, fragment)
    assert len([ln for ln in lines if ln.startswith("skipped ")]) == len(expected)
    dups = [ln for ln in lines if ln.startswith("duplicate ")]
    assert sorted(dups) == sorted(f"duplicate {built.root / origin}: id {doc_id} was already indexed from an "
                                  "earlier input" for e in built.expected.values() for origin, doc_id in e.duplicates)
    good = sum(len(e.good) for e in built.expected.values())
    summary = re.search(r"Indexed ([\d,]+) articles, skipped ([\d,]+), duplicates ([\d,]+)", result.stdout)
    assert summary is not None, result.stdout
    assert summary.groups() == (f"{good:,}", f"{len(expected):,}", f"{len(dups):,}")
