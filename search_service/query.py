"""Query language: parse the search box text into a small tree.

    支付宝小程序            words (segmented, all required; contiguous matches rank higher)
    "小程序"                exact substring of title or body after folding (case, width, traditional)
    -广告  -"软文"          exclusion
    微博 OR 微信            either side
    (微博 OR 微信) 支付宝    grouping
    title:支付宝 author:贺子圆 source:江城日报 channel:科技   field restrictions

Syntax errors never fail a search: the parser falls back to treating the text as plain words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


_TOKEN_RE = re.compile(
    # `-title:广告` and `title:-广告` both exclude; the minus may come before or after the prefix.
    r'(?P<neglp>-\()|(?P<neg0>-)?(?P<field>(?:title|author|source|channel):)?(?P<neg>-)?(?:"(?P<quoted>[^"]*)"|(?P<word>[^\s()"]+))'
    r'|(?P<lp>\()|(?P<rp>\))|(?P<stray>")|(?P<space>\s+)',
    re.IGNORECASE,
)

_WORDISH = re.compile(r"\w")


@dataclass
class Words:
    """Unquoted text: segmented into words at search time."""
    text: str
    field: str | None = None


@dataclass
class Quoted:
    """Quoted text: an exact substring (or, with title:, a substring of the title)."""
    text: str
    field: str | None = None


@dataclass
class Not:
    node: Node


@dataclass
class And:
    nodes: list[Node] = field(default_factory=list)


@dataclass
class Or:
    nodes: list[Node] = field(default_factory=list)


Node = Words | Quoted | Not | And | Or


class _Syntax(Exception):
    pass


def _lex(text: str) -> list[tuple[str, str | None, bool, str]]:
    """(kind, field, negated, value) tokens; kind is word, quoted, or, lp, rp."""
    out: list[tuple[str, str | None, bool, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # cannot happen with the catch-all alternatives, but never loop forever
            raise _Syntax(text[pos:])
        pos = m.end()
        if m.group("space"):
            continue
        if m.group("stray"):
            raise _Syntax("unbalanced quote")
        if m.group("neglp"):  # -( ... ): exclude a group
            out += [("not", None, False, "-"), ("lp", None, False, "(")]
        elif m.group("lp"):
            out.append(("lp", None, False, "("))
        elif m.group("rp"):
            out.append(("rp", None, False, ")"))
        else:
            fld = (m.group("field") or "")[:-1].lower() or None
            neg = bool(m.group("neg0") or m.group("neg"))
            if m.group("quoted") is not None:
                out.append(("quoted", fld, neg, m.group("quoted")))
            else:
                word = m.group("word")
                if word in ("OR", "|") and not fld and not neg:
                    out.append(("or", None, False, word))
                elif word in ("AND", "&") and not fld and not neg:
                    continue
                elif word == "NOT" and not fld and not neg:
                    out.append(("not", None, False, word))
                elif not _WORDISH.search(word):
                    continue  # a lone dash or other punctuation between words means nothing
                else:
                    out.append(("word", fld, neg, word))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str | None, bool, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> Node:
        node = self.or_expr()
        if self.i != len(self.tokens):
            raise _Syntax("unexpected token")
        return node

    def or_expr(self) -> Node:
        nodes = [self.and_expr()]
        while self.peek() == "or":
            self.i += 1
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else Or(nodes)

    def and_expr(self) -> Node:
        nodes: list[Node] = []
        while self.peek() in ("word", "quoted", "lp", "not"):
            nodes.append(self.unary())
        if not nodes:
            raise _Syntax("empty expression")
        return nodes[0] if len(nodes) == 1 else And(nodes)

    def unary(self) -> Node:
        if self.peek() == "not":
            self.i += 1
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        if self.i >= len(self.tokens):  # e.g. a trailing NOT
            raise _Syntax("missing operand")
        kind, fld, neg, value = self.tokens[self.i]
        self.i += 1
        if kind == "lp":
            node = self.or_expr()
            if self.peek() != "rp":
                raise _Syntax("unbalanced parenthesis")
            self.i += 1
            return node
        if kind == "rp":
            raise _Syntax("unbalanced parenthesis")
        node: Node = Quoted(value, fld) if kind == "quoted" else Words(value, fld)
        if kind == "quoted" and not value.strip():
            raise _Syntax("empty quotes")
        return Not(node) if neg else node


def parse_query(text: str) -> Node:
    """Parse; on any syntax problem fall back to the text's plain words (never raises)."""
    try:
        return _Parser(_lex(text)).parse()
    except _Syntax:
        plain = re.sub(r'[()"]|\b(?:OR|AND|NOT)\b', " ", text)
        parts = [p.lstrip("-") for p in plain.split()]
        parts = [p for p in parts if p]
        if any(_WORDISH.search(p) for p in parts):
            parts = [p for p in parts if _WORDISH.search(p)]
        if not parts:
            return Words(text.strip(' ()"') or text)
        return Words(" ".join(parts)) if len(parts) == 1 else And([Words(p) for p in parts])


def positive_leaves(node: Node, negated: bool = False) -> list[Words | Quoted]:
    """Leaves that count for ranking and highlighting (not under a Not)."""
    if isinstance(node, (Words, Quoted)):
        return [] if negated else [node]
    if isinstance(node, Not):
        return positive_leaves(node.node, not negated)
    return [leaf for child in node.nodes for leaf in positive_leaves(child, negated)]


def has_positive(node: Node) -> bool:
    """False for a query made only of exclusions (e.g. `-广告`)."""
    if isinstance(node, (Words, Quoted)):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(has_positive(n) for n in node.nodes)
    return all(has_positive(n) for n in node.nodes)
