"""What the JSON API, the HTML page and the query log share inside one Flask app.

``create_app`` builds one ``Services`` and stores it as ``app.extensions["news_search"]`` (Flask's
place for per-app extension state); views reach it through ``services()`` / ``search_index()``
only, never through other ``app.extensions`` keys. Its hooks are filled in explicitly by
create_app, so which module renders what is visible in one place.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from flask import Flask, current_app

from search_service.index import SearchIndex
from search_service.params import SearchParams
from search_service.querylog import QueryLog

EXTENSION_KEY = "news_search"


def plain_html_error(status: int, message: str) -> tuple[str, int]:
    """The error page of an app without the reader-facing pages (search_service.pages)."""
    return f"<!doctype html><meta charset=utf-8><title>{status}</title><p>{escape(message)}</p>", status


@dataclass
class Services:
    index: SearchIndex
    # None when QUERY_LOG is off: hot queries and suggestions from the log are then empty.
    query_log: QueryLog | None = None
    # Called after each search of the API and the page (not feeds, which poll): counts queries.
    after_search: list[Callable[[SearchParams, dict[str, Any]], None]] = field(default_factory=list)
    # Renders errors outside /api/ (the JSON error handlers live in api.py).
    html_error: Callable[[int, str], Any] = plain_html_error

    def searched(self, params: SearchParams, result: dict[str, Any]) -> None:
        for hook in self.after_search:
            hook(params, result)


def services(app: Flask | None = None) -> Services:
    return (app or current_app).extensions[EXTENSION_KEY]


def search_index(app: Flask | None = None) -> SearchIndex:
    """The app's one SearchIndex (opened once, hands out the current snapshot)."""
    return services(app).index
