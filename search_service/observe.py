"""Observability at the web edge: a request id on every response, a JSON-lines access log, the
Prometheus metrics hook (metrics.py) and ``/readyz``.

Configuration (``create_app`` config or ``NEWS_SEARCH_<NAME>``):

* ``ACCESS_LOG``: ``-`` (stderr), a file path (appended to, one JSON object a line), or empty /
  ``off`` (the default: a server whose stderr nobody reads must not block on a full pipe).
* ``ACCESS_LOG_QUERIES`` (false): add the search text (``q``) to each line.
* ``ACCESS_LOG_CLIENTS`` (false): add the client address (after TRUSTED_PROXIES, proxy.py).

A line: ``{"time", "method", "path", "route", "status", "duration_ms", "bytes", "request_id",
"generation"}`` (+ ``"q"``, ``"client"`` when configured). ``path`` is the path without the query
string, so search text only reaches the log when asked for. ``X-Request-ID`` is taken from the
request when it looks like an id (8-128 of ``A-Z a-z 0-9 . _ : -``, e.g. nginx's ``$request_id``),
otherwise made up; it is sent back on every response and is in the access log line.
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, TextIO

from flask import Blueprint, Flask, Response, g, jsonify, request

from search_service import metrics as metrics_mod
from search_service.services import search_index

bp = Blueprint("observe", __name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
OFF = ("", "off", "false", "0", "none")


class AccessLog:
    """Appends one JSON line per request; thread-safe, line-buffered (a crash loses no line)."""

    def __init__(self, target: str) -> None:
        self._lock = threading.Lock()
        self._stream: TextIO = sys.stderr if target == "-" else open(  # noqa: SIM115 - kept open
            target, "a", encoding="utf-8", buffering=1)

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def _generation() -> str | None:
    try:
        index = search_index()
        if getattr(index, "engine_name", "whoosh") != "whoosh":
            return index.pool.state().generation
        return index.snapshot().gen.name
    except Exception:  # no index: the line still says what was asked and answered
        return None


def init_app(app: Flask) -> None:
    """Call first in create_app: the before_request hook then runs first and the after_request
    hook last, so duration, status and bytes are those of the final (compressed) response."""
    target = str(app.config.get("ACCESS_LOG") or "").strip()
    access_log = None if target.lower() in OFF else AccessLog(target)
    metrics = metrics_mod.init_app(app)

    @app.before_request
    def _start() -> None:
        g.news_search_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish(resp: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        resp.headers["X-Request-ID"] = request_id
        seconds = time.perf_counter() - g.get("news_search_started", time.perf_counter())
        route = metrics_mod.route_of(request.url_rule)
        metrics.observe(route, request.method, resp.status_code, seconds, bool(g.get("news_search_partial")))
        if access_log is not None:
            entry: dict[str, Any] = {
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "method": request.method, "path": request.path, "route": route,
                "status": resp.status_code, "duration_ms": round(seconds * 1000, 2),
                "bytes": 0 if resp.status_code == 304 else resp.content_length, "request_id": request_id, "generation": _generation(),
            }
            if app.config.get("ACCESS_LOG_QUERIES") and "q" in request.args:
                entry["q"] = request.args.get("q", "")[:200]
            if app.config.get("ACCESS_LOG_CLIENTS"):
                entry["client"] = request.remote_addr
            access_log.write(entry)
        return resp

    app.register_blueprint(bp)


@bp.get("/readyz")
def readyz() -> Response | tuple[Response, int]:
    """Ready when the live index opens and answers a lookup; 503 with the reason otherwise.
    Also says when the generation served differs from the one CURRENT names (a switch this
    process could not follow yet): still 200, as it answers, with ``stale`` and a warning."""
    index = search_index()
    if getattr(index, "engine_name", "whoosh") != "whoosh":
        return _xapian_ready(index)
    try:
        snap = index.snapshot()
        searcher = snap.searcher()
        documents = searcher.doc_count()
        if documents:
            searcher.document_number(id="")  # a term lookup: postings and term index are readable
            snap.stored(next(iter(snap.live_docs)))
    except Exception as exc:  # whatever stops the index answering is the reason not to be ready
        reason = str(exc) or type(exc).__name__
        return jsonify({"ok": False, "ready": False, "error": {
            "status": 503, "code": "not_ready", "message": f"the index cannot answer: {reason}"}}), 503
    current = index.store.current()
    current_name = current.name if current is not None else None
    body: dict[str, Any] = {"ok": True, "ready": True, "generation": snap.gen.name,
                            "current_generation": current_name, "stale": current_name != snap.gen.name,
                            "documents": documents}
    if body["stale"]:
        body["warning"] = (f"serving {snap.gen.name} while CURRENT names {current_name}: the new generation "
                           "could not be opened yet (see the service log)")
    return jsonify(body)


def _not_ready(exc: BaseException) -> tuple[Response, int]:
    reason = str(exc) or type(exc).__name__
    return jsonify({"ok": False, "ready": False, "error": {
        "status": 503, "code": "not_ready", "message": f"the index cannot answer: {reason}"}}), 503


def _xapian_ready(index: Any) -> Response | tuple[Response, int]:
    """The Xapian shards (NEWS_SEARCH_ENGINE=xapian): ready when the reachable shards answer a term
    lookup and a stored document; a shard left out (partial answers on) is still ready, with
    ``partial`` and ``missing_shards`` saying so. The generation served is the oldest the shards
    name (xapian_pool.py), so ``stale`` is always false here."""
    try:
        found = index.readiness()
    except Exception as exc:  # whatever stops the shards answering is the reason not to be ready
        return _not_ready(exc)
    body: dict[str, Any] = {"ok": True, "ready": True, "generation": found["generation"],
                            "current_generation": found["generation"], "stale": False,
                            "documents": found["documents"], "partial": found["partial"],
                            "missing_shards": found["missing_shards"]}
    if found["partial"]:
        body["warning"] = f"shards left out: {', '.join(found['missing_shards'])}"
    return jsonify(body)
