"""Article ids containing "/" in /api/articles/<id> and /api/articles/<id>/related.

WSGI servers decode the path before routing, so `/api/articles/x%2Frelated` (the article
"x/related") would reach x's related articles, and `/api/articles/%2Flead` ("/lead") would be
redirected as a double slash. When the raw request URI (REQUEST_URI, set by waitress and by
werkzeug) holds an encoded slash in the id, this middleware routes on the still-encoded id and
marks the request; `article_id()` then decodes it once.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from flask import request

_RAW = re.compile(r"^/api/articles/(?P<id>[^/?#]*%2[fF][^/?#]*)(?P<tail>/related)?/?$")
FLAG = "news_search.encoded_id"


class EncodedIds:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or ""
        m = _RAW.match(raw.split("?", 1)[0])
        if m:
            # Route on the encoded form: it holds no "/" of its own; the view decodes it.
            environ["PATH_INFO"] = f"/api/articles/{m.group('id')}{m.group('tail') or ''}"
            environ[FLAG] = True
        return self.app(environ, start_response)


def article_id(routed: str) -> str:
    """The article id of a view's `<path:article_id>`, decoded if it came encoded."""
    return unquote(routed) if request.environ.get(FLAG) else routed
