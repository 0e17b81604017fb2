"""Examples for /help chosen from the index being served, so every one of them finds something.

Built once per snapshot (a new generation gets new examples): the most used stored keywords give
the words; the most common channel, author and source give the field examples; every candidate
is searched and kept only when it finds results (and, for exclusions, when it also drops some).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from indexer.analysis import is_han
from search_service import core
from search_service.index import SearchIndex, Snapshot
from search_service.params import parse_search_params

log = logging.getLogger(__name__)

TOP_KEYWORDS = 24
SAMPLE_DOCS = 2000   # newest articles read for common authors and sources


def _count(index: SearchIndex, q: str, **args: str) -> int:
    params = parse_search_params({"q": [q], "per_page": ["1"], **{k: [v] for k, v in args.items()}})
    return int(core.search(index, params)["total"])


class WhooshFacts:
    """What the examples are chosen from, read from a Whoosh snapshot (xapian_help.py: the shards)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def keyword_counts(self) -> dict[str, int]:
        """Stored keyword -> the articles holding it."""
        reader = self.snap.searcher().reader()
        if "keywords" not in reader.schema.names():
            return {}
        out: dict[str, int] = {}
        for term, info in reader.iter_field("keywords"):
            out[term.decode("utf-8") if isinstance(term, bytes) else term] = info.doc_frequency()
        return out

    def newest_values(self, fieldname: str, n: int) -> list[str]:
        """The stored `fieldname` of the `n` newest articles."""
        snap = self.snap
        ts = snap.ts
        docs = sorted(snap.live_docs, key=lambda d: -(ts[d] if ts[d] is not None else -1))[:n]
        return [snap.stored(d).get(fieldname) or "" for d in docs]

    def channel_counts(self) -> Counter:
        col = self.snap.channel
        return Counter(col[d] for d in self.snap.live_docs if col[d])

    def year_counts(self) -> Counter:
        snap = self.snap
        return Counter(snap.year[d] for d in snap.live_docs if snap.year[d] > 0)


def _keywords(facts: Any) -> list[str]:
    counts: Counter = Counter({w: n for w, n in facts.keyword_counts().items()
                               if len(w) >= 2 and all(is_han(c) for c in w)})
    return [w for w, _ in counts.most_common(TOP_KEYWORDS * 2) if not _person(w)][:TOP_KEYWORDS]


def _person(word: str) -> bool:
    """A person's name (jieba's nr* tags): a help page's examples should be topics, not people."""
    import jieba.posseg

    tagged = jieba.posseg.lcut(word)
    return len(tagged) == 1 and tagged[0].flag.startswith("nr")


def _common(facts: Any, fieldname: str) -> list[str]:
    counts = Counter(v.strip() for v in facts.newest_values(fieldname, SAMPLE_DOCS))
    counts.pop("", None)
    return [v for v, _ in counts.most_common(5) if len(v) <= 12 and " " not in v]


def _traditional(text: str) -> str | None:
    try:
        import opencc

        return opencc.OpenCC("s2t").convert(text)
    except Exception:  # noqa: BLE001 (any converter problem: the example is simply left out)
        return None


def build(index: Any, facts: Any) -> dict[str, list[dict[str, str]]]:
    """{"words": [...], "exact": [...], "exclude": [...], "or": [...], "fields": [...], "dates": [...]}
    where each example is {"q", "what"} (and "from"/"to" for a date range)."""
    started = time.perf_counter()
    kinds = ("words", "exact", "exclude", "or", "fields", "dates")
    out: dict[str, list[dict[str, str]]] = {k: [] for k in kinds}
    kws = _keywords(facts)
    if not kws:
        return out
    a = kws[0]
    n_a = _count(index, a)
    out["words"].append({"q": a, "what": f"包含“{a}”的文章（标题或正文）"})
    pair = next(((a, b) for b in kws[1:] if 0 < _count(index, f"{a} {b}") < n_a), None)
    b = pair[1] if pair else None
    if b:
        out["words"].append({"q": f"{a} {b}", "what": f"“{a}”和“{b}”两个词都出现"})
    trad = _traditional(a)
    if trad and trad != a:
        out["words"].append({"q": trad, "what": f"繁体也能找到简体：与搜索“{a}”结果相同"})
    longest = max(kws[:10], key=len)
    out["exact"].append({"q": f'"{longest}"', "what": f"连续出现“{longest}”这几个字，也包括更长的词里的“{longest}”"})
    out["exact"].append({"q": a[0], "what": f"单个字：包含“{a[0]}”字的所有文章"})
    if b:
        out["exclude"].append({"q": f"{a} -{b}", "what": f"关于“{a}”、但不含“{b}”的文章"})
        out["exclude"].append({"q": f'{a} -"{b}"', "what": f"排除精确出现“{b}”的文章"})
        out["or"].append({"q": f"{a} OR {b}", "what": f"包含“{a}”或“{b}”"})
        c = next((c for c in kws[1:] if c not in (a, b) and _count(index, f"({a} OR {b}) {c}") > 0), None)
        if c:
            out["or"].append({"q": f"({a} OR {b}) {c}", "what": f"包含“{c}”，并且包含“{a}”或“{b}”"})
    if _count(index, f"title:{a}"):
        out["fields"].append({"q": f"title:{a}", "what": f"只在标题中找“{a}”"})
    for fieldname, label in (("author", "作者"), ("source", "来源（媒体）")):
        value = next((v for v in _common(facts, fieldname) if _count(index, f"{fieldname}:{v}")), None)
        if value:
            out["fields"].append({"q": f"{fieldname}:{value}", "what": f"{label}是“{value}”的文章"})
    channels = facts.channel_counts()
    for channel, _n in channels.most_common(3):
        word = next((w for w in kws if _count(index, f"channel:{channel} {w}")), None)
        if word:
            out["fields"].append({"q": f"channel:{channel} {word}", "what": f"“{channel}”频道里关于“{word}”的文章"})
            other = next((c for c in channels if c != channel), None)
            if other and _count(index, f"channel:-{other} {word}"):
                out["fields"].append({"q": f"channel:-{other} {word}", "what": f"不看“{other}”频道"})
            break
    year = _busy_year(facts)
    if year and _count(index, a, **{"from": f"{year}-01-01", "to": f"{year}-12-31"}):
        out["dates"].append({"q": a, "from": f"{year}-01-01", "to": f"{year}-12-31",
                             "what": f"{year} 年发表的关于“{a}”的文章"})
    log.info("help examples built in %.0f ms", (time.perf_counter() - started) * 1000)
    return out


def _busy_year(facts: Any) -> int | None:
    years = facts.year_counts()
    return years.most_common(1)[0][0] if years else None


def examples(index: SearchIndex) -> dict[str, list[dict[str, str]]]:
    if getattr(index, "engine_name", "whoosh") != "whoosh":  # the Xapian shards
        from search_service import xapian_help

        facts, st = xapian_help.facts(index, SAMPLE_DOCS)
        return st.cached("help_examples", lambda: build(index, facts))
    snap = index.snapshot()
    return snap.cached("help_examples", lambda: build(index, WhooshFacts(snap)))

