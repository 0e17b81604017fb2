"""Over-HTTP measurements against `news-search serve` started as a subprocess on a free loopback
port: sequential latency per scenario, a fixed-duration load test with N concurrent clients, and
the service's memory.

Clients are plain ``http.client`` connections (one persistent HTTP/1.1 connection per client
thread, like wrk); every request has a timeout, and any non-200 answer, non-JSON body, body
without ``"ok": true`` or socket error counts as an error.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from measure import hwm_mb, rss_mb, summary

TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, cli: str, index_dir: str, log_path: Path, threads: int = 8) -> None:
        self.port = free_port()
        self.log = open(log_path, "w")
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            [cli, "serve", "--index-dir", index_dir, "--host", "127.0.0.1", "--port", str(self.port),
             "--threads", str(threads)], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.started_s = self._wait_ready()

    def _wait_ready(self, limit: float = 180.0) -> float:
        t = time.perf_counter()
        while time.perf_counter() - t < limit:
            if self.proc.poll() is not None:
                raise RuntimeError(f"news-search serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                status, _ = get(self.connect(), "/api/stats")
                if status == 200:
                    return time.perf_counter() - t
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"news-search serve did not answer within {limit:.0f}s; see {self.log.name}")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process has used so far (all its threads)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")

    def memory(self) -> dict[str, float]:
        return {"rss_mb": round(rss_mb(self.proc.pid), 1), "peak_rss_mb": round(hwm_mb(self.proc.pid), 1)}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read()


def search_path(params: dict[str, Any]) -> str:
    return "/api/search?" + urlencode(params, doseq=True)


def ok_body(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        return json.loads(body).get("ok") is True
    except ValueError:
        return False


def sequential(server: Server, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """One client, one request at a time: latency as the client sees it (ms)."""
    conn = server.connect()
    ms, errors, totals = [], 0, []
    for params in requests:
        t = time.perf_counter()
        try:
            status, body = get(conn, search_path(params))
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = server.connect()
            errors += 1
            continue
        ms.append((time.perf_counter() - t) * 1000)
        if ok_body(status, body):
            totals.append(json.loads(body)["total"])
        else:
            errors += 1
    conn.close()
    return {**summary(ms), "errors": errors, "raw_ms": [round(x, 3) for x in ms], "totals": totals}


def load(server: Server, requests: list[dict[str, Any]], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads each looping over `requests` (offset per client) for `seconds`."""
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()
    ms: list[float] = []
    errors = [0]
    done = [0]

    def client(k: int) -> None:
        conn = server.connect()
        i = k * max(1, len(requests) // clients)
        local: list[float] = []
        errs = 0
        while time.perf_counter() < stop_at:
            params = requests[i % len(requests)]
            i += 1
            t = time.perf_counter()
            try:
                status, body = get(conn, search_path(params))
                if not ok_body(status, body):
                    errs += 1
            except (OSError, http.client.HTTPException):
                errs += 1
                conn.close()
                conn = server.connect()
                continue
            local.append((time.perf_counter() - t) * 1000)
        conn.close()
        with lock:
            ms.extend(local)
            errors[0] += errs
            done[0] += len(local)

    t0 = time.perf_counter()
    cpu0 = server.cpu_s()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    server_cpu = server.cpu_s() - cpu0
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": done[0], "errors": errors[0],
            "rps": round(done[0] / elapsed, 1), "server_cpu_s": round(server_cpu, 1),
            "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, done[0]), 2), **summary(ms)}
