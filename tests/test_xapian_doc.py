"""The Xapian document format (indexer/xapian_doc.py, docs/xapian.md): the same terms and stored
values as the Whoosh index, the shard routing and the spec parser."""
from __future__ import annotations

import json
import zlib

import pytest

xapian = pytest.importorskip("xapian")

from whoosh.filedb.filestore import RamStorage  # noqa: E402

from indexer import xapian_doc as xd  # noqa: E402
from indexer.enrich import to_document  # noqa: E402
from indexer.errors import BadShards  # noqa: E402
from indexer.model import Article  # noqa: E402
from indexer.schema import build_schema  # noqa: E402

ARTICLES = [
    Article(id="a1", title="北京 iPhone15发布", body="今天，苹果公司在北京发布了新款手机。\n第二段  空格",
            channel="科技", published="2024-03-05T10:00:00", author="张三", source="新華社",
            url="https://example.com/a1", tags=["Apple", "手机", "a,b"]),
    Article(id="a2", title="無日期", body="內容"),
    Article(id="編號-3", title="Ｆｕｌｌ ｗｉｄｔｈ…", body="①②③", channel="國際", published="1999-12-31T23:59:59"),
]


def _whoosh_reader(articles):
    ix = RamStorage().create_index(build_schema())
    with ix.writer() as w:
        for a in articles:
            w.add_document(**to_document(a))
    return ix.searcher()


def _terms(doc, prefix):
    out = {}
    for t in doc.termlist():
        term = t.term.decode("utf-8")
        if term.startswith(prefix) and not term.startswith(prefix + "#"):
            out[term[len(prefix):]] = t.wdf
    return out


@pytest.mark.parametrize("article", ARTICLES, ids=[a.id for a in ARTICLES])
def test_data_is_what_whoosh_stores(article):
    searcher = _whoosh_reader([article])
    whoosh_stored = searcher.stored_fields(0)
    doc = xd.document(article, "gen-000007")
    assert json.loads(doc.get_data().decode("utf-8")) == whoosh_stored
    assert xd.stored_of(doc) == whoosh_stored


@pytest.mark.parametrize("article", ARTICLES, ids=[a.id for a in ARTICLES])
@pytest.mark.parametrize("field,prefix", [("title", "T"), ("body", "B"), ("author", "A"), ("source", "S"),
                                          ("keywords", "K")])
def test_word_terms_and_frequencies_equal_whoosh(article, field, prefix):
    searcher = _whoosh_reader([article])
    reader = searcher.reader()
    expected = {}
    if field in reader.indexed_field_names():
        vec = {t.decode("utf-8") if isinstance(t, bytes) else t for t in reader.lexicon(field)}
        for word in vec:
            postings = reader.postings(field, word)
            # The stored weight carries the field boost; the positions count is the term frequency.
            expected[word] = (len(postings.value_as("positions")) if postings.supports("positions")
                              else int(postings.weight()))
    assert _terms(xd.document(article), prefix) == expected


def test_boolean_terms_and_values():
    doc = xd.document(ARTICLES[0], "gen-000042", collapse_key="a0")
    terms = {t.term.decode("utf-8") for t in doc.termlist()}
    booleans = {t for t in terms if t.startswith(("Q", "X")) and not t.startswith("XH")}
    squeezed = "今天,苹果公司在北京发布了新款手机。第二段空格"
    assert "XH" + xd.body_hash(squeezed) in terms and xd.squeeze("第二段  空格\n") == "第二段空格"
    assert booleans == {"Qa1", "XVgen-000042", "XC科技", "XF科技", "XY2024", "XM2024-03", "XA张三",
                        "XS新华社", "XGapple", "XG手机", "XGa b"}
    values = {v.num: v.value for v in doc.values()}
    assert xapian.sortable_unserialise(values[xd.SLOT_TS]) == 1709632800
    assert values[xd.SLOT_CHANNEL] == "科技".encode()
    assert values[xd.SLOT_MONTH] == b"2024-03"
    assert values[xd.SLOT_COLLAPSE] == b"a0"
    assert values[xd.SLOT_SIMHASH] == f"{to_document(ARTICLES[0])['simhash']:016x}".encode()
    assert len(values[xd.SLOT_SIMHASH]) == 16
    assert values[xd.SLOT_YEAR] == b"2024"


def test_undated_article_has_no_date_terms_and_ts_minus_one():
    doc = xd.document(ARTICLES[1])
    terms = {t.term.decode("utf-8") for t in doc.termlist()}
    assert not {t for t in terms if t.startswith(("XY", "XM", "XC"))}
    values = {v.num: v.value for v in doc.values()}
    assert xapian.sortable_unserialise(values[xd.SLOT_TS]) == -1
    assert xd.SLOT_COLLAPSE not in values and xd.SLOT_MONTH not in values


def _char_positions(doc, prefix):
    out = {}
    for t in doc.termlist():
        term = t.term.decode("utf-8")
        if term.startswith(prefix):
            out[term[len(prefix):]] = list(t.positer)
    return out


def test_char_terms_follow_the_folded_text_with_whitespace_gaps():
    doc = xd.document(ARTICLES[0])
    body = _char_positions(doc, "B#")
    folded = "今天,苹果公司在北京发布了新款手机。\n第二段  空格"  # NFKC: the full-width comma folds
    for pos, ch in enumerate(folded, 1):
        if ch.isspace():
            assert ch not in body
        else:
            assert pos in body[ch]
    assert body["第"] == [20] and body["空"] == [25] and body["格"] == [26]
    title = _char_positions(doc, "T#")
    assert title["i"] == [4] and title["p"] == [5] and title["北"] == [1]  # folded: lower case
    assert " " not in title


def test_char_terms_use_folding():
    doc = xd.document(ARTICLES[2])
    title = _char_positions(doc, "T#")
    # Full-width letters fold to ASCII, traditional to simplified, "…" expands to three dots.
    assert "".join(sorted(title, key=lambda c: title[c][0])) == "fulwidth."
    assert title["."] == [11, 12, 13]
    assert sorted(_char_positions(doc, "B#")) == ["1", "2", "3"]
    assert "XF国际" in {t.term.decode() for t in doc.termlist()}


def test_overlong_word_is_left_out_but_the_document_is_written():
    long_word = "x" * 300
    doc = xd.document(Article(id="long", title=long_word, body="正文"))
    assert not any(t.term.startswith(b"Tx") for t in doc.termlist())
    assert len(_char_positions(doc, "T#")["x"]) == 300


@pytest.mark.parametrize("article_id", ["a1", "編號-3", "", "x" * 100])
@pytest.mark.parametrize("n", [1, 3, 4])
def test_shard_of_is_crc32_mod_n(article_id, n):
    assert xd.shard_of(article_id, n) == zlib.crc32(article_id.encode("utf-8")) % n


def test_shard_of_known_values_and_spread():
    # Fixed values: routing must never change between releases or machines.
    assert [xd.shard_of(i, 3) for i in ("a1", "a2", "編號-3", "news-000001")] == [2, 1, 1, 1]
    assert xd.shard_of("編號-3", 1000) == 296
    counts = [0, 0, 0]
    for i in range(3000):
        counts[xd.shard_of(f"id-{i}", 3)] += 1
    assert min(counts) > 900


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:7001", ["127.0.0.1:7001"]),
    (" a:1 , b:2,c:65535 ", ["a:1", "b:2", "c:65535"]),
    ("./s0,/srv/s1", ["./s0", "/srv/s1"]),
    ("host-1.example:7001,[::1]:7002", ["host-1.example:7001", "[::1]:7002"]),
])
def test_parse_shards(text, expected):
    assert xd.parse_shards(text) == expected


@pytest.mark.parametrize("text,message", [
    ("", "NEWS_SEARCH_XAPIAN_SHARDS is empty"),
    ("   ", "NEWS_SEARCH_XAPIAN_SHARDS is empty"),
    (None, "NEWS_SEARCH_XAPIAN_SHARDS is empty"),
    ("a:1,,b:2", "shard 2 is empty"),
    ("a:1,", "shard 2 is empty"),
    ("a:1,a:1", "shard 2 'a:1' is listed twice"),
    ("./s0,s0/", "shard 2 's0/' is listed twice"),
    ("a:0", "shard 1 'a:0' has a bad port '0'"),
    ("a:70000", "has a bad port '70000'"),
    ("a:x1", "has a bad port 'x1'"),
    ("a:", "has a bad port ''"),
    ("justahost", "shard 1 'justahost' is neither host:port nor a directory path"),
])
def test_parse_shards_errors(text, message):
    with pytest.raises(BadShards) as info:
        xd.parse_shards(text)
    assert message in str(info.value)
    assert "NEWS_SEARCH_XAPIAN_SHARDS" in str(info.value)


def test_local_open_writable_then_readable_round_trip(tmp_path):
    spec = str(tmp_path / "s0")
    db = xd.open_writable(spec)
    db.replace_document("Qa1", xd.document(ARTICLES[0], "gen-000001"))
    db.set_metadata(xd.META_GENERATION, "gen-000001")
    db.commit()
    db.close()
    r = xd.open_readable(spec)
    assert r.get_doccount() == 1
    assert r.get_metadata(xd.META_GENERATION) == b"gen-000001"
    pl = [p.docid for p in r.postlist("Qa1")]
    assert xd.stored_of(r.get_document(pl[0]))["id"] == "a1"


def test_readable_missing_shard_names_it(tmp_path):
    from indexer.errors import ShardUnavailable

    with pytest.raises(ShardUnavailable) as info:
        xd.open_readable(str(tmp_path / "nothing"))
    assert info.value.spec == str(tmp_path / "nothing")
    with pytest.raises(ShardUnavailable) as info:
        xd.open_readable("127.0.0.1:1", timeout_ms=200)
    assert "127.0.0.1:1" in str(info.value)


def test_serving_generation_is_the_oldest_named():
    assert xd.serving_generation(["gen-000004", "gen-000003", "gen-000004"]) == "gen-000003"
    assert xd.serving_generation(["", "gen-000010", "gen-000009"]) == "gen-000009"
    assert xd.serving_generation(["", ""]) is None
