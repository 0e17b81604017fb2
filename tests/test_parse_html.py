"""parse_html: metadata from meta tags / page structure, body from trafilatura, never an exception."""
from __future__ import annotations

import pytest

from indexer.model import Article, Problem
from indexer.parse_html import looks_like_html, parse_html

PARAGRAPHS = [
    "五一假期期间，多个城市的夜间消费明显回暖，商圈客流较去年同期增长三成。",
    "业内人士表示，夜间经济的发展需要交通、治安和公共服务的协同配合。",
    "记者走访发现，部分夜市延长了营业时间，并增加了文化演出等新业态。",
]
ARTICLE = "".join(f"<p>{p}</p>\n" for p in PARAGRAPHS)

META_PAGE = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>城市夜间经济观察_财经频道_示例新闻网</title>
<meta property="og:title" content="城市夜间经济观察 - 示例新闻网">
<meta property="og:site_name" content="示例新闻网">
<meta name="keywords" content="夜间经济,消费，城市">
<meta property="article:tag" content="文旅">
<meta name="author" content="李明">
<meta property="article:published_time" content="2021-05-03T19:20:00+08:00">
<meta property="article:section" content="财经">
<meta property="og:url" content="https://news.example.cn/finance/2021/0503/123.html">
<link rel="canonical" href="https://news.example.cn/other.html">
</head><body>
<div class="nav"><a href="/">首页</a> <a href="/finance">财经</a></div>
<article><h1>城市夜间经济观察</h1>
{ARTICLE}</article>
<div class="footer">版权所有 示例新闻网</div>
</body></html>"""

# No meta tags at all: everything must come from <title>, the breadcrumb and the visible info line.
STRUCTURE_PAGE = f"""<html><head><title>城市夜间经济观察_本地新闻_示例网</title></head><body>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/local">本地新闻</a> &gt; 正文</div>
<div class="info"><span>来源：示例晚报</span> <span>2021-05-04 08:00</span> <span>作者：周八</span></div>
<div class="content">{ARTICLE}</div>
<p>（责任编辑：吴九）</p>
<script>var tracker = "来源：脚本";</script>
</body></html>"""


def test_meta_tags_win() -> None:
    article = parse_html(META_PAGE, "a.html")
    assert isinstance(article, Article), article
    assert article.title == "城市夜间经济观察"
    assert article.published == "2021-05-03T19:20:00"
    assert article.channel == "财经"
    assert article.author == "李明"
    assert article.source == "示例新闻网"
    assert article.url == "https://news.example.cn/finance/2021/0503/123.html"
    assert article.id == "https://news.example.cn/finance/2021/0503/123.html"
    assert article.tags == ["夜间经济", "消费", "城市", "文旅"]
    assert article.body == "\n".join(PARAGRAPHS)
    assert article.origin == "a.html"


def test_page_structure_fallbacks() -> None:
    article = parse_html(STRUCTURE_PAGE, "b.html")
    assert isinstance(article, Article), article
    assert article.title == "城市夜间经济观察"
    assert article.channel == "本地新闻"
    assert article.source == "示例晚报"
    assert article.author == "周八"
    assert article.published == "2021-05-04T08:00:00"
    assert article.url is None
    assert article.body == "\n".join(PARAGRAPHS)  # no editor line, no script text


def test_time_element_canonical_link_and_spaced_keywords() -> None:
    page = f"""<html><head><title>短讯</title>
    <meta name="keywords" content="地铁 开通">
    <link rel="canonical" href="https://m.example.cn/a/9.html"></head>
    <body><h1>地铁新线今日开通</h1><time datetime="2024-12-28T06:00:00+08:00">今天</time>{ARTICLE}</body></html>"""
    article = parse_html(page, "c.html")
    assert isinstance(article, Article), article
    assert (article.title, article.published, article.url, article.tags) == (
        "地铁新线今日开通",
        "2024-12-28T06:00:00",
        "https://m.example.cn/a/9.html",
        ["地铁", "开通"],
    )


def test_xml_declaration_with_other_encoding_is_ignored() -> None:
    page = '<?xml version="1.0" encoding="gb2312"?>\n' + META_PAGE.replace('<meta charset="utf-8">', "")
    article = parse_html(page, "d.html")
    assert isinstance(article, Article) and article.title == "城市夜间经济观察"


def test_truncated_html_is_best_effort() -> None:
    cut = META_PAGE[: META_PAGE.index(PARAGRAPHS[1]) + 10]
    article = parse_html(cut, "cut.html")
    assert isinstance(article, Article), article
    assert article.title == "城市夜间经济观察"
    assert article.body.startswith(PARAGRAPHS[0])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("  \n ", "empty file"),
        ("<!-- nothing here -->", "unparseable HTML (Document is empty)"),
        ("<html><head></head><body><div></div></body></html>", "no title and no body"),
        ("<html><body><script>var a = 1;</script></body></html>", "no title and no body"),
    ],
)
def test_unusable_pages_are_problems(text: str, reason: str) -> None:
    assert parse_html(text, "bad.html") == Problem(path="bad.html", reason=reason)


@pytest.mark.parametrize("junk", ["<<<>>>&&&", "<html><body><p>未闭合的段落", "\x00\x01<div>", "<p>" * 5000])
def test_garbage_never_raises(junk: str) -> None:
    assert isinstance(parse_html(junk, "junk.html"), (Article, Problem))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE html><html>", True),
        ("\ufeff  <html lang='zh'>", True),
        ("<!-- saved -->\n<head><title>x</title>", True),
        ("当前位置：首页 > 新闻", False),
        ("a < b and <html> later", False),
    ],
)
def test_looks_like_html(text: str, expected: bool) -> None:
    assert looks_like_html(text) is expected
