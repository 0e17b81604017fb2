"""Chinese text analysis: folding, jieba segmentation and Whoosh tokenizers.

Whoosh pickles analyzer objects into the index schema, so the classes here must keep this
import path (``indexer.analysis``) and stay picklable (plain attributes only).

The same folding and segmentation run at index and at query time; never mix segmenters.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import jieba
from whoosh.analysis import Token, Tokenizer

from indexer import jieba_blocks
from indexer.errors import BadDictionary

jieba.setLogLevel(logging.WARNING)

_DATA_DIR = Path(__file__).parent / "data"
_init_lock = threading.Lock()
_initialised = False
_loaded_userdicts: set[str] = set()

_t2s = None  # OpenCC converter, created lazily (it loads dictionaries)


def _converter():
    global _t2s
    if _t2s is None:
        import opencc

        _t2s = opencc.OpenCC("t2s")
    return _t2s


def ensure_initialised() -> None:
    """Load jieba's dictionary and our bundled mixed-token words once per process."""
    global _initialised
    if _initialised:
        return
    with _init_lock:
        if _initialised:
            return
        jieba.initialize()
        for word in _mixed_words():
            # Folded form: the text is lower-cased before segmenting.
            jieba.add_word(fold(word)[0], freq=50000)
        _initialised = True


def _mixed_words() -> list[str]:
    """Bundled mixed Latin/digit/Han words (data/mixed_words.txt) jieba would otherwise split."""
    lines = (_DATA_DIR / "mixed_words.txt").read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.strip().startswith("#")]


def read_userdict(path: str | Path) -> list[tuple[str, int | None, str | None]]:
    """(word, freq, tag) entries of a jieba-format user dictionary (``word [freq] [tag]`` per line);
    a file that cannot be read as UTF-8 text is a BadDictionary naming the file and line (jieba
    would fail with a traceback)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDictionary(f"cannot read the user dictionary {path}: {exc.strerror or exc}") from None
    entries = []
    for lineno, line in enumerate(data.splitlines(), 1):
        try:
            raw = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError:
            raise BadDictionary(f"{path}:{lineno}: the user dictionary is not UTF-8 text; save it as UTF-8 "
                                f"(one `word [freq] [tag]` per line)") from None
        parts = raw.strip().split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
        entries.append((parts[0], freq, tag))
    return entries


def load_userdict(path: str | Path) -> bool:
    """Add a jieba-format user dictionary to this process's jieba; idempotent per path."""
    path = Path(path)
    if not path.is_file():
        return False
    ensure_initialised()
    key = f"{path.resolve()}:{path.stat().st_mtime_ns}"
    if key in _loaded_userdicts:
        return True
    for word, freq, tag in read_userdict(path):
        jieba.add_word(fold(word)[0], freq=freq, tag=tag)
    _loaded_userdicts.add(key)
    return True


class IsolatedSegmenter:
    """words() in a separate jieba instance (with our bundled words): words that other user
    dictionaries added to this process's jieba never show up (a process that served or built
    several generations has them all)."""

    def __init__(self) -> None:
        self.tk = jieba.Tokenizer()
        self.tk.initialize()
        for word in _mixed_words():
            self.tk.add_word(fold_text(word), freq=50000)

    def add_userdict(self, path: Path) -> None:
        for word, freq, tag in read_userdict(path):
            self.tk.add_word(fold_text(word), freq=freq, tag=tag)

    def words(self, text: str) -> list[str]:
        return [w for w, _, _ in self.tk.tokenize(fold_text(text), HMM=True) if _WORDISH.search(w)]


# ---------------------------------------------------------------------------------------------
# Folding: NFKC, lower case, traditional -> simplified, with a map back to original offsets.

@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower()


def fold(text: str) -> tuple[str, list[int] | None]:
    """Return (folded text, offset map).

    The map gives, for each folded character, the index of the original character it came from;
    None means the folding kept every character in place (the common case), so offsets are equal.
    """
    conv = _converter()
    quick = unicodedata.normalize("NFKC", text).lower()
    # Equal lengths alone do not prove a 1:1 mapping: a composition (e + U+0301 -> é) can cancel
    # out an expansion (… -> ...) and shift every later offset. When NFKD keeps the length too,
    # no character expands, so an unchanged NFKC length means nothing composed either.
    if len(quick) == len(text) and len(unicodedata.normalize("NFKD", text)) == len(text):
        folded = conv.convert(quick)
        if len(folded) == len(quick):
            return folded, None
        return "".join(_t2s_char(c) for c in quick), None
    # Some character changed length (e.g. "…" -> "...", "①" -> "1"): fold per character.
    parts = list(map(_fold_char, text))
    nf = "".join(parts)
    mapping = [i for i, f in enumerate(parts) for _ in f]
    folded = conv.convert(nf)
    if len(folded) != len(nf):
        folded = "".join(_t2s_char(c) for c in nf)
    return folded, mapping


def _t2s_char(c: str) -> str:
    s = _converter().convert(c)
    return s if len(s) == 1 else c


def fold_text(text: str) -> str:
    """The folded form only (for queries and substring checks)."""
    return fold(text)[0]


# ---------------------------------------------------------------------------------------------
# Segmentation

_WORDISH = re.compile(r"\w", re.UNICODE)
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ext. A, unified, compatibility
_HAN = re.compile(f"[{HAN_RANGES}]")
_LATIN_DIGIT_SPLIT = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
# Function words that add nothing to an AND of words; dropped only from multi-word unquoted
# queries (a phrase or a quoted string keeps them, so they never break phrases).
STOP_WORDS = frozenset("的 了 和 与 及 或 是 在 也 都 就 而 之 其 等 对 将 把 被 从 向 于 为 以 这 那 有 个 着 过 吗 呢 吧 啊".split())

# The analysis chain, one stage per function, shared by index and query time:
#   fold (offset map) -> segment -> sub-words -> mixed-token parts -> [query] stop words
# ChineseTokenizer composes the first four; the query side adds drop_stop_words.


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def segment(folded: str) -> Iterator[tuple[str, int, int]]:
    """Stage 2: (word, start, end) over already-folded text, skipping spaces and punctuation."""
    ensure_initialised()
    for word, start, end in jieba_blocks.tokenize(folded):  # jieba.tokenize(folded, HMM=True), cached
        if _WORDISH.search(word):
            yield word, start, end


def han_sub_words(word: str) -> list[str]:
    """Stage 3: dictionary 2- and 3-character sub-words of a long Han word (jieba's search mode)."""
    subs: list[str] = []
    if len(word) > 2 and is_han(word[0]):
        freq = jieba.dt.FREQ
        for n in (2, 3):
            if len(word) > n:
                for i in range(len(word) - n + 1):
                    gram = word[i:i + n]
                    if freq.get(gram):
                        subs.append(gram)
    return subs


def mixed_parts(word: str) -> list[str]:
    """Stage 4: the Latin and digit runs of a mixed token (iphone15pro -> iphone, 15, pro)."""
    if len(word) > 3 and not is_han(word[0]):
        parts = _LATIN_DIGIT_SPLIT.findall(word)
        if len(parts) > 1:
            return [p for p in parts if len(p) >= 2]
    return []


def sub_words(word: str) -> list[str]:
    """Stages 3 and 4: the extra index terms of one word.

    They get the parent's position and characters, so phrases over words still line up and a
    highlight never marks half a word.
    """
    return han_sub_words(word) or mixed_parts(word)


def drop_stop_words(ws: list[str], extra: frozenset[str] = frozenset()) -> list[str]:
    """Stage 5 (query side only): built-in and extra stop words dropped from a multi-word list;
    a list made only of stop words is kept whole."""
    if len(ws) < 2:
        return ws
    return [w for w in ws if w not in STOP_WORDS and w not in extra] or ws


def words(text: str) -> list[str]:
    """Query-side words of a text: folded and segmented, no sub-words."""
    return [w for w, _, _ in segment(fold_text(text))]


def word_spans(value: str, expand: bool) -> Iterator[tuple[str, int, int, int]]:
    """Stages 1-4 composed: (term, position, start, end) with offsets into the original `value`;
    with `expand`, each word's sub-words follow it at the same position and span."""
    folded, mapping = fold(value)
    for pos, (word, s, e) in enumerate(segment(folded)):
        if mapping is not None:
            s, e = mapping[s], mapping[e - 1] + 1
        yield word, pos, s, e
        if expand:
            for sub in sub_words(word):
                yield sub, pos, s, e


class ChineseTokenizer(Tokenizer):
    """Word tokenizer: jieba over folded text; offsets point into the original text.

    In index mode, sub-words of long words are added at the parent's position with the
    parent's character span; in query mode only whole words are produced.
    """

    def __init__(self, subwords: bool = True) -> None:
        self.subwords = subwords

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChineseTokenizer) and other.subwords == self.subwords

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold_text(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        replay = getattr(value, "tokens", None)
        if replay is not None and mode != "query":
            spans = replay  # analysed once already by indexer.enrich in a worker process
        else:
            spans = word_spans(value, self.subwords and mode != "query")
        t.boost = 1.0
        for text, pos, s, e in spans:
            t.stopped = False
            t.text = text
            if keeporiginal:
                t.original = value[s:e]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t


def ChineseAnalyzer() -> ChineseTokenizer:  # noqa: N802 (Whoosh's naming style for analyzers)
    return ChineseTokenizer()
