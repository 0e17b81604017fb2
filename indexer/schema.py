"""The Whoosh schema shared by the writer and the search service."""
from __future__ import annotations

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from indexer.analysis import ChineseAnalyzer

# Title matches count more than body matches in BM25F.
TITLE_BOOST = 3.0

SCHEMA_VERSION = 2


def build_schema() -> Schema:
    return Schema(
        id=ID(unique=True, stored=True),
        # chars=True stores each match's character span: snippets are highlighted from the
        # postings without re-segmenting hits at query time.
        title=TEXT(analyzer=ChineseAnalyzer(), stored=True, phrase=True, chars=True, field_boost=TITLE_BOOST),
        body=TEXT(analyzer=ChineseAnalyzer(), stored=True, phrase=True, chars=True),
        # Exact-substring recall: the folded title + body, scanned in memory per searcher (3-10 ms
        # over 20k articles). A character n-gram field measured 3x slower to build and 2x larger,
        # because Whoosh's commit cost grows with the number of distinct terms and postings.
        folded=COLUMN(VarBytesColumn()),
        channel=ID(stored=True, sortable=True),
        published=ID(stored=True),
        # Seconds since 1970 (UTC-naive local time); -1 when unknown. Sort key and date filters.
        ts=NUMERIC(bits=64, signed=True, stored=False, sortable=True),
        year=NUMERIC(bits=32, stored=False, sortable=True),
        month=ID(sortable=True),
        author=TEXT(analyzer=ChineseAnalyzer(), stored=True, phrase=True),
        source=TEXT(analyzer=ChineseAnalyzer(), stored=True, phrase=True),
        url=STORED(),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        keywords=KEYWORD(stored=True, scorable=True),
        simhash=_column_only(NUMERIC(bits=64, signed=False, stored=True, sortable=True)),
        content_hash=STORED(),
    )


def _column_only(field: NUMERIC) -> NUMERIC:
    """A numeric field kept as a stored value and a column, without terms: the SimHash is read
    from its column only (search_service/reprints.py), and indexing it wrote 16 terms per article
    (41% of a rebuild's distinct terms, each its own posting list). Indexes written before this
    hold those terms; nothing reads them."""
    field.indexed = False
    return field
