"""Per-article analysis done once, in worker processes: segmentation, keywords, SimHash.

The word tokens travel back to the writer inside ``Pretokenized`` strings, which the tokenizer
replays instead of segmenting again (jieba is the expensive part of indexing).
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import numpy as np

from indexer.analysis import fold_text, is_han, word_spans
from indexer.model import Article, Problem

KEYWORD_COUNT = 8

# Words too common in news to describe what an article is about.
_KEYWORD_STOP = set(
    "我们 他们 你们 这个 那个 一个 没有 可以 已经 因为 所以 但是 如果 以及 或者 还是 就是 不是 这些 那些 什么 表示 "
    "认为 进行 通过 目前 今年 去年 同时 其中 之后 之前 方面 工作 问题 情况 相关 有关 时间 记者 报道 介绍 "
    "来自 这样 自己 很多 不同 成为 作为 开始 一些 需要 继续 对于 关于 以来 我国 全国 日前 近日".split()
)


class Pretokenized(str):
    """A str that carries its analysed tokens: (text, pos, startchar, endchar) per token."""

    tokens: list[tuple[str, int, int, int]]


def analyse_text(text: str) -> Pretokenized:
    """The tokens ChineseTokenizer gives in index mode (sub-words included), without its Token objects."""
    value = Pretokenized(text)
    value.tokens = list(word_spans(text, True))
    return value


def _idf() -> tuple[dict[str, float], float]:
    import jieba.analyse

    loader = jieba.analyse.default_tfidf
    return loader.idf_freq, loader.median_idf


def keyword_idf() -> None:
    """Load jieba's IDF table now (a parent process does, so that forked workers share it)."""
    _idf()


@lru_cache(maxsize=200_000)
def _keyword_candidate(text: str) -> bool:
    """Can this word be a keyword? (Asked once per distinct word: words repeat across articles.)"""
    return len(text) >= 2 and text not in _KEYWORD_STOP and any(is_han(c) or c.isalpha() for c in text)


def keywords(tokens: list[tuple[str, int, int, int]], title_tokens: list[tuple[str, int, int, int]],
             limit: int = KEYWORD_COUNT) -> list[str]:
    """TF-IDF keywords from whole words (not sub-words); title words count double."""
    idf, median = _idf()
    tf: Counter[str] = Counter()
    for group, weight in ((tokens, 1), (title_tokens, 2)):
        last_pos = None
        for text, pos, _s, _e in group:
            if pos == last_pos:  # a sub-word sharing its parent's position
                continue
            last_pos = pos
            if not _keyword_candidate(text):
                continue
            tf[text] += weight
    scored = sorted(tf.items(), key=lambda kv: (-kv[1] * idf.get(kv[0], median), kv[0]))
    return [w for w, _ in scored[:limit]]


_BIT_SHIFTS = np.arange(64, dtype=np.uint64)


def _digest(word: str) -> bytes:
    return hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()


@lru_cache(maxsize=4096)
def _count_weight(count: int) -> float:
    return 1 + math.log(count)


def simhash(tokens: list[tuple[str, int, int, int]]) -> int:
    """64-bit SimHash over word bigrams: near-identical texts land within a few bits."""
    words = []
    last_pos = None
    for text, pos, _s, _e in tokens:
        if pos != last_pos:
            words.append(text)
            last_pos = pos
    feats = Counter(a + "\x00" + b for a, b in zip(words, words[1:])) or Counter(words)
    if not feats:
        return 0
    # Vectorised (a per-bit Python loop was ~2 ms an article, 15% of a build): each feature
    # votes +w on the bits its hash sets and -w on the others; set the bits with a positive sum.
    # The features' hashes (each a big-endian 64-bit blake2b digest) in one buffer.
    hashes = np.frombuffer(b"".join(map(_digest, feats)), dtype=">u8").astype(np.uint64)
    weights = np.fromiter(map(_count_weight, feats.values()), dtype=np.float64, count=len(feats))
    bits = (hashes[:, None] >> _BIT_SHIFTS) & np.uint64(1)
    acc = weights @ (bits.astype(np.float64) * 2.0 - 1.0)
    return sum(1 << int(bit) for bit in np.flatnonzero(acc > 0))


def content_hash(article: Article) -> str:
    h = hashlib.sha1()
    for value in (article.title, article.body, article.channel, article.published, article.author,
                  article.source, article.url, ",".join(article.tags)):
        h.update((value or "").encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def timestamp(published: str | None) -> int:
    if not published:
        return -1
    try:
        dt = datetime.fromisoformat(published)
    except ValueError:
        return -1
    return int(dt.replace(tzinfo=timezone.utc).timestamp())


def to_document(article: Article) -> dict[str, Any]:
    """All field values for one article, analysed, ready for ``writer.add_document``."""
    title = analyse_text(article.title)
    body = analyse_text(article.body)
    ts = timestamp(article.published)
    doc: dict[str, Any] = {
        "id": article.id,
        "title": title,
        "_stored_title": article.title,
        "body": body,
        "_stored_body": article.body,
        # What exact-substring queries are checked against (same folding as queries).
        "folded": fold_text(article.title + "\n" + article.body).encode("utf-8"),
        "published": article.published or "",
        "ts": ts,
        "keywords": " ".join(keywords(body.tokens, title.tokens)),
        "simhash": simhash(body.tokens or title.tokens),
        "content_hash": content_hash(article),
        "url": article.url or "",
    }
    if article.channel:
        doc["channel"] = article.channel
    if ts >= 0 and article.published:
        doc["year"] = int(article.published[:4])
        doc["month"] = article.published[:7]
    for name in ("author", "source"):
        value = getattr(article, name)
        if value:
            doc[name] = value
    if article.tags:
        doc["tags"] = ",".join(t.replace(",", " ") for t in article.tags)
    return doc


def analyse_item(item: Article | Problem) -> dict[str, Any] | Problem:
    """One input record analysed for the writer: a document (with its origin under "__origin"),
    or a Problem (a bad article must not stop the rebuild: it is reported)."""
    if isinstance(item, Problem):
        return item
    try:
        doc = to_document(item)
    except Exception as exc:
        return Problem(item.origin or item.id, f"could not analyse article: {exc}")
    doc["__origin"] = item.origin
    return doc
