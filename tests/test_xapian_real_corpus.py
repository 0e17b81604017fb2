"""A slice of the real corpus on 3 local Xapian shards answers exact queries as the Whoosh index does.

Exact queries are the ones whose answer does not depend on ranking or segmentation: quoted
substrings (per-character phrases on Xapian, the substring scan on Whoosh) and channel/year
filters with their facet counts. Skipped without ../shared/corpus/news.jsonl, except under
CI=true, where the corpus must be present. NEWS_SEARCH_TEST_REAL_SLICE=0 runs the same checks on
the whole corpus (two full rebuilds: minutes; docs/benchmarks.md has the result), N > 0 on the
first N articles.
"""
from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

import pytest

xapian = pytest.importorskip("xapian")

from lifecycle_util import cli, write_jsonl  # noqa: E402
from shared_data import shared_file  # noqa: E402

# First articles of the corpus (two builds of 1,000 stay well under a minute); 0 = all of them.
SLICE = int(os.environ.get("NEWS_SEARCH_TEST_REAL_SLICE", "1000"))
PROCS = "1" if 0 < SLICE <= 1000 else "2"
N = 3
SEED = 15


def corpus_slice() -> list[dict[str, Any]]:
    path = shared_file("corpus", "news.jsonl")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/corpus/news.jsonl is missing (CI=true: the shared corpus must be present)")
        pytest.skip("../shared/corpus/news.jsonl not available")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
            if len(out) == SLICE:  # never true for 0: the whole corpus
                break
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory):
    """(Whoosh SearchIndex, XapianIndex, articles) over the same slice, both built by `rebuild`."""
    from indexer.xapian_doc import parse_shards
    from search_service.index import SearchIndex
    from search_service.xapian_engine import XapianIndex

    articles = corpus_slice()
    root = tmp_path_factory.mktemp("xreal")
    source = write_jsonl(root / "slice.jsonl", articles)
    specs = ",".join(str(root / f"s{i}") for i in range(N))
    env = {"NEWS_SEARCH_ENGINE": "xapian", "NEWS_SEARCH_XAPIAN_SHARDS": specs}
    res = cli("rebuild", source, "--index-dir", root / "xidx", "--procs", PROCS, "--quiet", env=env)
    assert res.exit_code == 0, res.output
    res = cli("rebuild", source, "--index-dir", root / "widx", "--procs", PROCS, "--quiet",
              env={"NEWS_SEARCH_ENGINE": "whoosh"})
    assert res.exit_code == 0, res.output
    return (SearchIndex(root / "widx", check_interval=3600),
            XapianIndex(parse_shards(specs), partial=False, index_dir=str(root / "xidx")), articles)


def needles(articles: list[dict[str, Any]], count: int) -> list[str]:
    """Substrings of titles and bodies (2-8 Han/Latin/digit characters), seeded."""
    rnd = random.Random(SEED)
    out: list[str] = []
    while len(out) < count:
        a = rnd.choice(articles)
        text = rnd.choice([a.get("title") or "", a.get("body") or ""])
        runs = [r for r in re.findall(r"[\u4e00-\u9fffA-Za-z0-9]{2,}", text)]
        if not runs:
            continue
        run = rnd.choice(runs)
        n = rnd.randint(2, min(8, len(run)))
        start = rnd.randint(0, len(run) - n)
        needle = run[start:start + n]
        if needle not in out:
            out.append(needle)
    return out


def all_ids(index: Any, params: dict[str, str], whoosh: bool) -> tuple[int, set[str], dict[str, Any]]:
    from search_service import core
    from search_service.params import parse_search_params

    ids: set[str] = set()
    page, first = 1, None
    while True:
        raw = {k: [v] for k, v in dict(params, per_page="50", page=str(page), sort="newest",
                                       collapse="false").items()}
        res = core.search(index, parse_search_params(raw)) if whoosh else index.search(parse_search_params(raw))
        first = first or res
        ids.update(h["id"] for h in res["hits"])
        if page * 50 >= min(res["total"], 500):
            return res["total"], ids, first["facets"]
        page += 1


def test_the_slice_is_spread_over_all_shards(engines):
    _w, x, articles = engines
    assert x.stats()["documents"] == len(articles) == (SLICE or len(articles))
    st = x.pool.state()
    assert len(st.specs) == N and not st.missing


@pytest.mark.parametrize("k", range(4))
def test_quoted_substrings_find_the_same_articles(engines, k):
    w, x, articles = engines
    checked = 0
    for needle in needles(articles, 40)[k * 10:(k + 1) * 10]:
        params = {"q": f'"{needle}"'}
        wt, wids, _wf = all_ids(w, params, True)
        xt, xids, _xf = all_ids(x, params, False)
        assert xt == wt, needle
        if wt <= 500:
            assert xids == wids, needle
        expect = {a["id"] for a in articles if needle.lower() in (a.get("title", "") + "\n" + a.get("body", "")).lower()}
        assert wt >= 1 and (wt > 500 or expect <= wids), needle  # the needle's own article is found
        checked += 1
    assert checked == 10


@pytest.mark.parametrize("params", [
    {"q": '"中国"', "channel": "国际"},
    {"q": '"中国"', "channel": "国内"},
    {"q": '"经济"'},
    {"q": '"习近平"', "from": "2022-01-01", "to": "2022-12-31"},
])
def test_filters_and_facet_counts_agree(engines, params):
    w, x, _articles = engines
    wt, wids, wf = all_ids(w, params, True)
    xt, xids, xf = all_ids(x, params, False)
    assert wt > 0
    assert xt == wt
    if wt <= 500:
        assert xids == wids
    assert xf == wf


def highlight_queries(articles: list[dict[str, Any]], count: int) -> list[str]:
    """Word queries (one or two title words), quoted substrings and single characters, seeded."""
    from indexer.analysis import words

    rnd = random.Random(SEED + 1)
    out: list[str] = []
    while len(out) < count:
        ws = [w for w in words(rnd.choice(articles).get("title") or "") if len(w) > 1]
        if not ws:
            continue
        kind = len(out) % 4
        q = (ws[0] if kind == 0 else " ".join(ws[:2]) if kind == 1 else f'"{ws[-1]}"' if kind == 2
             else ws[0][0])
        if q not in out:
            out.append(q)
    return out


def test_highlights_equal_whoosh(engines):
    """Titles and snippets of the hits both engines return, compared hit by hit (the Xapian
    side from the word spans stored at index time, Whoosh from its character postings)."""
    from search_service import core
    from search_service.params import parse_search_params

    w, x, articles = engines
    compared = 0
    for q in highlight_queries(articles, 24):
        raw = {"q": [q], "per_page": ["20"], "sort": ["newest"], "collapse": ["false"]}
        wh = {h["id"]: h for h in core.search(w, parse_search_params(raw))["hits"]}
        xh = {h["id"]: h for h in x.search(parse_search_params(raw))["hits"]}
        for hit_id in wh.keys() & xh.keys():
            assert (xh[hit_id]["title_html"], xh[hit_id]["snippet_html"]) == \
                (wh[hit_id]["title_html"], wh[hit_id]["snippet_html"]), (q, hit_id)
            compared += 1
    assert compared >= 200
