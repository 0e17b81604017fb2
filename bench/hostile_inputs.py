"""Peak memory and time of `news-search rebuild` on hostile input files (issue 19, row 4).

    python bench/hostile_inputs.py --work-dir /tmp/hostile [--keep]

Writes each input into WORK_DIR, runs `rebuild INPUT --procs 1` into a fresh index directory as a
child process and reports its wall time, CPU time and peak RSS (wait4's ru_maxrss), exit status
and the last line it printed. Inputs:

* long-line.jsonl     200 MB: one JSON Lines record on a single line;
* bomb.jsonl.gz       4 GiB of one line compressed to a few MB;
* empty-records.jsonl.gz  1 GiB of `{}` lines, gzip-compressed;
* empty-records.jsonl 12 MB of `{}` lines (4 million bad records, uncompressed);
* dump.json           200 MB .json list of articles.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MB = 1024 * 1024
CLI = [sys.executable, "-c", "import sys; from search_service.cli import main; sys.exit(main())"]


def write_inputs(work: Path) -> list[Path]:
    work.mkdir(parents=True, exist_ok=True)
    block = b"a" * (16 * MB)
    long_line = work / "long-line.jsonl"
    with open(long_line, "wb") as fh:
        fh.write(b'{"id": "huge", "title": "t", "body": "')
        for _ in range(200 // 16):
            fh.write(block)
        fh.write(b'"}\n')
    bomb = work / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b'{"id": "bomb", "title": "t", "body": "')
        zeros = b"0" * (64 * MB)
        for _ in range(4 * 1024 // 64):
            fh.write(zeros)
        fh.write(b'"}\n')
    empty_gz = work / "empty-records.jsonl.gz"
    with gzip.open(empty_gz, "wb", compresslevel=9) as fh:
        lines = b"{}\n" * (16 * MB // 3)
        for _ in range(64):
            fh.write(lines)
    empty = work / "empty-records.jsonl"
    empty.write_bytes(b"{}\n" * (4 * 1000 * 1000))
    dump = work / "dump.json"
    with open(dump, "wb") as fh:
        fh.write(b"[")
        record = json.dumps({"id": "x", "title": "标题", "body": "正文" * 500}, ensure_ascii=False).encode()
        n = 200 * MB // (len(record) + 1)
        for i in range(n):
            fh.write((b"," if i else b"") + record)
        fh.write(b"]")
    return [long_line, bomb, empty_gz, empty, dump]


def run_rebuild(path: Path, index: Path) -> dict[str, Any]:
    shutil.rmtree(index, ignore_errors=True)
    started, cpu0 = time.monotonic(), os.times()
    proc = subprocess.Popen(CLI + ["rebuild", str(path), "--index-dir", str(index), "--procs", "1", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu1 = os.times()
    lines = [line for line in output.splitlines() if line.strip()]
    return {"input": path.name, "size_mb": round(path.stat().st_size / MB, 1),
            "wall_s": round(time.monotonic() - started, 1),
            "cpu_s": round((cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system), 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
            "problem_lines": sum(line.startswith("skipped ") for line in lines),
            "last_line": (lines[-1] if lines else "")[:300]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    work = Path(args.work_dir)
    inputs = write_inputs(work)
    results = [run_rebuild(path, work / "index") for path in inputs]
    for r in results:
        print(f"{r['input']:<24} {r['size_mb']:>7} MB  wall {r['wall_s']:>5} s  cpu {r['cpu_s']:>5} s  "
              f"peak RSS {r['peak_rss_mb']:>6} MB  exit {r['exit']}  problem lines {r['problem_lines']}\n"
              f"    {r['last_line']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
