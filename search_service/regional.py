"""Regional vocabulary: Taiwan and Hong Kong wording finds mainland wording, and back.

網路安全 should find 网络安全, 人工智慧 人工智能, 軟體 软件, and a mainland query the regional
forms. Index-time folding (indexer.analysis) only maps characters (t2s), so an article writing
網路 is indexed as 网路, a different word from 网络. Here each query word, and each run of
consecutive query words, is run through OpenCC's phrase-level converters (the opencc package
ships its dictionaries compiled, so the converters are the way to read them):

    to mainland:  s2tw -> tw2sp  (TWPhrasesRev, TWVariantsRev...)   s2hk -> hk2sp (HKPhrasesRev...)
    to regional:  s2twp          (TWPhrases, TWVariants...)         s2hkp         (HKPhrases...)

The input is already folded (simplified characters), hence the s2tw/s2hk step before the
regional-to-mainland converters. Every result is folded like the index (so 網路 -> 网路), and a
few pairs OpenCC lacks are added (EXTRA_PAIRS). A converted form that differs from the word is
a query-time alternative: search_service.synonyms ORs it with the word, exactly like an admin's
synonyms.txt entry, so matching, relaxation, ranking and highlighting all see it.

Two rules keep the alternatives honest:

- a run of several words gets its own alternative only when converting the run differs from
  converting its words one by one (智慧型手机 -> 智能手机 is a phrase), or when the converted run
  is fewer words (网路|安全 -> the one word 网络安全: the unit then matches and ranks like the
  mainland query), so units stay as narrow as the words that change;
- an alternative is dropped when both forms are in common use in this archive (the rarer one in
  COMMON_DOCS or more articles and at least COMMON_SHARE of the other; synonyms.py counts a
  form of several words as its rarest word's document frequency): then they are two words
  here, not two spellings of one. OpenCC maps TW 智慧 -> 智能 and TW 程序 -> 进程, but in a
  mainland archive 智慧 (wisdom) and 进程 (progress) are words of their own; 人工智慧 (no
  articles) or 网路 (a handful) are not.

Quoted strings never get alternatives: "..." is an exact substring after folding (match.py
does not segment quoted text, so nothing here is consulted for it).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

from indexer.analysis import fold_text, is_han, words

MAX_RUN_WORDS = 6        # as indexer.dictionaries.MAX_UNIT_WORDS: longest run of words converted
COMMON_DOCS = 20
COMMON_SHARE = 0.1
# Pairs the shipped OpenCC dictionaries do not hold (HK 鐳射 = mainland 激光; TW says 智慧型手機).
EXTRA_PAIRS = (("镭射", "激光"), ("雷射", "激光"), ("智慧型手机", "智能手机"), ("智慧手机", "智能手机"))

_CHAINS = (("s2tw", "tw2sp"), ("s2hk", "hk2sp"), ("s2twp",), ("s2hkp",))
_lock = threading.Lock()
_converters: dict[str, object] = {}


def _converter(name: str):
    with _lock:
        conv = _converters.get(name)
        if conv is None:
            import opencc

            conv = _converters[name] = opencc.OpenCC(name)
        return conv


def _extra() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for a, b in EXTRA_PAIRS:
        table.setdefault(a, []).append(b)
        table.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in table.items()}


_EXTRA = _extra()


@lru_cache(maxsize=65536)
def conversions(text: str) -> tuple[str, ...]:
    """The folded regional/mainland forms of folded `text` (one per converter chain, in order;
    equal to `text` where a chain changes nothing)."""
    out = []
    for chain in _CHAINS:
        s = text
        for name in chain:
            s = _converter(name).convert(s)
        out.append(fold_text(s))
    return tuple(out)


@lru_cache(maxsize=65536)
def alternatives(text: str) -> tuple[str, ...]:
    """Other forms of folded `text` (no filtering by the archive), best first; () for none."""
    if not any(is_han(c) for c in text):
        return ()
    found = [s for s in conversions(text) if s != text] + list(_EXTRA.get(text, ()))
    return tuple(dict.fromkeys(found))


def _phrase_level(ws: Sequence[str]) -> bool:
    """Does converting the run `ws` differ from converting its words one at a time?"""
    joined = "".join(ws)
    if joined in _EXTRA:
        return True
    per_word = [conversions(w) for w in ws]
    whole = conversions(joined)
    return any(whole[i] != "".join(p[i] for p in per_word) for i in range(len(_CHAINS)))


def regional_table(ws: Sequence[str], doc_count: Callable[[str], int]) -> dict[str, tuple[str, ...]]:
    """{joined run of query words: its alternatives} for the runs of `ws` that have any (in the
    shape of indexer.dictionaries.Synonyms.table: the run itself first). `doc_count(text)` says in
    how many articles a folded text's words occur (the archive-usage rule above)."""
    table: dict[str, tuple[str, ...]] = {}
    for i in range(len(ws)):
        for j in range(i + 1, min(len(ws), i + MAX_RUN_WORDS) + 1):
            key = "".join(ws[i:j])
            if key in table:
                continue
            alts = alternatives(key)
            if j > i + 1 and not _phrase_level(ws[i:j]):
                # Kept only where the other form is fewer words: 网路|安全 is the one word 网络安全,
                # so the unit matches and ranks like the mainland query does.
                alts = tuple(a for a in alts if len(words(a)) < j - i)
            if not alts:
                continue
            own = doc_count(key)
            kept = [a for a in alts if not _both_common(own, doc_count(a))]
            if kept:
                table[key] = (key, *kept)
    return table


def _both_common(a: int, b: int) -> bool:
    low, high = min(a, b), max(a, b)
    return low >= COMMON_DOCS and low >= COMMON_SHARE * high
