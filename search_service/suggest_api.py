"""HTTP edge of suggestions and the query log: /api/suggest, /api/hot, and the after-search hook
that counts queries when ``QUERY_LOG`` is on.

Config: QUERY_LOG (bool), QUERY_LOG_PATH (default INDEX_DIR/querylog.sqlite3), HOT_MIN_COUNT
(distinct visitors who must have searched a query on one day before anyone else is shown it;
default 5, never below 2), HOT_COUNT_API (also count /api/search requests; default off: only
the page's own searches count), HOT_LISTS_DIR (where hot_block.txt and hot_pinned.txt live;
default INDEX_DIR), HOT_CACHE_SECONDS (how long public lists may be served from
memory; default 0 = until the next logged search). What is shown is decided by publiclists.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from search_service import publiclists, suggest_items
from search_service.errors import BadParameter
from search_service.params import MAX_QUERY_CHARS, SearchParams, bounded_int
from search_service.querylog import FILE_NAME, QueryLog
from search_service.services import search_index, services

bp = Blueprint("suggest_api", __name__)

MAX_SUGGESTIONS = 20
DEFAULT_SUGGESTIONS = 8
FREQUENT_DAYS = 30
MAX_CANDIDATES = publiclists.MAX_CANDIDATES


def query_log(app: Flask | None = None) -> QueryLog | None:
    return services(app).query_log


@lru_cache(maxsize=16)
def _editor_files(root: str) -> publiclists.EditorFiles:
    return publiclists.EditorFiles(root)


def editor_files() -> publiclists.EditorFiles:
    """hot_block.txt / hot_pinned.txt of this app (HOT_LISTS_DIR, default INDEX_DIR), re-read on change."""
    config = current_app.config
    return _editor_files(os.fspath(config.get("HOT_LISTS_DIR") or config["INDEX_DIR"]))


def min_count() -> int:
    return publiclists.min_visitors(current_app.config.get("HOT_MIN_COUNT"))


def public_queries(days: int, limit: int, pinned: bool = True) -> list[dict[str, Any]]:
    """The public list over `days` days (pinned first); [] without a log."""
    qlog = query_log()
    if qlog is None:
        return []
    return publiclists.listed(qlog, editor_files().lists(), min_count(), search_index(), days, limit, pinned)


def frequent_queries() -> list[tuple[str, int]]:
    """Public queries of the last 30 days for suggestions, pinned ones included."""
    return [(e["q"], e["count"]) for e in public_queries(FREQUENT_DAYS, MAX_CANDIDATES)]


def hot_queries(days: int = 7, limit: int = 10) -> list[dict[str, Any]]:
    return public_queries(days, limit)


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
    index = search_index()
    if not q.strip():
        found = []
    elif getattr(index, "engine_name", "whoosh") != "whoosh":  # the Xapian shards
        from search_service import xapian_suggest

        found = xapian_suggest.items(index, q, limit, frequent_queries())
    else:
        found = suggest_items.items(index.snapshot(), q, limit, frequent_queries())
    texts = [i["text"] for i in found]
    if fmt == "opensearch":  # what browsers ask for via the OpenSearch description
        return safe_json([q, texts], mimetype="application/x-suggestions+json")
    # "items" adds what the box needs: kind (query, word, title) and the typed length to bold.
    return safe_json({"ok": True, "suggestions": texts, "items": found})


@bp.get("/api/hot")
def api_hot() -> Response:
    days = _int_arg("days", 7, 1, 90)
    limit = _int_arg("limit", 10, 1, 50)
    return safe_json({"ok": True, "days": days, "enabled": query_log() is not None and query_log().working,
                      "queries": hot_queries(days, limit)})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def open_query_log(app: Flask) -> QueryLog | None:
    """The app's query log when QUERY_LOG is on (INDEX_DIR/querylog.sqlite3 unless QUERY_LOG_PATH)."""
    if not app.config.get("QUERY_LOG"):
        return None
    path = app.config.get("QUERY_LOG_PATH") or os.path.join(os.fspath(app.config["INDEX_DIR"]), FILE_NAME)
    return QueryLog(path, cache_seconds=float(app.config.get("HOT_CACHE_SECONDS") or 0))


def _changed(value: Any) -> bool:
    """Whether a response's `relaxed` / `corrected` entry says the query was changed: the relaxed
    object is present whenever relaxation was considered, and counts only if it dropped or split words."""
    if isinstance(value, dict) and ("dropped" in value or "split" in value):
        return bool(value.get("dropped") or value.get("split"))
    return bool(value)


def count_query(qlog: QueryLog) -> Callable[[SearchParams, dict[str, Any]], None]:
    """The after-search hook that counts a query once per search (first pages only: paging through
    one query's results is still one search)."""
    def after_search(params: SearchParams, result: dict[str, Any]) -> None:
        # Only first pages: paging through one query's results is still one search. Only the
        # page's searches count for the public lists unless configured: scripts calling the API
        # are not readers (editors' reports count every search).
        if params.page != 1:
            return
        public = request.endpoint == "pages.search_page" or bool(current_app.config.get("HOT_COUNT_API"))
        qlog.record(params.q, int(result.get("total", 0)), visitor=request.remote_addr or "", public=public,
                    took_ms=result.get("took_ms"), relaxed=_changed(result.get("relaxed")),
                    corrected=_changed(result.get("corrected")), timed_out=bool(result.get("timed_out")))
    return after_search
