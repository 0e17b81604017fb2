"""The OpenAPI 3 description of the JSON API (checked against the app with schemathesis in tests)."""
from __future__ import annotations

from typing import Any

from search_service.cost import MAX_CHANNELS
from search_service.params import INTERVALS, MAX_PER_PAGE, MAX_QUERY_CHARS, MAX_RESULT_WINDOW, SORTS

_STR_OR_NULL = {"type": ["string", "null"]}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


# Optional parameters given blank (an empty form field) mean the default.
_BLANK = {"type": "string", "pattern": r"^\s*$"}


def _or_blank(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _BLANK]}


def _param(name: str, schema: dict[str, Any], description: str, required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description, **extra}


SEARCH_PARAMS = [
    # Some non-space character and no NUL: a blank q is "missing" (400).
    _param("q", {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"},
           "Search text: words, \"exact substring\", -exclude, OR, (), title:/author:/source:/channel: prefixes",
           required=True),
    _param("channel", {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": MAX_CHANNELS},
           "Channel filter (repeatable: any of them)", style="form", explode=True),
    _param("from", _or_blank({"type": "string", "format": "date"}), "Published on or after (YYYY-MM-DD, not after `to`)"),
    _param("to", _or_blank({"type": "string", "format": "date"}), "Published on or before (YYYY-MM-DD, inclusive)"),
    _param("author", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "Author filter"),
    _param("source", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "Source (outlet) filter"),
    _param("sort", _or_blank({"type": "string", "enum": list(SORTS)}), "Order of hits (default relevance)"),
    _param("page", _or_blank({"type": "integer", "minimum": 1, "maximum": MAX_RESULT_WINDOW}),
           f"1-based page; page * per_page must be at most {MAX_RESULT_WINDOW}"),
    _param("per_page", _or_blank({"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}), "Hits per page (default 10)"),
    _param("collapse", _or_blank({"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]}), "Fold reprints of one story into one hit (default true)"),
    _param("relax", _or_blank({"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]}),
           "Question and filler words are not required, and when all other words together find nothing, "
           "fewer of them are (default true; false: every word required)"),
    _param("correct", _or_blank({"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]}),
           "A clear typo (the query finds next to nothing, a correction finds many times more) is answered "
           "with the correction's results and `corrected` says so (default true; false: search exactly as typed)"),
    _param("facet_interval", _or_blank({"type": "string", "enum": list(INTERVALS)}), "Add a `published` histogram"),
]

_FACET = {"type": "array", "items": {"type": "object", "required": ["value", "count", "selected"], "properties": {
    "value": {"type": "string"}, "count": {"type": "integer"}, "selected": {"type": "boolean"}}}}
# Channel values may be null: articles without a channel, labelled 未分类 (select with channel=未分类).
_CHANNEL_FACET = {"type": "array", "items": {"type": "object", "required": ["value", "count", "selected"],
                                             "properties": {"value": {"type": ["string", "null"]},
                                                            "count": {"type": "integer"},
                                                            "selected": {"type": "boolean"},
                                                            "label": {"type": "string"}}}}

_HIT = {"type": "object",
        "required": ["id", "title", "title_html", "snippet_html", "url", "channel", "published", "author",
                     "source", "score"],
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"}, "title_html": {"type": "string"},
            "snippet_html": {"type": "string"}, "url": _STR_OR_NULL, "channel": _STR_OR_NULL,
            "published": _STR_OR_NULL, "author": _STR_OR_NULL, "source": _STR_OR_NULL,
            "score": {"type": ["number", "null"]}, "keywords": {"type": "array", "items": {"type": "string"}},
            "duplicates": {"type": "integer"}, "duplicate_ids": {"type": "array", "items": {"type": "string"}},
            # relaxed searches only: the query's words this hit does not contain
            "missing": {"type": "array", "items": {"type": "string"}}}}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_INT = {"type": "integer", "minimum": 0}

_ARTICLE = {"type": "object",
            "required": ["id", "title", "body", "url", "channel", "published", "author", "source", "tags", "keywords"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "body": {"type": "string"},
                           "url": _STR_OR_NULL, "channel": _STR_OR_NULL, "published": _STR_OR_NULL,
                           "author": _STR_OR_NULL, "source": _STR_OR_NULL, "tags": _STRINGS, "keywords": _STRINGS}}

_SEARCH_RESULT = {
    "type": "object",
    "required": ["ok", "query", "total", "page", "per_page", "took_ms", "hits", "facets", "suggestion"],
    "properties": {
        "ok": {"const": True},
        "query": {"type": "object", "required": ["q", "channel", "from", "to", "sort", "page", "per_page"],
                  "properties": {"q": {"type": "string"}, "channel": _STRINGS, "from": _STR_OR_NULL,
                                 "to": _STR_OR_NULL, "author": _STR_OR_NULL, "source": _STR_OR_NULL,
                                 "sort": {"enum": list(SORTS)}, "page": {"type": "integer", "minimum": 1},
                                 "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                                 "collapse": {"type": "boolean"}, "relax": {"type": "boolean"},
                                 "correct": {"const": False},  # present only when false
                                 "facet_interval": {"type": ["string", "null"]}}},
        "total": _INT, "total_articles": _INT, "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1}, "pages": {"type": "integer", "minimum": 1},
        "took_ms": {"type": "number", "minimum": 0},
        "hits": {"type": "array", "maxItems": MAX_PER_PAGE, "items": _HIT},
        "facets": {"type": "object", "required": ["channel", "year", "month"],
                   "properties": {"channel": _CHANNEL_FACET, "year": _FACET, "month": _FACET}},
        "suggestion": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["q", "total"], "properties": {
            "q": {"type": "string"}, "total": _INT}}]},
        # The typed query was answered with a spelling correction (spelling.py): null otherwise.
        "corrected": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["from", "to", "original_total"],
                      "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                                     "original_total": _INT}}]},
        # What the search did not require (relax.py): null when every word was required.
        "relaxed": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["required", "dropped", "split", "strict_total"],
                    "properties": {"required": _STRINGS, "dropped": _STRINGS, "strict_total": _INT,
                                   "split": {"type": "object", "additionalProperties": _STRINGS}}}]},
        "generation": {"type": "string"},
        "timed_out": {"type": "boolean"},
        # NEWS_SEARCH_ENGINE=xapian: some shards did not answer (left out of this result, which
        # then holds only the other shards' articles); always false and [] on Whoosh.
        "partial": {"type": "boolean"},
        "missing_shards": _STRINGS,
        "histogram": {"type": "array", "items": {"type": "object", "required": ["value", "count"], "properties": {
            "value": {"type": "string"}, "count": _INT}}}}}

_RELATED = {
    "type": "object", "required": ["ok", "article_id", "title", "keywords", "total", "limit", "hits"],
    "properties": {"ok": {"const": True}, "article_id": {"type": "string"}, "title": {"type": "string"},
                   "keywords": _STRINGS, "excluded_reprints": _STRINGS, "total": _INT,
                   # keywords of the article in more than 10% of the archive: not counted (related.py)
                   "common_keywords": _STRINGS,
                   "limit": {"type": "integer"}, "generation": {"type": "string"},
                   # as in search results: shards left out (NEWS_SEARCH_ENGINE=xapian); false / [] on Whoosh
                   "partial": {"type": "boolean"}, "missing_shards": _STRINGS,
                   "hits": {"type": "array", "items": {**_HIT, "properties": {
                       **_HIT["properties"], "matched_keywords": _STRINGS}}}}}

_STATS = {
    "type": "object", "required": ["ok", "documents", "channels", "date_range", "generation", "size_bytes", "built_at"],
    "properties": {"ok": {"const": True}, "documents": _INT,
                   "channels": {"type": "array", "items": {"type": "object", "required": ["value", "count"],
                                                           "properties": {"value": _STR_OR_NULL, "count": _INT}}},
                   "date_range": {"type": "object", "required": ["from", "to"],
                                  "properties": {"from": _STR_OR_NULL, "to": _STR_OR_NULL}},
                   "generation": {"type": "string"}, "size_bytes": _INT, "built_at": _STR_OR_NULL,
                   "segments": _INT, "previous_generation": _STR_OR_NULL}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _int_param(name: str, low: int, high: int, description: str) -> dict[str, Any]:
    return _param(name, _or_blank({"type": "integer", "minimum": low, "maximum": high}), description)


_ARTICLE_ID = {"name": "article_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
               "description": "Article id (may itself be a URL)"}


def spec() -> dict[str, Any]:
    """The document served at /api/openapi.json: every JSON endpoint, its parameters and responses."""
    errors = {"400": _error_response("Bad or missing parameter (the message names it)"),
              "429": _error_response("Too many requests"),
              "503": _error_response("No index is available, shards unavailable (code shards_unavailable: "
                                     "NEWS_SEARCH_XAPIAN_PARTIAL=false), or a feature the configured "
                                     "engine does not offer (code not_on_this_engine)")}
    not_found = {"404": _error_response("Unknown id")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "news-search API", "version": "1.0.0",
                 "description": "Full-text search over Chinese news archives. Every response is JSON; errors use "
                                "one envelope: {\"ok\": false, \"error\": {\"status\", \"code\", \"message\"}}."},
        "paths": {
            "/api/search": {"get": {
                "operationId": "search", "summary": "Ranked search with highlights and facet counts",
                "parameters": SEARCH_PARAMS,
                "responses": {"200": _json("Search results", {"$ref": "#/components/schemas/SearchResult"}),
                              **errors}}},
            "/api/articles/{article_id}": {"get": {
                "operationId": "article", "summary": "One stored article",
                "parameters": [_ARTICLE_ID],
                "responses": {"200": _json("The article", {
                    "type": "object", "required": ["ok", "article"],
                    "properties": {"ok": {"const": True}, "article": {"$ref": "#/components/schemas/Article"}}}),
                    **not_found, **errors}}},
            "/api/articles/{article_id}/related": {"get": {
                "operationId": "related", "summary": "Related coverage: articles sharing the article's keywords",
                "parameters": [_ARTICLE_ID, _int_param("limit", 1, 50, "How many related articles (default 10)")],
                "responses": {"200": _json("Related articles", {"$ref": "#/components/schemas/Related"}),
                              **not_found, **errors}}},
            "/api/suggest": {"get": {
                "operationId": "suggest", "summary": "Completions for what has been typed so far",
                "parameters": [
                    _param("q", {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": r"^[^\x00]*$"},
                           "Typed text (characters or pinyin); empty gives no suggestions"),
                    _int_param("limit", 1, 20, "How many suggestions (default 8)"),
                    _param("format", _or_blank({"type": "string", "enum": ["json", "opensearch"]}),
                           "json (default) or opensearch (the browser suggestion format)")],
                "responses": {"200": {"description": "Suggestions, best first", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["ok", "suggestions"], "properties": {
                        "ok": {"const": True}, "suggestions": _STRINGS,
                        # The same suggestions with their kind and how many leading characters were typed.
                        "items": {"type": "array", "items": {
                            "type": "object", "required": ["text", "kind", "match"], "properties": {
                                "text": {"type": "string"}, "kind": {"enum": ["query", "word", "title"]},
                                "match": _INT}}}}}},
                    "application/x-suggestions+json": {"schema": {
                        # [typed text, [suggestions]]
                        "type": "array", "items": {"anyOf": [{"type": "string"}, _STRINGS]}, "minItems": 2,
                        "maxItems": 2}}}}, **errors}}},
            "/api/hot": {"get": {
                "operationId": "hot", "summary": "Most searched queries (privacy threshold applied)",
                "parameters": [_int_param("days", 1, 90, "Window in days (default 7)"),
                               _int_param("limit", 1, 50, "How many queries (default 10)")],
                "responses": {"200": _json("Frequent queries", {
                    "type": "object", "required": ["ok", "days", "enabled", "queries"], "properties": {
                        "ok": {"const": True}, "days": {"type": "integer"}, "enabled": {"type": "boolean"},
                        "queries": {"type": "array", "items": {"type": "object", "required": ["q", "count"],
                                                               "properties": {"q": {"type": "string"}, "count": _INT,
                                                                              "pinned": {"type": "boolean"}}}}}}),
                    **errors}}},
            "/api/stats": {"get": {
                "operationId": "stats", "summary": "What the live index holds",
                "responses": {"200": _json("Index statistics", {"$ref": "#/components/schemas/Stats"}), **errors}}},
            "/api/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": _json("OpenAPI 3 description", {
                    "type": "object", "required": ["openapi", "info", "paths"]})}}},
            "/healthz": {"get": {
                "operationId": "health", "summary": "Liveness: index generation and document count",
                "responses": {"200": _json("Healthy", {
                    "type": "object", "required": ["ok", "generation", "documents"],
                    "properties": {"ok": {"const": True}, "generation": {"type": "string"}, "documents": _INT,
                                   "built_at": _STR_OR_NULL}}), **errors}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["ok", "error"], "properties": {
                "ok": {"const": False},
                "error": {"type": "object", "required": ["status", "code", "message"], "properties": {
                    "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                    "parameter": {"type": "string"}}}}},
            "SearchResult": _SEARCH_RESULT,
            "Article": _ARTICLE,
            "Related": _RELATED,
            "Stats": _STATS,
        }},
    }
