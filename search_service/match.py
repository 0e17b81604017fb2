"""From a parsed query to (a) the exact set of matching documents and (b) what ranks and highlights.

Matching is done with doc-number sets (C-speed set algebra, cached per snapshot), so boolean
logic, exact substrings and exclusions are exact; Whoosh's BM25F then only ranks that set.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq

from indexer.analysis import STOP_WORDS, drop_stop_words, fold_text, words
from search_service import column_arrays, deadline, docset, ngram_index
from search_service.index import Snapshot
from search_service.postings import postings
from search_service.query import And, Node, Not, Or, Quoted, Words, positive_leaves
from search_service.relax import FILLER_WORDS, Relaxation, Unit, relax, relaxable
from search_service.synonyms import extra_stop_words, units as synonym_units

TEXT_FIELDS = ("title", "body")
_LETTER_DIGIT_RUNS = re.compile(r"[a-z]+|[0-9]+")
_YEAR = re.compile(r"(19|20)[0-9]{2}")


def named_years(ws: list[str]) -> set[int]:
    """Years a query names, as `2024年` or a bare `2024` beside other words: news readers mean
    coverage from that year (the words still match as typed)."""
    return {int(w) for i, w in enumerate(ws) if _YEAR.fullmatch(w)
            and (len(ws) > 1 or (i + 1 < len(ws) and ws[i + 1] == "年"))}


@dataclass
class Plan:
    docs: frozenset[int]
    words: set[str] = field(default_factory=set)      # whole words, marked from stored offsets
    strings: set[str] = field(default_factory=set)    # folded substrings, marked exactly
    terms: list[tuple[str, str]] = field(default_factory=list)  # (field, word) ranked by BM25F
    glue: set[str] = field(default_factory=set)       # single-character words, marked next to a mark
    near: list[str] = field(default_factory=list)     # the query's words in order, for proximity
    relaxed: Relaxation | None = None                 # what was not required (relax.py), if anything
    years: set[int] = field(default_factory=set)      # years the query names (2024年): ranked up


def query_words(text: str, drop_stop: bool, extra_stop: frozenset[str] = frozenset()) -> list[str]:
    ws = words(text)
    return drop_stop_words(ws, extra_stop) if drop_stop else ws


def normalise_needle(text: str) -> str:
    return " ".join(fold_text(text).split())


def term_docs(snap: Snapshot, fields: tuple[str, ...], word: str) -> frozenset[int]:
    def make() -> frozenset[int]:
        ids = [postings(snap, f, word)[0] for f in fields]
        live = column_arrays.live_mask(snap)
        if len(ids) == 1:
            return docset.of_array(ids[0][live[ids[0]]])
        # Live docs by mask, duplicates (a word in title and body) by a mask too.
        seen = np.zeros(len(live), dtype=bool)
        for part in ids:
            seen[part] = True
        return docset.of_array(np.flatnonzero(seen & live))
    return snap.term_docs.get_or(("t", fields, word), make)


def folded_titles(snap: Snapshot) -> list[str]:
    """Folded title per docnum, kept per snapshot: splitting every folded text on each title-only
    scan cost as much as scanning the bodies (~25 ms on 20k articles; ~1 ms from this list)."""
    return snap.cached("folded_titles", lambda: [t.split("\n", 1)[0] for t in snap.folded])


def substring_docs(snap: Snapshot, needle: str, title_only: bool = False) -> frozenset[int]:
    def make() -> frozenset[int]:
        if deadline.expired():  # out of time before starting: nothing checked, as a scan would
            deadline.mark_timed_out()
            raise deadline.Partial(frozenset())
        # Candidates from the n-gram postings (a superset of the answer), then the same check
        # as a scan of every text: the result is exactly the scan's (search_service/ngram_index.py).
        if needle:
            cands, sure = ngram_index.candidate_array(snap, needle)
            cands = cands[column_arrays.live_mask(snap)[cands]]  # live ones, without a set probe each
            if sure and not title_only:
                return docset.of_array(cands)
            pool: Iterable[int] = cands.tolist()
        else:
            pool = snap.live_docs
        texts = folded_titles(snap) if title_only else snap.folded
        found, complete = deadline.scan(pool, lambda d: needle in texts[d])
        if not complete:  # out of time (deadline.py): use what was found, never cache it
            raise deadline.Partial(frozenset(found))
        return frozenset(found)
    try:
        return snap.term_docs.get_or(("s", title_only, needle), make)
    except deadline.Partial as partial:
        return partial.value


def channel_docs(snap: Snapshot, value: str) -> frozenset[int]:
    def make() -> frozenset[int]:
        want = fold_text(value.strip())
        codes, labels = column_arrays.codes(snap, "channel")
        # Fold each distinct value once, then one vectorised pass over the codes.
        hits = [c for c, v in enumerate(labels) if c and v and fold_text(v) == want]
        return column_arrays.docs_where(snap, np.isin(codes, hits)) if hits else frozenset()
    return snap.filter_sets.get_or(("channel", value), make)


def field_phrase_docs(snap: Snapshot, fieldname: str, text: str) -> frozenset[int]:
    ws = words(text)
    if not ws:
        return frozenset()
    q = wq.Term(fieldname, ws[0]) if len(ws) == 1 else wq.Phrase(fieldname, ws)
    return snap.term_docs.get_or(("p", fieldname, tuple(ws)), lambda: frozenset(snap.searcher().docs_for_query(q)))


def spaced_variant(word: str) -> str | None:
    """`iphone 15` for the mixed token `iphone15`: articles that write it with a space index two
    tokens, which the unspaced query word must still find. None for other words."""
    runs = _LETTER_DIGIT_RUNS.findall(word)
    return " ".join(runs) if len(runs) > 1 and "".join(runs) == word else None


def _word_set(snap: Snapshot, word: str, title_only: bool) -> frozenset[int]:
    fields = ("title",) if title_only else TEXT_FIELDS
    if len(word) > 1:
        found = term_docs(snap, fields, word)
        if spaced := spaced_variant(word):
            # A scan (~13 ms on 20k articles, cached per snapshot, under the time limit):
            # candidates from the parts' postings measured slower for parts like `5` or `g`.
            found = found | substring_docs(snap, spaced, title_only)
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
    units = synonym_units(snap, _leaf_words(snap, leaf.text))
    if not units:  # punctuation only (e.g. `&`): nothing to segment, so an exact substring
        needle = normalise_needle(leaf.text)
        return substring_docs(snap, needle, title_only) if needle else frozenset()
    result = _unit_set(snap, units[0], title_only)
    for unit in units[1:]:
        if not result:
            break
        result = result & _unit_set(snap, unit, title_only)
    return result


def _leaf_words(snap: Snapshot, text: str) -> list[str]:
    """Words of an unquoted leaf, stop words (built-in and INDEX_DIR/stopwords.txt) dropped."""
    return query_words(text, drop_stop=True, extra_stop=extra_stop_words(snap))


def _unit_set(snap: Snapshot, unit: list[tuple[str, ...]], title_only: bool) -> frozenset[int]:
    """A unit (a query word, or words forming a synonym entry) matches when any of its
    alternatives does: its own words or a synonym's (synonyms.txt), all words of one alternative."""
    out: frozenset[int] = frozenset()
    for alt in unit:
        docs = _word_set(snap, alt[0], title_only)
        for w in alt[1:]:
            if not docs:
                break
            docs = docs & _word_set(snap, w, title_only)
        out = out | docs if out else docs  # (a union with the empty set would copy every doc)
    return out


def _expanded(snap: Snapshot, ws: list[str]) -> list[str]:
    """The words plus their synonyms' words, in order, without repeats (ranking and highlights)."""
    return list(dict.fromkeys(w for unit in synonym_units(snap, ws) for alt in unit for w in alt))


def without_stop_terms(snap: Snapshot, node: Node) -> Node:
    """Drop space-separated terms made only of stop words (built-in and stopwords.txt) from an
    AND that has other positive terms, as they are dropped inside one unspaced term: `中国人民银行
    宣布` with 宣布 in stopwords.txt means `中国人民银行`. Quoted strings and fields stay exact."""
    if isinstance(node, Not):
        return Not(without_stop_terms(snap, node.node))
    if isinstance(node, Or):
        return Or([without_stop_terms(snap, child) for child in node.nodes])
    if not isinstance(node, And):
        return node
    nodes = [without_stop_terms(snap, child) for child in node.nodes]
    stop = STOP_WORDS | extra_stop_words(snap)

    def is_stop(child: Node) -> bool:
        ws = words(child.text) if isinstance(child, Words) and child.field is None else []
        return bool(ws) and all(w in stop for w in ws)

    kept = [c for c in nodes if not is_stop(c)]
    if any(not isinstance(c, Not) for c in kept):
        nodes = kept
    return And(nodes)


def evaluate(snap: Snapshot, node: Node) -> frozenset[int]:
    if isinstance(node, (Words, Quoted)):
        return leaf_docs(snap, node)
    if isinstance(node, Not):
        cut = deadline.cuts()
        excluded = evaluate(snap, node.node)
        # A cut-short exclusion would let through what it should remove: partial results stay a
        # subset of the true ones, so an exclusion evaluated out of time excludes everything.
        return frozenset() if deadline.cuts() > cut else snap.live_docs - excluded
    if isinstance(node, Or):
        out: frozenset[int] = frozenset()
        for child in node.nodes:
            found = evaluate(snap, child)
            out = out | found if out else found
        return out
    positives = [c for c in node.nodes if not isinstance(c, Not)]
    negatives = [c.node for c in node.nodes if isinstance(c, Not)]
    result = snap.live_docs
    for child in positives:
        found = evaluate(snap, child)
        # Every live doc so far: a subset test (C, no new set) instead of copying `found`.
        result = found if result is snap.live_docs and found <= result else result & found
        if not result:
            return result
    for child in negatives:
        cut = deadline.cuts()
        result = result - evaluate(snap, child)
        if deadline.cuts() > cut:  # as for Not above: never return what an exclusion missed
            return frozenset()
    return result


def _scoring_parts(leaf: Words | Quoted, snap: Snapshot | None = None) -> list[tuple[str, str]]:
    """(field, word) terms that rank this leaf's matches (BM25F in search_service.scoring)."""
    if leaf.field == "channel":
        return []
    if leaf.field in ("author", "source"):
        return [(leaf.field, w) for w in words(leaf.text)]
    # Unfielded words also rank by the article's keywords (its TF-IDF words, indexer/enrich.py):
    # an article about a word beats one that mentions it as often in passing.
    fields = ("title",) if leaf.field == "title" else TEXT_FIELDS + ("keywords",)
    if isinstance(leaf, Words) and snap is not None:
        ws = _expanded(snap, _leaf_words(snap, leaf.text))
    else:
        ws = query_words(leaf.text, drop_stop=isinstance(leaf, Words))
    return [(f, w) for w in dict.fromkeys(ws) for f in fields]


def relaxation(snap: Snapshot, node: Node, strict: frozenset[int],
               restrict: Callable[[frozenset[int]], frozenset[int]] | None = None,
               may_drop_words: Callable[[], bool] = lambda: True) -> Relaxation | None:
    """Filler words not required, and content words relaxed when nothing matches (relax.py);
    counts are taken after `restrict`, the request's filters."""
    leaves, fixed = relaxable(node)
    if not leaves:
        return None
    units = []
    for leaf in leaves:
        for unit in synonym_units(snap, _leaf_words(snap, leaf.text)):
            label = "".join(unit[0])
            words = list(dict.fromkeys(w for alt in unit for w in alt))
            units.append(Unit(label, _unit_set(snap, unit, False), words, label in FILLER_WORDS))
    base = evaluate(snap, And(fixed)) if fixed else snap.live_docs
    size = (lambda docs: len(restrict(docs))) if restrict is not None else len
    return relax(units, base, strict, lambda w: _word_set(snap, w, False), may_drop_words, size)


def plan(snap: Snapshot, node: Node, allow_relax: bool = True,
         restrict: Callable[[frozenset[int]], frozenset[int]] | None = None,
         may_drop_words: Callable[[], bool] = lambda: True) -> Plan:
    """What matches `node` and how it ranks and marks; with `allow_relax`, filler words are not
    required and a query finding nothing (after `restrict`) requires fewer words (relax.py)."""
    node = without_stop_terms(snap, node)
    docs = evaluate(snap, node)
    relaxed = relaxation(snap, node, docs, restrict, may_drop_words) if allow_relax else None
    if relaxed is not None:
        docs = relaxed.docs
    terms: list[tuple[str, str]] = []
    marks: set[str] = set()
    strings: set[str] = set()
    glue: set[str] = set()
    near: list[str] = []
    years: set[int] = set()
    for leaf in positive_leaves(node):
        terms += _scoring_parts(leaf, snap)
        if leaf.field in ("channel", "author", "source"):
            continue
        if isinstance(leaf, Quoted):
            strings.add(normalise_needle(leaf.text))
            near.append(normalise_needle(leaf.text))
            continue
        ws = _leaf_words(snap, leaf.text)
        near += ws
        years |= named_years(ws)
        if not ws:  # punctuation only: matched (and marked) as a substring, see leaf_docs
            strings.add(normalise_needle(leaf.text))
        if len(ws) > 1:
            # The whole query as one string is marked as one.
            whole = normalise_needle("".join(leaf.text.split()))
            strings.add(whole)
        for w in _expanded(snap, ws):
            # Whole-word marks come from postings; single characters (alone) and words the index
            # never produced as tokens are marked as substrings.
            if len(w) > 1 and term_docs(snap, TEXT_FIELDS, w):
                marks.add(w)
            elif len(ws) == 1 or len(w) > 1:
                strings.add(w)
            else:  # 小 of 支付宝小程序 (支付宝/小/程序): marked only where it touches another mark
                glue.add(w)
            if spaced := spaced_variant(w):  # `iPhone 15` for iphone15: one mark
                strings.add(spaced)
    if relaxed is not None:
        # Dropped fillers neither rank nor mark; parts of a backed-off word do both.
        fillers = {u for u in relaxed.dropped if u in FILLER_WORDS}
        terms = [(f, w) for f, w in terms if w not in fillers]
        near = [w for w in near if w not in fillers]
        for parts in relaxed.backed_off.values():
            terms += [(f, w) for w in parts for f in TEXT_FIELDS]
            glue.update(w for w in parts if len(w) == 1)
            marks.update(w for w in parts if len(w) > 1 and term_docs(snap, TEXT_FIELDS, w))
            strings.update(w for w in parts if len(w) > 1 and not term_docs(snap, TEXT_FIELDS, w))
    return Plan(docs=docs, words=marks, strings=strings, terms=terms,
                glue=glue, near=near, relaxed=relaxed, years=years)
