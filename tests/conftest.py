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
