"""Matching relaxation: answer what readers type when requiring every word finds nothing.

Readers type questions (中国经济回升向好的原因是什么), news tails (最新进展) and runs of keywords.

1. Question and filler words (FILLER_WORDS: 什么 为什么 如何 最新 进展 报道 ...) are never required
   when the query has other words, and do not rank: an article answering 中国经济回升向好的原因是什么
   need not contain 原因 or 什么 (a query made only of them keeps them).
2. When all the other words together find nothing (RELAX_BELOW), and no spelling correction finds
   results instead: a word the archive does not contain at all (a new name, keywords typed
   together that jieba could not split into known words) backs off to its dictionary parts;
   then articles holding all words but one are taken, else all but two, ..., never fewer than
   half of them (minimum-should-match). Articles holding more of the words rank first, then by
   score, where rare words weigh most (IDF).

Only plain words are relaxed: quoted strings, field clauses (title: author: ...), exclusions,
OR groups and the request's filters always hold. Relaxed results rank articles matching more of
the query's words first (scoring.coverage), and the response says what was not required.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jieba
import numpy as np

from search_service.query import And, Node, Words

# Content words are dropped only when all of them together find fewer results than this: a query
# that finds something shows exactly what matches it (editors count on that).
RELAX_BELOW = 1

# Words that ask rather than say what an article is about. Dropped first when relaxing; a query
# made only of them keeps them.
FILLER_WORDS = frozenset("""
什么 是什么 为什么 为何 怎么 怎么样 怎样 如何 哪些 哪个 哪里 哪儿 多少 几时 何时 是否 能否 可否
会不会 有没有 是不是 怎么办 咋 啥 吗 呢 吧 啊 呀 嘛 么 请问 一下 到底 究竟 真的 是真的 了吗
最新 最近 近况 消息 最新消息 新闻 报道 相关 相关报道 情况 进展 最新进展 原因 有关 关于 详情
具体 动态 资讯 介绍 解读 分析 盘点 汇总 回顾 有 了 啥样 如今 现在
具体内容 意味着 意味着什么 如何看待 怎么看 看待 看法 背景 真相 始末 来龙去脉 细节 后续 有何 何在 咋样
什么样 哪方面 意义 怎么回事 发生 了什么
""".split())


@dataclass
class Unit:
    """One query word (with its synonyms' alternatives) and the documents it matches."""
    label: str
    docs: frozenset[int]
    words: list[str]
    filler: bool = False


@dataclass
class Relaxation:
    docs: frozenset[int]
    required: list[str]
    dropped: list[str]
    units: list[Unit] = field(default_factory=list)     # content units, for coverage ranking
    backed_off: dict[str, list[str]] = field(default_factory=dict)
    strict_total: int = 0                                    # what all the words found

    def as_dict(self) -> dict[str, object]:
        """The response's `relaxed` object (OpenAPI: Relaxed)."""
        return {"required": self.required, "dropped": self.dropped, "split": dict(self.backed_off),
                "strict_total": self.strict_total}

    def missing(self, docnum: int) -> list[str]:
        """The query's content words a relaxed hit does not contain."""
        return [u.label for u in self.units if docnum not in u.docs]


def relaxable(node: Node) -> tuple[list[Words], list[Node]]:
    """(plain-word leaves that may be relaxed, everything else that must hold)."""
    if isinstance(node, Words) and node.field is None:
        return [node], []
    if isinstance(node, And):
        leaves = [c for c in node.nodes if isinstance(c, Words) and c.field is None]
        return leaves, [c for c in node.nodes if not (isinstance(c, Words) and c.field is None)]
    return [], [node]


def _parts(word: str) -> list[str]:
    """Dictionary parts of a word the archive does not hold, when jieba knows some of them: a
    run of single characters is no better a query than the word (量子 -> 量, 子 would match
    anything), so it gets no parts."""
    parts = [p for p in jieba.lcut(word, HMM=False) if p.strip()]
    return parts if len(parts) > 1 and any(len(p) > 1 for p in parts) else []


def relax(units: list[Unit], base: frozenset[int], strict: frozenset[int],
          word_docs: Callable[[str], frozenset[int]],
          may_drop_words: Callable[[], bool] = lambda: True,
          size: Callable[[frozenset[int]], int] = len) -> Relaxation | None:
    """A relaxed match, or None when nothing was dropped.

    `units` are the plain words' units in query order, `base` the documents matching everything
    that is never relaxed, `word_docs` the documents of one word (for backed-off parts), and
    `may_drop_words` says whether content words may go when nothing matches them all (the core
    says no when a spelling correction finds results instead); `size` counts a match as the
    request sees it (after its filters)."""
    if len(units) < 2 and not (units and not units[0].docs and len(units[0].label) > 1):
        return None
    if all(u.filler for u in units):
        for u in units:
            u.filler = False
    content = [u for u in units if not u.filler]
    dropped = [u.label for u in units if u.filler]
    docs = matching(base, content)
    backed_off: dict[str, list[str]] = {}
    if size(docs) < RELAX_BELOW and may_drop_words():
        expanded: list[Unit] = []
        for u in content:
            parts = _parts(u.label) if not u.docs and len(u.label) > 2 and len(u.words) == 1 else []
            if parts:
                backed_off[u.label] = parts
                expanded += [Unit(p, word_docs(p), [p]) for p in parts]
            else:
                expanded.append(u)
        content = expanded
        docs = most_of(base, content, size)
        if not size(docs):  # still nothing: the query as typed stands
            return None
        # Required: what every result holds; the rest was dropped (a hit's own `missing` says which).
        dropped += [u.label for u in content if not docs <= u.docs]
        kept = [u for u in content if docs <= u.docs]
    else:
        kept = content
    if not dropped and not backed_off:
        return None
    return Relaxation(docs=docs | strict, required=[u.label for u in kept], dropped=dropped, units=content,
                      backed_off=backed_off,
                      strict_total=size(strict))


def most_of(base: frozenset[int], content: list[Unit], size: Callable[[frozenset[int]], int]) -> frozenset[int]:
    """Documents of `base` holding as many of the words as any document does: all but one, else
    all but two, ..., never fewer than half of them (minimum-should-match, decided by the archive:
    a greedy drop of one word at a time can keep a rare question word and lose the topic)."""
    arrays = [np.fromiter(u.docs, dtype=np.int64, count=len(u.docs)) for u in content if u.docs]
    if not arrays:
        return frozenset()
    ids, counts = np.unique(np.concatenate(arrays), return_counts=True)
    least = max(1, math.ceil(len(content) / 2))
    for k in range(len(content) - 1, least - 1, -1):
        found = frozenset(ids[counts >= k].tolist()) & base
        if size(found) >= RELAX_BELOW:
            return found
    return frozenset()


def matching(base: frozenset[int], kept: list[Unit]) -> frozenset[int]:
    docs = base
    for u in sorted(kept, key=lambda u: len(u.docs)):
        # From the base itself (often every live doc): a subset test, not a copy of u.docs.
        docs = u.docs if docs is base and u.docs <= base else docs & u.docs
        if not docs:
            break
    return docs
