"""Soak test with faults: concurrent clients against `news-search serve` while the index is written.

    python bench/soak.py                      # demo articles, 60 s, 8 clients
    python bench/soak.py --seconds 30
    python bench/soak.py --corpus ../shared/corpus/news.jsonl --procs 2

It builds an index in a temporary directory (`news-search rebuild`), serves it on loopback
(`news-search serve`), and runs N client threads with a seeded query mix for a bounded time.
Meanwhile, one after the other:

1. `news-search update` replaces some articles (changed titles) and adds new ones; the service
   must show the changes without a restart;
2. `news-search rebuild` starts, and while it holds the writer lock a second writer
   (`news-search update --wait 0`) must fail cleanly (exit 1, a message naming the lock, no
   traceback); the rebuild is then killed with SIGKILL midway;
3. another `news-search update` must succeed after the killed writer (the lock is recovered).

Then every expected article id is checked, in the index and over HTTP. It prints requests,
errors, p50/p99 latency and articles lost, and exits 1 if there were errors or losses.
Not part of the test suite (it takes a minute and measures a live server).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

CLI = [str(Path(sys.executable).with_name("news-search"))]
HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
MARK = "（复核更新）"   # appended to the titles the first update changes


# -- index helpers (library reads; the writes all go through the CLI like an operator's) --------
def live_articles(index_dir: Path) -> dict[str, dict[str, Any]]:
    """id -> stored fields of every live article of the current generation."""
    from whoosh import index as whoosh_index

    from indexer.store import IndexStore

    gen = IndexStore(index_dir).require_current()
    ix = whoosh_index.open_dir(str(gen.path))
    with ix.searcher() as s:
        return {f["id"]: f for f in s.all_stored_fields()}


def as_record(fields: dict[str, Any], **changes: Any) -> dict[str, Any]:
    rec = {k: fields.get(k) for k in ("id", "title", "body", "url", "channel", "published", "author", "source")}
    rec.update(changes)
    return rec


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def run_cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- load ------------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if error:
                self.errors.append(error)


class QueryMix:
    """Seeded requests drawn from the index's own titles, channels and ids."""

    def __init__(self, articles: dict[str, dict[str, Any]], seed: int) -> None:
        self.ids = sorted(articles)
        rnd = random.Random(seed)
        words: list[str] = []
        for i in rnd.sample(self.ids, min(400, len(self.ids))):
            for run in HAN.findall(articles[i].get("title") or ""):
                start = rnd.randrange(0, max(1, len(run) - 1))
                words.append(run[start:start + rnd.choice((2, 2, 3, 4))])
        self.words = sorted(set(words)) or ["新闻"]
        self.channels = sorted({a.get("channel") for a in articles.values() if a.get("channel")})
        self.pages = False

    def request(self, rnd: random.Random) -> tuple[str, str]:
        w = rnd.choice(self.words)
        w2 = rnd.choice(self.words)
        roll = rnd.random()
        if roll < 0.35:
            return "word", "/api/search?" + urlencode({"q": w})
        if roll < 0.50:
            return "two words", "/api/search?" + urlencode({"q": f"{w} {w2}"})
        if roll < 0.58:
            return "quoted", "/api/search?" + urlencode({"q": f'"{w}"'})
        if roll < 0.63:
            return "exclusion", "/api/search?" + urlencode({"q": f'{w} -"{w2}"'})
        if roll < 0.68:
            return "or", "/api/search?" + urlencode({"q": f"{w} OR {w2}"})
        if roll < 0.73:
            sort = rnd.choice(("newest", "oldest"))
            return "sorted page 2", "/api/search?" + urlencode({"q": w, "sort": sort, "page": 2})
        if roll < 0.78 and self.channels:
            return "channel", "/api/search?" + urlencode({"q": w, "channel": rnd.choice(self.channels)})
        if roll < 0.86:
            return "article", "/api/articles/" + quote(rnd.choice(self.ids), safe="")
        if roll < 0.92:
            return "suggest", "/api/suggest?" + urlencode({"q": w[:rnd.choice((1, 2))]})
        if roll < 0.96 and self.pages:
            return "page", "/search?" + urlencode({"q": w})
        return "healthz", "/healthz"


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, str, bytes]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.getheader("Content-Type") or "", resp.read()


def client(host: str, port: int, mix: QueryMix, seed: int, stop: threading.Event, stats: Stats) -> None:
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while not stop.is_set():
        kind, path = mix.request(rnd)
        started = time.perf_counter()
        error = None
        try:
            status, ctype, body = get(conn, path)
            if status != 200:
                error = f"{status} on {path}: {body[:200]!r}"
            elif path.startswith(("/api/", "/healthz")) and (
                    not ctype.startswith("application/json") or json.loads(body).get("ok") is not True):
                error = f"not an ok JSON answer on {path}: {ctype} {body[:200]!r}"
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__} on {path}: {exc}"
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        stats.add(kind, time.perf_counter() - started, error)
    conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- faults ----------------------------------------------------------------------------------
class Faults:
    def __init__(self, args: argparse.Namespace, work: Path, index_dir: Path, sources: list[str],
                 articles: dict[str, dict[str, Any]], build_seconds: float, api: Any) -> None:
        self.args, self.work, self.index_dir, self.sources = args, work, index_dir, sources
        self.build_seconds = build_seconds
        self.api = api
        self.log: list[str] = []
        self.failures: list[str] = []
        rnd = random.Random(args.seed)
        ids = sorted(articles)
        changed = rnd.sample(ids, min(args.changes, len(ids)))
        template = articles[ids[0]]
        self.changed = {i: (articles[i].get("title") or "") + MARK for i in changed}
        self.new1 = [f"soak-new-{n:04d}" for n in range(args.changes)]
        self.new2 = [f"soak-late-{n:04d}" for n in range(args.changes)]
        body = template.get("body") or "正文"
        self.update1 = write_jsonl(work / "update1.jsonl", [
            as_record(articles[i], title=t, body=(articles[i].get("body") or "") + "\n复核：本文已更新。")
            for i, t in self.changed.items()] + [
            as_record(template, id=i, title=f"浸泡测试新增稿件{n}号 江城港口", body=f"第{n}篇。" + body, url=None)
            for n, i in enumerate(self.new1)])
        self.update2 = write_jsonl(work / "update2.jsonl", [
            as_record(template, id=i, title=f"浸泡测试补发稿件{n}号", body=f"补发{n}。" + body, url=None)
            for n, i in enumerate(self.new2)])
        self.expected = set(ids) | set(self.new1) | set(self.new2)

    def note(self, text: str) -> None:
        self.log.append(f"[{time.strftime('%H:%M:%S')}] {text}")

    def fail(self, text: str) -> None:
        self.failures.append(text)
        self.note("FAIL: " + text)

    def first_line(self, proc: subprocess.CompletedProcess[str]) -> str:
        lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip() and "\r" not in ln]
        return " | ".join(lines)[:400]

    def run(self, started: float, seconds: float) -> None:
        try:
            self._run(started, seconds)
        except Exception as exc:  # noqa: BLE001 - a broken fault step fails the soak, not silently
            self.fail(f"fault sequence crashed: {type(exc).__name__}: {exc}")

    def _run(self, started: float, seconds: float) -> None:
        def at(fraction: float) -> None:
            time.sleep(max(0.0, started + fraction * seconds - time.monotonic()))

        at(0.10)
        t = time.monotonic()
        p = run_cli("update", str(self.update1), "--index-dir", str(self.index_dir), "--quiet", "--wait", "60")
        self.note(f"update 1 (changed {len(self.changed)}, new {len(self.new1)}): exit {p.returncode} in "
                  f"{time.monotonic() - t:.1f}s: {self.first_line(p)}")
        if p.returncode != 0:
            self.fail(f"update 1 failed: {p.stderr[-400:]}")
        self.wait_visible()

        at(0.30)
        self.faulted_rebuild()

        t = time.monotonic()
        p = run_cli("update", str(self.update2), "--index-dir", str(self.index_dir), "--quiet", "--wait", "60")
        self.note(f"update 2 after the kill (new {len(self.new2)}): exit {p.returncode} in "
                  f"{time.monotonic() - t:.1f}s: {self.first_line(p)}")
        if p.returncode != 0:
            self.fail(f"update 2 after the killed rebuild failed: {p.stderr[-400:]}")
        from indexer.store import IndexStore

        def generations() -> str:
            gens = IndexStore(self.index_dir).generations()
            return ", ".join(g.name + ("" if g.is_complete() else " (half-built)") for g in gens)

        self.note("generations now: " + generations())
        p = run_cli("gc", "--index-dir", str(self.index_dir), "--wait", "60")
        self.note(f"gc: exit {p.returncode}: {self.first_line(p)}; generations now: {generations()}")
        if p.returncode != 0:
            self.fail(f"gc failed: {p.stderr[-400:]}")

    def wait_visible(self) -> None:
        """The service must show update 1 without a restart (it polls for new commits)."""
        probe = min(self.changed)
        t = time.monotonic()
        while time.monotonic() - t < 15:
            status, body = self.api(f"/api/articles/{quote(probe, safe='')}")
            if status == 200 and body["article"]["title"] == self.changed[probe]:
                self.note(f"update 1 visible over HTTP after {time.monotonic() - t:.2f}s (no restart)")
                return
            time.sleep(0.1)
        self.fail("update 1 not visible over HTTP within 15 s")

    def faulted_rebuild(self) -> None:
        from indexer.store import IndexStore

        sources = [*self.sources, str(self.update1)]
        lock_file = IndexStore(self.index_dir).root / "writer.lock"
        t0 = time.monotonic()
        proc = subprocess.Popen([*CLI, "rebuild", *sources, "--index-dir", str(self.index_dir), "--quiet",
                                 *(["--procs", str(self.args.procs)] if self.args.procs else [])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        holder: dict[str, Any] = {}
        while proc.poll() is None and time.monotonic() - t0 < 60:
            try:
                holder = json.loads(lock_file.read_text(encoding="utf-8") or "{}")
            except (OSError, ValueError):
                holder = {}
            if holder.get("pid") == proc.pid and not holder.get("released"):
                break
            time.sleep(0.02)
        if proc.poll() is not None:
            self.fail(f"rebuild ended before taking the lock (exit {proc.returncode}): {proc.stderr.read()[-300:]}")
            return
        self.note(f"rebuild pid {proc.pid} holds the writer lock after {time.monotonic() - t0:.2f}s")

        # The second writer, while the rebuild holds the lock: must fail cleanly and at once.
        t = time.monotonic()
        second = run_cli("update", str(self.update2), "--index-dir", str(self.index_dir), "--quiet",
                         "--wait", "0")
        rebuilding = proc.poll() is None
        text = second.stdout + second.stderr
        clean = second.returncode == 1 and "another writer holds the lock" in text and "Traceback" not in text
        self.note(f"second writer: exit {second.returncode} in {time.monotonic() - t:.1f}s"
                  f"{'' if rebuilding else ' (rebuild already finished!)'}: {self.first_line(second)}")
        if rebuilding and not clean:
            self.fail(f"second writer did not fail cleanly on the lock: exit {second.returncode}: {text[-400:]}")

        # Kill midway: half the measured build time after the start, once the writer tried.
        kill_at = t0 + max(self.args.kill_after or 0.5 * self.build_seconds, 0.0)
        time.sleep(max(0.0, kill_at - time.monotonic()))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the rebuild and its analysis workers
            proc.wait()
            self.note(f"rebuild SIGKILLed {time.monotonic() - t0:.2f}s after its start (exit {proc.returncode})")
            store = IndexStore(self.index_dir)
            half = [g.name for g in store.generations() if not g.is_complete()]
            live = store.current()
            self.note(f"after the kill: live generation {live.name if live else None}, half-built left: "
                      f"{', '.join(half) or 'none'}")
        else:
            self.note(f"rebuild finished before the kill (exit {proc.returncode}): nothing was interrupted; "
                      "use --kill-after to kill earlier")
            if proc.returncode != 0:
                self.fail(f"rebuild failed: {proc.stderr.read()[-300:]}")
        proc.stdout.close()
        proc.stderr.close()


# -- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", action="append", help="sources to index instead of the demo (repeatable)")
    ap.add_argument("--index-from", type=Path, default=None,
                    help="copy this already built index of the --corpus sources instead of building one")
    ap.add_argument("--seconds", type=float, default=60.0, help="load duration (default 60; the load lasts until the fault sequence is done)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    ap.add_argument("--threads", type=int, default=8, help="server worker threads (default 8)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--changes", type=int, default=10, help="articles changed and added per update (default 10)")
    ap.add_argument("--procs", type=int, default=None, help="analysis processes for rebuilds")
    ap.add_argument("--kill-after", type=float, default=None,
                    help="seconds after its start to SIGKILL the rebuild (default: half the initial build time)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args(argv)

    if args.corpus:
        sources = [os.path.abspath(s) for s in args.corpus]
    else:
        from indexer.demo_data import demo_sources

        sources = [str(s) for s in demo_sources()]
    work = Path(tempfile.mkdtemp(prefix="news-search-soak-"))
    index_dir = work / "index"
    server: subprocess.Popen[bytes] | None = None
    try:
        t = time.monotonic()
        if args.index_from:  # the caller vouches that it holds the --corpus sources
            shutil.copytree(args.index_from, index_dir, ignore=shutil.ignore_patterns("writer.lock"))
            build_seconds = float(args.kill_after or 6.0) * 2
            print(f"copied the index {args.index_from} ({time.monotonic() - t:.1f}s)")
        else:
            p = run_cli("rebuild", *sources, "--index-dir", str(index_dir), "--quiet",
                        *(["--procs", str(args.procs)] if args.procs else []))
            build_seconds = time.monotonic() - t
            if p.returncode != 0:
                print(p.stdout, p.stderr, file=sys.stderr)
                return 2
            print(f"built: {p.stdout.strip().splitlines()[-1]} ({build_seconds:.1f}s wall)")
        articles = live_articles(index_dir)

        port = free_port()
        with (work / "serve.log").open("wb") as serve_log:  # the child keeps its own copy of the fd
            server = subprocess.Popen([*CLI, "serve", "--index-dir", str(index_dir), "--port", str(port),
                                       "--threads", str(args.threads)], stdout=subprocess.DEVNULL, stderr=serve_log)

        def api(path: str) -> tuple[int, Any]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                status, _ctype, body = get(conn, path)
                return status, json.loads(body) if body[:1] == b"{" else body
            finally:
                conn.close()

        deadline = time.monotonic() + 120
        while True:
            try:
                if api("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("the server did not start; see", work / "serve.log", file=sys.stderr)
                return 2
            time.sleep(0.2)

        mix = QueryMix(articles, args.seed)
        try:
            mix.pages = api("/search?q=" + quote(mix.words[0]))[0] == 200
        except OSError:
            mix.pages = False
        faults = Faults(args, work, index_dir, sources, articles, build_seconds, api)
        stats = Stats()
        stop = threading.Event()
        clients = [threading.Thread(target=client, args=("127.0.0.1", port, mix, args.seed * 1000 + n, stop, stats))
                   for n in range(args.clients)]
        print(f"serving {len(articles):,} articles on 127.0.0.1:{port}; {args.clients} clients for "
              f"{args.seconds:g}s (seed {args.seed}); faults: update, rebuild + second writer + SIGKILL, update")
        started = time.monotonic()
        for c in clients:
            c.start()
        fault_thread = threading.Thread(target=faults.run, args=(started, args.seconds))
        fault_thread.start()
        fault_thread.join()
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        stop.set()
        for c in clients:
            c.join()
        elapsed = time.monotonic() - started

        # Articles lost: every expected id in the live index and over HTTP, changes visible.
        live = live_articles(index_dir)
        lost = sorted(faults.expected - set(live))
        stale = sorted(i for i, title in faults.changed.items() if i in live and live[i].get("title") != title)
        http_missing: list[str] = []
        lock = threading.Lock()
        pending = sorted(faults.expected)

        def check_http() -> None:
            while True:
                with lock:
                    if not pending:
                        return
                    i = pending.pop()
                status, _ = api("/api/articles/" + quote(i, safe=""))
                if status != 200:
                    with lock:
                        http_missing.append(i)

        checkers = [threading.Thread(target=check_http) for _ in range(args.clients)]
        for c in checkers:
            c.start()
        for c in checkers:
            c.join()
        server_alive = server.poll() is None

        lat = stats.latencies
        print("\n".join(faults.log))
        print(f"requests: {len(lat):,} in {elapsed:.1f}s ({len(lat) / elapsed:.0f}/s); "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.by_kind.items())))
        print(f"errors: {len(stats.errors)}")
        for e in stats.errors[:10]:
            print("  ", e)
        print(f"latency ms: p50 {percentile(lat, 50) * 1000:.1f}, p99 {percentile(lat, 99) * 1000:.1f}, "
              f"max {max(lat, default=0) * 1000:.1f}")
        print(f"articles expected {len(faults.expected):,}, in the index {len(live):,}, "
              f"lost {len(lost)}{' ' + str(lost[:10]) if lost else ''}, not served over HTTP {len(http_missing)}"
              f"{' ' + str(sorted(http_missing)[:10]) if http_missing else ''}, changes not applied {len(stale)}")
        problems = len(stats.errors) + len(lost) + len(http_missing) + len(stale) + len(faults.failures)
        if not server_alive:
            problems += 1
            print("the server died")
        print("RESULT:", "ok" if problems == 0 else f"FAILED ({problems} problems)")
        return 0 if problems == 0 else 1
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print("work directory kept:", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
