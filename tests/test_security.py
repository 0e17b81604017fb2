"""Security of the web edge: no markup from an article or a query reaches HTML unescaped, security
headers everywhere, no write action over HTTP, ids never become paths, debug off, JSON typed."""
from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from indexer.build import rebuild
from indexer.store import IndexStore
from search_service.app import create_app

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SVG = "<svg onload=alert(1)>"
HOSTILE = [
    {"id": "x-1", "title": f"攻击测试{SCRIPT}标题{BREAKOUT}", "published": "2024-05-01 10:00:00",
     "body": f"正文开始{SCRIPT}中间{BREAKOUT}结尾 攻击测试 ' onmouseover='alert(1) 还有 </textarea>{SVG} 结束。",
     "author": f"记者{BREAKOUT}", "source": f"{SCRIPT}日报", "channel": f"科技{SCRIPT}", "url": "javascript:alert(1)"},
    {"id": "x-2", "title": f"攻击测试 第二篇 </title>{SCRIPT}", "published": "2024-05-02",
     "body": "攻击测试 正文 &lt;script&gt; 已转义的文本 & 符号 <b>粗体</b> ]]> --> <!-- ",
     "author": SVG, "source": "日报\"'", "channel": "国内", "url": " JaVaScRiPt:alert(1)"},
    {"id": "x-3", "title": "攻击测试 第三篇", "body": "攻击测试 普通正文。", "channel": "国内",
     "url": f"data:text/html,{SCRIPT}", "published": "2024-05-03"},
    {"id": f"x-4{BREAKOUT}", "title": "攻击测试 第四篇", "body": "攻击测试 id 字段带有标记。", "channel": "国内",
     "url": f'https://example.com/a?b=1&c="{SCRIPT}', "published": "2024-05-04"},
    {"id": "x-5", "title": "攻击测试 第五篇", "body": "攻击测试 链接里有换行。", "channel": "国内",
     "url": "java\nscript:alert(1)", "published": "2024-05-05"},
]
HOSTILE_QUERIES = [SCRIPT, BREAKOUT, f"攻击测试 {SCRIPT}", f'"{BREAKOUT}"', "攻击测试 -\"</p><script>\"",
                   "'><svg/onload=alert(1)>", "攻击测试 OR javascript:alert(1)"]


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hostile")
    src = root / "hostile.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in HOSTILE), encoding="utf-8")
    report = rebuild([str(src)], root / "index", procs=1)
    assert report.indexed == len(HOSTILE)
    app = create_app({"TESTING": True, "INDEX_DIR": str(root / "index"), "QUERY_LOG": False})
    return app.test_client()


class Audit(HTMLParser):
    """Collects whatever in a document could run script or load from elsewhere."""

    BAD_SCHEMES = ("javascript:", "data:", "vbscript:")
    URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "poster", "background")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k for k, _ in attrs}
        if tag in ("img", "iframe", "object", "embed", "base", "style"):
            self.problems.append(f"<{tag}> element")
        if tag == "script":
            self._script = True
            if "src" not in names:
                self.problems.append("inline <script>")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"event handler {k}={v!r} on <{tag}>")
            if k == "style":
                self.problems.append(f"style attribute on <{tag}> (the CSP forbids it)")
            if k in self.URL_ATTRS and v is not None:
                cleaned = re.sub(r"[\x00-\x20]", "", v).lower()
                if cleaned.startswith(self.BAD_SCHEMES):
                    self.problems.append(f"{k}={v!r} on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = False

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.problems.append("inline script content")
        self.text.append(data)


def audit(html: str) -> Audit:
    a = Audit()
    a.feed(html)
    a.close()
    return a


# -- JSON API fields meant for HTML -----------------------------------------------------------
def _fragment_tags(fragment: str) -> list[str]:
    return re.findall(r"<\s*/?\s*([^\s>/]+)[^>]*>", fragment)


def test_search_html_fields_hold_only_bare_mark_tags(hostile_client) -> None:
    body = hostile_client.get("/api/search", query_string={"q": "攻击测试", "per_page": "50"}).get_json()
    assert body["total"] == len(HOSTILE)
    for hit in body["hits"]:
        for name in ("title_html", "snippet_html"):
            html = hit[name]
            assert set(_fragment_tags(html)) <= {"mark"}, (name, html)
            assert re.findall(r"<mark[^>]", html) == [], html
            assert audit(html).problems == []
        # The title is shown, escaped, not dropped: its text is exactly the stored title.
        assert unescape(re.sub(r"</?mark>", "", hit["title_html"])) == hit["title"]


def test_markup_in_the_body_is_shown_as_text(hostile_client) -> None:
    hits = hostile_client.get("/api/search", query_string={"q": '"正文开始"'}).get_json()["hits"]
    assert len(hits) == 1
    snippet = hits[0]["snippet_html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in snippet


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_hostile_queries_come_back_as_data(hostile_client, q: str) -> None:
    resp = hostile_client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["query"]["q"] == q.strip()
    for hit in body["hits"]:
        assert set(_fragment_tags(hit["title_html"] + hit["snippet_html"])) <= {"mark"}


@pytest.mark.parametrize("article_id", ["x-1", "x-2", "x-3", "x-5"])
def test_only_http_links_leave_the_service(hostile_client, article_id: str) -> None:
    article = hostile_client.get(f"/api/articles/{article_id}").get_json()["article"]
    assert article["url"] is None  # javascript:, data: and friends are dropped
    hits = hostile_client.get("/api/search", query_string={"q": "攻击测试", "per_page": "50"}).get_json()["hits"]
    assert {h["id"]: h["url"] for h in hits}[article_id] is None


def test_an_http_link_with_markup_is_kept_verbatim(hostile_client) -> None:
    article = hostile_client.get("/api/articles/" + quote(f"x-4{BREAKOUT}", safe="")).get_json()["article"]
    assert article["url"] == f'https://example.com/a?b=1&c="{SCRIPT}'


def test_suggest_answers_plain_text_as_json(hostile_client) -> None:
    resp = hostile_client.get("/api/suggest", query_string={"q": "攻击"})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    suggestions = resp.get_json()["suggestions"]
    assert any(SCRIPT in s for s in suggestions)  # data, for textContent: never HTML-decoded
    os_resp = hostile_client.get("/api/suggest", query_string={"q": SCRIPT, "format": "opensearch"})
    assert os_resp.mimetype == "application/x-suggestions+json"
    assert os_resp.get_json()[0] == SCRIPT


def test_suggest_box_script_inserts_text_only() -> None:
    js = (Path(__file__).parents[1] / "search_service" / "static" / "suggest.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", js, flags=re.DOTALL)
    assert "textContent" in code
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in code


# -- the HTML pages and the feeds -------------------------------------------------------------
PAGE_URLS = ["/", "/help", "/search?q=攻击测试", "/search?q=攻击测试&per_page=50&sort=newest",
             "/search?q=攻击测试&channel=" + quote(f"科技{SCRIPT}")]


@pytest.mark.parametrize("url", PAGE_URLS)
def test_pages_carry_no_injected_markup(hostile_client, url: str) -> None:
    resp = hostile_client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert audit(page).problems == []
    for raw in (SCRIPT, BREAKOUT, SVG, "</textarea>"):
        assert raw not in page


def test_search_page_shows_hostile_fields_as_text(hostile_client) -> None:
    page = hostile_client.get("/search", query_string={"q": "攻击测试", "per_page": "50"}).get_data(as_text=True)
    text = "".join(audit(page).text)
    assert f"{SCRIPT}标题{BREAKOUT}" in text      # title
    assert f"{SCRIPT}日报" in text                  # source
    assert f"记者{BREAKOUT}" in text                 # author
    assert f"科技{SCRIPT}" in text                  # channel (facet and hit)


@pytest.mark.parametrize("q", HOSTILE_QUERIES + ["</title><script>alert(1)</script>", "\" autofocus onfocus=\"alert(1)"])
@pytest.mark.parametrize("path", ["/search", "/help", "/"])
def test_hostile_queries_are_escaped_on_pages(hostile_client, path: str, q: str) -> None:
    resp = hostile_client.get(path, query_string={"q": q}, follow_redirects=True)  # / redirects to /search
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert audit(page).problems == []
    assert SCRIPT not in page and "<svg" not in page and "<img" not in page


def test_error_pages_do_not_reflect_markup(hostile_client) -> None:
    resp = hostile_client.get("/nothing-here/" + quote(SCRIPT))
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert SCRIPT not in page and audit(page).problems == []
    bad = hostile_client.get("/search", query_string={"q": "x", "sort": SCRIPT})
    assert bad.status_code == 400
    assert SCRIPT not in bad.get_data(as_text=True) and audit(bad.get_data(as_text=True)).problems == []


ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize("q", ["攻击测试", SCRIPT, f"攻击测试 {BREAKOUT}"])
def test_atom_feed_keeps_markup_as_text(hostile_client, q: str) -> None:
    resp = hostile_client.get("/search.atom", query_string={"q": q})
    assert resp.status_code == 200 and resp.mimetype == "application/atom+xml"
    root = ET.fromstring(resp.data)  # well-formed whatever the articles hold
    tags = {el.tag for el in root.iter()}
    assert all(t.startswith(ATOM) for t in tags), tags  # no element came from an article
    for link in root.iter(ATOM + "link"):
        assert link.get("href", "").startswith(("http://", "https://")), link.get("href")
    for entry in root.iter(ATOM + "entry"):
        summary = entry.find(ATOM + "summary")
        if summary is not None and summary.get("type") == "html":
            assert audit(summary.text or "").problems == []
            assert set(_fragment_tags(summary.text or "")) <= {"mark"}


def test_atom_feed_entry_titles_are_the_article_titles(hostile_client) -> None:
    root = ET.fromstring(hostile_client.get("/search.atom", query_string={"q": "攻击测试"}).data)
    titles = {e.findtext(ATOM + "title") for e in root.iter(ATOM + "entry")}
    assert f"攻击测试{SCRIPT}标题{BREAKOUT}" in titles
    assert f"攻击测试 第二篇 </title>{SCRIPT}" in titles


def test_opensearch_description_is_clean_xml(hostile_client) -> None:
    resp = hostile_client.get("/opensearch.xml")
    assert resp.status_code == 200
    root = ET.fromstring(resp.data)
    for el in root.iter():
        for value in el.attrib.values():
            assert not value.lower().startswith(("javascript:", "data:"))


# -- security headers -------------------------------------------------------------------------
HEADER_URLS = ["/", "/search?q=x", "/help", "/search.atom?q=x", "/opensearch.xml", "/api/search?q=x",
               "/api/search", "/api/nothing", "/nothing", "/healthz", "/api/openapi.json", "/static/style.css"]


def _csp(resp) -> dict[str, list[str]]:
    policy = resp.headers.get("Content-Security-Policy", "")
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("url", HEADER_URLS)
def test_security_headers_on_every_response(client, url: str) -> None:
    resp = client.get(url)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    csp = _csp(resp)
    script = csp.get("script-src", csp.get("default-src"))
    assert script == ["'self'"]
    assert "'unsafe-inline'" not in csp.get("style-src", []) and "'unsafe-eval'" not in script
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_security_headers_on_errors_too(client) -> None:
    for resp in (client.post("/api/search"), client.get("/api/search?q=x&page=0"), client.delete("/")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


# -- no admin action over HTTP ----------------------------------------------------------------
SAMPLE = {"article_id": "demo-001", "filename": "style.css"}
ADMIN_WORDS = ("rebuild", "update", "delete", "gc", "rollback", "optimize", "admin", "reload", "upload")


def _routes(app) -> list[str]:
    out = []
    for rule in app.url_map.iter_rules():
        out.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE[m.group(1)], rule.rule))
    return out


def test_every_route_is_read_only(app) -> None:
    for rule in app.url_map.iter_rules():
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
        assert not any(w in rule.rule.lower() for w in ADMIN_WORDS), rule


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_to_every_route_are_405(app, client, method: str) -> None:
    for path in _routes(app):
        resp = client.open(path, method=method, data=b"{}")
        assert resp.status_code == 405, (method, path)
        assert set(resp.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
        if path.startswith("/api/") or path == "/healthz":
            assert resp.mimetype == "application/json"
            assert resp.get_json()["error"] == {"status": 405, "code": "method_not_allowed",
                                                "message": f"method {method} is not allowed here: use GET"}


@pytest.mark.parametrize("path", ["/api/rebuild", "/api/update", "/api/admin", "/api/gc", "/api/delete",
                                  "/rebuild", "/admin"])
def test_no_admin_endpoints(client, path: str) -> None:
    for method in ("GET", "POST"):
        resp = client.open(path, method=method)
        assert resp.status_code == 404


# -- ids never become file paths --------------------------------------------------------------
TRAVERSALS = ["..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%2Fetc%2Fpasswd", "..%5C..%5Csetup.cfg",
              "....%2F%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%252F..%252Fetc%252Fpasswd",
              "CURRENT", "writer.lock", "generations", "%00", "demo-001%00"]


@pytest.mark.parametrize("raw", TRAVERSALS)
def test_article_ids_are_not_paths(client, raw: str) -> None:
    for path in (f"/api/articles/{raw}", f"/api/articles/{raw}/related"):
        resp = client.get(path)
        assert resp.status_code in (404, 308), (path, resp.status_code)
        if resp.status_code == 404:
            assert resp.mimetype == "application/json", path
            assert resp.get_json()["error"]["code"] == "not_found"
        assert b"root:" not in resp.data and b"[metadata]" not in resp.data


@pytest.mark.parametrize("raw", ["..%2F..%2Fsetup.cfg", "..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                                 "..%2Ftemplates%2Fbase.html"])
def test_static_files_stay_in_their_folder(client, raw: str) -> None:
    resp = client.get("/static/" + raw, follow_redirects=True)  # "//" is merged by a 308 first
    assert resp.status_code == 404
    assert b"root:" not in resp.data and b"[metadata]" not in resp.data and b"{%" not in resp.data


# -- debug and error pages --------------------------------------------------------------------
def test_debug_is_off_unless_asked(demo_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWS_SEARCH_DEBUG", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app({"INDEX_DIR": str(demo_index)})
    assert app.debug is False and app.config["DEBUG"] is False and app.config["TESTING"] is False
    monkeypatch.setenv("NEWS_SEARCH_DEBUG", "true")
    assert create_app({"INDEX_DIR": str(demo_index)}).debug is True


def test_serve_never_runs_the_debugger() -> None:
    source = (Path(__file__).parents[1] / "search_service" / "cli_serve.py").read_text(encoding="utf-8")
    assert "waitress" in source and "debug" not in source.lower() and "app.run(" not in source


def test_a_broken_index_answers_an_envelope_without_internals(demo_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "broken"
    shutil.copytree(demo_index, index_dir)
    gen = IndexStore(index_dir).require_current()
    for seg in gen.path.glob("*.seg"):
        seg.write_bytes(b"\x00garbage" * 64)
    for toc in gen.path.glob("*.toc"):
        toc.write_bytes(b"\x00garbage" * 64)
    c = create_app({"INDEX_DIR": str(index_dir), "QUERY_LOG": False}).test_client()
    for url in ("/api/search?q=x", "/healthz", "/api/articles/demo-001"):
        resp = c.get(url)
        assert resp.status_code in (500, 503), url
        assert resp.mimetype == "application/json"
        text = resp.get_data(as_text=True)
        assert "Traceback" not in text and str(tmp_path) not in text and "File \"" not in text
        assert resp.get_json()["ok"] is False
    page = c.get("/search?q=x")
    assert page.status_code in (500, 503) and "Traceback" not in page.get_data(as_text=True)


# -- JSON is always application/json ----------------------------------------------------------
JSON_URLS = ["/api/search?q=x", "/api/search", "/api/search?q=x&per_page=99", "/api/articles/demo-001",
             "/api/articles/nope", "/api/articles/demo-001/related", "/api/stats", "/healthz",
             "/api/openapi.json", "/api/suggest?q=支", "/api/hot", "/api/nothing", "/api/suggest?format=xml&q=a"]


@pytest.mark.parametrize("url", JSON_URLS)
def test_json_is_served_as_application_json(client, url: str) -> None:
    resp = client.get(url)
    assert resp.mimetype == "application/json", (url, resp.status_code)
    assert resp.headers["Content-Type"] in ("application/json", "application/json; charset=utf-8")
    body = json.loads(resp.data)  # parses as JSON, whatever the status
    assert isinstance(body, dict)
