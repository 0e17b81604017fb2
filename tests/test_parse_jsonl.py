"""parse_jsonl / parse_json_document: one result per record, Problems carry line numbers."""
from __future__ import annotations

import json

import pytest

from indexer.model import Article, Problem
from indexer.parse_jsonl import parse_json_document, parse_jsonl


def _line(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


def test_full_record() -> None:
    line = _line(
        id="xwlb-20250308-06", title="【栏目】标题", body="第一段\n第二段", channel="国内",
        published="2025-03-08", author="记者甲", source="央视网", url="https://tv.example.com/a.shtml",
        tags=["两会", "政协"], source_dataset="ignored", extra={"nested": True},
    )
    assert list(parse_jsonl([line], "feed.jsonl")) == [
        Article(
            id="xwlb-20250308-06", title="【栏目】标题", body="第一段\n第二段", channel="国内",
            published="2025-03-08T00:00:00", author="记者甲", source="央视网",
            url="https://tv.example.com/a.shtml", tags=["两会", "政协"], origin="feed.jsonl:1",
        )
    ]


def test_optional_fields_may_be_missing_and_keywords_are_tags() -> None:
    [article] = parse_jsonl([_line(title="只有标题", keywords="甲,乙")], "f.jsonl")
    assert isinstance(article, Article)
    assert (article.body, article.channel, article.published, article.url, article.tags) == ("", None, None, None, ["甲", "乙"])


def test_problems_have_line_numbers_and_good_lines_survive() -> None:
    lines = [
        _line(id="a", title="好的一条", body="正文"),  # 1
        "",  # 2: blank, ignored
        "   ",  # 3: blank, ignored
        '{"title": "缺引号}',  # 4
        "[1, 2]",  # 5
        '"just a string"',  # 6
        _line(title=5, body="x"),  # 7
        _line(title="t", tags=[1]),  # 8
        _line(title="", body=""),  # 9
        "null",  # 10
        _line(id="b", title="另一条", body="正文二"),  # 11
    ]
    results = list(parse_jsonl(lines, "mixed.jsonl"))
    assert [r.id for r in results if isinstance(r, Article)] == ["a", "b"]
    assert [r.origin for r in results if isinstance(r, Article)] == ["mixed.jsonl:1", "mixed.jsonl:11"]
    assert [(p.line, p.reason) for p in results if isinstance(p, Problem)] == [
        (4, "invalid JSON at column 11: Unterminated string starting"),
        (5, "expected a JSON object, got an array"),
        (6, "expected a JSON object, got a string"),
        (7, "field 'title' must be a string, got a number"),
        (8, "field 'tags' must contain only strings, found a number"),
        (9, "no title and no body"),
        (10, "expected a JSON object, got null"),
    ]
    assert all(p.path == "mixed.jsonl" for p in results if isinstance(p, Problem))


def test_bom_on_first_line_and_bytes_lines() -> None:
    first = "\ufeff" + _line(id="1", title="甲")
    [a] = parse_jsonl([first], "bom.jsonl")
    assert isinstance(a, Article) and a.id == "1"
    raw = [
        b"\xef\xbb\xbf" + _line(id="2", title="乙").encode("utf-8") + b"\n",
        _line(id="3", title="国内新闻").encode("gbk") + b"\n",  # a GBK export still decodes
        b'{"id": "4", "title": "\x00\x01\x02\xff\xfe"}\n',  # neither UTF-8 nor text
        b'{"id": "5", "title": "\x01"}\n',  # valid UTF-8, but JSON forbids raw control characters
    ]
    results = list(parse_jsonl(raw, "raw.jsonl"))
    assert [(r.id, r.title) for r in results[:2]] == [("2", "乙"), ("3", "国内新闻")]
    assert isinstance(results[2], Problem) and results[2].line == 3
    assert results[2].reason.startswith("binary file")
    assert results[3] == Problem(path="raw.jsonl", reason="invalid JSON at column 23: Invalid control character", line=4)


def test_json_document_single_object_and_list() -> None:
    [one] = parse_json_document(_line(id="x", title="单篇"), "one.json")
    assert isinstance(one, Article) and (one.id, one.origin) == ("x", "one.json")

    listing = json.dumps([{"id": "p", "title": "甲"}, 3, {"title": ""}], ensure_ascii=False)
    results = list(parse_json_document(listing, "list.json"))
    assert isinstance(results[0], Article) and results[0].origin == "list.json[1]"
    assert results[1] == Problem(path="list.json", reason="item 2: expected a JSON object, got a number")
    assert results[2] == Problem(path="list.json", reason="item 3: no title and no body")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[]", "empty JSON list: no articles"),
        ('{"title": ', "invalid JSON at line 1 column 11: Expecting value"),
        ('"text"', "expected a JSON object, got a string"),
    ],
)
def test_json_document_problems(text: str, reason: str) -> None:
    assert list(parse_json_document(text, "bad.json")) == [Problem(path="bad.json", reason=reason)]


def test_json_document_that_is_really_jsonl() -> None:
    text = _line(id="1", title="甲") + "\n" + _line(id="2", title="乙") + "\n"
    assert [r.origin for r in parse_json_document(text, "lines.json")] == ["lines.json:1", "lines.json:2"]
