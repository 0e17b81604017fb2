"""The array-based reads of the Xapian engine (postings, document lengths, BM25F, coded columns)
give what Xapian's own per-posting and per-document calls give."""
from __future__ import annotations

from collections import Counter

import pytest

xapian = pytest.importorskip("xapian")

from indexer import xapian_doc as xd  # noqa: E402
from indexer.demo_data import demo_sources, demo_userdict  # noqa: E402
from search_service import scoring  # noqa: E402
from search_service import xapian_query as xq  # noqa: E402
from search_service import xapian_rank  # noqa: E402


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory):
    from indexer import xapian_store
    from search_service.xapian_pool import ShardPool

    root = tmp_path_factory.mktemp("xrank")
    specs = [str(root / f"s{i}") for i in range(3)]
    xapian_store.rebuild(demo_sources(), specs, userdict=str(demo_userdict()), procs=1)
    return ShardPool(specs).state()


def reference_bm25f(st, terms: list[tuple[str, str]]) -> dict[int, float]:
    """scoring.bm25f's formula walked posting by posting, with Xapian's document lengths."""
    # Every document but the shards' fillers (length 0, xapian_doc.FILLER_TERM): one per shard.
    assert st.db.get_termfreq(xd.FILLER_TERM) == 3
    n_docs = max(1, st.db.get_doccount() - 3)
    avg = st.db.get_total_length() / n_docs or 1.0
    out: dict[int, float] = {}
    for word, fields in scoring.group_terms(list(dict.fromkeys(terms))).items():
        tfn: dict[int, float] = {}
        for fieldname in fields:
            weight = scoring.FIELD_WEIGHT.get(fieldname, 1.0)
            b = scoring.FIELD_B.get(fieldname, scoring.DEFAULT_B)
            for item in st.db.postlist(xq.PREFIX[fieldname] + word):
                norm = 1.0 - b + b * item.doclength / avg if b else 1.0
                tfn[item.docid] = tfn.get(item.docid, 0.0) + weight * item.wdf / norm
        if tfn:
            w = scoring.idf(n_docs, len(tfn))
            for d, t in tfn.items():
                out[d] = out.get(d, 0.0) + w * t * (scoring.K1 + 1.0) / (scoring.K1 + t)
    return out


def test_document_lengths_are_xapians(state) -> None:
    lengths = xq.doc_lengths(state)
    live = sorted(xq.all_docs(state))
    assert live
    assert [int(lengths[d]) for d in live] == [state.db.get_doclength(d) for d in live]
    assert all(lengths[d] > 0 for d in live)


def test_postings_are_the_posting_lists(state) -> None:
    for term in ("T江城", "B江城", "B科技", "K江城", "Bnothing-here"):
        ids, wdf = xq.postings(state, term)
        want = [(p.docid, p.wdf) for p in state.db.postlist(term)] if state.db.get_termfreq(term) else []
        assert list(zip(ids.tolist(), wdf.astype(int).tolist())) == want
    assert len(xq.postings(state, "B江城")[0]) > 0


@pytest.mark.parametrize("words", [["江城"], ["江城", "科技"], ["城"], ["日报", "江城", "体育"], ["不存在的词"]])
def test_bm25f_equals_the_formula_posting_by_posting(state, words: list[str]) -> None:
    terms = [(f, w) for w in words for f in ("title", "body", "keywords")]
    got = xapian_rank.bm25f_scores(state, terms)
    want = reference_bm25f(state, terms)
    assert got == want  # the same floats: the same operations in the same order
    if words == ["江城"]:
        assert len(got) > 1


def test_word_docs_are_the_match_sets(state) -> None:
    found = 0
    for word in ("江城", "科技", "日报", "体育", "5g"):
        enq = xapian.Enquire(state.db)
        enq.set_query(xapian.Query(xapian.Query.OP_FILTER, xapian.Query(xapian.Query.OP_OR, ["T" + word, "B" + word]),
                                   state.gen_query))
        want = {m.docid for m in enq.get_mset(0, state.db.get_doccount())}
        assert xq.word_docs(state, word, False) == want
        found += bool(want)
    assert found >= 2


def test_coded_columns_count_as_the_text_columns(state) -> None:
    docs = xq.all_docs(state)
    for slot in (xd.SLOT_CHANNEL, xd.SLOT_MONTH, xd.SLOT_YEAR):
        codes, labels = xq.coded_column(state, slot)
        col = xq.text_column(state, slot)
        got = Counter(labels[codes[d]] for d in docs if codes[d] >= 0)
        assert got == Counter(col[d] for d in docs if d in col) and got


def test_folded_texts_are_the_whoosh_folded_column(state) -> None:
    from indexer.analysis import fold_text

    live = sorted(xq.all_docs(state))
    for d in live:
        value = state.db.get_document(d).get_value(xd.SLOT_FOLDED)
        assert value, "every document carries its folded text"
        fields = xq.stored(state, d)
        assert xq.folded_text(state, d) == fold_text(fields["title"] + "\n" + fields["body"])
