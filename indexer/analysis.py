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
from pathlib import Path

import jieba
from whoosh.analysis import Token, Tokenizer

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
        mixed = _DATA_DIR / "mixed_words.txt"
        for line in mixed.read_text(encoding="utf-8").splitlines():
            word = line.strip()
            if word and not word.startswith("#"):
                # Folded form: the text is lower-cased before segmenting.
                jieba.add_word(fold(word)[0], freq=50000)
        _initialised = True


def load_userdict(path: str | Path) -> bool:
    """Add a jieba-format user dictionary (``word [freq] [tag]`` per line); idempotent per path."""
    path = Path(path)
    if not path.is_file():
        return False
    ensure_initialised()
    key = f"{path.resolve()}:{path.stat().st_mtime_ns}"
    if key in _loaded_userdicts:
        return True
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        parts = raw.strip().split()
        if not parts or parts[0].startswith("#"):
            continue
        word = fold(parts[0])[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) > 1 and not parts[1].isdigit() else None)
        jieba.add_word(word, freq=freq, tag=tag)
    _loaded_userdicts.add(key)
    return True


# ---------------------------------------------------------------------------------------------
# Folding: NFKC, lower case, traditional -> simplified, with a map back to original offsets.

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
    parts: list[str] = []
    mapping: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        parts.append(f)
        mapping.extend([i] * len(f))
    nf = "".join(parts)
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
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_DIGIT_SPLIT = re.compile(r"[a-z]+|\d+(?:\.\d+)?")


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def segment(folded: str) -> Iterator[tuple[str, int, int]]:
    """Yield (word, start, end) over already-folded text, skipping spaces and punctuation."""
    ensure_initialised()
    for word, start, end in jieba.tokenize(folded, HMM=True):
        if _WORDISH.search(word):
            yield word, start, end


def sub_words(word: str) -> list[str]:
    """Dictionary sub-words of a long word (jieba's search mode), or the parts of a mixed token.

    They get the parent's position and characters, so phrases over words still line up and a
    highlight never marks half a word.
    """
    subs: list[str] = []
    if len(word) > 2 and is_han(word[0]):
        freq = jieba.dt.FREQ
        for n in (2, 3):
            if len(word) > n:
                for i in range(len(word) - n + 1):
                    gram = word[i:i + n]
                    if freq.get(gram):
                        subs.append(gram)
    elif len(word) > 3 and not is_han(word[0]):
        parts = _LATIN_DIGIT_SPLIT.findall(word)
        if len(parts) > 1:
            subs.extend(p for p in parts if len(p) >= 2)
    return subs


def words(text: str) -> list[str]:
    """Query-side words of a text: folded and segmented, no sub-words."""
    return [w for w, _, _ in segment(fold_text(text))]


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
            # Analysed once already by indexer.enrich in a worker process.
            t.boost = 1.0
            t.stopped = False
            for text, pos, s, e in replay:
                t.text = text
                if positions:
                    t.pos = start_pos + pos
                if chars:
                    t.startchar, t.endchar = start_char + s, start_char + e
                yield t
            return
        folded, mapping = fold(value)
        expand = self.subwords and mode != "query"
        pos = start_pos
        for word, s, e in segment(folded):
            if mapping is not None:
                s, e = mapping[s], mapping[e - 1] + 1
            t.boost = 1.0
            t.stopped = False
            t.text = word
            if keeporiginal:
                t.original = value[s:e]
            if positions:
                t.pos = pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t
            if expand:
                for sub in sub_words(word):
                    t.text = sub
                    yield t
            pos += 1


def substring_runs(text: str) -> list[str]:
    """The runs of word characters of a folded query string (punctuation and spaces split runs)."""
    return re.findall(r"[^\W_]+", fold_text(text))


def ChineseAnalyzer() -> ChineseTokenizer:  # noqa: N802 (Whoosh's naming style for analyzers)
    return ChineseTokenizer()
