"""match.py's plan over Xapian shards: the same query semantics, doc sets from xapian_query.

Each function mirrors the one of the same name in match.py (exact doc sets by set algebra, then
what ranks and marks); only the primitives differ: word, substring, channel and field-phrase
sets come from the shards, and the query dictionaries (synonyms.txt, stopwords.txt) from
INDEX_DIR when it has them. Regional alternatives (regional.py) apply as on Whoosh, counted on
the shards' term statistics.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from indexer.analysis import STOP_WORDS, fold_text, words
from search_service.match import (TEXT_FIELDS, Plan, _scoring_parts, named_years, normalise_needle,
                                  query_words, spaced_variant)
from search_service.query import And, Node, Not, Or, Quoted, Words, positive_leaves
from search_service.relax import FILLER_WORDS, Relaxation, Unit, relax, relaxable
from search_service.synonyms import QueryDictionaries, Synonyms, load_query_dictionaries, synonym_units
from search_service.xapian_pool import XapianState
from search_service import xapian_query as xq


class Matcher:
    """Doc sets of query leaves on one state, with the service's query dictionaries."""

    def __init__(self, st: XapianState, index_dir: str | None) -> None:
        self.st = st
        self.dicts: QueryDictionaries | None = None
        if index_dir and Path(index_dir).is_dir():
            self.dicts = st.cached(("dicts", index_dir), lambda: load_query_dictionaries(index_dir))

    @property
    def live(self) -> frozenset[int]:
        return xq.all_docs(self.st)

    def stop_words(self) -> frozenset[str]:
        return self.dicts.stop_words if self.dicts is not None else frozenset()

    def units(self, ws: list[str]) -> list[list[tuple[str, ...]]]:
        from search_service.regional import regional_table
        from search_service.synonyms import _Overlay

        cache = self.st.cached("units", dict)
        key = tuple(ws)
        if key not in cache:
            table = self.dicts.synonyms if self.dicts is not None else Synonyms(table={})
            regional = regional_table(ws, lambda text: xq.doc_frequency(self.st, text))
            if not table.table and not regional:
                cache[key] = [[(w,)] for w in ws]
            else:
                if regional:
                    merged = {k: tuple(dict.fromkeys(table.alternatives(k) + alts)) for k, alts in regional.items()}
                    table = Synonyms(table=_Overlay(table.table, merged))
                cache[key] = synonym_units(ws, table)
        return cache[key]

    def leaf_words(self, text: str) -> list[str]:
        return query_words(text, drop_stop=True, extra_stop=self.stop_words())

    def expanded(self, ws: list[str]) -> list[str]:
        return list(dict.fromkeys(w for unit in self.units(ws) for alt in unit for w in alt))

    # -- sets -------------------------------------------------------------------------------------

    def channel_docs(self, value: str) -> frozenset[int]:
        want = fold_text(value.strip())
        by_value = self.st.cached("by_channel", lambda: _group(xq.text_column(self.st, 1)))
        out: set[int] = set()
        for channel, docs in by_value.items():
            if fold_text(channel) == want:
                out.update(docs)
        return frozenset(out)

    def no_channel_docs(self) -> frozenset[int]:
        return self.st.cached("no_channel", lambda: self.live - frozenset(xq.text_column(self.st, 1)))

    def word_set(self, word: str, title_only: bool) -> frozenset[int]:
        if len(word) > 1:
            found = xq.word_docs(self.st, word, title_only)
            if spaced := spaced_variant(word):
                found = found | xq.substring_docs(self.st, spaced, title_only)
            if found:
                return found
        return xq.substring_docs(self.st, word, title_only)

    def has_word(self, word: str) -> bool:
        return bool(xq.word_docs(self.st, word, False))

    def unit_set(self, unit: list[tuple[str, ...]], title_only: bool) -> frozenset[int]:
        out: frozenset[int] = frozenset()
        for alt in unit:
            docs = self.word_set(alt[0], title_only)
            for w in alt[1:]:
                if not docs:
                    break
                docs = docs & self.word_set(w, title_only)
            out = out | docs
        return out

    def leaf_docs(self, leaf: Words | Quoted) -> frozenset[int]:
        if leaf.field == "channel":
            return self.channel_docs(leaf.text)
        if leaf.field in ("author", "source"):
            return xq.field_phrase_docs(self.st, leaf.field, leaf.text)
        title_only = leaf.field == "title"
        if isinstance(leaf, Quoted):
            return xq.substring_docs(self.st, normalise_needle(leaf.text), title_only)
        units = self.units(self.leaf_words(leaf.text))
        if not units:
            needle = normalise_needle(leaf.text)
            return xq.substring_docs(self.st, needle, title_only) if needle else frozenset()
        result = self.unit_set(units[0], title_only)
        for unit in units[1:]:
            if not result:
                break
            result = result & self.unit_set(unit, title_only)
        return result

    def without_stop_terms(self, node: Node) -> Node:
        if isinstance(node, Not):
            return Not(self.without_stop_terms(node.node))
        if isinstance(node, Or):
            return Or([self.without_stop_terms(c) for c in node.nodes])
        if not isinstance(node, And):
            return node
        nodes = [self.without_stop_terms(c) for c in node.nodes]
        stop = STOP_WORDS | self.stop_words()

        def is_stop(child: Node) -> bool:
            ws = words(child.text) if isinstance(child, Words) and child.field is None else []
            return bool(ws) and all(w in stop for w in ws)

        kept = [c for c in nodes if not is_stop(c)]
        if any(not isinstance(c, Not) for c in kept):
            nodes = kept
        return And(nodes)

    def evaluate(self, node: Node) -> frozenset[int]:
        if isinstance(node, (Words, Quoted)):
            return self.leaf_docs(node)
        if isinstance(node, Not):
            return self.live - self.evaluate(node.node)
        if isinstance(node, Or):
            out: frozenset[int] = frozenset()
            for child in node.nodes:
                out = out | self.evaluate(child)
            return out
        result = self.live
        for child in (c for c in node.nodes if not isinstance(c, Not)):
            result = result & self.evaluate(child)
            if not result:
                return result
        for child in (c.node for c in node.nodes if isinstance(c, Not)):
            result = result - self.evaluate(child)
        return result

    def relaxation(self, node: Node, strict: frozenset[int],
                   restrict: Callable[[frozenset[int]], frozenset[int]] | None,
                   may_drop_words: Callable[[], bool]) -> Relaxation | None:
        leaves, fixed = relaxable(node)
        if not leaves:
            return None
        units = []
        for leaf in leaves:
            for unit in self.units(self.leaf_words(leaf.text)):
                label = "".join(unit[0])
                ws = list(dict.fromkeys(w for alt in unit for w in alt))
                units.append(Unit(label, self.unit_set(unit, False), ws, label in FILLER_WORDS))
        base = self.evaluate(And(fixed)) if fixed else self.live
        size = (lambda docs: len(restrict(docs))) if restrict is not None else len
        return relax(units, base, strict, lambda w: self.word_set(w, False), may_drop_words, size)

    def plan(self, node: Node, allow_relax: bool = True,
             restrict: Callable[[frozenset[int]], frozenset[int]] | None = None,
             may_drop_words: Callable[[], bool] = lambda: True) -> Plan:
        """match.plan on the shards."""
        node = self.without_stop_terms(node)
        docs = self.evaluate(node)
        relaxed = self.relaxation(node, docs, restrict, may_drop_words) if allow_relax else None
        if relaxed is not None:
            docs = relaxed.docs
        terms: list[tuple[str, str]] = []
        marks: set[str] = set()
        strings: set[str] = set()
        glue: set[str] = set()
        near: list[str] = []
        years: set[int] = set()
        for leaf in positive_leaves(node):
            terms += self.scoring_parts(leaf)
            if leaf.field in ("channel", "author", "source"):
                continue
            if isinstance(leaf, Quoted):
                strings.add(normalise_needle(leaf.text))
                near.append(normalise_needle(leaf.text))
                continue
            ws = self.leaf_words(leaf.text)
            near += ws
            years |= named_years(ws)
            if not ws:
                strings.add(normalise_needle(leaf.text))
            if len(ws) > 1:
                strings.add(normalise_needle("".join(leaf.text.split())))
            for w in self.expanded(ws):
                if len(w) > 1 and self.has_word(w):
                    marks.add(w)
                elif len(ws) == 1 or len(w) > 1:
                    strings.add(w)
                else:
                    glue.add(w)
                if spaced := spaced_variant(w):
                    strings.add(spaced)
        if relaxed is not None:
            fillers = {u for u in relaxed.dropped if u in FILLER_WORDS}
            terms = [(f, w) for f, w in terms if w not in fillers]
            near = [w for w in near if w not in fillers]
            for parts in relaxed.backed_off.values():
                terms += [(f, w) for w in parts for f in TEXT_FIELDS]
                glue.update(w for w in parts if len(w) == 1)
                marks.update(w for w in parts if len(w) > 1 and self.has_word(w))
                strings.update(w for w in parts if len(w) > 1 and not self.has_word(w))
        return Plan(docs=docs, words=marks, strings=strings, terms=terms,
                    glue=glue, near=near, relaxed=relaxed, years=years)

    def scoring_parts(self, leaf: Words | Quoted) -> list[tuple[str, str]]:
        if isinstance(leaf, Words) and leaf.field not in ("channel", "author", "source"):
            fields = ("title",) if leaf.field == "title" else TEXT_FIELDS + ("keywords",)
            ws = self.expanded(self.leaf_words(leaf.text))
            return [(f, w) for w in dict.fromkeys(ws) for f in fields]
        return _scoring_parts(leaf, None)


def _group(col: dict[int, str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for d, v in col.items():
        out.setdefault(v, []).append(d)
    return out
