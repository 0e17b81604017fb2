"""Filters and facet counts from per-snapshot column arrays.

Multi-select semantics: each facet is counted over the query and every *other* filter, so a
reader can switch between channels; counts are exact (set sizes, not estimates).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from indexer.analysis import fold_text
from search_service import column_arrays
from search_service.docset import as_array
from search_service.index import Snapshot
from search_service.match import channel_docs, field_phrase_docs
from search_service.scoring import ts_array
from search_service.params import SearchParams, month_last_day

# Articles without a channel: counted under this label (JSON value null) and selected with
# channel=未分类, so the channel counts add up to the total.
NO_CHANNEL = "未分类"


def no_channel_docs(snap: Snapshot) -> frozenset[int]:
    return snap.filter_sets.get_or(("no_channel",),
                                   lambda: column_arrays.docs_where(snap, _codes(snap, "channel")[0] == 0))


def _day_ts(day: str, end: bool) -> int:
    d = date.fromisoformat(day)
    ts = int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())
    return ts + 86399 if end else ts


def date_docs(snap: Snapshot, date_from: str | None, date_to: str | None) -> frozenset[int]:
    def make() -> frozenset[int]:
        lo = _day_ts(date_from, False) if date_from else None
        hi = _day_ts(date_to, True) if date_to else None
        ts = ts_array(snap)
        mask = ts >= 0
        if lo is not None:
            mask &= ts >= lo
        if hi is not None:
            mask &= ts <= hi
        return column_arrays.docs_where(snap, mask)
    return snap.filter_sets.get_or(("date", date_from, date_to), make)


def filter_sets(snap: Snapshot, params: SearchParams) -> dict[str, frozenset[int] | None]:
    """One doc set per active filter (None when the filter is not used)."""
    sets: dict[str, frozenset[int] | None] = {"channel": None, "date": None, "author": None, "source": None}
    if params.channel:
        acc: frozenset[int] = frozenset()
        for value in params.channel:
            acc = acc | channel_docs(snap, value)
            if fold_text(value) == NO_CHANNEL:
                acc = acc | no_channel_docs(snap)
        sets["channel"] = acc
    if params.date_from or params.date_to:
        sets["date"] = date_docs(snap, params.date_from, params.date_to)
    if params.author:
        sets["author"] = field_phrase_docs(snap, "author", params.author)
    if params.source:
        sets["source"] = field_phrase_docs(snap, "source", params.source)
    return sets


def apply(docs: frozenset[int], sets: dict[str, frozenset[int] | None], skip: str | None = None) -> frozenset[int]:
    # Smallest sets first keeps every intersection cheap.
    for name, s in sorted(sets.items(), key=lambda kv: len(kv[1]) if kv[1] is not None else 0):
        if s is not None and name != skip:
            docs = docs & s
    return docs


def _selected_years(params: SearchParams) -> set[str]:
    if params.date_from and params.date_to and params.date_from[:4] == params.date_to[:4] \
            and params.date_from[5:] == "01-01" and params.date_to[5:] == "12-31":
        return {params.date_from[:4]}
    return set()


def _selected_months(params: SearchParams) -> set[str]:
    if params.date_from and params.date_to and params.date_from[:7] == params.date_to[:7] \
            and params.date_from[8:] == "01":
        last = month_last_day(params.date_from[:7])
        if params.date_to == last:
            return {params.date_from[:7]}
    return set()


def _codes(snap: Snapshot, column: str) -> tuple[np.ndarray, list[Any]]:
    """Integer code per doc number and the value of each code (code 0 = no value), computed once
    per segment from one grow-only vocabulary per generation (search_service/column_arrays.py)."""
    return column_arrays.codes(snap, column)


def _count(snap: Snapshot, column: str, docs: frozenset[int], missing: bool = False,
           arr: np.ndarray | None = None) -> Counter:
    """Exact value counts over a doc set: one numpy bincount instead of a Python loop. With
    `missing`, docs without a value are counted under None; `arr` is `docs` as an array, if known."""
    codes, labels = _codes(snap, column)
    if not docs:
        return Counter()
    if arr is None:
        arr = np.fromiter(docs, dtype=np.int64, count=len(docs))
    counts = np.bincount(codes[arr], minlength=len(labels))
    return Counter({labels[c]: int(n) for c, n in enumerate(counts.tolist()) if (c or missing) and n})


def _months_in_view(months: Counter, years: set[str]) -> Counter:
    """With a whole year selected, the month facet lists that year's months (so a reader can pick
    one of them); other date ranges leave it alone, so a chosen month can be switched for another."""
    if not years:
        return months
    return Counter({m: c for m, c in months.items() if m[:4] in years})


def facet_counts(snap: Snapshot, qdocs: frozenset[int], sets: dict[str, frozenset[int] | None],
                 params: SearchParams) -> dict[str, list[dict[str, Any]]]:
    # The channel and date facets often count the same set (no filter, or both filters off it):
    # it becomes an array once (170k doc numbers for a single character on 200k articles).
    arrays: list[tuple[frozenset[int], np.ndarray]] = []

    def array_of(docs: frozenset[int]) -> np.ndarray:
        for seen, arr in arrays:
            if seen is docs:
                return arr
        arrays.append((docs, as_array(docs)))
        return arrays[-1][1]

    return facet_counts_by(lambda column, docs, missing=False: _count(snap, column, docs, missing,
                                                                      array_of(docs) if docs else None),
                           qdocs, sets, params)


Counting = Callable[..., Counter]


def facet_counts_by(count: Counting, qdocs: frozenset[int], sets: dict[str, frozenset[int] | None],
                    params: SearchParams) -> dict[str, list[dict[str, Any]]]:
    """The facets of any engine: `count(column, docs, missing=False)` gives the exact value counts
    of column channel, year or month over a doc set (with `missing`, docs without one under None)."""
    chan_docs = apply(qdocs, sets, skip="channel")
    date_base = apply(qdocs, sets, skip="date")
    chan = count("channel", chan_docs, missing=True)
    unfiled = chan.pop(None, 0)
    years = count("year", date_base)
    months = count("month", date_base)
    chosen = {fold_text(c) for c in params.channel}   # the filter matches folded values too
    sel_years, sel_months = _selected_years(params), _selected_months(params)
    # An active value stays listed (count 0) when nothing matches it, so it can be switched off.
    for v in chosen - {fold_text(v) for v in chan} - {NO_CHANNEL}:
        chan[next((c for c in params.channel if fold_text(c) == v), v)] = 0
    channel = [{"value": v, "count": c, "selected": fold_text(v) in chosen}
               for v, c in sorted(chan.items(), key=lambda kv: (-kv[1], kv[0]))]
    if unfiled or NO_CHANNEL in chosen:  # last: "uncategorised" is not a channel readers look for first
        channel.append({"value": None, "count": unfiled, "selected": NO_CHANNEL in chosen,
                        "label": NO_CHANNEL})
    for v in sel_years - {str(y) for y in years}:
        years[int(v)] = 0
    for v in sel_months - set(months):
        months[v] = 0
    months = _months_in_view(months, sel_years)
    return {
        "channel": channel,
        "year": [{"value": str(v), "count": c, "selected": str(v) in sel_years}
                 for v, c in sorted(years.items(), reverse=True)],
        "month": [{"value": v, "count": c, "selected": v in sel_months}
                  for v, c in sorted(months.items(), reverse=True)],
    }


def histogram(snap: Snapshot, docs: frozenset[int], interval: str) -> list[dict[str, Any]]:
    """`published` histogram of the matching articles, oldest bucket first."""
    return histogram_by(ts_array(snap), docs, interval)


def histogram_by(ts: Any, docs: frozenset[int], interval: str) -> list[dict[str, Any]]:
    """The histogram of any engine: `ts[d]` is doc d's publication time (-1 undated)."""
    cut = {"day": 10, "month": 7, "year": 4}[interval]
    counts = Counter(
        datetime.fromtimestamp(int(ts[d]), tz=timezone.utc).strftime("%Y-%m-%d")[:cut] for d in docs if ts[d] >= 0
    )
    return [{"value": v, "count": c} for v, c in sorted(counts.items())]
