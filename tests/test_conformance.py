"""One API suite over both engines: the same demo articles in the Whoosh index and in 3 local
Xapian shards (and in remote shards when NEWS_SEARCH_TEST_XAPIAN_SHARDS is set; under CI=true
its absence fails). Exact queries must give the same hits, totals, facets and date order."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

xapian = pytest.importorskip("xapian")

from indexer.demo_data import demo_sources, demo_userdict  # noqa: E402

ENGINES = ["whoosh", "xapian", "xapian-remote"]
QUERIES = ["江城", "城", "5g", '"江城日报"', "科技 OR 体育", "江城 -科技", "(科技 OR 体育) 江城", "title:江城",
           "channel:科技 江城", "江城 NOT 日报"]


@pytest.fixture(scope="session")
def xapian_shards(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from indexer import xapian_store

    root = tmp_path_factory.mktemp("xapian_shards")
    specs = [str(root / f"s{i}") for i in range(3)]
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1)
    return specs


def remote_demo_shards(remote: str) -> str:
    """The demo articles rebuilt onto the xapian-tcpsrv shards CI starts (a new generation each session,
    switched on every shard as `news-search rebuild` does)."""
    from indexer import xapian_store

    specs = remote.split(",")
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1, allow_shrink=True)
    return ",".join(specs)


@pytest.fixture(scope="session", params=ENGINES)
def engine_client(request, demo_index: Path, xapian_shards: list[str]):
    from search_service.app import create_app

    config = {"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False}
    if request.param == "xapian":
        config.update(ENGINE="xapian", XAPIAN_SHARDS=",".join(xapian_shards))
    elif request.param == "xapian-remote":
        remote = os.environ.get("NEWS_SEARCH_TEST_XAPIAN_SHARDS")
        if not remote:
            if os.environ.get("CI") == "true":
                pytest.fail("CI=true: NEWS_SEARCH_TEST_XAPIAN_SHARDS must name the shards .ci/services/xapian.sh starts")
            pytest.skip("NEWS_SEARCH_TEST_XAPIAN_SHARDS not set (remote xapian-tcpsrv shards)")
        config.update(ENGINE="xapian", XAPIAN_SHARDS=remote_demo_shards(remote))
    return create_app(config).test_client()


@pytest.fixture(scope="session")
def whoosh_client(demo_index: Path):
    from search_service.app import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False}).test_client()


def _get(client, query: str) -> dict:
    resp = client.get(query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("extra", ["", "&sort=newest", "&sort=oldest", "&collapse=false", "&channel=科技",
                                   "&from=2024-01-01&to=2026-12-31"])
def test_same_hits_totals_and_facets(engine_client, whoosh_client, q: str, extra: str) -> None:
    url = f"/api/search?q={q}&per_page=50{extra}"
    got, want = _get(engine_client, url), _get(whoosh_client, url)
    assert got["total"] == want["total"]
    assert got["total_articles"] == want["total_articles"]
    assert sorted(h["id"] for h in got["hits"]) == sorted(h["id"] for h in want["hits"])
    assert got["facets"] == want["facets"]
    assert got["partial"] is False and got["missing_shards"] == []
    if "sort=" in extra:  # ties on the same second may differ in order: compare the dates
        assert [h["published"] for h in got["hits"]] == [h["published"] for h in want["hits"]]


@pytest.mark.parametrize("page", [1, 2, 3])
def test_paging(engine_client, whoosh_client, page: int) -> None:
    url = f"/api/search?q=城&per_page=5&page={page}&sort=newest"
    got, want = _get(engine_client, url), _get(whoosh_client, url)
    assert got["pages"] == want["pages"] and len(got["hits"]) == len(want["hits"]) == 5
    assert [h["published"] for h in got["hits"]] == [h["published"] for h in want["hits"]]


@pytest.mark.parametrize("q,needle", [("江城", "江城"), ("5g", "5G"), ('"城"', "城")])
def test_highlights_contain_the_query(engine_client, q: str, needle: str) -> None:
    hits = _get(engine_client, f"/api/search?q={q}")["hits"]
    assert hits
    assert all(f"<mark>{needle}".lower() in (h["title_html"] + h["snippet_html"]).lower() for h in hits)


@pytest.mark.parametrize("url,param", [("/api/search?q=", "q"), ("/api/search?q=a&sort=best", "sort"),
                                       ("/api/search?q=a&page=0", "page"), ("/api/search?q=a&from=2024-13-01", "from")])
def test_bad_parameters_are_400(engine_client, url: str, param: str) -> None:
    resp = engine_client.get(url)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] == param


def test_article_and_stats(engine_client, whoosh_client) -> None:
    first = _get(whoosh_client, "/api/search?q=江城")["hits"][0]["id"]
    assert _get(engine_client, f"/api/articles/{first}")["article"] == _get(whoosh_client, f"/api/articles/{first}")["article"]
    got, want = _get(engine_client, "/api/stats"), _get(whoosh_client, "/api/stats")
    assert (got["documents"], got["channels"], got["date_range"]) == (want["documents"], want["channels"], want["date_range"])


def test_missing_shard_is_partial_or_503(tmp_path: Path, demo_index: Path) -> None:
    from indexer import xapian_store
    from search_service.app import create_app

    specs = [str(tmp_path / f"s{i}") for i in range(3)]
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1)
    down = "127.0.0.1:9"  # the discard port: nothing listens
    for partial, status in ((True, 200), (False, 503)):
        client = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False, "ENGINE": "xapian",
                             "XAPIAN_SHARDS": ",".join([*specs, down]), "XAPIAN_TIMEOUT_MS": 300,
                             "XAPIAN_PARTIAL": partial}).test_client()
        resp = client.get("/api/search?q=江城")
        assert resp.status_code == status
        body = resp.get_json()
        if partial:
            assert body["partial"] is True and body["missing_shards"] == [down] and body["total"] == 34
        else:
            assert body["error"]["code"] == "shards_unavailable"


def test_readyz_and_metrics(engine_client, whoosh_client) -> None:
    got, want = _get(engine_client, "/readyz"), _get(whoosh_client, "/readyz")
    assert got["ready"] is True and got["documents"] == want["documents"] > 0
    assert got["generation"] == _get(engine_client, "/api/stats")["generation"]
    text = engine_client.get("/metrics").get_data(as_text=True)
    assert f"news_search_documents {float(want['documents'])}" in text
    assert f'news_search_generation_info{{generation="{got["generation"]}"}} 1.0' in text


def test_etags(engine_client) -> None:
    url = "/api/search?q=江城"
    first = engine_client.get(url)
    tag = first.headers.get("ETag")
    assert first.status_code == 200 and tag and tag.startswith('W/"')
    assert engine_client.get("/api/search?q=科技").headers.get("ETag") not in (None, tag)
    again = engine_client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""


def _story_ids(client) -> list[str]:
    """Ids of the demo articles that have related coverage on Whoosh (the reference)."""
    hits = _get(client, "/api/search?q=城&per_page=50")["hits"]
    return [h["id"] for h in hits]


def test_related_agrees_with_whoosh(engine_client, whoosh_client) -> None:
    compared = 0
    for article_id in _story_ids(whoosh_client):
        want = _get(whoosh_client, f"/api/articles/{article_id}/related?limit=50")
        got = _get(engine_client, f"/api/articles/{article_id}/related?limit=50")
        for key in ("article_id", "title", "keywords", "common_keywords", "total"):
            assert got[key] == want[key], (article_id, key)
        assert sorted(got["excluded_reprints"]) == sorted(want["excluded_reprints"])
        by_id = {h["id"]: h for h in want["hits"]}
        assert set(h["id"] for h in got["hits"]) == set(by_id)
        for h in got["hits"]:
            assert sorted(h["matched_keywords"]) == sorted(by_id[h["id"]]["matched_keywords"])
            assert h["duplicates"] == by_id[h["id"]]["duplicates"]
        assert got["partial"] is False and got["missing_shards"] == []
        compared += bool(want["hits"])
    assert compared >= 3  # the demo has stories told by several articles


def test_related_unknown_id_and_bad_limit(engine_client) -> None:
    assert engine_client.get("/api/articles/no-such-id/related").status_code == 404
    resp = engine_client.get(f"/api/articles/{_story_ids(engine_client)[0]}/related?limit=0")
    assert resp.status_code == 400 and resp.get_json()["error"]["parameter"] == "limit"


@pytest.mark.parametrize("q", ["支付", "zfb", "澜舟", "马拉", "支付宝 小", "5", "jc"])
def test_suggest_agrees_with_whoosh(engine_client, whoosh_client, q: str) -> None:
    got = _get(engine_client, f"/api/suggest?q={q}&limit=10")
    want = _get(whoosh_client, f"/api/suggest?q={q}&limit=10")
    assert got["items"] == want["items"] and got["suggestions"]
    assert engine_client.get(f"/api/suggest?q={q}&format=opensearch").get_json()[1] == got["suggestions"][:8]


def test_suggest_completes_a_demo_title(engine_client, whoosh_client) -> None:
    title = _get(whoosh_client, "/api/search?q=江城&sort=newest")["hits"][0]["title"]
    got = _get(engine_client, f"/api/suggest?q={title[:6]}&limit=10")
    assert title in got["suggestions"]
    assert {"text": title, "kind": "title", "match": 6} in got["items"]


@pytest.mark.parametrize("typed, fixed, total", [("支付包", "支付宝", 2), ("zhifubao", "支付宝", 2),
                                                 ("支付包 小程序", "支付宝 小程序", 2), ("zfb", "支付宝", 2),
                                                 ("mls", "马拉松", 2)])
def test_did_you_mean(engine_client, whoosh_client, typed: str, fixed: str, total: int) -> None:
    data = _get(engine_client, f"/api/search?q={typed}&correct=false")
    assert (data["total"], data["suggestion"]) == (0, {"q": fixed, "total": total})
    auto = _get(engine_client, f"/api/search?q={typed}")
    assert (auto["total"], auto["corrected"]["to"]) == (total, fixed)
    assert sorted(h["id"] for h in auto["hits"]) == sorted(h["id"] for h in _get(whoosh_client, f"/api/search?q={typed}")["hits"])
    assert _get(engine_client, f"/api/search?q=支付包&channel=科技&correct=false")["suggestion"] == {"q": "支付宝", "total": 1}
    assert _get(engine_client, "/api/search?q=支付宝")["suggestion"] is None


@pytest.mark.parametrize("engine", ["whoosh", "xapian"])
def test_hot_lists_a_typo_as_its_correction(engine: str, demo_index: Path, xapian_shards: list[str],
                                            tmp_path: Path) -> None:
    from search_service.app import create_app
    from search_service.services import services

    config = {"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
              "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3"), "HOT_LISTS_DIR": str(tmp_path)}
    if engine == "xapian":
        config.update(ENGINE="xapian", XAPIAN_SHARDS=",".join(xapian_shards))
    app = create_app(config)
    c = app.test_client()
    for v in range(5):
        assert c.get("/search?q=支付包", environ_base={"REMOTE_ADDR": f"192.0.2.{v}"}).status_code == 200
    for v in range(2):
        assert c.get("/search?q=支付宝", environ_base={"REMOTE_ADDR": f"198.51.100.{v}"}).status_code == 200
    assert _get(c, "/api/hot")["queries"] == [{"q": "支付宝", "count": 7}]
    services(app).query_log.close()


def test_help_examples_agree_with_whoosh(engine_client, whoosh_client) -> None:
    from lxml import html

    def examples(client) -> list[str]:
        resp = client.get("/help")
        assert resp.status_code == 200
        return [c.text_content() for c in html.fromstring(resp.get_data(as_text=True)).xpath("//code")]
    got = examples(engine_client)
    assert got == examples(whoosh_client) and len(got) >= 5


def test_clear_typo_is_answered_with_the_correction(engine_client, whoosh_client) -> None:
    """spelling.py's context-checked rewrite (a run of Chinese characters), on every engine."""
    for typed in ("支付包小程序", "瀾舟星途", "雲棲彎"):
        want = _get(whoosh_client, f"/api/search?q={typed}")
        got = _get(engine_client, f"/api/search?q={typed}")
        assert got["corrected"] == want["corrected"] and got["total"] == want["total"], typed
        assert got["suggestion"] == want["suggestion"]
        assert sorted(h["id"] for h in got["hits"]) == sorted(h["id"] for h in want["hits"])


def test_etag_follows_the_shards(tmp_path: Path, demo_index: Path) -> None:
    """A new generation on the shards (a rebuild) changes the ETag of the same request."""
    import time

    from indexer import xapian_store
    from search_service.app import create_app

    specs = [str(tmp_path / f"s{i}") for i in range(2)]
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1)
    client = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False, "ENGINE": "xapian",
                         "XAPIAN_SHARDS": ",".join(specs)}).test_client()
    before = client.get("/api/search?q=江城")
    tag = before.headers["ETag"]
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1)
    for _ in range(50):  # the shards are probed for changes every CHECK_SECONDS (xapian_pool.py)
        after = client.get("/api/search?q=江城", headers={"If-None-Match": tag})
        if after.get_json(silent=True) and after.get_json()["generation"] != before.get_json()["generation"]:
            break
        time.sleep(0.1)
    assert after.status_code == 200 and after.headers["ETag"] != tag
    assert _get(client, "/readyz")["generation"] == after.get_json()["generation"]
