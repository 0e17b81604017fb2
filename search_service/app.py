"""Flask app factory: config layered defaults -> environment -> test config.

The index is opened once per app (``SearchIndex``); each request asks it for the current snapshot,
so a new generation or commit is picked up without a restart.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask, Response

from indexer.store import DEFAULT_INDEX_DIR
from search_service.index import SearchIndex

# Blueprints of other modules, registered when present (page, suggest, editors' tools...).
OPTIONAL_BLUEPRINTS = ("search_service.pages", "search_service.suggest", "search_service.editors")


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
    app.extensions["news_search"] = SearchIndex(
        os.fspath(app.config["INDEX_DIR"]), check_interval=float(app.config["INDEX_CHECK_INTERVAL"]))

    from search_service import api

    app.register_blueprint(api.bp)
    api.register_error_handlers(app)
    from search_service import limits

    limits.init_app(app)  # rate limiting, request size caps (limits.py)
    from search_service import cost
    from search_service.raw_ids import EncodedIds

    cost.init_app(app)  # CPU-time budget per client (cost.py)
    app.wsgi_app = EncodedIds(app.wsgi_app)  # type: ignore[method-assign]  # ids with "/" (raw_ids.py)
    for name in OPTIONAL_BLUEPRINTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.init_app(app)

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


def search_index(app: Flask) -> SearchIndex:
    return app.extensions["news_search"]
