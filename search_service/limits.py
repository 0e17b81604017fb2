"""Request limits of the web edge: per-client rate limiting (flask-limiter) and request size caps.

Configuration (``create_app`` config, or ``NEWS_SEARCH_<NAME>`` environment variables):

* ``RATELIMIT_ENABLED`` (default False): turn per-client limiting on;
* ``RATELIMIT_DEFAULT`` (default ``"120 per minute"``): limit per client address, any flask-limiter
  string such as ``"10 per second; 300 per minute"``. It counts each client's requests to all
  paths together (and, being also flask-limiter's per-route default, to each path); ``/healthz``
  and static files are exempt;
* ``RATELIMIT_STORAGE_URI`` (default ``"memory://"``, per process): ``redis://host:6379`` shares the
  counts between processes;
* ``MAX_QUERY_STRING`` (default 16 KiB): longer query strings get 414 before anything parses them;
* ``MAX_CONTENT_LENGTH`` (Flask's, 64 KiB in app.py): a request declaring a longer body gets 413
  on every path, before routing (the service only answers GET, so it never needs a body).

A limited request gets 429 with ``Retry-After``; under /api/ the body is the usual error envelope
(code ``rate_limited``), elsewhere a short page in Chinese. Behind a reverse proxy the client
address is the proxy's unless the app is wrapped in werkzeug's ProxyFix.

The per-search time limit (``SEARCH_TIME_LIMIT_MS``) is not here: the search core enforces it
(search_service/deadline.py), without Flask.
"""
from __future__ import annotations

from html import escape

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge

from search_service.api import error_response

# q (200 characters) and 20 channel values of 50, percent-encoded UTF-8, fit well below this.
DEFAULT_MAX_QUERY_STRING = 16 * 1024
EXEMPT_PATHS = ("/healthz",)


def _exempt() -> bool:
    return request.path in EXEMPT_PATHS or request.path.startswith("/static/")


def init_app(app: Flask) -> Limiter:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("MAX_QUERY_STRING", DEFAULT_MAX_QUERY_STRING)
    # flask-limiter's defaults count per route; the application limit counts a client's requests
    # to every route together, which is what "N requests per minute per client" means.
    app.config.setdefault("RATELIMIT_APPLICATION", app.config.get("RATELIMIT_DEFAULT"))
    limiter = Limiter(get_remote_address, app=app, default_limits_exempt_when=_exempt,
                      application_limits_exempt_when=_exempt)

    @app.before_request
    def _request_size_caps() -> None:
        limit = int(app.config["MAX_QUERY_STRING"])
        if len(request.query_string) > limit:
            raise RequestURITooLarge(f"the query string is longer than {limit:,} bytes: shorten the request")
        # Flask enforces MAX_CONTENT_LENGTH only when a view reads the body, and ours never do:
        # refuse a declared oversized body up front, whatever the path or method.
        max_body = app.config.get("MAX_CONTENT_LENGTH")
        if max_body is not None and (request.content_length or 0) > int(max_body):
            raise RequestEntityTooLarge(f"the request body is longer than {int(max_body):,} bytes")

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> Response | tuple[str, int, dict[str, str]]:
        # More specific than api.py's HTTPException handler, so Flask picks this one for 429.
        if request.path.startswith("/api/"):
            return error_response(429, "rate_limited",
                                  f"too many requests from your address (limit: {exc.description}): "
                                  "retry after the number of seconds in the Retry-After header")
        page = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>请求过于频繁</title>"
                "<h1>请求过于频繁</h1><p>您的请求太多了，请稍等片刻再试。"
                f"（限制：{escape(str(exc.description))}）</p></html>")
        return page, 429, {"Content-Type": "text/html; charset=utf-8"}

    return limiter
