"""Typo correction that answers the corrected query (已显示“神舟十八号”的结果 · 仍然搜索“神州十八号”).

suggest.py offers a "did you mean" link when a query finds almost nothing; this module decides
when the mistake is clear enough to search the correction straight away, the way the big engines
do. It reuses suggest.py's per-snapshot data (the words of titles and keywords, by pinyin).

Candidates. Each plain word of the query (never a quoted string, a field clause, an exclusion or
an operator) is folded (so traditional input is read as simplified) and each run of Chinese
characters in it is scanned for windows of 2..6 characters that sound like a known word
(suggest.py's homophones: same pinyin with tones, without tones, or with the fuzzy pairs
z/zh c/ch s/sh n/l and -n/-ng for in/ing an/ang en/eng) and differ from it in at most one
character (two in windows of four or more). A window may be a word the archive knows (神州, 一代):
what decides is its context, the window widened to the jieba words it touches plus one word on
each side (神州十八号, 一代一路, 新关疫情), compared as written with the correction's context.

Evidence. attested(text) counts the articles containing `text` as written: for a single word, the
articles whose postings hold it; for several words, those holding them all with the text itself
in the folded title or body. Per run (thresholds below):

- a run attested in KNOWN or more articles is never changed: names and words the archive really
  contains stay as typed, however rare their spelling looks; nor is a run longer than any window
  that is attested at all (a headline typed as written), nor a query of one word that the
  archive holds at all (a rare real word or name: 织造 is not 制造);
- a query word standing alone (新关 in `新关 疫情`) has no context inside it: its context is the
  query's other plain words, so its evidence counts the articles holding them too, and
  MIN_NEAR such articles suffice;
- a window change needs its corrected context attested in at least MIN_ATTESTED articles and at
  least RATIO times as often as the typed context; the best-attested change of a run wins (tone
  matches before toneless before fuzzy ones at equal evidence).

Decision (autocorrect). With `o` what the query as typed finds and `c` what the rewrite finds
(all words required, the request's filters applied): the correction is searched instead when
c >= FEW, c > o and (o < FEW or c >= RATIO * o). FEW = 3 is suggest.py's "little or nothing"
line: the typed query finds fewer, the correction at least that many. RATIO
= 20: when the typed query does find a few articles, a reader who meant it as typed loses at
most one result in twenty to the correction's; on the real corpus (docs/spelling.md) a ratio of
5 corrected 2% more homophone typos and no typo-free query either, so 20 costs little and
leaves a wide margin for names whose homophones are common. Otherwise suggest.did_you_mean
offers a link, as before.

Everything here is cached per snapshot (the rewrite of a query does not depend on filters) and
stops evaluating candidates once the search's time budget (deadline.py) has run out.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from indexer.analysis import fold_text, segment, words
from search_service import deadline
from search_service.index import LRU, Snapshot
from search_service import suggest
from search_service.suggest import _OPERATORS, _PLAIN_TOKEN, MAX_WINDOW, SuggestData, fuzzy, suggest_data, syllables

KNOWN = 3            # a run attested this often as typed is never changed
MIN_ATTESTED = 5     # a corrected context must be attested at least this often ...
MIN_NEAR = 3         # ... or, for a lone query word, co-occur this often with the other words
RATIO = 20           # ... and this many times more than the typed one; also the query-level ratio
FEW = 3              # "finds nothing or next to nothing" (suggest.SUGGEST_BELOW)
MAX_CANDIDATES = 32  # window changes evaluated per run
PER_LOOKUP = 3       # homophones tried per window
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKENS = re.compile(r'"[^"]*"?|\S+')   # a quoted string stays one token, spaces and all


@dataclass(frozen=True)
class Correction:
    source: str          # the query as typed
    to: str              # what was searched instead
    original_total: int  # what the query as typed finds
    total: int

    def as_dict(self) -> dict[str, Any]:
        """The response's `corrected` object (OpenAPI: SearchResult.corrected)."""
        return {"from": self.source, "to": self.to, "original_total": self.original_total}

    def apply(self, result: dict[str, Any], params: Any) -> dict[str, Any]:
        """The correction's search result, presented as the answer to the typed query."""
        out = dict(result)
        out["query"] = params.as_dict()
        out["corrected"] = self.as_dict()
        out["suggestion"] = None
        return out


def autocorrect(snap: Snapshot, params: Any, count: Callable[[str], int]) -> Correction | None:
    """The correction to search instead of `params.q`, or None (see the module's decision rule).
    `count(q)` is how many results a query finds with the request's filters."""
    if not getattr(params, "correct", True) or deadline.timed_out():
        return None
    to = rewrite(snap, params.q)
    if to is None:
        return None
    o = count(params.q)
    c = count(to)
    if c >= FEW and c > o and (o < FEW or c >= RATIO * o):
        return Correction(params.q, to, o, c)
    return None


def did_you_mean(snap: Snapshot, q: str, total: int, count: Callable[[str], int]) -> dict[str, Any] | None:
    """suggest.did_you_mean, falling back to this module's context-checked rewrite when none of
    its corrections finds more (the link 神州十八号 gets with correct=false)."""
    found = suggest.did_you_mean(snap, q, total, count)
    if found is None and total < suggest.SUGGEST_BELOW and (fixed := rewrite(snap, q)):
        n = count(fixed)
        found = {"q": fixed, "total": n} if n > total else None
    return found


def with_correct(params: Any, to: str) -> Any:
    """The parameters that search the correction (never corrected again)."""
    return replace(params, q=to, correct=False)


# -- the rewrite ----------------------------------------------------------------------------------
def rewrite(snap: Snapshot, q: str) -> str | None:
    """`q` with its mistyped Chinese runs corrected, or None; cached per snapshot."""
    cache = snap.cached("spelling_rewrites", lambda: LRU(4096))
    found = cache.get_or(q, lambda: _rewrite(snap, q) or "")
    return found or None


def _plain(token: str) -> bool:
    return bool(_PLAIN_TOKEN.fullmatch(token)) and token not in _OPERATORS and '"' not in token


def _rewrite(snap: Snapshot, q: str) -> str | None:
    tokens = _TOKENS.findall(q)
    data = suggest_data(snap)
    changed = False
    out = []
    for k, tok in enumerate(tokens):
        if _plain(tok) and _HAN_RUN.search(fold_text(tok)):
            folded = fold_text(tok)
            others = [t for n, t in enumerate(tokens) if n != k and _plain(t)]
            fixed = _HAN_RUN.sub(lambda m: _correct_run(snap, data, m.group(), others, m.group() == folded)
                                 or m.group(), folded)
            if fixed != folded:
                out.append(fixed)
                changed = True
                continue
        out.append(tok)
    return " ".join(out) if changed else None


@lru_cache(maxsize=100_000)
def toned(text: str) -> tuple[str, ...]:
    """Pinyin with tone numbers, one syllable per character (phrase-aware)."""
    from pypinyin import Style, lazy_pinyin

    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


def _context(run: str, spans: list[tuple[int, int]], i: int, j: int) -> tuple[int, int]:
    """[i, j) widened to the words it touches plus one word on each side."""
    inside = [k for k, (s, e) in enumerate(spans) if s < j and e > i]
    if not inside:
        return i, j
    first, last = max(0, inside[0] - 1), min(len(spans) - 1, inside[-1] + 1)
    return min(i, spans[first][0]), max(j, spans[last][1])


def _correct_run(snap: Snapshot, data: SuggestData, run: str, others: list[str], whole: bool) -> str | None:
    """The best-attested change of one run, or None. A run that is a whole query word of its own
    (新关 in `新关 疫情`) has no context inside it: the query's other plain words are its context,
    so its evidence counts only the articles holding them too."""
    seen = attested(snap, run) if len(run) >= 2 else KNOWN
    if seen >= KNOWN or (seen and len(run) > MAX_WINDOW):
        return None  # written so in the archive: often, or as a run longer than any typo window
    if whole and not others and seen and len(words(run)) == 1:
        return None  # a one-word query the archive holds as written: a real (rare) word or name
    near = _docs_of(snap, others) if whole and others else None
    least = MIN_NEAR if near is not None else MIN_ATTESTED
    syls = syllables(run)
    if len(syls) != len(run):
        return None
    tones = toned(run)
    spans = [(s, e) for _, s, e in segment(run)]
    best: tuple[float, str] | None = None
    tried = 0
    for length in range(min(MAX_WINDOW, len(run)), 1, -1):
        for i in range(len(run) - length + 1):
            j = i + length
            window, key = run[i:j], syls[i:j]
            for word, tier in _sound_alikes(data, window, key, tones[i:j]):
                if tried >= MAX_CANDIDATES or deadline.expired():
                    return best[1] if best else None
                tried += 1
                cs, ce = _context(run, spans, i, j)
                typed = attested(snap, run[cs:ce], near)
                if typed >= KNOWN:
                    continue
                fixed = run[cs:i] + word + run[j:ce]
                n = attested(snap, fixed, near)
                if n >= max(least, RATIO * typed):
                    score = n * tier
                    if best is None or score > best[0]:
                        best = (score, run[:i] + word + run[j:])
    return best[1] if best else None


def _sound_alikes(data: SuggestData, window: str, key: tuple[str, ...],
                  tones: tuple[str, ...]) -> list[tuple[str, float]]:
    """Known words sounding like `window` and differing from it in few characters, with a tier:
    1.0 same tones, 0.5 same syllables, 0.25 fuzzy (z/zh, n/l, -n/-ng ...)."""
    limit = 1 if len(window) <= 3 else 2
    seen: dict[str, float] = {}
    for group in (data.homophones.get(key) or [])[:PER_LOOKUP * 4], \
                 (data.fuzzy_homophones.get(fuzzy(key)) or [])[:PER_LOOKUP * 4]:
        for word in group:
            if word == window or word in seen or len(word) != len(window):
                continue
            if sum(a != b for a, b in zip(word, window)) > limit:
                continue
            same = syllables(word) == key
            seen[word] = 1.0 if same and toned(word) == tones else 0.5 if same else 0.25
            if len(seen) >= PER_LOOKUP * 2:
                break
    return sorted(seen.items(), key=lambda wt: -wt[1])[:PER_LOOKUP]


# -- evidence ---------------------------------------------------------------------------------------
def attested(snap: Snapshot, text: str, near: frozenset[int] | None = None) -> int:
    """Articles containing folded `text` as written (see the module docstring), among `near`
    when given; cached."""
    cache = snap.cached("spelling_attested", lambda: LRU(16384))
    docs = cache.get_or(text, lambda: _attested(snap, text))
    return len(docs) if near is None else len(docs & near)


def _docs_of(snap: Snapshot, tokens: list[str]) -> frozenset[int]:
    """Articles matching all of these plain query words (synonyms and regional forms included)."""
    from search_service.match import leaf_docs
    from search_service.query import Words

    docs = snap.live_docs
    for tok in tokens:  # (the Xapian shards' view has its own leaf_docs: xapian_suggest.py)
        docs = docs & (snap.leaf_docs(Words(tok)) if hasattr(snap, "leaf_docs") else leaf_docs(snap, Words(tok)))
    return docs


def _attested(snap: Snapshot, text: str) -> frozenset[int]:
    from search_service.match import TEXT_FIELDS, substring_docs, term_docs

    if hasattr(snap, "attested_docs"):  # the Xapian shards (xapian_suggest.py)
        return snap.attested_docs(text)
    ws = words(text)
    long_words = [w for w in ws if len(w) > 1]
    if not long_words:
        return substring_docs(snap, text)
    docs: frozenset[int] | None = None
    for w in sorted(long_words, key=len, reverse=True):
        found = term_docs(snap, TEXT_FIELDS, w)
        docs = found if docs is None else docs & found
        if not docs:
            return frozenset()
    assert docs is not None
    if len(ws) == 1:
        return docs
    folded = snap.folded
    return frozenset(d for d in docs if text in folded[d])
