"""Plain helpers behind the search page: links that change one parameter, facet and sort links,
the pagination window and the timeline bars. No Flask here; pages.py renders what these return.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from search_service.params import MAX_RESULT_WINDOW, month_last_day

SORT_LABELS = (("relevance", "相关度"), ("newest", "最新"), ("oldest", "最早"))
FACET_LABELS = (("channel", "频道"), ("year", "年份"), ("month", "月份"))


def base_args(query: dict[str, Any], interval_given: str | None) -> dict[str, Any]:
    """The page's own parameters from validated ones (defaults left out, so links stay short)."""
    return {
        "q": query["q"], "channel": list(query.get("channel") or []),
        "from": query.get("from"), "to": query.get("to"),
        "author": query.get("author"), "source": query.get("source"),
        "sort": None if query.get("sort") == "relevance" else query.get("sort"),
        "per_page": None if query.get("per_page") == 10 else query.get("per_page"),
        "collapse": None if query.get("collapse", True) else "false",
        "relax": None if query.get("relax", True) else "false",
        "correct": None if query.get("correct", True) else "false",
        "facet_interval": interval_given, "page": None,
    }


def link(path: str, args: dict[str, Any], **changes: Any) -> str:
    """`path` with `args` changed; changing anything but the page goes back to page 1."""
    merged = dict(args)
    if "page" not in changes:
        merged["page"] = None
    for key, value in changes.items():
        merged[key.rstrip("_")] = value  # from_ -> from
    pairs: list[tuple[str, Any]] = []
    for key, value in merged.items():
        if value is None or value == [] or value == "" or (key == "page" and value == 1):
            continue
        pairs.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return f"{path}?{urlencode(pairs)}" if pairs else path


def date_range(kind: str, value: str) -> tuple[str, str]:
    if kind == "year":
        return f"{value}-01-01", f"{value}-12-31"
    return f"{value}-01", month_last_day(value)


def facet_groups(facets: dict[str, list[dict[str, Any]]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """Each facet value with the link that selects it, or (when selected) removes it."""
    groups = []
    for kind, label in FACET_LABELS:
        items = []
        for f in facets.get(kind) or []:
            value, selected = f.get("label") or str(f["value"]), bool(f["selected"])
            if kind == "channel":
                chosen = args["channel"]
                new = [c for c in chosen if c != value] if selected else chosen + [value]
                href = link("/search", args, channel=new)
            elif selected:
                href = link("/search", args, from_=None, to=None)
            else:
                lo, hi = date_range(kind, value)
                href = link("/search", args, from_=lo, to=hi)
            items.append({"value": value, "count": f["count"], "selected": selected, "href": href})
        if items:
            groups.append({"kind": kind, "label": label, "items": items})
    return groups


def active_filters(args: dict[str, Any]) -> list[dict[str, str]]:
    """What narrows the results now, each with a link that removes it."""
    out = [{"label": f"频道：{c}", "href": link("/search", args, channel=[x for x in args["channel"] if x != c])}
           for c in args["channel"]]
    if args.get("from") or args.get("to"):
        span = f"{args.get('from') or '…'} 至 {args.get('to') or '…'}"
        out.append({"label": f"日期：{span}", "href": link("/search", args, from_=None, to=None)})
    for key, label in (("author", "作者"), ("source", "来源")):
        if args.get(key):
            out.append({"label": f"{label}：{args[key]}", "href": link("/search", args, **{key: None})})
    return out


def sort_links(args: dict[str, Any], current: str) -> list[dict[str, Any]]:
    return [{"label": label, "current": key == current,
             "href": link("/search", args, sort=None if key == "relevance" else key)}
            for key, label in SORT_LABELS]


def page_numbers(page: int, pages: int, per_page: int, around: int = 2) -> list[int | None]:
    """1 … p-2 p-1 p p+1 p+2 … last (None marks a gap); never past the deepest allowed page."""
    last = min(pages, max(1, MAX_RESULT_WINDOW // per_page))
    shown = sorted({1, last, *range(max(1, page - around), min(last, page + around) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def pagination(args: dict[str, Any], page: int, pages: int, per_page: int) -> dict[str, Any] | None:
    numbers = page_numbers(page, pages, per_page)
    last = max(n for n in numbers if n)
    if last <= 1:
        return None
    return {
        "prev": link("/search", args, page=page - 1) if page > 1 else None,
        "next": link("/search", args, page=page + 1) if page < last else None,
        "pages": [{"n": n, "current": n == page, "href": link("/search", args, page=n) if n else None}
                  for n in numbers],
    }


MAX_DAY_BARS, MAX_MONTH_BARS, BAR_LEVELS = 62, 24, 20


def _rollup(histogram: list[dict[str, Any]], cut: int) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for h in histogram:
        counts[h["value"][:cut]] = counts.get(h["value"][:cut], 0) + h["count"]
    return [{"value": v, "count": c} for v, c in sorted(counts.items())]


def chart_data(histogram: list[dict[str, Any]], interval: str) -> tuple[str, list[dict[str, Any]]]:
    """The interval and histogram worth drawing: days roll up to months beyond about two months,
    months to years beyond two years (a bar per month of a decade would be unreadable)."""
    if not histogram:
        return interval, histogram
    first, last = histogram[0]["value"], histogram[-1]["value"]
    if interval == "day" and date.fromisoformat(last).toordinal() - date.fromisoformat(first).toordinal() >= MAX_DAY_BARS:
        interval, histogram = "month", _rollup(histogram, 7)
        first, last = histogram[0]["value"], histogram[-1]["value"]
    if interval == "month" and (int(last[:4]) * 12 + int(last[5:7])) - (int(first[:4]) * 12 + int(first[5:7])) >= MAX_MONTH_BARS:
        interval, histogram = "year", _rollup(histogram, 4)
    return interval, histogram


def _buckets(values: list[str], interval: str) -> list[str]:
    """Every bucket between the first and last, so empty years/months show as gaps."""
    if interval == "year":
        return [str(y) for y in range(int(values[0]), int(values[-1]) + 1)]
    if interval == "month":
        (y, m), (y2, m2) = (map(int, values[0].split("-")), map(int, values[-1].split("-")))
        out = []
        while (y, m) <= (y2, m2) and len(out) < 240:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    return values


MAX_LABELS = 6  # axis labels that still fit side by side on a phone


def _label(value: str, i: int, n: int, interval: str) -> str:
    """Sparse axis labels that fit a phone. Months: every k-th month (k = 1, 2, 3, 4, 6 or 12,
    the smallest giving at most MAX_LABELS labels, aligned to January) as "M月", with the year
    on the first label and on January; otherwise every k-th bucket."""
    if interval == "month" and n > MAX_LABELS:
        step = next((k for k in (1, 2, 3, 4, 6, 12) if -(-n // k) <= MAX_LABELS), 12)
        year, month = int(value[:4]), int(value[5:7])
        if (month - 1) % step:
            return ""
        # The first labelled bar comes within the first `step` bars: it names the year.
        return f"{year}年{month}月" if month == 1 or i < step else f"{month}月"
    every = max(1, -(-n // 8))
    return value if i % every == 0 else ""


def timeline(histogram: list[dict[str, Any]], interval: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Bars of `published` per year, month or day for plain HTML/CSS: each bar's height is a
    level 0..BAR_LEVELS (a CSS class, since the CSP forbids inline styles)."""
    counts = {h["value"]: h["count"] for h in histogram}
    if not counts:
        return None
    buckets = _buckets(sorted(counts), interval)
    top = max(counts.values())
    bars = []
    for i, value in enumerate(buckets):
        n = counts.get(value, 0)
        href = None
        if n and interval in ("year", "month"):
            lo, hi = date_range(interval, value)
            href = link("/search", args, from_=lo, to=hi)
        elif n:
            href = link("/search", args, from_=value, to=value)
        bars.append({"value": value, "count": n, "level": max(1, round(BAR_LEVELS * n / top)) if n else 0,
                     "href": href, "label": _label(value, i, len(buckets), interval)})
    return {"bars": bars, "interval": interval, "total": sum(counts.values())}
