"""Suggestions while typing (/api/suggest), did-you-mean corrections and hot searches (/api/hot).

Words and titles come from the demo articles (indexer/demo/MANIFEST.md and userdict.txt):
支付宝 (demo-001, demo-002), 澜舟星图 (demo-004..006), 马拉松 (demo-017, demo-018),
云栖湾 (demo-027 and the 2025 scraped article), 鲸帆科技 (demo-001).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from search_service import suggest
from search_service.app import create_app
from search_service.services import services


def suggestions(client, q: str, **extra: str) -> list[str]:
    resp = client.get("/api/suggest", query_string={"q": q, **extra})
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["ok"] is True
    return data["suggestions"]


@pytest.mark.parametrize("typed, first", [
    ("zfb", "支付宝"),       # pinyin initials
    ("zhifu", "支付宝"),     # pinyin prefix
    ("ＺＦＢ", "支付宝"),     # full-width Latin is folded first
    ("lzxt", "澜舟星图"),    # a user-dictionary word by initials
    ("mls", "马拉松"),
    ("支付", "支付宝"),      # prefix of a word
    ("馬拉", "马拉松"),      # traditional input
])
def test_suggest_first_choice(client, typed, first):
    assert suggestions(client, typed)[0] == first


def test_suggest_offers_words_then_titles(client):
    assert suggestions(client, "鲸帆") == ["鲸帆科技", "鲸帆科技押注支付宝小程序 中小商户开始“双端经营”"]
    assert suggestions(client, "zfb") == ["支付宝"]


def test_suggest_limit(client):
    assert len(suggestions(client, "江", limit="3")) == 3
    assert len(suggestions(client, "江")) == 8


@pytest.mark.parametrize("q", ["", "   ", "量子引力纠缠", "<b>"])
def test_suggest_nothing(client, q):
    assert suggestions(client, q) == []


@pytest.mark.parametrize("query, param", [
    ({"q": "江", "limit": "0"}, "limit"), ({"q": "江", "limit": "many"}, "limit"),
    ({"q": "x" * 201}, "q"), ({"q": "江", "format": "xml"}, "format"),
])
def test_suggest_bad_parameters(client, query, param):
    resp = client.get("/api/suggest", query_string=query)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["ok"] is False and body["error"]["parameter"] == param and body["error"]["code"] == "invalid_parameter"


def test_opensearch_suggestion_format_is_escaped(client):
    resp = client.get("/api/suggest", query_string={"q": "zfb", "format": "opensearch"})
    assert resp.content_type == "application/x-suggestions+json"
    assert resp.get_json() == ["zfb", ["支付宝"]]
    raw = client.get("/api/suggest", query_string={"q": "<img src=x>", "format": "opensearch"}).data.decode()
    assert "<" not in raw and raw.startswith('["\\u003cimg src=x\\u003e",')


# -- did you mean ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed, fixed, total", [
    ("支付包", "支付宝", 2),            # homophone typo
    ("zhifubao", "支付宝", 2),          # typed in pinyin
    ("支付包 小程序", "支付宝 小程序", 2),  # only the mistyped word changes
    ("雲棲彎", "云栖湾", 2),            # traditional script with a homophone
    ("瀾舟星途", "澜舟星图", 3),
    ("zfb", "支付宝", 2),               # pinyin initials, as in the suggest box
    ("lzxt", "澜舟星图", 3),
    ("mls", "马拉松", 2),
])
def test_did_you_mean_in_the_api(client, typed, fixed, total):
    # correct=false: the query as typed, with its suggestion (without it, the suggestion's results
    # are answered, flagged `corrected`)
    data = client.get("/api/search", query_string={"q": typed, "correct": "false"}).get_json()
    assert (data["total"], data["suggestion"]) == (0, {"q": fixed, "total": total})
    auto = client.get("/api/search", query_string={"q": typed}).get_json()
    assert (auto["total"], auto["corrected"]["to"]) == (total, fixed)
    # The correction really finds that many.
    assert client.get("/api/search", query_string={"q": fixed}).get_json()["total"] == total


@pytest.mark.parametrize("q", ["支付宝", "马拉松", "量子引力", "xyzzy", "abcdef"])
def test_no_suggestion_when_nothing_better(client, q):
    assert client.get("/api/search", query_string={"q": q}).get_json()["suggestion"] is None


def test_did_you_mean_respects_filters(client):
    # 支付宝 appears only in 科技 and 生活: in 体育 the correction finds nothing more, so none is offered.
    data = client.get("/api/search", query_string={"q": "支付包", "channel": "体育"}).get_json()
    assert data["suggestion"] is None and data["corrected"] is None
    data = client.get("/api/search", query_string={"q": "支付包", "channel": "科技", "correct": "false"}).get_json()
    assert data["suggestion"] == {"q": "支付宝", "total": 1}


def test_corrections_keep_query_syntax(search_index):
    data = suggest.suggest_data(search_index.snapshot())
    assert suggest.corrections(data, '支付包 -"小程序"') == ['支付宝 -"小程序"']
    assert suggest.corrections(data, "支付宝") == []


def test_syllables_ignore_tones():
    assert suggest.syllables("支付包") == ("zhi", "fu", "bao") == suggest.syllables("支付宝")
    assert suggest.fuzzy(("zhi", "shang", "lan")) == ("zi", "san", "nan")


# -- hot searches ---------------------------------------------------------------------------
@pytest.fixture()
def logging_app(demo_index: Path, tmp_path: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
                      "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3")})
    yield app
    services(app).query_log.close()


def _search_from(c, q: str, visitor: str, path: str = "/search", **args: str) -> None:
    resp = c.get(path, query_string={"q": q, **args}, environ_base={"REMOTE_ADDR": visitor})
    assert resp.status_code == 200


def test_hot_after_logged_searches(logging_app):
    c = logging_app.test_client()
    # Distinct visitors per query (each from its own address), the threshold being 5 visitors.
    for q, n in (("马拉松", 7), ("江城马拉松", 5), ("云栖湾", 5), ("alice@example.com", 6), ("13812345678", 5),
                 ("地铁", 4), ("量子引力", 5)):
        for v in range(n):
            _search_from(c, q, f"10.0.0.{v}")
    for v in range(5):
        _search_from(c, "马拉松", f"10.0.1.{v}", page="2")  # not a new search
        _search_from(c, "地铁", f"10.0.1.{v}", path="/api/search")  # API calls are not counted
    hot = c.get("/api/hot").get_json()
    # Personal data is never logged; 地铁 has 4 visitors (below 5); 量子引力 finds nothing, so it
    # is not worth offering to others.
    assert hot == {"ok": True, "days": 7, "enabled": True, "queries": [
        {"q": "马拉松", "count": 7}, {"q": "云栖湾", "count": 5}, {"q": "江城马拉松", "count": 5}]}
    assert c.get("/api/hot?limit=1").get_json()["queries"] == [{"q": "马拉松", "count": 7}]
    # Frequent queries that found something come first among suggestions, also by pinyin initials.
    assert suggestions(c, "江城马")[0] == "江城马拉松"
    assert suggestions(c, "jcmls")[0] == "江城马拉松"
    assert "量子引力" not in suggestions(c, "量子")


def test_api_searches_count_when_configured(demo_index: Path, tmp_path: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True, "HOT_COUNT_API": True,
                      "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3")})
    c = app.test_client()
    for v in range(5):
        _search_from(c, "地铁", f"10.0.1.{v}", path="/api/search")
    assert c.get("/api/hot").get_json()["queries"] == [{"q": "地铁", "count": 5}]
    services(app).query_log.close()


@pytest.mark.parametrize("query", ["days=0", "days=91", "limit=51", "limit=x"])
def test_hot_bad_parameters(client, query):
    resp = client.get("/api/hot?" + query)
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == query.split("=")[0]


def test_query_log_privacy_and_bounds(tmp_path: Path):
    from datetime import date, timedelta

    from search_service.querylog import QueryLog

    qlog = QueryLog(tmp_path / "log.sqlite3", retention_days=30, max_rows=3)
    assert qlog.record("  江城   地铁 ", 5) is True
    assert qlog.record("call 138-1234-5678", 1) is False
    assert qlog.record("x" * 65, 1) is False
    old = date.today() - timedelta(days=40)
    assert qlog.record("旧新闻", 1, day=old) is True
    for i in range(4):
        qlog.record(f"词{i}", 1, day=date.today() - timedelta(days=i + 1))
    qlog.prune()
    assert qlog.row_count() == 3
    assert [q for q, _ in qlog.frequent(30)] == ["江城 地铁", "词0", "词1"]
    qlog.close()


# -- suggestion items: kind, archive spelling, typed part, last word -----------------------------
def items(client, q: str) -> list[dict]:
    data = client.get("/api/suggest", query_string={"q": q}).get_json()
    assert data["suggestions"] == [i["text"] for i in data["items"]]
    return data["items"]


def test_items_say_what_each_suggestion_is(client):
    got = items(client, "江城")
    assert got[0] == {"text": "江城", "kind": "word", "match": 2}
    kinds = [i["kind"] for i in got]
    assert "title" in kinds and kinds == sorted(kinds, key=["query", "word", "title"].index)
    assert all(i["text"].startswith("江城") and i["match"] == 2 for i in got)


@pytest.mark.parametrize("typed, first", [
    ("5g", {"text": "5G", "kind": "word", "match": 2}),          # the archive's spelling, not the folded 5g
    ("zfb", {"text": "支付宝", "kind": "word", "match": 0}),      # pinyin initials: nothing typed to bold
    ("江城 马", {"text": "江城 马拉松", "kind": "word", "match": 4}),  # the last word completed
])
def test_items_first_suggestion(client, typed, first):
    assert items(client, typed)[0] == first


def test_unfinished_earlier_words_are_completed_too(search_index):
    from search_service import suggest_items

    got = suggest_items.items(search_index.snapshot(), "江 马拉")
    assert got and all(i["text"].startswith("江城 马拉") for i in got)
    assert got[0]["match"] == 1  # only 江 was typed as shown
