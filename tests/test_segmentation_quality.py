"""Segmentation quality, measured: word-level P/R/F1 on the SIGHAN 2005 test gold (PKU, MSR).

Scored over character-offset spans of each line. "Ours" is the analyzer's whole-word segmentation
(the query-mode tokenizer: folding + jieba + our mixed-token words), whose offsets point into the
gold text itself (MSR has full-width digits; they are folded, the spans stay on the original).
The analyzer drops punctuation and spaces; each dropped character is scored as a one-character
token, which is how the gold (and plain jieba) treat nearly all punctuation. A second score
counts only tokens with a word character, so dropping punctuation can neither help nor hurt.
The data is third-party and lives in ../shared; the test skips where it is absent.
"""
from __future__ import annotations

import re
from pathlib import Path

import jieba
import pytest

from indexer.analysis import ChineseTokenizer, ensure_initialised
from shared_data import shared_file

Span = tuple[int, int]
_WORD = re.compile(r"\w")
# Measured with jieba 0.42.1 (plain jieba.cut, all tokens): PKU 0.818, MSR 0.813.
MIN_F1 = 0.80
TOLERANCE = 0.002


def _spans(tokens: list[str]) -> set[Span]:
    out, pos = set(), 0
    for tok in tokens:
        out.add((pos, pos + len(tok)))
        pos += len(tok)
    return out


def _ours(text: str, tokenizer: ChineseTokenizer) -> set[Span]:
    words = sorted({(t.startchar, t.endchar) for t in tokenizer(text, chars=True, mode="query")})
    spans = set(words)
    pos = 0
    for s, e in words + [(len(text), len(text))]:
        spans.update((i, i + 1) for i in range(pos, s))  # dropped punctuation / spaces
        pos = max(pos, e)
    return spans


def _prf(gold: set, pred: set) -> tuple[float, float, float]:
    hit = len(gold & pred)
    p, r = hit / len(pred), hit / len(gold)
    return p, r, 2 * p * r / (p + r)


def score(path: Path) -> dict[str, tuple[float, float, float]]:
    ensure_initialised()
    tokenizer = ChineseTokenizer()
    gold_all: set = set()
    totals: dict[str, set] = {"jieba": set(), "ours": set()}
    gold_words: set = set()
    words: dict[str, set] = {"jieba": set(), "ours": set()}
    # splitlines() also takes care of the CRLF line ends.
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        toks = line.split()
        if not toks:
            continue
        text = "".join(toks)
        gold = _spans(toks)
        pred = {"jieba": _spans(list(jieba.cut(text))), "ours": _ours(text, tokenizer)}

        def tag(spans: set[Span]) -> set:
            return {(lineno, s, e) for s, e in spans}

        def wordish(spans: set[Span]) -> set[Span]:
            return {(s, e) for s, e in spans if _WORD.search(text[s:e])}

        gold_all |= tag(gold)
        gold_words |= tag(wordish(gold))
        for name, spans in pred.items():
            totals[name] |= tag(spans)
            words[name] |= tag(wordish(spans))
    return {
        "jieba": _prf(gold_all, totals["jieba"]), "ours": _prf(gold_all, totals["ours"]),
        "jieba_words": _prf(gold_words, words["jieba"]), "ours_words": _prf(gold_words, words["ours"]),
    }


@pytest.mark.parametrize("corpus", ["pku", "msr"])
def test_segmentation_at_least_as_good_as_plain_jieba(corpus: str) -> None:
    path = shared_file("corpus", "segmentation", f"{corpus}_test_gold.utf8")
    if path is None:
        pytest.skip("SIGHAN gold data not available (../shared/corpus/segmentation)")
    result = score(path)
    for name, (p, r, f) in result.items():
        print(f"{corpus} {name:<12} P={p:.4f} R={r:.4f} F1={f:.4f}")
    assert result["jieba"][2] > 0.75  # sanity: the scoring itself reproduces the known figures
    assert result["ours"][2] >= result["jieba"][2] - TOLERANCE
    assert result["ours"][2] >= MIN_F1
    assert result["ours_words"][2] >= result["jieba_words"][2] - TOLERANCE
