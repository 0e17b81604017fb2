"""From a parsed query to (a) the exact set of matching documents and (b) what ranks and highlights.

Matching is done with doc-number sets (C-speed set algebra, cached per snapshot), so boolean
logic, exact substrings and exclusions are exact; Whoosh's BM25F then only ranks that set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from whoosh import query as wq

from indexer.analysis import fold_text, words
from search_service.index import Snapshot
from search_service.query import And, Node, Not, Or, Quoted, Words, positive_leaves

# Function words that add nothing to an AND of words; dropped only from multi-word unquoted
# queries (a phrase or a quoted string keeps them, so they never break phrases).
STOP_WORDS = frozenset("的 了 和 与 及 或 是 在 也 都 就 而 之 其 等 对 将 把 被 从 向 于 为 以 这 那 有 个 着 过 吗 呢 吧 啊".split())
PHRASE_BOOST = 2.0
TEXT_FIELDS = ("title", "body")


@dataclass
class Plan:
    docs: frozenset[int]
    scoring: wq.Query | None
    words: set[str] = field(default_factory=set)      # whole words, marked from stored offsets
    strings: set[str] = field(default_factory=set)    # folded substrings, marked exactly


def query_words(text: str, drop_stop: bool) -> list[str]:
    ws = words(text)
    if drop_stop and len(ws) > 1:
        kept = [w for w in ws if w not in STOP_WORDS]
        ws = kept or ws
    return ws


def normalise_needle(text: str) -> str:
    return " ".join(fold_text(text).split())


def term_docs(snap: Snapshot, fields: tuple[str, ...], word: str) -> frozenset[int]:
    def make() -> frozenset[int]:
        s = snap.searcher()
        q = wq.Or([wq.Term(f, word) for f in fields])
        return frozenset(s.docs_for_query(q))
    return snap.term_docs.get_or(("t", fields, word), make)


def substring_docs(snap: Snapshot, needle: str, title_only: bool = False) -> frozenset[int]:
    def make() -> frozenset[int]:
        live = snap.live_docs
        texts = snap.folded
        if title_only:
            return frozenset(d for d in live if needle in texts[d].split("\n", 1)[0])
        return frozenset(d for d in live if needle in texts[d])
    return snap.term_docs.get_or(("s", title_only, needle), make)


def channel_docs(snap: Snapshot, value: str) -> frozenset[int]:
    def make() -> frozenset[int]:
        want = fold_text(value.strip())
        col = snap.channel
        return frozenset(d for d in snap.live_docs if col[d] and fold_text(col[d]) == want)
    return snap.filter_sets.get_or(("channel", value), make)


def field_phrase_docs(snap: Snapshot, fieldname: str, text: str) -> frozenset[int]:
    ws = words(text)
    if not ws:
        return frozenset()
    q = wq.Term(fieldname, ws[0]) if len(ws) == 1 else wq.Phrase(fieldname, ws)
    return snap.term_docs.get_or(("p", fieldname, tuple(ws)), lambda: frozenset(snap.searcher().docs_for_query(q)))


def _word_set(snap: Snapshot, word: str, title_only: bool) -> frozenset[int]:
    fields = ("title",) if title_only else TEXT_FIELDS
    if len(word) > 1:
        found = term_docs(snap, fields, word)
        if found:
            return found
    # Single characters and words the index never produced as tokens: exact substring recall.
    return substring_docs(snap, word, title_only)


def leaf_docs(snap: Snapshot, leaf: Words | Quoted) -> frozenset[int]:
    if leaf.field == "channel":
        return channel_docs(snap, leaf.text)
    if leaf.field in ("author", "source"):
        return field_phrase_docs(snap, leaf.field, leaf.text)
    title_only = leaf.field == "title"
    if isinstance(leaf, Quoted):
        return substring_docs(snap, normalise_needle(leaf.text), title_only)
    ws = query_words(leaf.text, drop_stop=True)
    if not ws:
        return frozenset()
    result = _word_set(snap, ws[0], title_only)
    for w in ws[1:]:
        if not result:
            break
        result = result & _word_set(snap, w, title_only)
    return result


def evaluate(snap: Snapshot, node: Node) -> frozenset[int]:
    if isinstance(node, (Words, Quoted)):
        return leaf_docs(snap, node)
    if isinstance(node, Not):
        return snap.live_docs - evaluate(snap, node.node)
    if isinstance(node, Or):
        out: frozenset[int] = frozenset()
        for child in node.nodes:
            out = out | evaluate(snap, child)
        return out
    positives = [c for c in node.nodes if not isinstance(c, Not)]
    negatives = [c.node for c in node.nodes if isinstance(c, Not)]
    result = snap.live_docs
    for child in positives:
        result = result & evaluate(snap, child)
        if not result:
            return result
    for child in negatives:
        result = result - evaluate(snap, child)
    return result


def _scoring_parts(leaf: Words | Quoted) -> list[wq.Query]:
    if leaf.field == "channel":
        return []
    if leaf.field in ("author", "source"):
        return [wq.Term(leaf.field, w) for w in words(leaf.text)]
    fields = ("title",) if leaf.field == "title" else TEXT_FIELDS
    ws = query_words(leaf.text, drop_stop=isinstance(leaf, Words))
    parts: list[wq.Query] = [wq.Term(f, w) for w in dict.fromkeys(ws) for f in fields]
    if len(ws) > 1:
        # Contiguous occurrences of the whole query rank above scattered words.
        parts += [wq.Phrase(f, ws, boost=PHRASE_BOOST) for f in fields]
    return parts


def plan(snap: Snapshot, node: Node) -> Plan:
    docs = evaluate(snap, node)
    parts: list[wq.Query] = []
    marks: set[str] = set()
    strings: set[str] = set()
    for leaf in positive_leaves(node):
        parts += _scoring_parts(leaf)
        if leaf.field in ("channel", "author", "source"):
            continue
        if isinstance(leaf, Quoted):
            strings.add(normalise_needle(leaf.text))
            continue
        ws = query_words(leaf.text, drop_stop=True)
        if len(ws) > 1:
            strings.add(normalise_needle("".join(leaf.text.split())))  # the query where it is contiguous
        for w in ws:
            # Whole-word marks come from postings; single characters (alone) and words the index
            # never produced as tokens are marked as substrings.
            if len(w) > 1 and term_docs(snap, TEXT_FIELDS, w):
                marks.add(w)
            elif len(ws) == 1 or len(w) > 1:
                strings.add(w)
    scoring = wq.Or(parts) if parts else None
    return Plan(docs=docs, scoring=scoring, words=marks, strings=strings)
