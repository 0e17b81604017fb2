"""Flask app factory: config layered defaults -> environment -> test config.

The index is opened once per app (``SearchIndex``); each request asks it for the current snapshot,
so a new generation or commit is picked up without a restart. Every blueprint and extension is
registered here, by name: what the app serves is read off this one function.
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response

from indexer.errors import BadShards
from indexer.store import DEFAULT_INDEX_DIR
from search_service import api, core, cost, editors, httpcache, limits, observe, pages, proxy, suggest_api
from search_service.raw_ids import EncodedIds
from search_service.index import SearchIndex
from search_service.services import EXTENSION_KEY, Services
from search_service.services import search_index as search_index  # noqa: PLC0414 (re-exported)


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() not in ("0", "false", "no", "off")


def open_index(config: Any) -> Any:
    """The app's index: the embedded Whoosh index of INDEX_DIR (default), or the Xapian shards."""
    engine = str(config.get("ENGINE") or "whoosh").strip().lower()
    if engine == "whoosh":
        return SearchIndex(os.fspath(config["INDEX_DIR"]), check_interval=float(config["INDEX_CHECK_INTERVAL"]),
                           warm=core.warm)
    if engine != "xapian":
        raise BadShards(f"NEWS_SEARCH_ENGINE={engine!r}: use whoosh (the default) or xapian")
    from indexer.xapian_doc import parse_shards
    from search_service.xapian_engine import XapianIndex

    specs = parse_shards(",".join(config["XAPIAN_SHARDS"]) if isinstance(config["XAPIAN_SHARDS"], list)
                         else str(config["XAPIAN_SHARDS"]))
    try:
        timeout = int(config["XAPIAN_TIMEOUT_MS"])
    except (TypeError, ValueError):
        raise BadShards(f"NEWS_SEARCH_XAPIAN_TIMEOUT_MS={config['XAPIAN_TIMEOUT_MS']!r}: give a whole number of "
                        "milliseconds (e.g. 1000)") from None
    return XapianIndex(specs, timeout, _flag(config["XAPIAN_PARTIAL"]), os.fspath(config["INDEX_DIR"]))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        INDEX_DIR=DEFAULT_INDEX_DIR,
        INDEX_CHECK_INTERVAL=0.5,   # seconds between checks for a new generation or commit
        MAX_CONTENT_LENGTH=64 * 1024,
        JSON_AS_ASCII=False,
        RATELIMIT_ENABLED=False,
        RATELIMIT_DEFAULT="120 per minute",
        SEARCH_TIME_LIMIT_MS=2000,  # a search out of time answers what it found, "timed_out": true
        QUERY_LOG=True,
        ENGINE="whoosh",            # or xapian: the shards of XAPIAN_SHARDS (docs/xapian.md)
        XAPIAN_SHARDS="",           # host:port or directory, comma-separated
        XAPIAN_TIMEOUT_MS=1000,     # per shard call; a shard slower than this is left out
        XAPIAN_PARTIAL=True,        # false: a shard missing answers 503 shards_unavailable
    )
    app.config.from_prefixed_env("NEWS_SEARCH")  # e.g. NEWS_SEARCH_INDEX_DIR
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    shared = Services(open_index(app.config))
    app.extensions[EXTENSION_KEY] = shared

    # -- site integration (issue 16): order matters, Flask runs after_request hooks last-registered
    # first. observe first (request id, access log, metrics: sees the final response), then
    # compression; the trusted-proxy middleware rewrites the client address before Flask sees it.
    observe.init_app(app)                 # X-Request-ID, access log, /metrics, /readyz
    httpcache.init_compression(app)       # brotli / gzip
    app.wsgi_app = proxy.TrustedProxies(  # type: ignore[method-assign]
        app.wsgi_app, proxy.parse_networks(app.config.get("TRUSTED_PROXIES")))
    # -- end site integration

    app.register_blueprint(api.bp)        # /api/search, /api/articles, /api/stats, /healthz
    api.register_error_handlers(app)      # JSON envelope under /api/, shared.html_error elsewhere
    limits.init_app(app)                  # rate limiting, request size caps
    cost.init_app(app)                    # CPU-time budget per client (cost.py)
    app.wsgi_app = EncodedIds(app.wsgi_app)  # type: ignore[method-assign]  # ids with "/" (raw_ids.py)
    httpcache.init_app(app)               # CORS, ETag/304, Cache-Control, Vary (after limits: a 304 is limited too)
    pages.init_app(app)                   # /, /search, feeds
    shared.html_error = pages.html_error
    suggest_api.init_app(app)             # /api/suggest, /api/hot
    shared.query_log = suggest_api.open_query_log(app)
    if shared.query_log is not None:
        shared.after_search.append(suggest_api.count_query(shared.query_log))
    editors.init_app(app)                 # related coverage, /help

    @app.after_request
    def security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    return app

