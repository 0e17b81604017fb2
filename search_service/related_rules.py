"""The rules of related coverage shared by both engines (related.py on Whoosh, xapian_related.py
on the Xapian shards): limits, which keywords count, how they weigh."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from search_service.params import bounded_int

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MIN_SHARED_KEYWORDS = 2
RELATED_TOP_BOOST = 2.0
# A keyword in more than this share of the live articles is too common to mark a subject; the
# floor keeps small archives (the 50-article demo) from losing ordinary words.
COMMON_SHARE = 0.1
COMMON_MIN_DOCS = 10


def parse_limit(raw: str | int | None, default: int = DEFAULT_LIMIT) -> int:
    """`limit` as given in a query string or on the command line: a whole number in 1..MAX_LIMIT."""
    return bounded_int("limit", raw if raw is None or isinstance(raw, str) else str(raw), default, 1, MAX_LIMIT)


def keyword_boosts(keywords: Sequence[str]) -> dict[str, float]:
    """Best keyword RELATED_TOP_BOOST, falling linearly to 1.0 for the last one."""
    n = len(keywords)
    if n == 1:
        return {keywords[0]: RELATED_TOP_BOOST}
    step = (RELATED_TOP_BOOST - 1.0) / (n - 1) if n > 1 else 0.0
    return {kw: RELATED_TOP_BOOST - i * step for i, kw in enumerate(keywords)}


def envelope(fields: dict[str, Any], all_keywords: list[str], keywords: Sequence[str], excluded_ids: list[Any],
             total: int, limit: int, hits: list[dict[str, Any]], generation: str) -> dict[str, Any]:
    """The related-coverage answer, the same on every engine (the caller adds partial/missing_shards)."""
    return {
        "ok": True,
        "article_id": fields.get("id"),
        "title": fields.get("title"),
        "keywords": all_keywords,
        "common_keywords": [kw for kw in all_keywords if kw not in keywords],
        "excluded_reprints": excluded_ids,
        "total": total,
        "limit": limit,
        "hits": hits,
        "generation": generation,
    }
