"""Flask app factory: config layered defaults -> environment -> test config.

The index is opened once per app (``SearchIndex``); each request asks it for the current snapshot,
so a new generation or commit is picked up without a restart. Every blueprint and extension is
registered here, by name: what the app serves is read off this one function.
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response

from indexer.store import DEFAULT_INDEX_DIR
from search_service import api, core, editors, limits, pages, suggest_api
from search_service.index import SearchIndex
from search_service.services import EXTENSION_KEY, Services
from search_service.services import search_index as search_index  # noqa: PLC0414 (re-exported)


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
    )
    app.config.from_prefixed_env("NEWS_SEARCH")  # e.g. NEWS_SEARCH_INDEX_DIR
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    shared = Services(SearchIndex(os.fspath(app.config["INDEX_DIR"]),
                                  check_interval=float(app.config["INDEX_CHECK_INTERVAL"]), warm=core.warm))
    app.extensions[EXTENSION_KEY] = shared

    app.register_blueprint(api.bp)        # /api/search, /api/articles, /api/stats, /healthz
    api.register_error_handlers(app)      # JSON envelope under /api/, shared.html_error elsewhere
    limits.init_app(app)                  # rate limiting, request size caps
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

