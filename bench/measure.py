"""Measurement helpers shared by the benchmark scripts: percentiles, timed child processes with
peak memory, /proc readings and a description of the machine.

No third-party packages: memory comes from /proc (RSS, and PSS so forked workers sharing jieba's
dictionary pages are not counted twice) and from wait4()'s ru_maxrss.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(ms: list[float]) -> dict[str, Any]:
    """Latency summary in milliseconds."""
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50": round(pct(ms, 50), 3), "p95": round(pct(ms, 95), 3),
            "p99": round(pct(ms, 99), 3), "mean": round(sum(ms) / len(ms), 3), "max": round(max(ms), 3)}


# -- /proc -----------------------------------------------------------------------------------

def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def hwm_mb(pid: int) -> float:
    """Peak RSS of one process so far (VmHWM)."""
    return _status_kb(pid, "VmHWM") / 1024


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


class TreeMemorySampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and all its descendants; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self.peak_procs = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids = process_tree(self.pid)
            self.peak_rss_mb = max(self.peak_rss_mb, sum(rss_mb(p) for p in pids))
            self.peak_pss_mb = max(self.peak_pss_mb, sum(pss_mb(p) for p in pids))
            self.peak_procs = max(self.peak_procs, len(pids))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def run_measured(cmd: list[str], env: dict[str, str] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run a command to completion: wall seconds, CPU seconds, peak memory, exit code, output."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = TreeMemorySampler(proc.pid)
    sampler.start()
    # communicate() would reap the child itself; read the pipes in threads and reap with wait4()
    # to get this child's own rusage (ru_maxrss: the largest single process of the tree).
    chunks: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    sampler.stop()
    if not quiet and proc.returncode != 0:
        sys.stderr.write(chunks.get("err", "")[-4000:])
    return {
        "cmd": cmd, "returncode": proc.returncode, "wall_s": round(wall, 2),
        "cpu_user_s": round(usage.ru_utime, 2), "cpu_sys_s": round(usage.ru_stime, 2),
        "max_single_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mb": round(sampler.peak_rss_mb, 1), "peak_tree_pss_mb": round(sampler.peak_pss_mb, 1),
        "peak_procs": sampler.peak_procs,
        "stdout": chunks.get("out", ""), "stderr_tail": chunks.get("err", "")[-2000:],
    }


def dir_size_bytes(path: str | os.PathLike) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_total_gb": round(mem_gb, 1),
            "python": platform.python_version(), "platform": platform.platform(), "loadavg": loadavg()}


def git_rev(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no",
                                "indexer", "search_service"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
