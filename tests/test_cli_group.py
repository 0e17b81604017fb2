"""The `news-search` group assembled in search_service.cli: the same commands and options as the
previous release (3023cb5, where the group lived in indexer/cli.py and loaded the service's commands
through importlib), and one place that turns library errors into one-line messages."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from search_service.cli import main

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS_RELEASE = "3023cb5"
DESCRIBE = """
import json, click
def describe(group):
    out = {}
    for name, cmd in sorted(group.commands.items()):
        out[name] = {"help": cmd.help, "params": [
            {"name": p.name, "opts": p.opts + p.secondary_opts, "default": repr(p.default), "required": p.required,
             "multiple": p.multiple, "flag": getattr(p, "is_flag", False), "type": json.dumps(p.type.to_info_dict(), sort_keys=True, default=str),
             "help": getattr(p, "help", None),
             "envvar": getattr(p, "envvar", None), "nargs": p.nargs} for p in cmd.params]}
    return out
"""


def describe_current() -> dict:
    namespace: dict = {}
    exec(DESCRIBE, namespace)  # noqa: S102 (our own code, shared with the old release's probe)
    return json.loads(json.dumps(namespace["describe"](main)))


@pytest.fixture(scope="module")
def previous_commands(tmp_path_factory: pytest.TempPathFactory) -> dict:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE, "indexer", "search_service"],
                             capture_output=True)
    if archive.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"commit {PREVIOUS_RELEASE} is not in this checkout's history")
        pytest.skip(f"commit {PREVIOUS_RELEASE} is not in this checkout's history")
    tree = tmp_path_factory.mktemp("old_cli")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    code = DESCRIBE + "from indexer.cli import main\nprint(json.dumps(describe(main)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
    return json.loads(done.stdout)


def test_same_commands_and_options_as_the_previous_release(previous_commands: dict) -> None:
    """Commands and options are contracts: every one the previous release had is still there,
    unchanged (names, defaults, types, help, env vars); new ones may be added."""
    current = describe_current()
    assert sorted(previous_commands) == [
        "check", "check-dict", "delete", "demo", "gc", "optimize", "rebuild", "related", "rollback", "search",
        "serve", "stats", "update"]
    for name, before in previous_commands.items():
        assert name in current, name
        now = {p["name"]: p for p in current[name]["params"]}
        for param in before["params"]:
            assert now.get(param["name"]) == param, (name, param["name"])


def test_the_entry_point_is_the_service_group() -> None:
    setup = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert "news-search = search_service.cli:main" in setup


@pytest.mark.parametrize("args", [
    ["stats"], ["search", "地铁"], ["related", "demo-001"], ["update", "{src}"], ["delete", "x"], ["rollback"],
    ["check"], ["optimize"],
])
def test_a_missing_index_is_one_line_for_every_command(tmp_path: Path, args: list[str]) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "title": "标题", "body": "正文"}\n', encoding="utf-8")
    empty = tmp_path / "empty"
    result = CliRunner().invoke(main, [a.replace("{src}", str(src)) for a in args] + ["--index-dir", str(empty)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no index in {empty}")
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
