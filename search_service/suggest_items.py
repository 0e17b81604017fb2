"""Suggestions as the search box shows them: each with its kind (a search others made, a term
of the archive, a headline), the archive's own spelling, and how much of it the reader typed
(the part the box shows in bold). Multi-word input completes its last word.

Built on suggest.ranked; no Flask here.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from indexer.analysis import fold_text
from search_service.suggest import TIER_QUERY, TIER_WORD, normalise_prefix, ranked, suggest_data

_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+\-]*")
_FOLDED_LATIN = re.compile(r"[a-z0-9][a-z0-9.+\-]*")


def _kind(score: float) -> str:
    return "query" if score >= TIER_QUERY else "word" if score >= TIER_WORD else "title"


def _surfaces(snap: Any) -> dict[str, str]:
    """Folded Latin/digit token -> its most common spelling in the headlines (c919 -> C919)."""
    def make() -> dict[str, str]:
        data = suggest_data(snap)
        seen: dict[str, Counter] = defaultdict(Counter)
        for text, score in zip(data.texts, data.scores):
            if score < TIER_WORD:  # titles, as published
                for tok in _LATIN.findall(text):
                    seen[tok.lower()][tok] += 1
        return {k: c.most_common(1)[0][0] for k, c in seen.items() if c.most_common(1)[0][0] != k}
    return snap.cached("suggest_surfaces", make)


def original_form(snap: Any, word: str) -> str:
    """An index term (folded: lower case) in the spelling the archive uses."""
    surfaces = _surfaces(snap)
    return _FOLDED_LATIN.sub(lambda m: surfaces.get(m.group(), m.group()), word) if surfaces else word


def _typed_length(display: str, typed: str) -> int:
    """How many leading characters of `display` are what the reader typed (compared folded;
    0 for a pinyin match)."""
    folded = fold_text(display)
    n = 0
    while n < min(len(folded), len(typed), len(display)) and folded[n] == typed[n]:
        n += 1
    return n


def _finish(snap: Any, token: str, vocab: dict[str, float]) -> str:
    folded = fold_text(token)
    if folded in vocab or not folded:
        return token
    best = ranked(snap, folded, 1, words_only=True)
    return original_form(snap, best[0][0]) if best and _kind(best[0][1]) == "word" else token


def items(snap: Any, text: str, limit: int = 8,
          frequent: Sequence[tuple[str, int]] = ()) -> list[dict[str, Any]]:
    """[{"text", "kind", "match"}] best first: queries and words before headlines."""
    prefix = normalise_prefix(text)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(display: str, kind: str, match: int) -> None:
        if display.lower() not in seen:
            seen.add(display.lower())
            out.append({"text": display, "kind": kind, "match": match})

    for display, score in ranked(snap, prefix, limit, frequent):
        kind = _kind(score)
        shown = original_form(snap, display) if kind == "word" else display
        add(shown, kind, _typed_length(shown, prefix))
    if " " in prefix and len(out) < limit:  # complete the last word, keep the others as typed
        vocab = suggest_data(snap).vocab
        # An unfinished earlier word (乌克 危) is completed too: 乌克兰 危机, not 乌克 危机.
        head_typed = " ".join(_finish(snap, tok, vocab) for tok in text.split()[:-1])
        tail = prefix.rsplit(" ", 1)[1]
        for display, score in ranked(snap, tail, limit, frequent, words_only=True):
            if _kind(score) != "word":
                continue
            word = original_form(snap, display)
            full = f"{head_typed} {word}"
            add(full, "word", _typed_length(full, prefix))
            if len(out) >= limit:
                break
    order = {"query": 0, "word": 1, "title": 2}
    out.sort(key=lambda i: order[i["kind"]])  # stable: best first within a kind
    return out[:limit]
