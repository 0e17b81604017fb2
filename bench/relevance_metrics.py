"""Known-item metrics: each query has one relevant story (its target and the target's reprints)."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

CUTOFF = 10


def first_rank(hits: Sequence[Sequence[str]], relevant: Iterable[str]) -> int | None:
    """1-based rank of the first hit that is relevant, within the first CUTOFF hits, else None.

    Each hit is a sequence of ids: the hit's own id first, then the ids a system folded into it
    (news-search shows reprints as one hit; the target counts as found when folded there).
    """
    want = set(relevant)
    for i, ids in enumerate(hits[:CUTOFF], 1):
        if want.intersection(ids):
            return i
    return None


def summarise(ranks: Sequence[int | None], zero: Sequence[bool]) -> dict[str, Any]:
    """MRR@10, success@1, success@10 and zero-result rate over one set's queries."""
    n = len(ranks)
    if n == 0:
        return {"n": 0, "mrr10": 0.0, "s1": 0.0, "s10": 0.0, "zero": 0.0}
    return {
        "n": n,
        "mrr10": sum(1.0 / r for r in ranks if r is not None and r <= CUTOFF) / n,
        "s1": sum(1 for r in ranks if r == 1) / n,
        "s10": sum(1 for r in ranks if r is not None and r <= CUTOFF) / n,
        "zero": sum(1 for z in zero if z) / n,
    }
