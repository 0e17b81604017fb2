"""Attacks against `news-search serve` while a normal reader measures its latency (issue 19).

    python bench/attack.py --index-dir COPY_OF_AN_INDEX [--seconds 20] [--json out.json]

Starts `news-search serve` (default options: one worker per core) on a free loopback port, then
runs one phase after another, each `--seconds` long, with a reader sending a normal query every
100 ms from 127.0.0.1 and recording its latency:

* baseline      no attacker;
* slowloris     150 connections (from 127.0.0.2) send an unfinished request, then one header
                byte every 5 s;
* cpu           8 connections (from 127.0.0.3) send the costliest query the bounds allow,
                re-drawn per request: 8 single characters joined with OR (not index tokens), 10
                junk channel values, per_page=50, facet_interval=day;
* body-flood    4 connections (from 127.0.0.4) each send a chunked body meant to be 512 MiB;
* stats         4 connections (from 127.0.0.5) request /api/stats back to back.

Every phase reports the reader's p50/p95/max, its errors, the attacker's answers by status, and
CPU seconds used by each server worker (to show that every core is used). /healthz's document
count is read before and after: articles lost = the difference. Loopback only; bounded in time.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import summary  # noqa: E402

READER_QUERIES = ["经济", "地铁", "教育 改革", "新能源汽车", "疫情 防控", "房价", "足球", "人工智能", "春运", "高考"]
COMMON_CHARS = "的了是在和有我他这中大来上国个到说们为子地道出时要就下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切却"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(port: int, source: str, timeout: float = 10.0) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    conn.connect()
    return conn


class Reader(threading.Thread):
    """A normal reader: one query every 100 ms, latency of each (errors counted, 10 s timeout)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.stop, self.ms, self.errors = port, threading.Event(), [], 0

    def run(self) -> None:
        rng = random.Random(1)
        while not self.stop.is_set():
            path = "/api/search?" + urlencode({"q": rng.choice(READER_QUERIES)})
            started = time.monotonic()
            try:
                conn = connect(self.port, "127.0.0.1")
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status != 200:
                    self.errors += 1
                else:
                    self.ms.append((time.monotonic() - started) * 1000)
            except OSError:
                self.errors += 1
            self.stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))


def slowloris(port: int, stop: threading.Event, statuses: dict[str, int]) -> None:
    socks = []
    for _ in range(150):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
            s.sendall(b"GET /api/search?q=a HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            statuses["connect_failed"] = statuses.get("connect_failed", 0) + 1
    statuses["open"] = len(socks)
    while not stop.wait(5):
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
                statuses["closed_by_server"] = statuses.get("closed_by_server", 0) + 1
    for s in socks:
        s.close()


def _count(statuses: dict[str, int], key: str, lock: threading.Lock) -> None:
    with lock:
        statuses[key] = statuses.get(key, 0) + 1


def cpu_attacker(port: int, stop: threading.Event, statuses: dict[str, int], lock: threading.Lock, k: int) -> None:
    rng = random.Random(k)
    while not stop.is_set():
        q = " OR ".join(rng.sample(COMMON_CHARS, 8))  # 8: the most single characters the bounds allow
        params = [("q", q), ("per_page", "50"), ("facet_interval", "day")]
        params += [("channel", f"junk{rng.randrange(10**6)}") for _ in range(10)]
        try:
            conn = connect(port, "127.0.0.3", timeout=30)
            conn.request("GET", "/api/search?" + urlencode(params))
            resp = conn.getresponse()
            resp.read()
            conn.close()
            _count(statuses, str(resp.status), lock)
            if resp.status == 429:
                stop.wait(float(resp.getheader("Retry-After") or 1))
        except OSError:
            _count(statuses, "error", lock)


def body_flood(port: int, stop: threading.Event, statuses: dict[str, int], lock: threading.Lock) -> None:
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    while not stop.is_set():
        sent = 0
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.4", 0))
            s.sendall(b"POST /api/search?q=a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            while sent < 512 * 1024 * 1024 and not stop.is_set():
                s.sendall(chunk)
                sent += 0x10000
            _count(statuses, "sent_512MiB", lock)
        except OSError:
            with lock:
                statuses["refused"] = statuses.get("refused", 0) + 1
                statuses["max_KiB_before_refusal"] = max(statuses.get("max_KiB_before_refusal", 0), sent // 1024)
        finally:
            try:
                s.close()
            except (OSError, UnboundLocalError):
                pass


def stats_flood(port: int, stop: threading.Event, statuses: dict[str, int], lock: threading.Lock) -> None:
    while not stop.is_set():
        try:
            conn = connect(port, "127.0.0.5")
            conn.request("GET", "/api/stats")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            _count(statuses, str(resp.status), lock)
        except OSError:
            _count(statuses, "error", lock)


def documents(port: int) -> int:
    conn = connect(port, "127.0.0.1")
    conn.request("GET", "/healthz")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return int(data.get("documents", -1))


def warm_up(port: int) -> None:
    """Every reader query a few times from 4 threads, so each worker has built its caches."""
    def loop() -> None:
        for q in READER_QUERIES * 3:
            conn = connect(port, "127.0.0.1", timeout=120)
            conn.request("GET", "/api/search?" + urlencode({"q": q}))
            conn.getresponse().read()
            conn.close()

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_phase(name: str, port: int, server_pid: int, seconds: float) -> dict[str, Any]:
    stop, lock, statuses = threading.Event(), threading.Lock(), {}
    attackers: list[threading.Thread] = []
    if name == "slowloris":
        attackers = [threading.Thread(target=slowloris, args=(port, stop, statuses))]
    elif name == "cpu":
        attackers = [threading.Thread(target=cpu_attacker, args=(port, stop, statuses, lock, k)) for k in range(8)]
    elif name == "body-flood":
        attackers = [threading.Thread(target=body_flood, args=(port, stop, statuses, lock)) for _ in range(4)]
    elif name == "stats":
        attackers = [threading.Thread(target=stats_flood, args=(port, stop, statuses, lock)) for _ in range(4)]
    workers = children_of(server_pid) or [server_pid]
    cpu_before = {pid: cpu_seconds(pid) for pid in workers}
    wall, cpu0 = time.monotonic(), time.process_time()
    for t in attackers:
        t.daemon = True
        t.start()
    time.sleep(1.0 if attackers else 0)  # let the attack take hold before measuring
    reader = Reader(port)
    reader.start()
    time.sleep(seconds)
    reader.stop.set()
    reader.join()
    stop.set()
    for t in attackers:
        t.join(timeout=15)
    return {"phase": name, "reader_ms": summary(reader.ms), "reader_errors": reader.errors,
            "attacker": dict(sorted(statuses.items())),
            "worker_cpu_s": [round(cpu_seconds(pid) - cpu_before[pid], 2) for pid in workers],
            "wall_s": round(time.monotonic() - wall, 1), "bench_cpu_s": round(time.process_time() - cpu0, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", required=True, help="a copy of an index (serve only reads it)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--phases", default="baseline,slowloris,cpu,body-flood,stats")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    port = free_port()
    log = open(Path(args.index_dir).with_suffix(".attack-serve.log"), "w")
    # The entry point through this interpreter (PYTHONPATH decides which checkout is measured).
    cli = [sys.executable, "-c", "import sys; from search_service.cli import main; sys.exit(main())"]
    server = subprocess.Popen(cli + ["serve", "--index-dir", args.index_dir, "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                before = documents(port)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("server did not start; see the log beside the index")
                time.sleep(0.5)
        warm_up(port)
        results = [run_phase(name, port, server.pid, args.seconds) for name in args.phases.split(",")]
        after = documents(port)
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = {"documents_before": before, "documents_after": after, "lost_articles": before - after,
           "cpus": os.cpu_count(), "loadavg": os.getloadavg(), "phases": results}
    for r in results:
        m = r["reader_ms"]
        print(f"{r['phase']:<11} reader n={m.get('n', 0)} p50={m.get('p50')} p95={m.get('p95')} max={m.get('max')} ms "
              f"errors={r['reader_errors']}  attacker={r['attacker']}  worker CPU s={r['worker_cpu_s']}")
    print(f"documents before {before:,}, after {after:,}: lost {before - after}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
