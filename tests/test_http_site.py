"""Site integration over the Flask test client: CORS, compression, ETag/304, Cache-Control, Vary,
trusted proxies, request id, access log, /metrics and /readyz."""
from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import brotli
import pytest

from search_service.app import create_app
from search_service.proxy import TrustedProxies, parse_networks

ALLOWED = "https://www.portal.example"


@pytest.fixture(scope="module")
def site_app(demo_index: Path, tmp_path_factory):
    log = tmp_path_factory.mktemp("access") / "access.jsonl"
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "CORS_ORIGINS": f"{ALLOWED}, https://m.portal.example", "CACHE_MAX_AGE": 120,
                      "TRUSTED_PROXIES": "10.0.0.0/8", "ACCESS_LOG": str(log), "ACCESS_LOG_CLIENTS": True})
    app.config["TEST_ACCESS_LOG"] = log
    return app


@pytest.fixture()
def sc(site_app):
    return site_app.test_client()


def log_lines(app) -> list[dict]:
    return [json.loads(line) for line in app.config["TEST_ACCESS_LOG"].read_text(encoding="utf-8").splitlines()]


# -- CORS ---------------------------------------------------------------------------------------

def test_cors_allows_configured_origin_and_refuses_others(sc) -> None:
    ok = sc.get("/api/suggest?q=zfb", headers={"Origin": ALLOWED})
    assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-ID" in ok.headers["Access-Control-Expose-Headers"]
    refused = sc.get("/api/suggest?q=zfb", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 200 and "Access-Control-Allow-Origin" not in refused.headers
    for resp in (ok, refused, sc.get("/api/suggest?q=zfb")):
        assert "Origin" in [v.strip() for v in resp.headers["Vary"].split(",")]


def test_cors_preflight_and_pages_are_not_cors(sc) -> None:
    pre = sc.options("/api/search?q=a", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "x-requested-with"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert pre.headers["Access-Control-Allow-Headers"] == "x-requested-with"
    assert "Access-Control-Allow-Origin" not in sc.get("/search?q=a", headers={"Origin": ALLOWED}).headers


def test_no_cors_by_default(client) -> None:
    resp = client.get("/api/suggest?q=zfb", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Origin" not in resp.headers.get("Vary", "")


def untimed(body: bytes) -> bytes:
    return re.sub(rb"\d+\.\d+", b"N", body)


# -- compression --------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "mimetype"), [
    ("/api/search?q=江城", "application/json"),
    ("/search?q=江城", "text/html"),
    ("/search.atom?q=江城", "application/atom+xml"),
])
@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_compressed_bodies_decode_to_the_plain_one(sc, url: str, mimetype: str, encoding: str) -> None:
    plain = sc.get(url, headers={"Accept-Encoding": "identity"})
    packed = sc.get(url, headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding and packed.mimetype == mimetype
    decode = gzip.decompress if encoding == "gzip" else brotli.decompress
    # The same body but for the time taken (took_ms, 用时), which differs request to request.
    assert untimed(decode(packed.data)) == untimed(plain.data)
    assert len(packed.data) < len(plain.data) / 2
    assert "Accept-Encoding" in packed.headers["Vary"]


# -- ETag / 304 / Cache-Control ------------------------------------------------------------------

def test_etag_is_stable_over_parameter_spelling_and_answers_304(sc) -> None:
    first = sc.get("/api/search?q=江城&per_page=5")
    tag = first.headers["ETag"]
    assert tag.startswith('W/"') and first.headers["Cache-Control"] == "public, max-age=120"
    # Same normalised parameters (order, blanks, 5 vs 5.0): same tag, and a 304 without a body.
    again = sc.get("/api/search?per_page=5.0&sort=&q=江城", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == tag and again.headers["Cache-Control"] == "public, max-age=120"
    assert "Origin" in again.headers["Vary"] and "Accept-Encoding" in again.headers["Vary"]
    other = sc.get("/api/search?q=江城&per_page=6", headers={"If-None-Match": tag})
    assert other.status_code == 200 and other.headers["ETag"] != tag


def test_etag_changes_with_the_generation(demo_index: Path, tmp_path: Path) -> None:
    from indexer import update

    index = tmp_path / "ix"
    shutil.copytree(demo_index, index)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False, "INDEX_CHECK_INTERVAL": 0})
    c = app.test_client()
    tag = c.get("/api/search?q=江城").headers["ETag"]
    assert c.get("/api/search?q=江城", headers={"If-None-Match": tag}).status_code == 304
    update.delete(["demo-001"], index)
    after = c.get("/api/search?q=江城", headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["ETag"] != tag


@pytest.mark.parametrize(("url", "cache_control"), [
    ("/api/suggest?q=zfb", "public, max-age=300"),
    ("/search.atom?q=江城", "public, max-age=300"),
    ("/api/articles/demo-001", "public, max-age=120"),
    ("/api/search?q=江城&per_page=80", "no-store"),   # a 400
    ("/api/articles/nope", "no-store"),             # a 404
    ("/healthz", "no-store"),
    ("/readyz", "no-store"),
])
def test_cache_control_by_route(sc, url: str, cache_control: str) -> None:
    assert sc.get(url).headers["Cache-Control"] == cache_control


@pytest.mark.parametrize("url", ['/api/search?q="支付宝"', '/search?q="支付宝"'])
def test_timed_out_search_is_never_cached(demo_index: Path, url: str) -> None:
    # A budget this small runs out at the first check of the exact-substring scan.
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "SEARCH_TIME_LIMIT_MS": 1e-9})
    c = app.test_client()
    resp = c.get(url)
    assert resp.status_code == 200
    if url.startswith("/api/"):
        assert resp.get_json()["timed_out"] is True
    assert resp.headers["Cache-Control"] == "no-store" and "ETag" not in resp.headers
    text = c.get("/metrics").get_data(as_text=True)
    assert metric(text, "news_search_search_timeouts_total") == 1


def test_query_log_pages_get_a_body_etag(demo_index: Path, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": True,
                      "QUERY_LOG_PATH": str(tmp_path / "q.sqlite3"), "HOT_MIN_COUNT": 2})
    c = app.test_client()
    tag = c.get("/api/hot").headers["ETag"]
    assert c.get("/api/hot", headers={"If-None-Match": tag}).status_code == 304
    for addr in ("192.0.2.1", "192.0.2.2"):  # two visitors: the hot list changes without a new generation
        c.get("/search?q=马拉松", environ_base={"REMOTE_ADDR": addr})
    changed = c.get("/api/hot", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.get_json()["queries"] == [{"q": "马拉松", "count": 2}]


# -- trusted proxies ------------------------------------------------------------------------------

@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("10.0.0.5", "203.0.113.7", "203.0.113.7"),                 # nginx in front
    ("10.0.0.5", "198.51.100.1, 203.0.113.7", "203.0.113.7"),   # client-sent left part is not trusted
    ("10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7"),       # two proxies of ours
    ("10.0.0.5", "not-an-ip", "10.0.0.5"),
    ("192.0.2.50", "203.0.113.7", "192.0.2.50"),                # forged by a direct client: ignored
])
def test_trusted_proxy_client_address(peer: str, forwarded: str, client: str) -> None:
    seen = {}

    def app(environ, start_response):
        seen["addr"] = environ["REMOTE_ADDR"]
        return []

    TrustedProxies(app, parse_networks("10.0.0.0/8"))({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded},
                                                      lambda *a: None)
    assert seen["addr"] == client


def test_bad_trusted_proxies_value_names_it() -> None:
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_networks("127.0.0.1, 10.0.0.300")


def test_rate_limit_counts_the_forwarded_client(demo_index: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "2 per minute", "TRUSTED_PROXIES": "10.0.0.1"})
    c = app.test_client()

    def get(peer: str, xff: str) -> int:
        return c.get("/api/stats", headers={"X-Forwarded-For": xff}, environ_base={"REMOTE_ADDR": peer}).status_code

    assert [get("10.0.0.1", "203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert get("10.0.0.1", "203.0.113.2") == 200  # another reader behind the same proxy
    # A direct client rotating a forged header is still one address.
    assert [get("192.0.2.9", f"198.51.100.{i}") for i in range(3)] == [200, 200, 429]


# -- request id, access log ----------------------------------------------------------------------

def test_request_id_and_access_log_line(site_app, sc) -> None:
    resp = sc.get("/api/search?q=江城", headers={"X-Request-ID": "req-12345678", "X-Forwarded-For": "203.0.113.9"},
                  environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.headers["X-Request-ID"] == "req-12345678"
    made_up = sc.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert len(made_up) == 32 and made_up != "bad id <script>"
    line = next(x for x in log_lines(site_app) if x["request_id"] == "req-12345678")
    assert set(line) == {"time", "method", "path", "route", "status", "duration_ms", "bytes", "request_id",
                         "generation", "client"}
    assert (line["method"], line["path"], line["route"], line["status"]) == ("GET", "/api/search", "/api/search", 200)
    assert line["generation"] == "gen-000001" and line["client"] == "203.0.113.9"
    assert line["bytes"] == len(resp.data) and line["duration_ms"] > 0
    assert "江城" not in json.dumps(line, ensure_ascii=False)  # no query text unless configured


def test_access_log_query_text_only_when_configured(demo_index: Path, tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False, "ACCESS_LOG": str(log),
                      "ACCESS_LOG_QUERIES": True})
    app.test_client().get("/api/search?q=江城")
    (line,) = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert line["q"] == "江城" and "client" not in line


# -- metrics, readyz -----------------------------------------------------------------------------

def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{") and line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_count_requests_per_route(demo_index: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False})
    c = app.test_client()
    tag = c.get("/api/search?q=江城").headers["ETag"]
    c.get("/api/search?q=江城", headers={"If-None-Match": tag})
    c.get("/api/articles/demo-001")
    c.get("/api/articles/demo-002")
    text = c.get("/metrics").get_data(as_text=True)
    assert metric(text, 'news_search_requests_total{method="GET",route="/api/search",status="200"}') == 1
    assert metric(text, 'news_search_requests_total{method="GET",route="/api/search",status="304"}') == 1
    assert metric(text, 'news_search_requests_total{method="GET",route="/api/articles/<path:article_id>",'
                        'status="200"}') == 2
    assert metric(text, 'news_search_request_duration_seconds_count{route="/api/search"}') == 2
    assert metric(text, "news_search_documents") == 50
    assert metric(text, 'news_search_generation_info{generation="gen-000001"}') == 1
    assert metric(text, "news_search_build_duration_seconds") > 0
    assert metric(text, 'news_search_cache_lookups{cache="results",result="miss"}') >= 1


def test_readyz_ready_and_not_ready(client, tmp_path: Path) -> None:
    body = client.get("/readyz").get_json()
    assert body == {"ok": True, "ready": True, "generation": "gen-000001", "current_generation": "gen-000001",
                    "stale": False, "documents": 50}
    empty = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"), "QUERY_LOG": False}).test_client()
    resp = empty.get("/readyz")
    assert resp.status_code == 503
    data = resp.get_json()
    assert data["ready"] is False and data["error"]["code"] == "not_ready"
    assert "no index in" in data["error"]["message"]


def test_readyz_reports_a_generation_it_could_not_follow(demo_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "ix"
    shutil.copytree(demo_index, index)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "QUERY_LOG": False, "INDEX_CHECK_INTERVAL": 0})
    c = app.test_client()
    assert c.get("/readyz").get_json()["stale"] is False
    # CURRENT names a generation that cannot be opened: the process keeps serving the old one.
    broken = index / "generations" / "gen-000009"
    broken.mkdir()
    (broken / "meta.json").write_text("{}", encoding="utf-8")
    (index / "CURRENT").write_text("gen-000009\n", encoding="utf-8")
    resp = c.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["stale"] is True
    assert (body["generation"], body["current_generation"]) == ("gen-000001", "gen-000009")
    assert "gen-000009" in body["warning"]


def test_metrics_add_up_worker_processes_in_multiprocess_mode(demo_index: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    code = ("import sys; from search_service.app import create_app; "
            "c = create_app({'TESTING': True, 'INDEX_DIR': sys.argv[1], 'QUERY_LOG': False}).test_client(); "
            "[c.get('/api/stats') for _ in range(int(sys.argv[2]))]; "
            "sys.stdout.write(c.get('/metrics').get_data(as_text=True))")
    for n in ("2", "3"):  # two workers, one after the other, each its own process
        out = subprocess.run([sys.executable, "-c", code, str(demo_index), n], env=env, capture_output=True,
                             text=True, timeout=120, check=True).stdout
    # The second worker's scrape sums both processes' counts (and, per process, its own gauges).
    assert metric(out, 'news_search_requests_total{method="GET",route="/api/stats",status="200"}') == 5
    assert metric(out, "news_search_documents") == 50


def test_serve_refuses_a_bad_trusted_proxy_value(demo_index: Path) -> None:
    from click.testing import CliRunner

    from search_service.cli import main

    result = CliRunner().invoke(main, ["serve", "--index-dir", str(demo_index), "--trusted-proxies", "127.0.0.1,nope"])
    assert result.exit_code == 2
    assert "--trusted-proxies" in result.output and "'nope' is not an IP address" in result.output


def test_site_config_maps_serve_options() -> None:
    from search_service.serve_site import site_config

    assert site_config({"site_trusted_proxies": "127.0.0.1", "site_cors_origins": None, "site_access_log": "-",
                        "site_access_log_queries": False, "site_access_log_clients": True}) == {
        "TRUSTED_PROXIES": "127.0.0.1", "ACCESS_LOG": "-", "ACCESS_LOG_QUERIES": False, "ACCESS_LOG_CLIENTS": True}
