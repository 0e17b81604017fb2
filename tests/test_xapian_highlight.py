"""Highlights on the Xapian shards from the word spans stored at index time (value SLOT_SPANS) are
the spans of segmenting the stored text again, word for word, sub-words included."""
from __future__ import annotations

import json
from itertools import islice

import pytest

xapian = pytest.importorskip("xapian")

from indexer import analysis  # noqa: E402
from indexer import xapian_doc as xd  # noqa: E402
from indexer.model import Article  # noqa: E402
from search_service import xapian_highlight as xh  # noqa: E402
from shared_data import shared_file  # noqa: E402

TEXTS = [
    ("江城日报讯 中华人民共和国成立七十五周年", "记者从江城市科技局获悉……iPhone15Pro 与 5G 基站㈠建设①进展顺利。"),
    ("ＧＤＰ增长 G20峰会", "全角ＡＢＣ和半角abc，繁體中文內容與简体混排；e\u0301 café … 结束"),
    ("", "只有正文，没有标题。"),
    ("只有标题", ""),
    ("长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长长",
     "x" * 300 + " 空格　　全角空格\n换行\t制表"),
]


def _articles() -> list[Article]:
    out = [Article(id=f"t{i}", title=t, body=b) for i, (t, b) in enumerate(TEXTS)]
    path = shared_file("corpus", "news.jsonl")
    if path is not None:
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(islice(fh, 60)):
                row = json.loads(line)
                out.append(Article(id=f"r{i}", title=row.get("title") or "", body=row.get("body") or ""))
    return out


def _every_term(text: str, tokens: list[tuple[str, int, int, int]]) -> set[str]:
    """Every index-mode term of the text, plus strings that are not words (parts of words, runs
    across words, single characters)."""
    terms = {t for t, _p, _s, _e in tokens}
    folded = analysis.fold_text(text)
    terms |= {folded[i:i + n] for i in range(0, len(folded), 7) for n in (1, 2, 3)}
    return {t for t in terms if t.strip()}


@pytest.mark.parametrize("article", _articles(), ids=lambda a: a.id)
def test_stored_spans_equal_segmenting_again(article: Article) -> None:
    doc = xd.document(article)
    blob = doc.get_value(xd.SLOT_SPANS)
    assert blob, "every document carries its word spans"
    decoded = xd.decode_spans(blob)
    for text, bounds in zip((article.title, article.body), decoded):
        assert bounds is not None
        tokens = list(analysis.word_spans(text, expand=True))  # what segmenting again gives
        terms = _every_term(text, tokens)
        for term in terms:
            want = sorted({(s, e) for t, _p, s, e in tokens if t == term})
            assert sorted(set(xh.stored_spans(text, bounds, [term]))) == want, (article.id, term)
        # Many terms at once: the union.
        assert sorted(set(xh.stored_spans(text, bounds, terms))) == \
            sorted({(s, e) for t, _p, s, e in tokens if t in terms})


def test_spans_round_trip_large_values() -> None:
    spans = [(0, 1), (3, 300), (300, 302), (100_000, 100_200)]
    got = xd.decode_spans(xd.encode_spans(spans, None, []), 3)
    assert [list(zip(*map(list, got[0])))] == [spans]
    assert got[1] is None
    assert len(got[2][0]) == 0


def test_a_document_without_spans_is_segmented_again() -> None:
    text = "中华人民共和国成立"
    fields = {"title": text, "body": text}
    got = xh.page_spans([(1, fields, b"")], {"人民", "成立"}, set())
    assert sorted(set(got["title"][1])) == sorted(set(xh.segmented_spans(text, {"人民", "成立"})))
    assert got["title"][1], "the sub-word 人民 marks its parent word"
