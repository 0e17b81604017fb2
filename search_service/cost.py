"""Per-request cost: bounds checked before a search runs, and a rate limit that counts CPU time.

Up front (``check_query_cost``, called with the parsed parameters): a query may have at most
MAX_OR_BRANCHES alternatives in all, MAX_TERMS words and quoted parts, MAX_SCAN_TERMS parts that
need a scan of the folded texts (quoted text and single characters, which are not index tokens),
and MAX_CHANNELS channel values. Each bound caps work that grows per term: one substring scan
(milliseconds over the whole corpus) per non-token term, one channel fold per value. Over a bound
is a 400 naming the parameter, code ``query_too_costly``.

After the fact (``init_app``): each client address has a budget of CPU seconds
(COST_LIMIT_CPU_SECONDS per COST_LIMIT_WINDOW seconds; 0 turns it off); a request that finds its
client's budget spent gets 429, so an attacker sending cheap-looking but expensive requests is
cut off by what they cost, not by how many they are. A client may also have at most
COST_LIMIT_INFLIGHT requests running at once (more get 429 at once), so many connections from one
address cannot occupy every thread. Counts are per worker process.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from flask import Flask, Response, g, request

from search_service.envelope import error_response
from search_service.errors import BadParameter
from search_service.params import SearchParams
from search_service.query import And, Node, Not, Or, Quoted, Words, parse_query

MAX_OR_BRANCHES = 12
MAX_TERMS = 24
MAX_SCAN_TERMS = 8
MAX_CHANNELS = 10
DEFAULT_CPU_SECONDS = 3.0  # per worker: a reader's search costs 10-50 ms
DEFAULT_WINDOW = 10.0
DEFAULT_INFLIGHT = 2  # requests of one address running at once in one worker


def _walk(node: Node, counts: dict[str, int]) -> None:
    if isinstance(node, Or):
        counts["or"] += len(node.nodes)
    if isinstance(node, (And, Or)):
        for child in node.nodes:
            _walk(child, counts)
    elif isinstance(node, Not):
        _walk(node.node, counts)
    elif isinstance(node, (Words, Quoted)):
        counts["terms"] += 1
        text = node.text.strip()
        if isinstance(node, Quoted) or len(text) == 1:
            counts["scan"] += 1


def query_counts(q: str) -> dict[str, int]:
    counts = {"or": 0, "terms": 0, "scan": 0}
    _walk(parse_query(q), counts)
    return counts


def check_query_cost(params: SearchParams) -> None:
    """Raise BadParameter when the query is over a cost bound (see the module docstring)."""
    counts = query_counts(params.q)
    if counts["or"] > MAX_OR_BRANCHES:
        raise BadParameter("q", f"`q` may combine at most {MAX_OR_BRANCHES} alternatives with OR, got "
                                f"{counts['or']}: split the search", code="query_too_costly")
    if counts["terms"] > MAX_TERMS:
        raise BadParameter("q", f"`q` may have at most {MAX_TERMS} words or quoted parts, got {counts['terms']}",
                           code="query_too_costly")
    if counts["scan"] > MAX_SCAN_TERMS:
        raise BadParameter("q", f"`q` may have at most {MAX_SCAN_TERMS} quoted parts or single characters "
                                f"(each scans every article), got {counts['scan']}", code="query_too_costly")
    if len(params.channel) > MAX_CHANNELS:
        raise BadParameter("channel", f"`channel` may be given at most {MAX_CHANNELS} times per search, got "
                                      f"{len(params.channel)}", code="query_too_costly")


class CpuBudget:
    """CPU seconds spent per client address over a sliding window."""

    def __init__(self, seconds: float, window: float) -> None:
        self.seconds, self.window = seconds, window
        self._spent: dict[str, deque[tuple[float, float]]] = {}
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()

    def _prune(self, entries: deque[tuple[float, float]], now: float) -> None:
        while entries and now - entries[0][0] > self.window:
            entries.popleft()

    def exhausted(self, client: str) -> float:
        """Seconds until `client` may send again (0: within budget)."""
        now = time.monotonic()
        with self._lock:
            entries = self._spent.get(client)
            if not entries:
                return 0.0
            self._prune(entries, now)
            if sum(cpu for _, cpu in entries) < self.seconds:
                return 0.0
            return max(0.1, self.window - (now - entries[0][0]))

    def enter(self, client: str, limit: int) -> bool:
        """Count a request of `client` in flight; False (not counted) when it already has `limit`."""
        with self._lock:
            running = self._inflight.get(client, 0)
            if limit > 0 and running >= limit:
                return False
            self._inflight[client] = running + 1
            return True

    def leave(self, client: str) -> None:
        with self._lock:
            running = self._inflight.get(client, 1) - 1
            if running > 0:
                self._inflight[client] = running
            else:
                self._inflight.pop(client, None)

    def add(self, client: str, cpu: float) -> None:
        now = time.monotonic()
        with self._lock:
            entries = self._spent.setdefault(client, deque())
            self._prune(entries, now)
            entries.append((now, cpu))
            if len(self._spent) > 10_000:  # forget idle clients rather than grow without end
                for key in [k for k, v in self._spent.items() if not v][:5000]:
                    del self._spent[key]


def init_app(app: Flask) -> None:
    # Off by default under TESTING: a test client hammering one address is not an attacker.
    seconds = float(app.config.setdefault("COST_LIMIT_CPU_SECONDS", 0 if app.testing else DEFAULT_CPU_SECONDS))
    window = float(app.config.setdefault("COST_LIMIT_WINDOW", DEFAULT_WINDOW))
    if seconds <= 0:
        return
    budget = CpuBudget(seconds, window)
    app.extensions["news_search_cost"] = budget

    inflight_limit = int(app.config.setdefault("COST_LIMIT_INFLIGHT", DEFAULT_INFLIGHT))

    @app.before_request
    def _cost_gate() -> Response | None:
        client = request.remote_addr or "?"
        wait = budget.exhausted(client)
        message = (f"your requests used more than {seconds:g} CPU seconds in {window:g} s: retry after "
                   "the Retry-After seconds")
        if not wait and not budget.enter(client, inflight_limit):
            wait = 1.0  # already running its limit of requests here: one client, one or two threads
            message = (f"you already have {inflight_limit} requests running: wait for them, then retry after "
                       "the Retry-After seconds")
        if wait:
            if request.path.startswith("/api/"):
                resp = error_response(429, "rate_limited", message)
            else:
                resp = Response("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>请求过于频繁"
                                "</title><h1>请求过于频繁</h1><p>您的请求占用了过多资源，请稍等片刻再试。</p></html>",
                                429, content_type="text/html; charset=utf-8")
            resp.headers["Retry-After"] = str(int(wait + 0.999))
            return resp
        g.news_search_cpu = time.thread_time()
        return None

    @app.teardown_request
    def _cost_count(_exc: BaseException | None) -> None:
        started = g.pop("news_search_cpu", None)
        if started is not None:
            client = request.remote_addr or "?"
            budget.add(client, time.thread_time() - started)
            budget.leave(client)
