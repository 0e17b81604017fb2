"""Prometheus metrics at ``/metrics`` (prometheus_client).

Per route (the URL rule, e.g. ``/api/articles/<path:article_id>``, never the raw path, so the
label set stays small): ``news_search_requests_total{route,method,status}`` and the latency
histogram ``news_search_request_duration_seconds{route}``. Searches that ran out of time:
``news_search_search_timeouts_total``. HTTP revalidations answered without a body are the
``status="304"`` requests. Read at scrape time from the live index: ``news_search_documents``,
``news_search_generation_info{generation}``, ``news_search_build_duration_seconds``,
``news_search_index_built_timestamp_seconds`` and, for the in-process caches of the live
snapshot (search results, term doc sets, filter sets), ``news_search_cache_lookups{cache,result}``
and ``news_search_cache_hit_ratio{cache}`` since that snapshot was opened.

Processes: counters live in the process that served the request. With one process (the
default ``serve``) ``/metrics`` is complete. With several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by the workers (before they start):
``/metrics`` then adds up the counters and histograms of every worker (prometheus_client's
multiprocess mode). Without it each scrape shows only the worker that answered it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Flask, Response
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from search_service.services import search_index

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SNAPSHOT_CACHES = ("results", "term_docs", "filter_sets")


class IndexCollector(Collector):
    """Gauges read from the live snapshot when scraped (nothing to keep in sync)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        try:
            index = search_index(self.app)
            if getattr(index, "engine_name", "whoosh") != "whoosh":
                yield from self._xapian(index)
                return
            snap = index.snapshot()
        except Exception:  # no index (yet): /readyz says why; metrics just have no index gauges
            return
        docs = GaugeMetricFamily("news_search_documents", "Articles in the live index generation.")
        docs.add_metric([], len(snap.live_docs))
        yield docs
        info = GaugeMetricFamily("news_search_generation_info", "The live index generation (value 1).",
                                 labels=["generation"])
        info.add_metric([snap.gen.name], 1)
        yield info
        seconds = snap.meta.get("build_seconds")
        if seconds is not None:
            build = GaugeMetricFamily("news_search_build_duration_seconds",
                                      "Wall time of the rebuild that made the live generation.")
            build.add_metric([], float(seconds))
            yield build
        built_at = snap.meta.get("built_at")
        if built_at:
            try:
                stamp = datetime.fromisoformat(built_at).timestamp()
            except ValueError:
                stamp = None
            if stamp is not None:
                built = GaugeMetricFamily("news_search_index_built_timestamp_seconds",
                                          "When the live generation was built (Unix time).")
                built.add_metric([], stamp)
                yield built
        yield from _cache_gauges({name: getattr(snap, name, None) for name in SNAPSHOT_CACHES})

    def _xapian(self, index: Any) -> Iterator[Metric]:
        """The same gauges from the Xapian shards (NEWS_SEARCH_ENGINE=xapian), plus the shards left out."""
        try:
            stats, caches = index.stats(), index.caches()
        except Exception:  # no shard answers: /readyz says why
            return
        docs = GaugeMetricFamily("news_search_documents", "Articles in the live index generation.")
        docs.add_metric([], stats["documents"])
        yield docs
        info = GaugeMetricFamily("news_search_generation_info", "The live index generation (value 1).",
                                 labels=["generation"])
        info.add_metric([stats["generation"]], 1)
        yield info
        missing = GaugeMetricFamily("news_search_xapian_missing_shards", "Xapian shards left out of the "
                                    "answers (down or failing).")
        missing.add_metric([], len(stats["missing_shards"]))
        yield missing
        yield from _cache_gauges(caches)


def _cache_gauges(caches: dict[str, Any]) -> Iterator[Metric]:
    lookups = GaugeMetricFamily("news_search_cache_lookups", "Lookups in the live snapshot's caches "
                                "since it was opened.", labels=["cache", "result"])
    ratio = GaugeMetricFamily("news_search_cache_hit_ratio", "Hits / lookups of the live snapshot's caches.",
                              labels=["cache"])
    for name, cache in caches.items():
        hits, misses = getattr(cache, "hits", 0), getattr(cache, "misses", 0)
        lookups.add_metric([name, "hit"], hits)
        lookups.add_metric([name, "miss"], misses)
        ratio.add_metric([name], hits / (hits + misses) if hits + misses else 0.0)
    yield lookups
    yield ratio


class Metrics:
    def __init__(self, app: Flask) -> None:
        # One registry per app: tests build many apps in one process.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("news_search_requests", "HTTP requests answered.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("news_search_request_duration_seconds", "Time to answer a request.",
                                 ["route"], buckets=BUCKETS, registry=self.registry)
        self.timeouts = Counter("news_search_search_timeouts", "Searches that ran out of time "
                                "(answered partially, \"timed_out\": true).", registry=self.registry)
        self.index = IndexCollector(app)
        self.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

    def observe(self, route: str, method: str, status: int, seconds: float, timed_out: bool) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if timed_out:
            self.timeouts.inc()

    def exposition(self) -> bytes:
        if self.multiproc_dir:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.multiproc_dir)
        else:
            registry = CollectorRegistry()
            registry.register(_Forward(self.registry))
        registry.register(self.index)
        return generate_latest(registry)


class _Forward(Collector):
    """Exposes another registry's metrics inside a scrape registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def init_app(app: Flask) -> Metrics:
    disable_created_metrics()  # the *_created series double the output and nobody graphs them
    metrics = Metrics(app)

    def metrics_view() -> Response:
        return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    if app.config.get("METRICS_ENABLED", True):
        app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    return metrics


def route_of(rule: Any) -> str:
    return rule.rule if rule is not None else "(unmatched)"
