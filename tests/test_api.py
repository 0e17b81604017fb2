"""The JSON API: envelopes for 200/400/404/405/500/503, the side endpoints, and live refresh."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from indexer.build import rebuild
from indexer.demo_data import demo_sources, demo_userdict
from search_service.app import create_app, search_index
from search_service.index import SearchIndex

CONTRACT_KEYS = {"ok", "query", "total", "page", "per_page", "took_ms", "hits", "facets", "suggestion"}
HIT_KEYS = {"id", "title", "title_html", "snippet_html", "url", "channel", "published", "author", "source", "score"}


def get_json(client, url: str, status: int = 200, method: str = "GET") -> dict[str, Any]:
    resp = client.open(url, method=method)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    text = resp.get_data(as_text=True)
    assert "<!doctype" not in text.lower() and "<html" not in text.lower()
    return json.loads(text)


def test_search_envelope(client) -> None:
    body = get_json(client, "/api/search?q=支付宝小程序")
    assert CONTRACT_KEYS <= set(body)
    assert body["ok"] is True
    assert body["query"] == {"q": "支付宝小程序", "channel": [], "from": None, "to": None, "author": None,
                             "source": None, "sort": "relevance", "page": 1, "per_page": 10, "collapse": True,
                             "facet_interval": None, "relax": True}
    assert (body["total"], body["page"], body["per_page"], body["suggestion"]) == (2, 1, 10, None)
    assert isinstance(body["took_ms"], (int, float)) and body["took_ms"] >= 0
    assert [h["id"] for h in body["hits"]] == ["demo-001", "demo-002"]
    first = body["hits"][0]
    assert HIT_KEYS <= set(first)
    assert {k: first[k] for k in ("title", "url", "channel", "published", "author", "source")} == {
        "title": "鲸帆科技押注支付宝小程序 中小商户开始“双端经营”",
        "url": "https://news.example.com/keji/20200918/1001.html",
        "channel": "科技", "published": "2020-09-18T10:26:00", "author": "沈清和", "source": "星河科技评论"}
    assert first["title_html"] == "鲸帆科技押注<mark>支付宝小程序</mark> 中小商户开始“双端经营”"
    assert set(body["facets"]) >= {"channel", "year", "month"}


def test_search_parameters_are_echoed(client) -> None:
    body = get_json(client, "/api/search?q=%20新能源汽车%20&channel=财经&channel=汽车&from=2021-01-01&to=2025-12-31"
                            "&author=梁静姝&sort=newest&page=1&per_page=5&collapse=false")
    assert body["query"] == {"q": "新能源汽车", "channel": ["财经", "汽车"], "from": "2021-01-01", "to": "2025-12-31",
                             "author": "梁静姝", "source": None, "sort": "newest", "page": 1, "per_page": 5,
                             "collapse": False, "facet_interval": None, "relax": True}
    assert [h["id"] for h in body["hits"]] == ["https://news.example.com/caijing/20250828/5003.html", "demo-016"]


def test_histogram(client) -> None:
    body = get_json(client, "/api/search?q=新能源汽车&facet_interval=year")
    assert body["histogram"] == [{"value": v, "count": c} for v, c in
                                 [("2019", 1), ("2021", 1), ("2023", 1), ("2024", 1), ("2025", 2), ("2026", 1)]]


LONG = "银" * 201


@pytest.mark.parametrize(("query", "param", "code", "message"), [
    ("", "q", "missing_parameter", "`q` is required: 1 to 200 characters of search text"),
    ("q=", "q", "missing_parameter", "`q` is required: 1 to 200 characters of search text"),
    ("q=%20%20%20", "q", "missing_parameter", "`q` is required: 1 to 200 characters of search text"),
    (f"q={LONG}", "q", "invalid_parameter", "`q` must be at most 200 characters after trimming, got 201"),
    ("q=a&q=b", "q", "invalid_parameter", "`q` may be given only once"),
    ("q=a%00b", "q", "invalid_parameter", "`q` must not contain NUL characters"),
    ("q=a&per_page=0", "per_page", "invalid_parameter", "`per_page` must be in 1..50, got 0"),
    ("q=a&per_page=51", "per_page", "invalid_parameter", "`per_page` must be in 1..50, got 51"),
    ("q=a&per_page=ten", "per_page", "invalid_parameter", "`per_page` must be a whole number, got 'ten'"),
    ("q=a&per_page=2.5", "per_page", "invalid_parameter", "`per_page` must be a whole number, got '2.5'"),
    ("q=a&per_page=inf", "per_page", "invalid_parameter", "`per_page` must be a whole number, got 'inf'"),
    ("q=a&page=0", "page", "invalid_parameter", "`page` must be >= 1, got 0"),
    ("q=a&page=-3", "page", "invalid_parameter", "`page` must be >= 1, got -3"),
    ("q=a&page=x", "page", "invalid_parameter", "`page` must be a whole number, got 'x'"),
    ("q=a&page=1001", "page", "invalid_parameter",
     "`page` * `per_page` must be at most 10,000: narrow the query or the date range instead of paging this deep"),
    ("q=a&page=201&per_page=50", "page", "invalid_parameter",
     "`page` * `per_page` must be at most 10,000: narrow the query or the date range instead of paging this deep"),
    ("q=a&page=99999999999999999999999", "page", "invalid_parameter",
     "`page` * `per_page` must be at most 10,000: narrow the query or the date range instead of paging this deep"),
    ("q=a&from=2020-13-01", "from", "invalid_parameter", "`from` must be a date as YYYY-MM-DD, got '2020-13-01'"),
    ("q=a&from=yesterday", "from", "invalid_parameter", "`from` must be a date as YYYY-MM-DD, got 'yesterday'"),
    ("q=a&to=2021-02-30", "to", "invalid_parameter", "`to` must be a date as YYYY-MM-DD, got '2021-02-30'"),
    ("q=a&from=2021-01-01&to=2020-01-01", "from", "invalid_parameter",
     "`from` (2021-01-01) must not be after `to` (2020-01-01)"),
    ("q=a&sort=best", "sort", "invalid_parameter", "`sort` must be one of relevance, newest, oldest, got 'best'"),
    ("q=a&sort=newest&sort=oldest", "sort", "invalid_parameter", "`sort` may be given only once"),
    ("q=a&collapse=maybe", "collapse", "invalid_parameter", "`collapse` must be true or false, got 'maybe'"),
    ("q=a&facet_interval=week", "facet_interval", "invalid_parameter",
     "`facet_interval` must be one of day, month, year"),
    (f"q=a&author={LONG}", "author", "invalid_parameter", "`author` must be at most 200 characters"),
    ("q=a" + "&channel=c" * 21, "channel", "invalid_parameter",
     "`channel` takes at most 20 values of at most 50 characters"),
])
def test_bad_parameters(client, query: str, param: str, code: str, message: str) -> None:
    body = get_json(client, "/api/search?" + query, 400)
    assert body == {"ok": False, "error": {"status": 400, "code": code, "message": message, "parameter": param}}


@pytest.mark.parametrize("date", ["20200101", "2020-W01-1", "2020-1-1", " 2020-01-01T00:00"])
def test_dates_must_be_yyyy_mm_dd(client, date: str) -> None:
    body = get_json(client, "/api/search?q=a&from=" + date, 400)
    assert body["error"]["parameter"] == "from"


def test_page_past_the_end_is_empty_not_an_error(client) -> None:
    body = get_json(client, "/api/search?q=银&per_page=5&page=7")
    assert (body["hits"], body["total"], body["page"]) == ([], 7, 7)


def test_articles(client) -> None:
    body = get_json(client, "/api/articles/demo-009")
    article = body["article"]
    assert body["ok"] is True
    assert article["title"] == "K&S安全实验室披露点评平台XSS漏洞 用户昵称可被植入恶意脚本"
    assert "<script>alert(1)</script>" in article["body"]   # stored text, JSON-encoded, never HTML
    assert (article["channel"], article["published"], article["author"], article["source"]) == \
        ("科技", "2023-03-22T16:18:00", "沈清和", "星河科技评论")
    # ids that are URLs work as paths
    url_id = "https://news.example.com/keji/20240312/5001.html"
    assert get_json(client, "/api/articles/" + url_id)["article"]["id"] == url_id


@pytest.mark.parametrize(("url", "message"), [
    ("/api/articles/demo-999", "no article with id 'demo-999': search for it with /api/search?q=..."),
    ("/api/articles/demo-999/related", "no article with id 'demo-999': search for it with /api/search?q=..."),
    ("/api/nothing-here", "no such endpoint: see /api/openapi.json for what this service offers"),
    ("/api/", "no such endpoint: see /api/openapi.json for what this service offers"),
    ("/api/articles/", "no such endpoint: see /api/openapi.json for what this service offers"),
])
def test_not_found(client, url: str, message: str) -> None:
    assert get_json(client, url, 404) == {"ok": False, "error": {"status": 404, "code": "not_found", "message": message}}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("url", ["/api/search?q=a", "/api/stats", "/api/articles/demo-001", "/healthz"])
def test_method_not_allowed(client, method: str, url: str) -> None:
    body = get_json(client, url, 405, method=method)
    assert body == {"ok": False, "error": {"status": 405, "code": "method_not_allowed",
                                           "message": f"method {method} is not allowed here: use GET"}}


def test_stats_and_health(client) -> None:
    stats = get_json(client, "/api/stats")
    assert stats["ok"] is True
    assert stats["documents"] == 50
    assert stats["channels"] == [{"value": v, "count": c} for v, c in [
        ("科技", 8), ("新闻", 7), ("财经", 7), ("体育", 6), ("汽车", 6), ("生活", 6), ("房产", 5), ("教育", 5)]]
    assert stats["date_range"] == {"from": "2019-04-21T22:15:00", "to": "2026-03-08T11:20:45"}
    assert (stats["segments"], stats["previous_generation"]) == (1, None)
    assert "notes" not in stats and "dictionaries" not in stats  # server file paths stay in the CLI
    health = get_json(client, "/healthz")
    assert (health["ok"], health["documents"], health["generation"]) == (True, 50, stats["generation"])
    assert health["generation"].startswith("gen-")


def test_unexpected_errors_use_the_envelope(demo_index: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False})

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret detail")

    resp = app.test_client().get("/api/boom")
    assert resp.status_code == 500 and resp.mimetype == "application/json"
    assert resp.get_json() == {"ok": False, "error": {
        "status": 500, "code": "internal_error",
        "message": "internal error: the request was logged; try again, or report it with the request URL"}}
    assert "secret detail" not in resp.get_data(as_text=True)


def test_no_index_is_503(tmp_path: Path) -> None:
    client = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "QUERY_LOG": False}).test_client()
    for url in ("/api/search?q=a", "/healthz", "/api/stats", "/api/articles/demo-001"):
        body = get_json(client, url, 503)
        assert (body["ok"], body["error"]["status"], body["error"]["code"]) == (False, 503, "index_unavailable")
    # parameters are still checked first-class
    assert get_json(client, "/api/search", 400)["error"]["parameter"] == "q"


# -- refresh without a restart ------------------------------------------------------------------

def _extra_source(tmp_path: Path) -> Path:
    src = tmp_path / "extra.jsonl"
    row = {"id": "new-001", "title": "江城开通首条无人驾驶公交线路", "channel": "汽车", "published": "2026-05-01 09:00:00",
           "body": "江城首条无人驾驶公交线路今天开通试运营，全程十二公里，设站十个。" * 3, "source": "江城日报", "author": "罗晨"}
    src.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    return src


def test_app_picks_up_a_new_generation(demo_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(demo_index, index_dir)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False, "INDEX_CHECK_INTERVAL": 0.05})
    client = app.test_client()
    before = get_json(client, "/healthz")
    assert before["documents"] == 50
    # relax=false: every word required (otherwise articles with one of them are offered)
    assert get_json(client, "/api/search?q=无人驾驶公交&relax=false")["total"] == 0
    held = search_index(app).snapshot()   # a request in flight keeps its snapshot

    rebuild([*demo_sources(), str(_extra_source(tmp_path))], index_dir, userdict=str(demo_userdict()), procs=1)
    time.sleep(0.1)
    after = get_json(client, "/healthz")
    assert after["documents"] == 51 and after["generation"] != before["generation"]
    body = get_json(client, "/api/search?q=无人驾驶公交&relax=false")
    assert [h["id"] for h in body["hits"]] == ["new-001"]
    assert get_json(client, "/api/articles/new-001")["article"]["channel"] == "汽车"
    # the old snapshot still answers for the request that holds it
    assert held.gen.name == before["generation"] and len(held.live_docs) == 50
    assert held.stored(0)["id"]


def test_search_index_keeps_answering_during_rebuilds(demo_index: Path, tmp_path: Path) -> None:
    from search_service import core
    from search_service.params import parse_search_params

    index_dir = tmp_path / "index"
    shutil.copytree(demo_index, index_dir)
    index = SearchIndex(index_dir, check_interval=0)
    params = parse_search_params({"q": ["马拉松"]})
    assert core.search(index, params)["total"] == 2
    for n in range(2):
        rebuild(demo_sources(), index_dir, userdict=str(demo_userdict()), procs=1)
        result = core.search(index, params)
        assert result["total"] == 2 and result["generation"] == index.store.require_current().name


@pytest.mark.parametrize("url", ["/api/search", "/api/stats", "/healthz", "/api/articles/demo-001"])
def test_options_answers_json(client, url: str) -> None:
    resp = client.options(url)
    assert (resp.status_code, resp.mimetype) == (200, "application/json")
    assert resp.get_json() == {"ok": True, "methods": ["GET", "HEAD", "OPTIONS"]}


def test_unknown_long_id_is_not_echoed_whole(client) -> None:
    body = get_json(client, "/api/articles/" + "x" * 3000, 404)
    assert body["error"]["message"] == f"no article with id {'x' * 100!r}: search for it with /api/search?q=..."
