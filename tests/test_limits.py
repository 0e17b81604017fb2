"""Limits of the service: parameter caps, the per-search time budget, request size, rate limiting.

Every refusal is a 4xx in the JSON envelope under /api/ (never a 500 or a hang).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from search_service import core, deadline
from search_service.app import create_app
from search_service.index import SearchIndex
from search_service.params import (
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_RESULT_WINDOW,
    parse_search_params,
)


def _error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["ok"] is False and body["error"]["status"] == status
    return body["error"]


# -- parameter caps (params.py) ---------------------------------------------------------------
def test_caps_have_the_documented_values() -> None:
    assert (MAX_QUERY_CHARS, MAX_PER_PAGE, MAX_RESULT_WINDOW) == (200, 50, 10_000)


@pytest.mark.parametrize("query", [
    "q=" + "支" * 200,
    "q=x&per_page=50",
    "q=x&page=200&per_page=50",        # exactly 10,000
    "q=x&page=10000&per_page=1",
    "q=x&author=" + "a" * 200,
])
def test_at_the_caps_is_accepted(client, query: str) -> None:
    resp = client.get("/api/search?" + query)
    assert resp.status_code == 200
    assert resp.get_json()["ok"] is True


@pytest.mark.parametrize("query, parameter", [
    ("q=" + "支" * 201, "q"),
    ("q=" + "x" * 201, "q"),
    ("q=x&per_page=51", "per_page"),
    ("q=x&per_page=0", "per_page"),
    ("q=x&page=0", "page"),
    ("q=x&page=201&per_page=50", "page"),      # 10,050 > 10,000
    ("q=x&page=10001&per_page=1", "page"),
    ("q=x&page=99999999999999999999", "page"),
    ("q=x&author=" + "a" * 201, "author"),
    ("q=x&source=" + "a" * 201, "source"),
    ("q=x" + "&channel=c" * 21, "channel"),
    ("q=x&channel=" + "c" * 51, "channel"),
])
def test_beyond_the_caps_is_a_400_naming_the_parameter(client, query: str, parameter: str) -> None:
    err = _error(client.get("/api/search?" + query), 400)
    assert err["parameter"] == parameter


def test_deep_paging_message_says_what_to_do_instead(client) -> None:
    err = _error(client.get("/api/search?q=x&page=201&per_page=50"), 400)
    assert "10,000" in err["message"] and "narrow the query" in err["message"]


# -- the per-search time budget (deadline.py) -------------------------------------------------
# A budget of a nanosecond has run out before the first scan starts, so every substring scan
# stops at its first check: deterministic partial results without timing assumptions.
EXPIRED = 1e-6


def _search(index_dir: Path, q: str, limit_ms: float | None, **extra: str) -> dict:
    fresh = SearchIndex(index_dir)  # a fresh snapshot: nothing cached from other tests
    core.warm(fresh.snapshot())  # as a server does: reprint groups are built before the first search
    return core.search(fresh, parse_search_params({"q": [q], **{k: [v] for k, v in extra.items()}}),
                       time_limit_ms=limit_ms)


def test_unlimited_search_is_complete_and_says_so(demo_index: Path) -> None:
    result = _search(demo_index, '"支付宝"', None)
    assert result["timed_out"] is False
    assert result["total"] == 2


@pytest.mark.parametrize("q", ['"支付宝"', '"的"', "title:\"支付宝\"", '"支付宝" OR "微信"'])
def test_out_of_time_search_returns_a_flagged_subset(demo_index: Path, q: str) -> None:
    full = _search(demo_index, q, None)
    cut = _search(demo_index, q, EXPIRED)
    assert full["timed_out"] is False and full["total"] > 0
    assert cut["timed_out"] is True
    assert cut["ok"] is True and cut["total"] < full["total"]
    assert {h["id"] for h in cut["hits"]} <= {h["id"] for h in full["hits"]} | {
        h["id"] for h in _search(demo_index, q, None, per_page="50")["hits"]}
    assert cut["suggestion"] is None  # no did-you-mean work once out of time


@pytest.mark.parametrize("q", ['支付宝 -"不存在的字串"', '支付宝 NOT "不存在的字串"'])
def test_an_exclusion_cut_short_excludes_everything(demo_index: Path, q: str) -> None:
    # The exclusion matches nothing, so the full answer is every 支付宝 article; cut short it
    # would have let through articles it had not checked, so the partial answer is empty.
    full = _search(demo_index, q, None)
    cut = _search(demo_index, q, EXPIRED)
    assert full["total"] == 2 and full["timed_out"] is False
    assert (cut["total"], cut["hits"], cut["timed_out"]) == (0, [], True)


def test_a_partial_result_is_never_cached(demo_index: Path) -> None:
    index = SearchIndex(demo_index)
    params = parse_search_params({"q": ['"支付宝"']})
    cut = core.search(index, params, time_limit_ms=EXPIRED)
    again = core.search(index, params)
    assert cut["timed_out"] is True and cut["total"] == 0
    assert again["timed_out"] is False and again["total"] == 2
    # ...and a complete result, once cached, is served even under a tight budget.
    cached = core.search(index, params, time_limit_ms=EXPIRED)
    assert cached["timed_out"] is False and cached["total"] == 2


def test_word_queries_need_no_scan_and_finish_within_any_budget(demo_index: Path) -> None:
    # Words found in the index come from postings, not the scan: nothing to cut.
    result = _search(demo_index, "支付宝", EXPIRED)
    assert (result["total"], result["timed_out"]) == (2, False)


def test_scan_stops_midway_once_the_deadline_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadline, "CHECK_EVERY", 10)

    def slow_keep(x: int) -> bool:
        time.sleep(0.001)
        return True

    with deadline.budget(30) as b:
        found, complete = deadline.scan(range(100_000), slow_keep)
    assert complete is False and b.timed_out is True
    assert 0 < len(found) < 100_000
    assert found == list(range(len(found)))  # a prefix, in order


def test_scan_outside_any_budget_is_complete() -> None:
    assert deadline.scan(range(10), lambda x: x % 3 == 0) == ([0, 3, 6, 9], True)
    assert deadline.expired() is False and deadline.timed_out() is False


def test_api_reports_timed_out(demo_index: Path) -> None:
    limited = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                          "SEARCH_TIME_LIMIT_MS": EXPIRED}).test_client()
    body = limited.get('/api/search?q="的"').get_json()
    assert body["ok"] is True and body["timed_out"] is True
    default = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False})
    assert default.config["SEARCH_TIME_LIMIT_MS"] == 2000
    body = default.test_client().get('/api/search?q="的"').get_json()
    assert body["timed_out"] is False and body["total"] == 48


def test_time_limit_from_the_environment(demo_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_SEARCH_SEARCH_TIME_LIMIT_MS", "750")
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False})
    assert app.config["SEARCH_TIME_LIMIT_MS"] == 750


# -- no prefix/wildcard expansion -------------------------------------------------------------
@pytest.mark.parametrize("q, same_as", [("支*", "支"), ("支付宝*", "支付宝"), ("支付?", "支付")])
def test_wildcards_are_plain_characters_not_expansions(client, q: str, same_as: str) -> None:
    # The query language has no prefix or wildcard syntax: `*` and `?` never expand to terms.
    got = client.get("/api/search", query_string={"q": q}).get_json()
    plain = client.get("/api/search", query_string={"q": same_as}).get_json()
    assert got["ok"] is True and got["total"] == plain["total"] > 0


@pytest.mark.parametrize("q", ["*", "?", "**"])
def test_a_lone_wildcard_matches_nothing(client, q: str) -> None:
    body = client.get("/api/search", query_string={"q": q}).get_json()
    assert (body["ok"], body["total"], body["hits"]) == (True, 0, [])


def test_suggest_prefix_expansion_is_bounded(client) -> None:
    body = client.get("/api/suggest", query_string={"q": "中", "limit": "1000"})
    assert body.status_code == 400  # the limit itself is capped
    found = client.get("/api/suggest", query_string={"q": "中"}).get_json()
    assert len(found["suggestions"]) <= 10


# -- request size -----------------------------------------------------------------------------
def test_body_over_max_content_length_is_413_envelope(client, app) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 64 * 1024
    assert client.get("/api/search?q=x", data=b"a" * limit).status_code == 200
    err = _error(client.get("/api/search?q=x", data=b"a" * (limit + 1)), 413)
    assert err["code"] == "request_too_large" and "65,536 bytes" in err["message"]
    # POST with a big body: refused for size before the method is even considered.
    assert _error(client.post("/api/search", data=b"a" * (limit + 1)), 413)["code"] == "request_too_large"


def test_body_over_limit_on_a_page_is_413_html(client, app) -> None:
    resp = client.get("/help", data=b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert resp.status_code == 413 and resp.mimetype == "text/html"


def test_query_string_over_16k_is_414_envelope(client) -> None:
    err = _error(client.get("/api/search?q=x&pad=" + "a" * (16 * 1024)), 414)
    assert err["code"] == "uri_too_long" and "16,384 bytes" in err["message"]


# -- rate limiting ----------------------------------------------------------------------------
@pytest.fixture()
def limited_client(demo_index: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "3 per minute"})
    return app.test_client()


def test_rate_limit_answers_429_in_the_envelope(limited_client) -> None:
    for _ in range(3):
        assert limited_client.get("/api/search?q=支付宝").status_code == 200
    resp = limited_client.get("/api/search?q=支付宝")
    err = _error(resp, 429)
    assert err["code"] == "rate_limited" and "3 per 1 minute" in err["message"]
    assert 0 < int(resp.headers["Retry-After"]) <= 60


def test_rate_limit_counts_all_paths_of_one_client_together(limited_client) -> None:
    for path in ("/api/search?q=x", "/api/stats", "/help"):
        assert limited_client.get(path).status_code == 200
    assert _error(limited_client.get("/api/openapi.json"), 429)["code"] == "rate_limited"
    page = limited_client.get("/help")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "请求过于频繁" in page.get_data(as_text=True)


def test_rate_limit_is_per_client_and_spares_healthz(limited_client) -> None:
    for _ in range(4):
        limited_client.get("/api/search?q=x")
    assert limited_client.get("/api/search?q=x").status_code == 429
    other = limited_client.get("/api/search?q=x", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200
    for _ in range(5):
        assert limited_client.get("/healthz").status_code == 200


def test_rate_limiting_is_off_by_default(client, app) -> None:
    assert app.config["RATELIMIT_ENABLED"] is False and app.config["RATELIMIT_DEFAULT"] == "120 per minute"
    for _ in range(130):
        assert client.get("/healthz").status_code == 200
    for _ in range(130):
        assert client.get("/api/search?q=支付宝").status_code == 200


def test_rate_limit_from_the_environment(demo_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_SEARCH_RATELIMIT_ENABLED", "true")
    monkeypatch.setenv("NEWS_SEARCH_RATELIMIT_DEFAULT", "1 per minute")
    c = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False}).test_client()
    assert c.get("/api/search?q=x").status_code == 200
    assert _error(c.get("/api/search?q=x"), 429)["code"] == "rate_limited"


@pytest.mark.parametrize("url", ['/search?q="的"', '/search.atom?q="的"', '/search?q=支付宝 -"的"'])
def test_pages_and_feeds_answer_partial_results(demo_index: Path, url: str) -> None:
    limited = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                          "SEARCH_TIME_LIMIT_MS": EXPIRED}).test_client()
    assert limited.get(url).status_code == 200
