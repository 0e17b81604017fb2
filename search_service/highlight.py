"""Highlighted titles and snippets from stored character offsets.

Word matches come from the postings' character spans (sub-words carry their parent word's
span, so a mark never covers half a word); quoted strings and single characters are found in
the folded text and mapped back to the original offsets. Text is HTML-escaped piece by piece,
so nothing from an article reaches the page as markup.
"""
from __future__ import annotations

import re
from html import escape

from whoosh.searching import Searcher

from indexer.analysis import fold

SNIPPET_TARGET = 150   # characters; windows grow sentence by sentence up to SNIPPET_MAX
SNIPPET_MAX = 160
ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』)）]?|\n")
_SOFT_BREAK = re.compile(r"[，、,：:]")

Span = tuple[int, int]


def posting_spans(searcher: Searcher, fieldname: str, docnum: int, terms: set[str]) -> list[Span]:
    return page_spans(searcher, fieldname, [docnum], terms).get(docnum, [])


def page_spans(searcher: Searcher, fieldname: str, docnums: list[int], terms: set[str]) -> dict[int, list[Span]]:
    """Character spans of `terms` in each of `docnums`, one postings pass per term (ascending skips)."""
    out: dict[int, list[Span]] = {d: [] for d in docnums}
    ordered = sorted(set(docnums))
    for term in terms:
        try:
            m = searcher.postings(fieldname, term)
        except Exception:  # term not in this field (whoosh raises TermNotFound)
            continue
        for docnum in ordered:
            if not m.is_active():
                break
            m.skip_to(docnum)
            if m.is_active() and m.id() == docnum:
                out[docnum].extend((s, e) for _pos, s, e in m.value_as("characters"))
    return out


def substring_spans(text: str, needles: set[str]) -> list[Span]:
    if not needles or not text:
        return []
    folded, mapping = fold(text)
    spans: list[Span] = []
    for needle in needles:
        if not needle:
            continue
        start = folded.find(needle)
        while start >= 0:
            end = start + len(needle)
            if mapping is None:
                spans.append((start, end))
            else:
                spans.append((mapping[start], mapping[end - 1] + 1))
            start = folded.find(needle, end)
    return spans


def glue_spans(spans: list[Span], candidates: list[Span]) -> list[Span]:
    """`spans` plus the candidate spans that touch one of them (transitively).

    Single-character query words would mark every 小 or 的 of an article; next to another
    match they complete it instead: 微信<mark>小程序</mark>, not 微信小<mark>程序</mark>.
    """
    out = list(spans)
    pending = sorted(set(candidates) - set(out))
    while pending:
        starts, ends = {s for s, _ in out}, {e for _, e in out}
        touching = [(s, e) for s, e in pending if s in ends or e in starts]
        if not touching:
            break
        out += touching
        pending = [sp for sp in pending if sp not in touching]
    return out


def merge_spans(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans become one: the longest match wins, words stay whole."""
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def mark(text: str, spans: list[Span], start: int = 0, end: int | None = None) -> str:
    """HTML for text[start:end] with the spans inside it wrapped in <mark>."""
    end = len(text) if end is None else end
    out: list[str] = []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    return "".join(out)


def sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        if text[m.start()] == "\n":
            if m.start() > pos:
                spans.append((pos, m.start()))
            pos = end
            continue
        spans.append((pos, end))
        pos = end
    if pos < len(text):
        spans.append((pos, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _window_score(text: str, spans: list[Span], s: int, e: int) -> tuple[int, int]:
    inside = [(a, b) for a, b in spans if a >= s and b <= e]
    distinct = {text[a:b].lower() for a, b in inside}
    return len(distinct), len(inside)


def _trim(text: str, spans: list[Span], s: int, e: int) -> tuple[int, int]:
    """Shorten one over-long sentence around its first match, cutting at soft breaks, never in a mark."""
    first = next((a for a, b in spans if a >= s and b <= e), s)
    start = s
    if first - s > SNIPPET_MAX // 3:
        breaks = [m.end() for m in _SOFT_BREAK.finditer(text, s, first)]
        start = breaks[-1] if breaks else max(s, first - SNIPPET_MAX // 3)
    stop = min(e, start + SNIPPET_MAX)
    if stop < e:
        breaks = [m.end() for m in _SOFT_BREAK.finditer(text, start + SNIPPET_TARGET // 2, stop)]
        stop = breaks[-1] if breaks else stop
    for a, b in spans:  # never cut inside a mark
        if a < start < b:
            start = a
        if a < stop < b:
            stop = b
    return start, stop


def snippet(text: str, spans: list[Span]) -> str:
    """The best passage (most distinct matched words), cut at sentence boundaries."""
    if not text:
        return ""
    spans = merge_spans(spans)
    sents = sentences(text) or [(0, len(text))]
    best: tuple[tuple[int, int], int, int] | None = None
    for i in range(len(sents)):
        s = sents[i][0]
        j = i
        while j + 1 < len(sents) and sents[j + 1][1] - s <= SNIPPET_TARGET:
            j += 1
        e = sents[j][1]
        score = _window_score(text, spans, s, e) if spans else (0, 0)
        if best is None or score > best[0]:
            best = (score, s, e)
        if not spans:
            break  # the lead of the text
    assert best is not None
    _score, s, e = best
    if e - s > SNIPPET_MAX:
        s, e = _trim(text, spans, s, e)
    html = mark(text, spans, s, e).strip()
    if s > 0 and text[:s].strip():
        html = ELLIPSIS + html
    if e < len(text) and text[e:].strip():
        html = html + ELLIPSIS
    return html


def highlight_title(title: str, spans: list[Span]) -> str:
    return mark(title, merge_spans(spans))
