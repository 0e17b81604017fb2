"""normalise_text, parse_date, stable_id and make_article."""
from __future__ import annotations

from datetime import datetime

import pytest

from indexer.model import Article, Problem
from indexer.normalise import canonical_url, make_article, normalise_text, parse_date, stable_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３ｘｙｚ", "ABC123xyz"),
        ("全角\u3000空格", "全角 空格"),
        ("不换行\u00a0空格", "不换行 空格"),
        ("标点，。！？；：（）“”保留", "标点，。！？；：（）“”保留"),
        ("a  \t  b", "a b"),
        ("  首行  \n\n\n  次行\t\n", "首行\n次行"),
        ("windows\r\nline\rends", "windows\nline\nends"),
        ("控制\x00字\x07符\x1b", "控制字符"),
        ("零\u200b宽\ufeff字符", "零宽字符"),
        ("e\u0301", "\u00e9"),  # NFC
        ("\n \u3000 \n", ""),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


THIS_YEAR = datetime.now().year


@pytest.mark.parametrize(
    ("raw", "context_year", "expected"),
    [
        ("2020-09-07 00:40:03", None, "2020-09-07T00:40:03"),
        ("2020-09-07T00:40:03+08:00", None, "2020-09-07T00:40:03"),
        ("2020-09-07T00:40:03.250Z", None, "2020-09-07T00:40:03"),
        ("2020-09-07", None, "2020-09-07T00:00:00"),
        ("2020年9月7日", None, "2020-09-07T00:00:00"),
        ("2020年9月7日 08:30", None, "2020-09-07T08:30:00"),
        ("2020年09月07日08:30", None, "2020-09-07T08:30:00"),
        ("2020年9月7日 下午3:05", None, "2020-09-07T15:05:00"),
        ("2020/9/7", None, "2020-09-07T00:00:00"),
        ("2020.09.07", None, "2020-09-07T00:00:00"),
        ("20200907", None, "2020-09-07T00:00:00"),
        ("２０２０年９月７日", None, "2020-09-07T00:00:00"),
        ("  2020-09-07 00:40  ", None, "2020-09-07T00:40:00"),
        ("09-07 00:40", 2019, "2019-09-07T00:40:00"),
        ("9月7日", 2021, "2021-09-07T00:00:00"),
        ("09-07 00:40", None, None),  # no year anywhere
        ("9月7日", None, None),
        ("2020-02-30", None, None),
        ("2020-13-01", None, None),
        ("2020-09-07 24:10", None, None),
        ("1899-12-31", None, None),
        (f"{THIS_YEAR + 2}-01-01", None, None),
        ("昨天", None, None),
        ("2020-09", None, None),
        ("", None, None),
        ("2020-09-07 hello", None, None),
    ],
)
def test_parse_date(raw: str, context_year: int | None, expected: str | None) -> None:
    assert parse_date(raw, context_year) == expected


def test_parse_date_accepts_next_year() -> None:
    assert parse_date(f"{THIS_YEAR + 1}-01-02") == f"{THIS_YEAR + 1}-01-02T00:00:00"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://News.Example.COM/a/b/", "http://news.example.com/a/b"),
        ("https://example.com/x?utm_source=t&id=3&UTM_Medium=y#top", "https://example.com/x?id=3"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/Path/Keeps/Case.html", "https://example.com/Path/Keeps/Case.html"),
        ("https://example.com/s?q=%E4%B8%AD&utm_campaign=z", "https://example.com/s?q=%E4%B8%AD"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_stable_id_prefers_given_id_then_url_then_hash() -> None:
    assert stable_id("  xwlb-1 ", "http://a.cn/1", "t", "b") == "xwlb-1"
    assert stable_id(42, None, "t", "b") == "42"
    assert stable_id("  ", "HTTP://A.cn/1/#x", "t", "b") == "http://a.cn/1"
    assert stable_id(None, None, "标题", "正文") == "sha1:98ad40c9df93dbf6"
    # The hash is over normalised text, so formatting noise does not change the id.
    assert stable_id(None, "", " 标题 ", "正文\n\n") == "sha1:98ad40c9df93dbf6"
    assert stable_id(None, None, "标题", "正文2") != "sha1:98ad40c9df93dbf6"


def test_make_article_normalises_every_field() -> None:
    article = make_article(
        {
            "id": None,
            "title": "  全角ＡＢＣ\n标题 ",
            "body": "第一段。\n\n\n  第二段。 ",
            "channel": " 财经 ",
            "published": "2020年9月7日 08:30",
            "author": " 张三 ",
            "source": "",
            "url": " https://example.com/a/?utm_source=x ",
            "tags": ["经济", " 经济 ", "消费", ""],
        },
        "feed.jsonl",
        line=3,
    )
    assert article == Article(
        id="https://example.com/a",
        title="全角ABC 标题",
        body="第一段。\n第二段。",
        channel="财经",
        published="2020-09-07T08:30:00",
        author="张三",
        source=None,
        url="https://example.com/a/?utm_source=x",
        tags=["经济", "消费"],
        origin="feed.jsonl:3",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": "", "body": "  \n "}, "no title and no body"),
        ({}, "no title and no body"),
        ({"title": 12, "body": "x"}, "field 'title' must be a string, got a number"),
        ({"title": ["a"], "body": "x"}, "field 'title' must be a string, got a list"),
        ({"title": "t", "body": {"p": 1}}, "field 'body' must be a string, got an object"),
        ({"title": "t", "channel": True}, "field 'channel' must be a string, got a boolean"),
        ({"title": "t", "url": 3.5}, "field 'url' must be a string, got a number"),
        ({"title": "t", "id": [1]}, "field 'id' must be a string or an integer, got a list"),
        ({"title": "t", "published": ["2020"]}, "field 'published' must be a string or a number, got a list"),
        ({"title": "t", "tags": {"a": 1}}, "field 'tags' must be a list of strings or a string, got an object"),
        ({"title": "t", "tags": ["a", 2]}, "field 'tags' must contain only strings, found a number"),
    ],
)
def test_make_article_problems(fields: dict, reason: str) -> None:
    result = make_article(fields, "in.jsonl", line=7)
    assert result == Problem(path="in.jsonl", reason=reason, line=7)


def test_make_article_optional_details() -> None:
    article = make_article(
        {"title": "只有标题", "published": "not a date", "tags": "甲,乙；丙、甲"}, "a.json", context_year=2020
    )
    assert isinstance(article, Article)
    assert (article.body, article.published, article.tags, article.origin) == ("", None, ["甲", "乙", "丙"], "a.json")
    assert article.id == stable_id(None, None, "只有标题", "")


def test_make_article_epoch_published_is_beijing_time() -> None:
    article = make_article({"title": "t", "published": 1599410403}, "a.json")
    assert isinstance(article, Article) and article.published == "2020-09-07T00:40:03"
    article = make_article({"title": "t", "published": 1599410403000}, "a.json")
    assert isinstance(article, Article) and article.published == "2020-09-07T00:40:03"
