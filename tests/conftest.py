"""Shared fixtures: one demo index built per session from our own demo articles."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import rebuild
from indexer.demo_data import demo_sources, demo_userdict


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Index directory holding the demo articles. Treat as read-only: build your own to modify."""
    index_dir = tmp_path_factory.mktemp("demo_index")
    rebuild(demo_sources(), index_dir, userdict=str(demo_userdict()), procs=1)
    return index_dir


@pytest.fixture(scope="session")
def app(demo_index: Path):
    from search_service.app import create_app

    return create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def search_index(demo_index: Path):
    from search_service.index import SearchIndex

    return SearchIndex(demo_index)


@pytest.fixture(scope="session")
def real_corpus_build(tmp_path_factory: pytest.TempPathFactory):
    """All 19,547 real articles rebuilt once per session by a real `news-search rebuild` process:
    (index dir, the finished process). Skipped without ../shared or with NEWS_SEARCH_FULL_CORPUS=0.
    Treat as read-only."""
    import os
    import subprocess
    import sys

    from shared_data import shared_file

    if os.environ.get("NEWS_SEARCH_FULL_CORPUS") == "0":
        pytest.skip("NEWS_SEARCH_FULL_CORPUS=0: skipping the rebuild of all 19,547 articles (~1.5 min)")
    corpus = shared_file("corpus", "news.jsonl")
    if corpus is None:
        pytest.skip("../shared/corpus/news.jsonl not available")
    index_dir = tmp_path_factory.mktemp("real_corpus") / "ix"
    # A real process, as an admin runs it: its analysis pool forks a clean interpreter rather
    # than this test process with other tests' threads in it.
    cli = [sys.executable, "-c", "from search_service.cli import main; main()"]
    proc = subprocess.run([*cli, "rebuild", str(corpus), "--index-dir", str(index_dir), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return index_dir, proc


@pytest.fixture(scope="session")
def real_index(real_corpus_build):
    from search_service.index import SearchIndex

    return SearchIndex(real_corpus_build[0], check_interval=3600)
