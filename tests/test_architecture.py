"""The dependency rule of docs/architecture.md, checked on the source (AST, so imports inside
functions count too):

- search_service may import only indexer.analysis, indexer.schema, indexer.store, indexer.errors,
  indexer.columns (the per-segment column arrays) and indexer.xapian_doc (the Xapian document format
  and shard openers both sides share);
  the one exception is the command-line composition root, search_service.cli, which adds the
  indexer's commands (indexer.cli, indexer.cli_admin, indexer.cli_sync) to the `news-search` group;
- indexer never imports search_service;
- no import cycle between modules, inside a package or across the two.

Imports under ``if TYPE_CHECKING:`` never run, so they are left out.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("indexer", "search_service")
SERVICE_MAY_IMPORT = {"indexer.analysis", "indexer.schema", "indexer.store", "indexer.errors",
                      "indexer.columns", "indexer.xapian_doc"}
# Loaded by those (never imported by the service itself): indexer.analysis's cached jieba cut.
LOADED_WITH_THEM = {"indexer.jieba_blocks"}
COMPOSITION_ROOT = {"search_service.cli": {"indexer.cli", "indexer.cli_admin", "indexer.cli_sync"}}


def module_names() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _type_checking_only(node: ast.AST) -> set[int]:
    """ids of the import nodes inside `if TYPE_CHECKING:` blocks."""
    skipped: set[int] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.If) and getattr(n.test, "id", getattr(n.test, "attr", None)) == "TYPE_CHECKING":
            skipped.update(id(m) for body in n.body for m in ast.walk(body))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules `name` imports, anywhere in the file (module level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skipped = _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(package + ([base] if base else []))
            # `from pkg import mod` imports the submodule pkg.mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import indexer.store.x` -> indexer.store
                target = target.rpartition(".")[0]
            if target and target != name and target not in PACKAGES:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def forbidden_edges(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            if source.startswith("indexer") and target.startswith("search_service"):
                bad.append(f"{source} -> {target} (indexer never imports search_service)")
            elif (source.startswith("search_service") and target.startswith("indexer")
                  and target not in SERVICE_MAY_IMPORT | COMPOSITION_ROOT.get(source, set())):
                bad.append(f"{source} -> {target} (the service may import only {sorted(SERVICE_MAY_IMPORT)})")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), each as a path back to itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_the_graph_sees_function_level_and_from_package_imports() -> None:
    graph = import_graph()
    # core imports reprints inside a function, and `from search_service import deadline`.
    assert {"search_service.reprints", "search_service.deadline"} <= graph["search_service.core"]
    assert "search_service.api" in graph["search_service.app"]


def test_no_forbidden_edge_between_the_packages() -> None:
    assert forbidden_edges(import_graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize(("graph", "expected"), [
    ({"indexer.build": {"search_service.core"}},
     ["indexer.build -> search_service.core (indexer never imports search_service)"]),
    ({"search_service.index": {"indexer.build", "indexer.store"}},
     ["search_service.index -> indexer.build (the service may import only "
      "['indexer.analysis', 'indexer.columns', 'indexer.errors', 'indexer.schema', 'indexer.store', 'indexer.xapian_doc'])"]),
    ({"search_service.cli": {"indexer.cli", "indexer.cli_admin"}}, []),
    ({"search_service.cli_search": {"indexer.cli"}},
     ["search_service.cli_search -> indexer.cli (the service may import only "
      "['indexer.analysis', 'indexer.columns', 'indexer.errors', 'indexer.schema', 'indexer.store', 'indexer.xapian_doc'])"]),
])
def test_forbidden_edges_are_reported(graph: dict[str, set[str]], expected: list[str]) -> None:
    assert forbidden_edges(graph) == expected


def test_cycles_are_found_through_any_number_of_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_type_checking_imports_do_not_count(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from search_service import index\n"
                      "def f():\n    from search_service import core\n", encoding="utf-8")
    known = {"search_service.index", "search_service.core"}
    assert imports_of("indexer.mod", source, known) == {"search_service.core"}


def test_the_search_core_loads_no_html_extraction_libraries() -> None:
    """Importing the search core must not pull the ingest side (trafilatura, lxml, charset_normalizer)."""
    code = ("import sys, search_service.core, search_service.app\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('trafilatura', 'lxml', 'charset_normalizer', 'indexer.build')))\n"
            "print(sorted(m for m in sys.modules if m.startswith('indexer.')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=ROOT).stdout.splitlines()
    assert out[0] == "[]"
    assert set(eval(out[1])) <= SERVICE_MAY_IMPORT | LOADED_WITH_THEM  # noqa: S307 (our own printed list)
