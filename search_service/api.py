"""The JSON API: a thin edge over search_service.core. One success and one error envelope.

Success: {"ok": true, ...}; error: {"ok": false, "error": {"status", "code", "message"}}.
Every /api/ error, including 404/405/500, uses the error envelope, never an HTML page.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from indexer.errors import IndexUnavailable
from search_service import core
from search_service.errors import SearchError
from search_service.params import parse_search_params
from search_service.services import search_index, services

bp = Blueprint("api", __name__)
log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **extra: Any):
    body = {"ok": False, "error": {"status": status, "code": code, "message": message, **extra}}
    resp = jsonify(body)
    resp.status_code = status
    return resp


def run_search(args: Any) -> dict[str, Any]:
    """Validate and search; shared with the HTML page and the feed."""
    params = parse_search_params(args)
    result = core.search(search_index(), params, time_limit_ms=current_app.config.get("SEARCH_TIME_LIMIT_MS"))
    services().searched(params, result)
    return result


@bp.get("/api/search")
def api_search():
    return jsonify(run_search(request.args.to_dict(flat=False)))


@bp.get("/api/articles/<path:article_id>")
def api_article(article_id: str):
    return jsonify({"ok": True, "article": core.get_article(search_index(), article_id)})


PUBLIC_STATS = ("documents", "channels", "date_range", "generation", "size_bytes", "built_at", "segments",
                "previous_generation")


@bp.get("/api/stats")
def api_stats():
    # Public: what the archive holds, from the open snapshot (cached per index state). Dictionary
    # paths and admin notes name files on the server, so they stay with `news-search stats`.
    data = core.public_stats(search_index())
    return jsonify({"ok": True, **{k: v for k, v in data.items() if k in PUBLIC_STATS}})


@bp.get("/healthz")
def healthz():
    return jsonify({"ok": True, **core.index_info(search_index())})


@bp.get("/api/openapi.json")
def openapi():
    from search_service.openapi import spec

    return jsonify(spec())


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


@bp.after_app_request
def json_options(resp):
    """Flask answers OPTIONS itself with an empty text/html body; on JSON paths say it in JSON."""
    if request.method == "OPTIONS" and _wants_json() and resp.status_code == 200 and resp.mimetype == "text/html":
        allowed = sorted(resp.allow) if resp.allow else []
        resp.set_data(jsonify({"ok": True, "methods": allowed}).get_data())
        resp.mimetype = "application/json"
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SearchError)
    def search_error(exc: SearchError):
        extra = {"parameter": exc.param} if hasattr(exc, "param") else {}
        if _wants_json():
            return error_response(exc.status, exc.code, exc.message, **extra)
        return _html_error(exc.status, exc.message)

    @app.errorhandler(IndexUnavailable)
    def index_unavailable(exc: IndexUnavailable):
        if _wants_json():
            return error_response(exc.status, exc.code, str(exc))
        return _html_error(exc.status, str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large",
                414: "uri_too_long", 429: "rate_limited"}.get(status, "http_error")
        message = {404: "no such endpoint: see /api/openapi.json for what this service offers",
                   405: f"method {request.method} is not allowed here: use GET"}.get(status, exc.description or "")
        resp = make_response(error_response(status, code, message) if _wants_json() else _html_error(status, message))
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:  # a 405 must say what is allowed (RFC 9110)
            resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s", request.path)
        message = "internal error: the request was logged; try again, or report it with the request URL"
        if _wants_json():
            return error_response(500, "internal_error", message)
        return _html_error(500, message)


def _html_error(status: int, message: str):
    return services().html_error(status, message)
