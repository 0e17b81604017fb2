"""Helpers of the index-lifecycle tests (update, locking, crash safety, live refresh, dictionaries)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from search_service.cli import main
from indexer.demo_data import DEMO_DIR
from search_service.index import SearchIndex

DEMO_JSONL = DEMO_DIR / "articles.jsonl"


def copy_index(demo_index: Path, tmp_path: Path, name: str = "index") -> Path:
    """A private, writable copy of the session's demo index."""
    target = tmp_path / name
    shutil.copytree(demo_index, target)
    return target


def cli(*args: str | os.PathLike, env: dict[str, str] | None = None) -> Result:
    """Run `news-search ARGS` in-process; stdout and stderr separate (click 8.2 keeps them apart)."""
    return CliRunner().invoke(main, [os.fspath(a) for a in args], env=env, catch_exceptions=False)


def demo_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEMO_JSONL.read_text(encoding="utf-8").splitlines() if line.strip()]


def demo_record(doc_id: str) -> dict[str, Any]:
    return next(r for r in demo_records() if r["id"] == doc_id)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def many_records(n: int, prefix: str = "bulk") -> list[dict[str, Any]]:
    """`n` articles: the demo JSONL articles repeated under new ids (big enough to keep a writer busy)."""
    base = demo_records()
    out = []
    for i in range(n):
        rec = dict(base[i % len(base)])
        rec["id"] = f"{prefix}-{i:05d}"
        rec["url"] = f"https://news.example.com/{prefix}/{i}.html"
        rec["body"] = f"{rec['body']}\n第{i}号稿件。"
        out.append(rec)
    return out


def live_ids(index_dir: Path) -> set[str]:
    snap = SearchIndex(index_dir).snapshot()
    return {snap.stored(d)["id"] for d in snap.live_docs}


def news_search_cmd() -> list[str]:
    """The installed console script next to this interpreter, else the same entry point via -c
    (also when the script was installed before the entry point moved to search_service.cli)."""
    script = Path(sys.executable).parent / "news-search"
    if script.is_file() and "search_service.cli" in script.read_text(encoding="utf-8", errors="replace"):
        return [str(script)]
    return [sys.executable, "-c", "import sys; from search_service.cli import main; sys.exit(main())"]


def spawn(*args: str | os.PathLike, **kwargs: Any) -> subprocess.Popen:
    """`news-search ARGS` as a real child process (output captured as text)."""
    return subprocess.Popen(news_search_cmd() + [os.fspath(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


class LoopThreads:
    """`threads` daemon threads running `self._loop(k)` until the `with` block ends."""

    def __init__(self, threads: int) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(k,), daemon=True) for k in range(threads)]

    def _loop(self, k: int) -> None:
        raise NotImplementedError

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def search_answers(index: Path, queries: list[str], params: list[dict[str, Any]]) -> list[str]:
    """Every query x params answer of the search core on `index`, as sorted JSON without timings."""
    from search_service import core
    from search_service.params import parse_search_params

    si = SearchIndex(index)
    out = []
    for q in queries:
        for extra in params:
            res = core.search(si, parse_search_params({"q": [q], **extra}))
            res.pop("took_ms")
            out.append(json.dumps(res, ensure_ascii=False, sort_keys=True, default=str))
    return out
