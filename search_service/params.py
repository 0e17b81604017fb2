"""Validation of search parameters, shared by the JSON API, the HTML page and the CLI.

Every error names the parameter and says what is allowed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from search_service.errors import BadParameter

MAX_QUERY_CHARS = 200
MAX_PER_PAGE = 50
MAX_RESULT_WINDOW = 10_000   # page * per_page: deep paging beyond this is refused
SORTS = ("relevance", "newest", "oldest")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INTERVALS = ("day", "month", "year")

# Parameter values are trimmed of ASCII white space only: str.strip() would also eat control
# characters such as \x1d, turning a malformed value into a silently accepted blank.
_SPACE = " \t\r\n\f\v"


@dataclass
class SearchParams:
    q: str
    channel: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None
    author: str | None = None
    source: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    collapse: bool = True
    facet_interval: str | None = None
    relax: bool = True   # false: every word required, even when that finds nothing (relax.py)
    correct: bool = True  # false: search the query as typed, never a spelling correction (spelling.py)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["from"] = d.pop("date_from")
        d["to"] = d.pop("date_to")
        if d["correct"]:  # echoed only when turned off (the default keeps the echo as it was)
            del d["correct"]
        return d

    def cache_key(self) -> tuple[Any, ...]:
        return (self.q, tuple(sorted(self.channel)), self.date_from, self.date_to, self.author, self.source,
                self.sort, self.page, self.per_page, self.collapse, self.facet_interval, self.relax,
                self.correct)


def _one(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = args.get(name) or []
    if isinstance(values, str):
        values = [values]
    if len(values) > 1:
        raise BadParameter(name, f"`{name}` may be given only once")
    return values[0] if values else None


def month_last_day(month: str) -> str:
    """"2024-02" -> "2024-02-29": the `to` of a whole-month filter (facets and the page's links)."""
    y, m = int(month[:4]), int(month[5:7])
    if m == 12:  # no "first of next month" for December 9999 (date.max)
        return f"{y:04d}-12-31"
    return date.fromordinal(date(y, m + 1, 1).toordinal() - 1).isoformat()


def whole_number(raw: str) -> int:
    """int() of a query-string value; "2.0" (how some clients write an integer) counts as 2."""
    text = raw.strip(_SPACE)
    try:
        return int(text)
    except ValueError:
        value = float(text)  # ValueError when it is no number at all
        if not value.is_integer():  # 2.5, inf, nan
            raise ValueError(text) from None
        return int(value)


def _int(args: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int | None) -> int:
    return bounded_int(name, _one(args, name), default, low, high)


def bounded_int(name: str, raw: str | None, default: int, low: int, high: int | None) -> int:
    """The one integer validator of every edge (search, suggest, hot, related): a whole number
    in low..high (no upper bound when `high` is None), `default` when missing or blank."""
    if raw is None or not raw.strip(_SPACE):   # a blank form field means the default
        return default
    try:
        value = whole_number(raw)
    except ValueError:
        raise BadParameter(name, f"`{name}` must be a whole number, got {raw[:40]!r}") from None
    if value < low or (high is not None and value > high):
        allowed = f"in {low}..{high}" if high is not None else f">= {low}"
        raise BadParameter(name, f"`{name}` must be {allowed}, got {value}")
    return value


def _date(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    raw = _one(args, name)
    if raw is None or not raw.strip(_SPACE):
        return None
    try:
        # Only YYYY-MM-DD: date.fromisoformat alone also takes 20200101 and week dates (2020-W01-1).
        if not _ISO_DAY.fullmatch(raw.strip(_SPACE)):
            raise ValueError(raw)
        return date.fromisoformat(raw.strip(_SPACE)).isoformat()
    except ValueError:
        raise BadParameter(name, f"`{name}` must be a date as YYYY-MM-DD, got {raw[:40]!r}") from None


def _text(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    raw = _one(args, name)
    if raw is None or not raw.strip(_SPACE):
        return None
    if len(raw) > MAX_QUERY_CHARS:
        raise BadParameter(name, f"`{name}` must be at most {MAX_QUERY_CHARS} characters")
    return raw.strip(_SPACE)


def _bool(args: Mapping[str, Sequence[str]], name: str, default: bool) -> bool:
    raw = _one(args, name)
    if raw is None or not raw.strip(_SPACE):
        return default
    value = raw.strip(_SPACE).lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadParameter(name, f"`{name}` must be true or false, got {raw[:40]!r}")


def parse_search_params(args: Mapping[str, Sequence[str]]) -> SearchParams:
    """Validate raw parameters (name -> list of values, like a query string)."""
    raw_q = _one(args, "q")
    q = (raw_q or "").strip()
    if "\x00" in q:
        raise BadParameter("q", "`q` must not contain NUL characters")
    if not q:
        raise BadParameter("q", "`q` is required: 1 to 200 characters of search text", code="missing_parameter")
    if len(q) > MAX_QUERY_CHARS:
        raise BadParameter("q", f"`q` must be at most {MAX_QUERY_CHARS} characters after trimming, got {len(q)}")
    channels = args.get("channel") or []
    if isinstance(channels, str):
        channels = [channels]
    if any(len(c) > 50 for c in channels) or len(channels) > 20:  # as given, before blanks are dropped
        raise BadParameter("channel", "`channel` takes at most 20 values of at most 50 characters")
    channels = [c.strip() for c in channels if c and c.strip()]
    sort = (_one(args, "sort") or "relevance").strip(_SPACE) or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", f"`sort` must be one of {', '.join(SORTS)}, got {sort[:40]!r}")
    interval = _one(args, "facet_interval")
    if interval is not None and interval.strip(_SPACE) and interval.strip(_SPACE) not in INTERVALS:
        raise BadParameter("facet_interval", f"`facet_interval` must be one of {', '.join(INTERVALS)}")
    page = _int(args, "page", 1, 1, None)
    per_page = _int(args, "per_page", 10, 1, MAX_PER_PAGE)
    if page * per_page > MAX_RESULT_WINDOW:
        raise BadParameter("page", f"`page` * `per_page` must be at most {MAX_RESULT_WINDOW:,}: "
                                   "narrow the query or the date range instead of paging this deep")
    date_from, date_to = _date(args, "from"), _date(args, "to")
    if date_from and date_to and date_from > date_to:
        raise BadParameter("from", f"`from` ({date_from}) must not be after `to` ({date_to})")
    return SearchParams(
        q=q, channel=list(dict.fromkeys(channels)), date_from=date_from, date_to=date_to,
        author=_text(args, "author"), source=_text(args, "source"), sort=sort, page=page,
        per_page=per_page, collapse=_bool(args, "collapse", True),
        relax=_bool(args, "relax", True), correct=_bool(args, "correct", True),
        facet_interval=(interval.strip(_SPACE) if interval and interval.strip(_SPACE) else None),
    )
