"""HTTP edge of suggestions and the query log: /api/suggest, /api/hot, and the after-search hook
that counts queries when ``QUERY_LOG`` is on.

Config: QUERY_LOG (bool), QUERY_LOG_PATH (default INDEX_DIR/querylog.sqlite3), HOT_MIN_COUNT
(a query must be searched at least this often in the window before it is shown to anyone:
one reader's rare query never appears on the page; default 2).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from search_service import suggest
from search_service.errors import BadParameter
from search_service.params import MAX_QUERY_CHARS, SearchParams, bounded_int
from search_service.querylog import FILE_NAME, QueryLog
from search_service.services import search_index, services

bp = Blueprint("suggest_api", __name__)

MAX_SUGGESTIONS = 20
DEFAULT_SUGGESTIONS = 8
FREQUENT_DAYS = 30


def query_log(app: Flask | None = None) -> QueryLog | None:
    return services(app).query_log


def min_count() -> int:
    return int(current_app.config.get("HOT_MIN_COUNT", 2))


def frequent_queries() -> list[tuple[str, int]]:
    """Frequent queries of the last 30 days (privacy threshold applied); [] without a log."""
    qlog = query_log()
    return qlog.frequent(FREQUENT_DAYS, 500, min_count()) if qlog else []


def hot_queries(days: int = 7, limit: int = 10) -> list[dict[str, Any]]:
    qlog = query_log()
    return qlog.hot(days, limit, min_count()) if qlog else []


def safe_json(data: Any, mimetype: str = "application/json", status: int = 200) -> Response:
    """JSON with <, >, & and ' as \\u escapes: echoed text can never be read as markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(ch, esc)
    return Response(text, status=status, mimetype=mimetype)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    return bounded_int(name, request.args.get(name, "").strip(), default, low, high)


@bp.get("/api/suggest")
def api_suggest() -> Response:
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_CHARS or "\x00" in q:
        raise BadParameter("q", f"`q` must be at most {MAX_QUERY_CHARS} characters without NUL")
    limit = _int_arg("limit", DEFAULT_SUGGESTIONS, 1, MAX_SUGGESTIONS)
    fmt = request.args.get("format", "").strip() or "json"
    if fmt not in ("json", "opensearch"):
        raise BadParameter("format", "`format` must be json or opensearch")
    found = suggest.suggest(search_index().snapshot(), q, limit, frequent_queries()) \
        if q.strip() else []
    if fmt == "opensearch":  # what browsers ask for via the OpenSearch description
        return safe_json([q, found], mimetype="application/x-suggestions+json")
    return safe_json({"ok": True, "suggestions": found})


@bp.get("/api/hot")
def api_hot() -> Response:
    days = _int_arg("days", 7, 1, 90)
    limit = _int_arg("limit", 10, 1, 50)
    return safe_json({"ok": True, "days": days, "enabled": query_log() is not None,
                      "queries": hot_queries(days, limit)})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def open_query_log(app: Flask) -> QueryLog | None:
    """The app's query log when QUERY_LOG is on (INDEX_DIR/querylog.sqlite3 unless QUERY_LOG_PATH)."""
    if not app.config.get("QUERY_LOG"):
        return None
    path = app.config.get("QUERY_LOG_PATH") or os.path.join(os.fspath(app.config["INDEX_DIR"]), FILE_NAME)
    return QueryLog(path)


def count_query(qlog: QueryLog) -> Callable[[SearchParams, dict[str, Any]], None]:
    """The after-search hook that counts a query once per search (first pages only: paging through
    one query's results is still one search)."""
    def after_search(params: SearchParams, result: dict[str, Any]) -> None:
        if params.page == 1:
            qlog.record(params.q, int(result.get("total", 0)))
    return after_search
