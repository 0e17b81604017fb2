"""jieba's default-mode cut (HMM on) with a bounded cache of the segmented Han blocks.

jieba.Tokenizer.cut splits a text into blocks at every character outside its Han/alphanumeric
class (punctuation, spaces, line breaks) and segments each block on its own: a block's words
never depend on its neighbours. News repeats short blocks ("新华社北京3月5日电", "会议指出",
bylines, datelines): about 11% of the real corpus's body text sits in clauses seen before.
``cut`` gives exactly jieba's words (tests/test_analysis.py compares them) and segments each
distinct block once while it stays in the cache.

The cache is keyed on jieba's dictionary state (the default tokenizer object, its total
frequency and its word count): adding a word (a user dictionary) empties it. jieba's del_word
(a word's frequency set to 0) changes neither: whoever calls it must call ``forget()``.
"""
from __future__ import annotations

from collections.abc import Iterator

import jieba

MAX_BLOCK_CHARS = 40      # longer blocks rarely repeat
MAX_ENTRIES = 50_000      # ~10 MB of cached blocks

_cache: dict[str, tuple[str, ...]] = {}
_state: tuple[int, float, int] | None = None


def _dictionary_state(dt: jieba.Tokenizer) -> tuple[int, float, int]:
    return id(dt), dt.total, len(dt.FREQ)


def forget() -> None:
    """Empty the cache (after a change of jieba's dictionary that _dictionary_state cannot see)."""
    global _state
    _cache.clear()
    _state = None


def cut(text: str) -> Iterator[str]:
    """The words of jieba.cut(text, HMM=True) (the default tokenizer, initialised)."""
    global _state
    dt = jieba.dt
    state = _dictionary_state(dt)
    if state != _state:
        _cache.clear()
        _state = state
    cut_block = dt._Tokenizer__cut_DAG  # the per-block segmentation jieba.cut runs with HMM=True
    han, skip = jieba.re_han_default, jieba.re_skip_default
    for block in han.split(text):
        if not block:
            continue
        if han.match(block):
            words = _cache.get(block)
            if words is None:
                words = tuple(cut_block(block))
                if len(block) <= MAX_BLOCK_CHARS:
                    if len(_cache) >= MAX_ENTRIES:
                        _cache.clear()
                    _cache[block] = words
            yield from words
        else:
            for part in skip.split(block):
                if skip.match(part):
                    yield part
                else:
                    yield from part


def tokenize(text: str) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) as jieba.tokenize(text, HMM=True) gives them."""
    start = 0
    for word in cut(text):
        end = start + len(word)
        yield word, start, end
        start = end
