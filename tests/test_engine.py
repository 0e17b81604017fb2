"""The Engine seam (search_service/engine.py): the search core reaches the index only through it,
and in batches: the number of engine calls of one search does not grow with the page size."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from search_service import core
from search_service.engine import Engine, WhooshEngine
from search_service.index import SearchIndex
from search_service.params import parse_search_params

ROOT = Path(__file__).resolve().parents[1]
ENGINE_METHODS = {"generation", "stats", "match", "filter", "rank", "facet_counts", "histogram", "stored",
                  "highlight_spans", "reprint_groups"}


class Recording:
    """An Engine that forwards to another and counts the calls (and the docs asked for)."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)
        return call


def test_the_protocol_is_what_the_whoosh_engine_implements(search_index: SearchIndex) -> None:
    methods = {n for n in vars(Engine) if not n.startswith("_")}
    assert methods == ENGINE_METHODS
    engine = WhooshEngine(search_index.snapshot(), search_index.store)
    assert isinstance(engine, Engine)
    assert engine.generation() == search_index.snapshot().gen.name
    assert engine.stats()["documents"] == 50


@pytest.mark.parametrize("per_page", ["1", "10", "50"])
def test_a_search_makes_the_same_few_engine_calls_whatever_the_page_size(search_index: SearchIndex,
                                                                         per_page: str) -> None:
    params = parse_search_params({"q": ["江城"], "per_page": [per_page], "facet_interval": ["year"]})
    snap = search_index.snapshot()
    engine = Recording(WhooshEngine(snap, search_index.store))
    result = core._search(engine, snap, params)
    assert len(result["hits"]) == min(int(per_page), result["total"]) and result["total"] > 20
    assert engine.calls == {"match": 1, "filter": 1, "rank": 1, "highlight_spans": 1, "stored": 2,
                            "facet_counts": 1, "histogram": 1, "generation": 1, "reprint_groups": 1}
    expected = core.search(search_index, params)
    assert [(h["id"], h["duplicate_ids"]) for h in result["hits"]] == \
        [(h["id"], h["duplicate_ids"]) for h in expected["hits"]]
    if per_page == "50":  # the reprints' ids come from the same one batch
        assert ("demo-008", ["demo-007"]) in [(h["id"], h["duplicate_ids"]) for h in result["hits"]]
    assert result["facets"] == expected["facets"] and result["histogram"] == expected["histogram"]


def test_the_core_imports_no_whoosh_and_no_engine_internals() -> None:
    tree = ast.parse((ROOT / "search_service" / "core.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.split(".")[0] == "whoosh"}
    # match.plan, page_spans, facet counts are reached through the engine only.
    source = (ROOT / "search_service" / "core.py").read_text(encoding="utf-8")
    for call in ("plan(snap", "page_spans(", "facet_mod.facet_counts(", "facet_mod.histogram("):
        assert call not in source


def test_api_stats_is_computed_once_per_snapshot_from_the_open_index(demo_index: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from search_service import engine as engine_mod
    from search_service.app import create_app

    index_dir = tmp_path / "ix"
    shutil.copytree(demo_index, index_dir)
    computed: list[str] = []
    real = engine_mod.archive_stats

    def counting(store, gen, reader):  # noqa: ANN001, ANN202
        computed.append(gen.name)
        return real(store, gen, reader)

    monkeypatch.setattr(engine_mod, "archive_stats", counting)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "QUERY_LOG": False, "INDEX_CHECK_INTERVAL": 0})
    client = app.test_client()
    bodies = [client.get("/api/stats").get_json() for _ in range(3)]
    assert computed == [bodies[0]["generation"]]           # once, from the snapshot: not per request
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0]["documents"] == 50
    from indexer.update import delete

    delete(["demo-001"], index_dir)                           # a new commit: a new snapshot
    assert client.get("/api/stats").get_json()["documents"] == 49
    assert len(computed) == 2
