"""Editors' tools over the demo index: related coverage, the `published` histogram, the /help page.

Expected ids come from indexer/demo/MANIFEST.md (subjects shared by several demo articles).
"""
from __future__ import annotations

import re
from collections import Counter
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from indexer.analysis import fold_text
from search_service.core import get_article
from search_service.related import MAX_LIMIT, MIN_SHARED_KEYWORDS

HIT_KEYS = {"id", "title", "title_html", "snippet_html", "url", "channel", "published", "author", "source",
            "score", "keywords", "duplicates", "duplicate_ids", "matched_keywords"}
NEV = {  # 新能源汽车 articles of the manifest, and one that shares the subject (car trade-in subsidies)
    "demo-014", "demo-016", "demo-032", "demo-033", "https://news.example.com/caijing/20250828/5003.html",
    "http://www.example-portal.cn/qc/20260308/3105.html"}


def related(client, article_id: str, **params) -> dict:
    resp = client.get(f"/api/articles/{article_id}/related", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    assert resp.content_type == "application/json"
    return resp.get_json()


# -- related coverage -------------------------------------------------------------------------

@pytest.mark.parametrize(("article_id", "expected"), [
    ("demo-005", ["demo-004", "demo-006"]),                     # 澜舟星图 (userdict), 遥感
    ("demo-004", ["demo-005", "demo-016", "demo-006"]),      # demo-016 shares A股 and 公司
    ("demo-001", ["demo-002"]),                                 # 支付宝 + 小程序
    ("demo-017", ["demo-018"]),                                 # 江城马拉松
    ("demo-018", ["demo-017"]),
])
def test_related_articles_of_a_demo_article(client, article_id, expected):
    data = related(client, article_id)
    assert data["ok"] is True
    assert [h["id"] for h in data["hits"]] == expected
    assert data["total"] == len(expected)
    assert data["article_id"] == article_id


def test_related_of_a_new_energy_car_story_is_the_other_coverage(client):
    data = related(client, "demo-031")
    assert {h["id"] for h in data["hits"]} == NEV
    scores = [h["score"] for h in data["hits"]]
    assert scores == sorted(scores, reverse=True)


def test_related_hits_are_search_hits_sharing_keywords(client, search_index):
    data = related(client, "demo-031")
    assert data["keywords"] == get_article(search_index, "demo-031")["keywords"]
    assert len(data["keywords"]) == 8 and {"新能源", "补贴", "退坡"} <= set(data["keywords"])
    assert data["common_keywords"] == ["江城"]   # in 35 of the 50 demo articles: not a subject
    for hit in data["hits"]:
        assert set(hit) == HIT_KEYS
        shared = hit["matched_keywords"]
        assert len(shared) >= MIN_SHARED_KEYWORDS
        assert set(shared) <= set(data["keywords"]) - {"江城"}
        article = get_article(search_index, hit["id"])
        folded = fold_text(article["title"] + "\n" + article["body"])
        assert all(kw in folded for kw in shared)
        assert hit["keywords"] == article["keywords"]
        assert "<mark>" in hit["snippet_html"] + hit["title_html"]


@pytest.mark.parametrize("article_id", ["demo-007", "demo-008"])
def test_related_excludes_the_article_and_its_reprints(client, article_id):
    data = related(client, article_id)
    other = {"demo-007": "demo-008", "demo-008": "demo-007"}[article_id]
    assert data["excluded_reprints"] == [other]
    # Both copies of the story have the same related coverage (other 地铁/号线 articles).
    assert [h["id"] for h in data["hits"]] == [
        "demo-018", "demo-027", "https://news.example.com/shenghuo/20260224/5008.html"]


def test_related_by_url_id(client):
    data = related(client, "https://news.example.com/caijing/20250828/5003.html")
    assert data["article_id"] == "https://news.example.com/caijing/20250828/5003.html"
    assert [h["id"] for h in data["hits"]] == ["demo-014", "demo-016"]   # 两成 + 亿元 / 销量


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_related_limit_keeps_the_best_first(client, limit):
    full = related(client, "demo-031")
    data = related(client, "demo-031", limit=limit)
    assert [h["id"] for h in data["hits"]] == [h["id"] for h in full["hits"]][:limit]
    assert (data["total"], data["limit"]) == (full["total"], limit)


def test_related_unknown_id_is_a_404_envelope(client):
    resp = client.get("/api/articles/demo-999/related")
    assert resp.status_code == 404
    assert resp.get_json() == {"ok": False, "error": {
        "status": 404, "code": "not_found",
        "message": "no article with id 'demo-999': search for it with /api/search?q=..."}}


@pytest.mark.parametrize(("query", "message"), [
    ("limit=0", f"`limit` must be in 1..{MAX_LIMIT}, got 0"),
    (f"limit={MAX_LIMIT + 1}", f"`limit` must be in 1..{MAX_LIMIT}, got {MAX_LIMIT + 1}"),
    ("limit=-3", f"`limit` must be in 1..{MAX_LIMIT}, got -3"),
    ("limit=ten", "`limit` must be a whole number, got 'ten'"),
    ("limit=2.5", "`limit` must be a whole number, got '2.5'"),
    ("limit=2&limit=3", "`limit` may be given only once"),
])
def test_related_bad_limit_is_a_400_naming_limit(client, query, message):
    resp = client.get(f"/api/articles/demo-005/related?{query}")
    assert resp.status_code == 400
    assert resp.get_json() == {"ok": False, "error": {
        "status": 400, "code": "invalid_parameter", "message": message, "parameter": "limit"}}


# -- the published histogram -------------------------------------------------------------------

def all_articles(client, params: dict) -> list[dict]:
    """Every matching article, one hit each (collapse=false), fetched page by page."""
    out: list[dict] = []
    page = 1
    while True:
        resp = client.get("/api/search", query_string={**params, "collapse": "false", "per_page": 50, "page": page})
        data = resp.get_json()
        out += data["hits"]
        if page >= data["pages"]:
            return out
        page += 1


CUT = {"day": 10, "month": 7, "year": 4}
HISTOGRAM_CASES = [
    {"q": "江城"},
    {"q": "江城", "from": "2021-03-15", "to": "2023-07-20"},
    {"q": "江城", "from": "2024-01-01"},
    {"q": "江城", "to": "2020-12-31", "channel": ["体育", "新闻"]},
    {"q": "银"},
    {"q": "地铁"},                                    # a reprint pair: both copies counted
    {"q": "新能源汽车", "sort": "newest"},
    {"q": "AI OR 5G", "from": "2022-06-08", "to": "2022-06-08"},
]


@pytest.mark.parametrize("interval", ["day", "month", "year"])
@pytest.mark.parametrize("params", HISTOGRAM_CASES, ids=lambda p: " ".join(f"{k}={v}" for k, v in p.items()))
def test_histogram_equals_a_brute_force_count(client, params, interval):
    resp = client.get("/api/search", query_string={**params, "facet_interval": interval})
    assert resp.status_code == 200
    data = resp.get_json()
    matches = all_articles(client, params)
    assert len(matches) == data["total_articles"] > 0
    expected = Counter(h["published"][:CUT[interval]] for h in matches)
    assert data["histogram"] == [{"value": v, "count": n} for v, n in sorted(expected.items())]
    assert data["query"]["facet_interval"] == interval


def test_histogram_of_a_subject_by_year_is_the_manifest(client):
    """新能源汽车 in MANIFEST.md: 2019, 2021, 2023, 2024 and two in 2025."""
    data = client.get("/api/search", query_string={"q": '"新能源汽车"', "facet_interval": "year"}).get_json()
    assert data["histogram"] == [{"value": "2019", "count": 1}, {"value": "2021", "count": 1},
                                 {"value": "2023", "count": 1}, {"value": "2024", "count": 1},
                                 {"value": "2025", "count": 2}]


def test_histogram_days_at_the_range_edges(client):
    base = {"q": "地铁", "facet_interval": "day"}
    one = client.get("/api/search", query_string={**base, "from": "2022-09-29", "to": "2022-09-29"}).get_json()
    assert one["histogram"] == [{"value": "2022-09-29", "count": 1}]
    both = client.get("/api/search", query_string={**base, "from": "2022-09-28", "to": "2022-09-29"}).get_json()
    assert both["histogram"] == [{"value": "2022-09-28", "count": 1}, {"value": "2022-09-29", "count": 1}]
    assert both["total"] == 1     # one story, two articles


def test_no_histogram_unless_asked(client):
    data = client.get("/api/search", query_string={"q": "江城"}).get_json()
    assert "histogram" not in data
    empty = client.get("/api/search", query_string={"q": "江城", "facet_interval": ""}).get_json()
    assert "histogram" not in empty


@pytest.mark.parametrize("value", ["week", "Day", "days", "YEAR", "1"])
def test_bad_facet_interval_is_a_400(client, value):
    resp = client.get("/api/search", query_string={"q": "江城", "facet_interval": value})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {"status": 400, "code": "invalid_parameter",
                                        "message": "`facet_interval` must be one of day, month, year",
                                        "parameter": "facet_interval"}


# -- /help ---------------------------------------------------------------------------------------

DOCUMENTED = ["支付宝小程序", '"小程序"', "银", "马拉松 -交通管制", "微博 OR 微信", "(支付宝 OR 银行) 江城",
              "title:马拉松", "author:何嘉宁", "source:江城日报 地铁", "channel:体育 马拉松", "台湾 银行"]


def help_page(client) -> str:
    resp = client.get("/help")
    assert resp.status_code == 200
    assert resp.content_type == "text/html; charset=utf-8"
    return resp.get_data(as_text=True)


def test_help_is_a_chinese_page_with_examples_from_the_index(client):
    html = help_page(client)
    assert 'lang="zh-CN"' in html
    assert "高级搜索语法" in html
    codes = {unescape(c) for c in re.findall(r"<code>(.*?)</code>", html)}
    # Chosen from the demo index: its most used keyword (江城) in every kind of example.
    assert {"江城", '"中小学"', "江", "江城 -号线", "江城 OR 号线", "title:江城", "author:梁静姝",
            "source:江城日报", "channel:科技 江城", "channel:-生活 江城"} <= codes
    assert '<a href="/search?q=%E6%B1%9F%E5%9F%8E&amp;from=2020-01-01&amp;to=2020-12-31">' in html
    # Developer notes live in the README, not on the readers' page.
    for text in ("BM25", "Jaccard", "README", "news-search", "demo-", "collapse=", "facet_interval", "/api/"):
        assert text not in html, text


def test_every_linked_help_example_finds_demo_articles(client):
    html = help_page(client)
    links = re.findall(r'<a href="([^"]*\?q=[^"]*)"><code>(.*?)</code></a>', html)
    assert len(links) >= len(DOCUMENTED)
    for href, code in links:
        q = parse_qs(urlsplit(unescape(href)).query)["q"][0]
        assert q == unescape(code)
        data = client.get("/api/search", query_string={"q": q}).get_json()
        assert data["ok"] is True and data["total"] > 0, q


# -- README "Query syntax" examples ----------------------------------------------------------------

S3102 = "http://www.example-portal.cn/cj/20200316/3102.html"


@pytest.mark.parametrize(("q", "expected"), [
    ("支付宝小程序", ["demo-001", "demo-002"]),
    ("江城 地铁 开通", ["demo-008+demo-007"]),
    ('"小程序"', ["demo-001", "demo-002"]),
    ('"银杏"', ["demo-019"]),
    ("马拉松 -交通管制", ["demo-017"]),
    ("NOT 交通管制 马拉松", ["demo-017"]),
    ("微博 OR 微信", ["demo-001"]),
    ("title:马拉松", ["demo-018", "demo-017"]),
    ("author:何嘉宁", ["demo-008+demo-007", "demo-002"]),
    ("source:江城日报 地铁", ["demo-007", "demo-027", "demo-018"]),
    ("channel:体育 马拉松", ["demo-017"]),
    ("臺灣 軟體", ["demo-003"]),
    ("Ａ股", ["demo-004", "demo-016"]),
])
def test_readme_query_examples(client, q, expected):
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    data = client.get("/api/search", query_string={"q": q}).get_json()
    got = [h["id"] + "".join(f"+{d}" for d in h["duplicate_ids"]) for h in data["hits"]]
    assert got == expected
    assert f"`{q}`" in readme or q.startswith("NOT ")


@pytest.mark.parametrize(("q", "total", "articles", "ids"), [
    ("银", 7, 8, None),
    ('银行 -"银行卡"', 5, 5, {"demo-002", "demo-003", "demo-015", "demo-030", S3102}),
    ("(支付宝 OR 银行) 江城", 5, 6, None),
    ("channel:-财经 新能源汽车", 4, 4, {"demo-031", "demo-032", "demo-033",
                                        "http://www.example-portal.cn/qc/20260308/3105.html"}),
    ("５Ｇ", 3, 3, {"demo-010", "demo-011", "demo-012"}),
])
def test_readme_query_counts(client, q, total, articles, ids):
    data = client.get("/api/search", query_string={"q": q}).get_json()
    assert (data["total"], data["total_articles"]) == (total, articles)
    if ids is not None:
        assert {h["id"] for h in data["hits"]} == ids


def test_related_command_names_the_keywords_too_common_to_count(demo_index):
    from click.testing import CliRunner

    from search_service.cli import main

    result = CliRunner().invoke(main, ["related", "demo-017", "--index-dir", str(demo_index)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("1 related to demo-017 (2024江城马拉松鸣枪开跑 三万名跑者穿越两江四岸), keywords: "
                        "跑者 马拉松 赛道 江城 鸣枪 选手 三万名 全程 (too common to count: 江城); showing 1-1.")
    assert lines[2].endswith("demo-018")
