"""jieba's default-mode cut (HMM on) with a bounded cache of the segmented Han blocks, and the
block segmentation itself in fewer Python steps.

jieba.Tokenizer.cut splits a text into blocks at every character outside its Han/alphanumeric
class (punctuation, spaces, line breaks) and segments each block on its own: a block's words
never depend on its neighbours. News repeats short blocks ("新华社北京3月5日电", "会议指出",
bylines, datelines): about 11% of the real corpus's body text sits in clauses seen before.
``cut`` gives exactly jieba's words (tests/test_analysis.py compares them) and segments each
distinct block once while it stays in the cache.

``cut_block`` is jieba's per-block segmentation (Tokenizer.__cut_DAG: the word graph, the best
route by summed log frequency, HMM for runs of unknown characters) with the graph and the route
computed in one function, each word's log probability looked up once per dictionary state
instead of a log() per candidate per block, and no tuples for the route: the same words, to the
float (the score is computed with the same operations in the same order; ties go to the longer
word, as jieba's max over (score, end) gives). About 11% of a rebuild's worker CPU time.

The caches are keyed on jieba's dictionary state (the default tokenizer object, its total
frequency and its word count): adding a word (a user dictionary) empties it. jieba's del_word
(a word's frequency set to 0) changes neither: whoever calls it must call ``forget()``.
"""
from __future__ import annotations

from collections.abc import Iterator

import math

import jieba
from jieba import finalseg

MAX_BLOCK_CHARS = 40      # longer blocks rarely repeat
MAX_ENTRIES = 50_000      # ~10 MB of cached blocks

_cache: dict[str, tuple[str, ...]] = {}
_logp: dict[str, float] = {}  # log(frequency) - log(total) of the dictionary words seen so far
_state: tuple[int, float, int] | None = None


def _dictionary_state(dt: jieba.Tokenizer) -> tuple[int, float, int]:
    return id(dt), dt.total, len(dt.FREQ)


def forget() -> None:
    """Empty the cache (after a change of jieba's dictionary that _dictionary_state cannot see)."""
    global _state
    _cache.clear()
    _logp.clear()
    _state = None


_PREFIX = 1.0  # in _logp: a prefix of dictionary words that is no word itself (no log probability is > 0)


def _route(dt: jieba.Tokenizer, block: str) -> list[int]:
    """End (exclusive) of the best word starting at each position of `block`, as jieba's
    get_DAG + calc choose it: positions from the last, each walking the dictionary's prefixes."""
    freq = dt.FREQ
    n = len(block)
    logp = _logp
    logtotal = math.log(dt.total)
    unknown = 0.0 - logtotal  # log(1) - log(total): a character with no frequency
    score = [0.0] * (n + 1)
    best = [0] * n
    for k in range(n - 1, -1, -1):
        top = None
        end = k
        i = k
        frag = block[k]
        while i < n:
            lp = logp.get(frag)
            if lp is None:
                f = freq.get(frag)
                if f is None:
                    break  # no dictionary word starts with frag
                lp = logp[frag] = math.log(f) - logtotal if f else _PREFIX
            if lp is not _PREFIX:
                value = lp + score[i + 1]
                if top is None or value >= top:  # ties: the later end, as max() over (value, end)
                    top, end = value, i
            i += 1
            frag = block[k:i + 1]
        if top is None:  # jieba's DAG holds the character alone
            score[k] = unknown + score[k + 1]
        else:
            score[k] = top
        best[k] = end + 1
    return best


def _sync(dt: jieba.Tokenizer) -> None:
    """Empty the caches when `dt` or its dictionary is not the one they were filled from."""
    global _state
    state = _dictionary_state(dt)
    if state != _state:
        _cache.clear()
        _logp.clear()
        _state = state


def cut_block(dt: jieba.Tokenizer, block: str) -> Iterator[str]:
    """The words jieba's Tokenizer.__cut_DAG(block) yields (HMM on)."""
    _sync(dt)
    best = _route(dt, block)
    freq = dt.FREQ
    x = 0
    buf = ""
    n = len(block)
    while x <= n:
        y = best[x] if x < n else n + 1
        if x < n and y - x == 1:
            buf += block[x]
            x = y
            continue
        if buf:  # a run of single characters: HMM words when it is not a dictionary word
            if len(buf) == 1:
                yield buf
            elif not freq.get(buf):
                yield from finalseg.cut(buf)
            else:
                yield from buf
            buf = ""
        if x < n:
            yield block[x:y]
        x = y


def cut(text: str) -> Iterator[str]:
    """The words of jieba.cut(text, HMM=True) (the default tokenizer, initialised)."""
    dt = jieba.dt
    _sync(dt)
    han, skip = jieba.re_han_default, jieba.re_skip_default
    for block in han.split(text):
        if not block:
            continue
        if han.match(block):
            words = _cache.get(block)
            if words is None:
                words = tuple(cut_block(dt, block))
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
