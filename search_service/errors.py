"""Narrow exceptions of the search core; the HTTP and CLI edges turn them into 400s or messages."""
from __future__ import annotations


class SearchError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadParameter(SearchError):
    """A request parameter is missing or outside what is allowed (names the parameter)."""

    status = 400
    code = "invalid_parameter"

    def __init__(self, param: str, message: str, code: str | None = None) -> None:
        super().__init__(message, code)
        self.param = param


class NotFound(SearchError):
    status = 404
    code = "not_found"


class NotOnThisEngine(SearchError):
    """A feature the configured engine (NEWS_SEARCH_ENGINE=xapian) does not offer (docs/xapian.md)."""

    status = 503
    code = "not_on_this_engine"


class ShardsUnavailable(SearchError):
    """Xapian shards are down or slow and partial answers are off (NEWS_SEARCH_XAPIAN_PARTIAL=false),
    or no shard at all answers."""

    status = 503
    code = "shards_unavailable"
