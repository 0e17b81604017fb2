"""Issue 19, serving rows: idle connections (2), body floods (8), the cost of one request (3),
December 9999 (7), Atom well-formedness (11), worker processes."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import xml.dom.minidom
from pathlib import Path

import pytest

from search_service.app import create_app
from search_service.cost import CpuBudget

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(demo_index: Path, request: pytest.FixtureRequest):
    """A real `news-search serve` process; parametrize indirectly with extra options."""
    port = free_port()
    # Through this interpreter, not the console script: the checkout under test is imported.
    args = [sys.executable, "-c", "import sys; from search_service.cli import main; sys.exit(main())", "serve", "--index-dir", str(demo_index), "--port", str(port),
            *getattr(request, "param", ["--workers", "1"])]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                if resp.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {proc.communicate()[0]!r}")
            time.sleep(0.2)
    yield port, proc
    proc.terminate()
    proc.wait(timeout=20)


def timed_get(port: int, path: str = "/api/search?q=%E5%9C%B0%E9%93%81") -> tuple[int, float]:
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        resp.read()
        return resp.status, time.monotonic() - started


def test_150_idle_connections_do_not_take_the_service_down(server) -> None:
    port, _ = server
    idle = []
    try:
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /api/search?q=a HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            idle.append(s)
        time.sleep(0.5)
        status, seconds = timed_get(port)
        assert status == 200 and seconds < 2.0
    finally:
        for s in idle:
            s.close()


@pytest.mark.parametrize("server", [["--workers", "1", "--idle-timeout", "2"]], indirect=True)
def test_idle_connections_are_closed_after_the_idle_timeout(server) -> None:
    port, _ = server
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\n")
    s.settimeout(10)
    started = time.monotonic()
    assert s.recv(100) == b""  # closed by the server, nothing answered
    assert 1.0 < time.monotonic() - started < 8
    s.close()


@pytest.mark.parametrize("server", [["--workers", "1", "--connection-limit", "5"]], indirect=True)
def test_the_connection_limit_is_configurable(server) -> None:
    port, _ = server
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        time.sleep(0.5)
        with pytest.raises(OSError):  # the sixth waits in the listen queue: a timeout
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1.5).read()
    finally:
        for s in idle:
            s.close()
    assert timed_get(port, "/healthz")[0] == 200


def _send_body(port: int, head: bytes, chunks: int) -> bytes:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(head)
    try:
        for _ in range(chunks):
            s.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
    except OSError:
        pass  # the server closed the connection: refused before the body ended
    answer = s.recv(200)
    s.close()
    return answer


@pytest.mark.parametrize("server", [["--workers", "1", "--body-limit", "65536"]], indirect=True)
def test_request_bodies_are_refused_before_buffering(server) -> None:
    port, _ = server
    declared = _send_body(port, b"POST /api/search?q=a HTTP/1.1\r\nHost: x\r\nContent-Length: 536870912\r\n\r\n", 0)
    assert declared.split(b" ")[1] == b"413"
    chunked = _send_body(port, b"POST /api/search?q=a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 64)
    assert chunked.split(b" ")[1] == b"413"


@pytest.mark.parametrize("server", [["--workers", "1", "--header-limit", "4096"]], indirect=True)
def test_the_header_limit_is_configurable(server) -> None:
    port, _ = server
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n")
    assert s.recv(200).split(b" ")[1] == b"431"
    s.close()


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("server", [["--workers", "2", "--threads", "2"]], indirect=True)
def test_two_workers_both_answer(server) -> None:
    port, proc = server
    children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) == 2
    before = {pid: _cpu_ticks(pid) for pid in children}
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: timed_get(port, f"/api/search?q=%E5%9C%B0%E9%93%81&page={i % 5 + 1}")[0],
                                 range(200)))
    assert statuses == [200] * 200
    used = [_cpu_ticks(pid) - before[pid] for pid in children]
    assert all(u > 0 for u in used), used


# -- in-process rows ---------------------------------------------------------------------------

@pytest.mark.parametrize("q, message", [
    (" OR ".join("的了是在和有我他这中大来上国个到说们为子" [:13]), "`q` may combine at most 12 alternatives with OR, got 13: split the search"),
    (" ".join(f'"{c}"' for c in "的了是在和有我他这"), "`q` may have at most 8 quoted parts or single characters (each scans every article), got 9"),
    (" ".join(f"词{i}" for i in range(25)), "`q` may have at most 24 words or quoted parts, got 25"),
])
def test_costly_queries_are_refused_up_front(client, q: str, message: str) -> None:
    resp = client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {"status": 400, "code": "query_too_costly", "message": message,
                                        "parameter": "q"}


def test_too_many_channel_values_are_refused(client) -> None:
    resp = client.get("/api/search", query_string=[("q", "地铁")] + [("channel", f"c{i}") for i in range(11)])
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == "`channel` may be given at most 10 times per search, got 11"


def test_the_cpu_budget_cuts_off_an_expensive_client(demo_index: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "COST_LIMIT_CPU_SECONDS": 0.05, "COST_LIMIT_WINDOW": 60})
    attacker = app.test_client()
    statuses = [attacker.get("/api/search", query_string={"q": f"地铁 {i}"},
                             environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code for i in range(200)]
    assert statuses[0] == 200 and statuses[-1] == 429
    refused = attacker.get("/api/search", query_string={"q": "地铁"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert refused.get_json()["error"]["message"] == ("your requests used more than 0.05 CPU seconds in 60 s: "
                                                      "retry after the Retry-After seconds")
    reader = attacker.get("/api/search", query_string={"q": "地铁"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert reader.status_code == 200


def test_cpu_budget_window() -> None:
    budget = CpuBudget(1.0, 60)
    budget.add("a", 0.6)
    assert budget.exhausted("a") == 0.0
    budget.add("a", 0.6)
    assert 59 < budget.exhausted("a") <= 60
    assert budget.exhausted("b") == 0.0


def test_stats_are_computed_once_per_index_state(client, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.stats

    first = client.get("/api/stats").get_json()
    calls = []
    monkeypatch.setattr(indexer.stats, "index_stats", lambda root: calls.append(root) or {})
    assert client.get("/api/stats").get_json() == first
    assert calls == []


@pytest.mark.parametrize("path", ["/api/search", "/search", "/search.atom"])
def test_december_9999_is_not_a_500(client, path: str) -> None:
    resp = client.get(path, query_string={"q": "地铁", "from": "9999-12-01", "to": "9999-12-31"})
    assert resp.status_code == 200


def test_cli_search_in_december_9999(demo_index: Path) -> None:
    from tests.lifecycle_util import cli

    result = cli("search", "地铁", "--index-dir", demo_index, "--from", "9999-12-01", "--to", "9999-12-31")
    assert result.exit_code == 0 and "Traceback" not in result.output


@pytest.mark.parametrize("q", ["\x01", "\x08", "\x1b", "\ufffe", "\uffff", "地铁\x0b"])
def test_atom_is_well_formed_for_any_query(client, q: str) -> None:
    resp = client.get("/search.atom", query_string={"q": q})
    assert resp.status_code == 200
    xml.dom.minidom.parseString(resp.data)  # raises on invalid XML


def test_a_public_base_url_beats_the_host_header(demo_index: Path) -> None:
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_index), "QUERY_LOG": False,
                      "PUBLIC_BASE_URL": "https://news.example.org/"})
    c = app.test_client()
    for path in ("/opensearch.xml", "/search.atom?q=%E5%9C%B0%E9%93%81"):
        body = c.get(path, headers={"Host": "evil.example"}).get_data(as_text=True)
        assert "evil.example" not in body
        assert "https://news.example.org/" in body


def test_one_client_may_run_only_two_requests_at_once() -> None:
    budget = CpuBudget(10.0, 60)
    assert budget.enter("a", 2) and budget.enter("a", 2)
    assert not budget.enter("a", 2)
    assert budget.enter("b", 2)
    budget.leave("a")
    assert budget.enter("a", 2)


def test_serve_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from search_service.cli_serve import serve
    from search_service.serving import ServeLimits

    monkeypatch.setenv("NEWS_SEARCH_SERVE_IDLE_TIMEOUT", "7")
    monkeypatch.setenv("NEWS_SEARCH_SERVE_BODY_LIMIT", "1024")
    params = serve.make_context("serve", []).params
    limits = ServeLimits(**{k: params[k] for k in ("workers", "connection_limit", "header_limit", "body_limit",
                                                   "idle_timeout")})
    settings = limits.waitress_settings()
    assert (settings["channel_timeout"], settings["max_request_body_size"], settings["connection_limit"]) == (7, 1024, 1000)
