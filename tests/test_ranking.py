"""ranking.Ranking sorts only a prefix, yet must give exactly np.lexsort's order wherever read:
keys full of ties (equal scores, equal coverage, equal dates), NaN scores, date sorts."""
from __future__ import annotations

import numpy as np
import pytest

from search_service.ranking import Ranking, top


def _keys(rng: np.random.Generator, n: int, kind: str) -> tuple[tuple[np.ndarray, ...], np.ndarray | None]:
    docs = rng.permutation(n * 3)[:n].astype(np.int64)
    ts = rng.integers(-1, 6, n).astype(np.int64)  # few distinct dates: ties the doc number breaks
    if kind == "date":
        return (docs, -ts), None
    scores = rng.choice([0.0, 0.5, 1.25, 2.0, 3.5], n) * rng.choice([1.0, 1.0, 1.1], n)
    if kind == "nan":
        scores[rng.random(n) < 0.2] = np.nan
    keys: tuple[np.ndarray, ...] = (docs, -ts, -scores)
    if kind == "cover":
        keys += (-rng.integers(0, 3, n),)
    return keys, scores


@pytest.mark.parametrize("kind", ["scores", "nan", "cover", "date"])
@pytest.mark.parametrize("n", [0, 1, 7, 64, 65, 500, 3000])
def test_every_read_matches_a_full_lexsort(kind: str, n: int) -> None:
    rng = np.random.default_rng(n * 31 + len(kind))
    keys, scores = _keys(rng, n, kind)
    docs = keys[0]
    full = np.lexsort(keys)
    expected = [(int(docs[i]), None if scores is None else float(scores[i])) for i in full]

    def same(got: list, want: list) -> bool:
        return len(got) == len(want) and all(
            g[0] == w[0] and (g[1] == w[1] or (g[1] is None and w[1] is None) or (np.isnan(g[1]) and np.isnan(w[1])))
            for g, w in zip(got, want))

    assert len(Ranking(docs, keys, scores)) == n
    for stop in (1, 10, 63, 64, 65, 200, n):
        assert same(Ranking(docs, keys, scores)[:stop], expected[:stop])
    r = Ranking(docs, keys, scores)
    assert same(r[5:15], expected[5:15])  # a later page after an earlier read
    assert same(r[:3], expected[:3])
    assert same(list(Ranking(docs, keys, scores)), expected)
    if n:
        assert same([Ranking(docs, keys, scores)[-1]], expected[-1:])
        assert same([r[n // 2]], [expected[n // 2]])
    assert Ranking(docs, keys, scores).doc_array().tolist() == [d for d, _ in expected]


@pytest.mark.parametrize("k", [0, 1, 5, 50, 200, 1000])
def test_top_is_the_head_of_lexsort(k: int) -> None:
    rng = np.random.default_rng(k)
    keys, _ = _keys(rng, 600, "cover")
    assert top(keys, k).tolist() == np.lexsort(keys)[:k].tolist()


def test_index_out_of_range() -> None:
    r = Ranking(np.arange(3), (np.arange(3),), None)
    with pytest.raises(IndexError):
        r[3]
    assert r[:0] == [] and r[2:1] == []
