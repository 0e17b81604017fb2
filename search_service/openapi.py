"""The OpenAPI 3 description of the JSON API (checked against the app with schemathesis in tests)."""
from __future__ import annotations

from typing import Any

from search_service.params import INTERVALS, MAX_PER_PAGE, MAX_QUERY_CHARS, SORTS

_STR_OR_NULL = {"type": ["string", "null"]}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _param(name: str, schema: dict[str, Any], description: str, required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description, **extra}


SEARCH_PARAMS = [
    _param("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
           "Search text: words, \"exact substring\", -exclude, OR, (), title:/author:/source:/channel: prefixes",
           required=True),
    _param("channel", {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 20},
           "Channel filter (repeatable: any of them)", style="form", explode=True),
    _param("from", {"type": "string", "format": "date"}, "Published on or after (YYYY-MM-DD)"),
    _param("to", {"type": "string", "format": "date"}, "Published on or before (YYYY-MM-DD)"),
    _param("author", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "Author filter"),
    _param("source", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "Source (outlet) filter"),
    _param("sort", {"type": "string", "enum": list(SORTS)}, "Order of hits (default relevance)"),
    _param("page", {"type": "integer", "minimum": 1}, "1-based page"),
    _param("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}, "Hits per page (default 10)"),
    _param("collapse", {"type": "boolean"}, "Fold reprints of one story into one hit (default true)"),
    _param("facet_interval", {"type": "string", "enum": list(INTERVALS)}, "Add a `published` histogram"),
]

_FACET = {"type": "array", "items": {"type": "object", "required": ["value", "count", "selected"], "properties": {
    "value": {"type": "string"}, "count": {"type": "integer"}, "selected": {"type": "boolean"}}}}

_HIT = {"type": "object",
        "required": ["id", "title", "title_html", "snippet_html", "url", "channel", "published", "author",
                     "source", "score"],
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "title_html": {"type": "string"},
            "snippet_html": {"type": "string"}, "url": _STR_OR_NULL, "channel": _STR_OR_NULL,
            "published": _STR_OR_NULL, "author": _STR_OR_NULL, "source": _STR_OR_NULL,
            "score": {"type": ["number", "null"]}, "keywords": {"type": "array", "items": {"type": "string"}},
            "duplicates": {"type": "integer"}, "duplicate_ids": {"type": "array", "items": {"type": "string"}}}}


def spec() -> dict[str, Any]:
    errors = {"400": _error_response("Bad or missing parameter (the message names it)"),
              "429": _error_response("Too many requests"),
              "503": _error_response("No index is available")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "news-search API", "version": "1.0.0",
                 "description": "Full-text search over Chinese news archives."},
        "paths": {
            "/api/search": {"get": {
                "operationId": "search", "summary": "Ranked search with highlights and facet counts",
                "parameters": SEARCH_PARAMS,
                "responses": {"200": {"description": "Search results", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SearchResult"}}}}, **errors}}},
            "/api/articles/{article_id}": {"get": {
                "operationId": "article", "summary": "One stored article",
                "parameters": [{"name": "article_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The article", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ok", "article"],
                    "properties": {"ok": {"const": True}, "article": {"type": "object"}}}}}},
                    "404": _error_response("Unknown id"), **errors}}},
            "/api/stats": {"get": {
                "operationId": "stats", "summary": "What the live index holds",
                "responses": {"200": {"description": "Index statistics", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ok", "documents", "channels", "date_range", "generation",
                                                   "size_bytes", "built_at"],
                    "properties": {"ok": {"const": True}, "documents": {"type": "integer"}}}}}}, **errors}}},
            "/healthz": {"get": {
                "operationId": "health", "summary": "Liveness: index generation and document count",
                "responses": {"200": {"description": "Healthy", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ok", "generation", "documents"],
                    "properties": {"ok": {"const": True}, "generation": {"type": "string"},
                                   "documents": {"type": "integer"}}}}}}, **errors}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["ok", "error"], "properties": {
                "ok": {"const": False},
                "error": {"type": "object", "required": ["status", "code", "message"], "properties": {
                    "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                    "parameter": {"type": "string"}}}}},
            "SearchResult": {"type": "object",
                             "required": ["ok", "query", "total", "page", "per_page", "took_ms", "hits", "facets",
                                          "suggestion"],
                             "properties": {
                                 "ok": {"const": True}, "query": {"type": "object"}, "total": {"type": "integer"},
                                 "page": {"type": "integer"}, "per_page": {"type": "integer"},
                                 "took_ms": {"type": "number"}, "hits": {"type": "array", "items": _HIT},
                                 "facets": {"type": "object", "required": ["channel", "year", "month"],
                                            "properties": {"channel": _FACET, "year": _FACET, "month": _FACET}},
                                 "suggestion": {"type": ["object", "null"]},
                                 "timed_out": {"type": "boolean"},
                                 "histogram": {"type": "array"}}},
        }},
    }
