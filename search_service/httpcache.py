"""HTTP efficiency and embedding at the web edge: CORS for the JSON API, compression, ETag / 304,
Cache-Control and Vary.

Configuration (``create_app`` config or ``NEWS_SEARCH_<NAME>`` environment variables):

* ``CORS_ORIGINS``: origins allowed to call ``/api/`` from a browser, separated by commas or
  spaces (``https://www.example.com, https://m.example.com``), or ``*``; none by default.
* ``CACHE_MAX_AGE`` (60): ``max-age`` in seconds of search results (API, page), articles and
  related articles; ``CACHE_MAX_AGE_SUGGEST`` (300) of suggestions and hot searches;
  ``CACHE_MAX_AGE_FEED`` (300) of Atom feeds. 0 means ``no-cache`` (revalidate every time).
* ``COMPRESS_*``: flask-compress settings (brotli, gzip; bodies of 500 bytes and more).

ETags are weak (``W/"..."``): a body is the same resource whether brotli, gzip or plain.
For responses that are a pure function of the index they are computed *before* the view from the
app version, the live generation and commit (plus the query-time dictionaries: the snapshot
marker), the route and the normalised parameters, so a matching ``If-None-Match`` answers 304
without searching at all. Pages that also show the query log (hot and related searches,
suggestions ranked by what readers type) change without a new generation, so when the query log
is on their ETag also covers a digest of the body (304 then saves bandwidth, not work).
A search that ran out of time is partial: it gets ``Cache-Control: no-store`` and no ETag.
"""
from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Flask, Response, current_app, g, request

from indexer.errors import NewsSearchError
from search_service.errors import BadParameter, SearchError
from search_service.params import parse_search_params
from search_service.services import search_index, services

try:
    APP_VERSION = version("news-search")
except PackageNotFoundError:  # running from a checkout that was never installed
    APP_VERSION = "dev"

# Endpoint -> (max-age config key, what the response depends on besides the index: None or "log").
CACHEABLE: dict[str, tuple[str, str | None]] = {
    "api.api_search": ("CACHE_MAX_AGE", None),
    "api.api_article": ("CACHE_MAX_AGE", None),
    "editors.api_related": ("CACHE_MAX_AGE", None),
    "pages.search_page": ("CACHE_MAX_AGE", "log"),
    "pages.start_page": ("CACHE_MAX_AGE", "log"),
    "pages.search_feed": ("CACHE_MAX_AGE_FEED", None),
    "suggest_api.api_suggest": ("CACHE_MAX_AGE_SUGGEST", "log"),
    "suggest_api.api_hot": ("CACHE_MAX_AGE_SUGGEST", "log"),
}
SEARCH_ENDPOINTS = ("api.api_search", "pages.search_page", "pages.search_feed")
NEVER_CACHED = ("/healthz", "/readyz", "/metrics")
CORS_EXPOSED = "ETag, X-Request-ID, Retry-After"
CORS_PREFLIGHT_MAX_AGE = 600

COMPRESS_DEFAULTS: dict[str, Any] = {
    "COMPRESS_ALGORITHM": ["br", "gzip", "deflate"],
    "COMPRESS_ALGORITHM_STREAMING": ["br", "deflate"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
                           "application/json", "application/x-suggestions+json", "application/atom+xml",
                           "application/opensearchdescription+xml", "application/xml", "image/svg+xml"],
    "COMPRESS_BR_LEVEL": 4,   # brotli's fast levels beat gzip -6 in size at similar CPU
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
}


def parse_origins(value: Any) -> tuple[str, ...]:
    """``CORS_ORIGINS`` as given (string or list) -> normalised origins, without a trailing slash."""
    if not value:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    return tuple(item.strip().rstrip("/").lower() for item in items if item.strip())


def note_result(result: dict[str, Any]) -> None:
    """Called by the views with a search result: a partial (timed-out) answer is never cached."""
    if result.get("timed_out"):
        g.news_search_partial = True


def _normalised_args(endpoint: str) -> Any:
    if endpoint in SEARCH_ENDPOINTS:
        # The core's own normalisation: parameter order, blanks, 2 vs 2.0 all give one key.
        return parse_search_params(request.args.to_dict(flat=False)).cache_key()
    return sorted((k, v.strip()) for k, v in request.args.items(multi=True) if v.strip())


def _etag_for(endpoint: str) -> str | None:
    """The precomputed part of the ETag, or None when the request cannot be keyed (bad params)."""
    try:
        index = search_index()
        marker = index.marker() if getattr(index, "engine_name", "whoosh") != "whoosh" else index.snapshot().marker
        args = _normalised_args(endpoint)
    except (BadParameter, NewsSearchError, SearchError):  # the view reports what is wrong (or no
        # shard answers): no ETag for it
        return None
    key = json.dumps([APP_VERSION, marker, endpoint, request.view_args, args], ensure_ascii=False,
                     default=str)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


def _depends_on_log(endpoint: str) -> bool:
    return CACHEABLE[endpoint][1] == "log" and services().query_log is not None


def _cache_control(endpoint: str) -> str:
    max_age = int(current_app.config[CACHEABLE[endpoint][0]])
    return f"public, max-age={max_age}" if max_age > 0 else "no-cache"


def _add_vary(resp: Response, header: str) -> None:
    present = {v.strip().lower() for v in resp.headers.get("Vary", "").split(",") if v.strip()}
    if header.lower() not in present:
        resp.headers["Vary"] = ", ".join(filter(None, [resp.headers.get("Vary"), header]))


def _cors_headers(resp: Response) -> None:
    origins: tuple[str, ...] = current_app.config["CORS_ORIGINS_PARSED"]
    if not origins or not request.path.startswith("/api/"):
        return
    # Whatever the origin (allowed, refused or none), a cache must keep one copy per Origin.
    _add_vary(resp, "Origin")
    origin = request.headers.get("Origin", "")
    if not origin or ("*" not in origins and origin.rstrip("/").lower() not in origins):
        return  # refused: without Access-Control-Allow-Origin the browser withholds the answer
    resp.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
    resp.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:  # the API reads no request header, so any the page wants to send is harmless
            resp.headers["Access-Control-Allow-Headers"] = asked
        resp.headers["Access-Control-Max-Age"] = str(CORS_PREFLIGHT_MAX_AGE)


def init_compression(app: Flask) -> None:
    """Register flask-compress. Call early in create_app: its after_request must run after the
    ETag/Cache-Control hook and before the access log (Flask runs after_request hooks last
    registered first)."""
    from flask_compress import Compress

    for key, value in COMPRESS_DEFAULTS.items():
        app.config.setdefault(key, value)
    Compress(app)


def init_app(app: Flask) -> None:
    app.config.setdefault("CACHE_MAX_AGE", 60)
    app.config.setdefault("CACHE_MAX_AGE_SUGGEST", 300)
    app.config.setdefault("CACHE_MAX_AGE_FEED", 300)
    app.config["CORS_ORIGINS_PARSED"] = parse_origins(app.config.get("CORS_ORIGINS"))

    @app.before_request
    def _not_modified() -> Response | None:
        endpoint = request.endpoint or ""
        if request.method not in ("GET", "HEAD") or endpoint not in CACHEABLE:
            return None
        g.news_search_etag = tag = _etag_for(endpoint)
        if tag is None or _depends_on_log(endpoint) or not request.if_none_match:
            return None
        if request.if_none_match.contains_weak(tag):
            resp = Response(status=304)
            resp.set_etag(tag, weak=True)
            return resp
        return None

    @app.after_request
    def _cache_headers(resp: Response) -> Response:
        _cors_headers(resp)
        endpoint = request.endpoint or ""
        tag = g.get("news_search_etag")
        if (endpoint not in CACHEABLE or resp.status_code not in (200, 304) or tag is None
                or g.get("news_search_partial") or request.path in NEVER_CACHED):
            if request.path.startswith("/api/") or request.path in NEVER_CACHED or resp.status_code >= 400 \
                    or g.get("news_search_partial"):
                resp.headers["Cache-Control"] = "no-store"
            return resp
        if resp.status_code == 200:
            if _etag_for(endpoint) != tag:  # the index changed while the view ran: do not label it
                resp.headers["Cache-Control"] = "no-cache"
                return resp
            if _depends_on_log(endpoint):
                body = hashlib.blake2b(resp.get_data(), digest_size=12).hexdigest()
                tag = hashlib.blake2b(f"{tag}:{body}".encode(), digest_size=12).hexdigest()
            resp.set_etag(tag, weak=True)
            resp.headers["Cache-Control"] = _cache_control(endpoint)
            resp.make_conditional(request)  # 304 (body dropped) when If-None-Match holds the tag
        else:
            resp.headers["Cache-Control"] = _cache_control(endpoint)
        return resp

