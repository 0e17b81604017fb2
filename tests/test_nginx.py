"""Debian's nginx in front of `news-search serve`, with the shipped site file (deploy/nginx/):
page, API, compression, ETag/304, Cache-Control and nginx's cache through the proxy; the client
address nginx forwards reaches the rate limiter and the access log, a forged X-Forwarded-For does
not. nginx runs as our child on loopback ports of its own (config, pid, logs, cache in tmp_path).

Loopback addresses tell the parties apart: nginx connects upstream from 127.0.0.2 (the only
trusted proxy), readers connect to nginx from 127.0.0.3+, and direct clients of the app from
other loopback addresses.
Needs nginx (`.ci/services/nginx.sh` installs it): skipped without it, failed under CI=true.
"""
from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from lifecycle_util import news_search_cmd
from shared_data import REPO_ROOT

SITE_FILE = REPO_ROOT / "deploy" / "nginx" / "news-search.conf"
PROXY_ADDR = "127.0.0.2"


def nginx_binary() -> str:
    found = os.environ.get("NEWS_SEARCH_NGINX") or shutil.which("nginx") or \
        ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing: .ci/services/nginx.sh should have installed it")
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {port}: {log.read_text(errors='replace')[-2000:]}")


def site_config(app_port: int, nginx_port: int, tmp: Path) -> str:
    """The shipped site file with this test's ports, cache path and upstream source address."""
    site = SITE_FILE.read_text(encoding="utf-8")
    site = site.replace("/var/cache/nginx/news-search", str(tmp / "cache"))
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{nginx_port};\n    proxy_bind {PROXY_ADDR};")
    assert str(app_port) in site and str(tmp / "cache") in site
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the 0700 tmp dirs
    return (f"{user}daemon off;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
            f"events {{ worker_connections 64; }}\nhttp {{\n    access_log {tmp / 'access.log'};\n{temp}\n"
            f"{site}\n}}\n")


@pytest.fixture(scope="module")
def stack(demo_index: Path, tmp_path_factory) -> Iterator[dict]:
    binary = nginx_binary()
    tmp = tmp_path_factory.mktemp("nginx")
    index = tmp / "index"
    shutil.copytree(demo_index, index)  # the served app writes its query log into the index dir
    app_port, nginx_port = free_port(), free_port()
    access_log = tmp / "app-access.jsonl"
    env = {**os.environ, "NEWS_SEARCH_RATELIMIT_ENABLED": "true", "NEWS_SEARCH_RATELIMIT_DEFAULT": "3 per minute"}
    app_log = tmp / "app.log"
    with open(app_log, "wb") as out:
        app = subprocess.Popen(news_search_cmd() + [
            "serve", "--index-dir", str(index), "--port", str(app_port), "--workers", "1",
            "--trusted-proxies", PROXY_ADDR,
            "--access-log", str(access_log), "--access-log-clients"], stdout=out, stderr=subprocess.STDOUT, env=env)
    conf = tmp / "nginx.conf"
    conf.write_text(site_config(app_port, nginx_port, tmp), encoding="utf-8")
    nginx_log = tmp / "nginx.out"
    with open(nginx_log, "wb") as out:
        nginx = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(app_port, app, "news-search serve", app_log)
        wait_for(nginx_port, nginx, "nginx", nginx_log)
        yield {"app_port": app_port, "nginx_port": nginx_port, "access_log": access_log}
    finally:
        for proc in (nginx, app):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def get(port: int, path: str, source: str = "127.0.0.1", headers: dict | None = None):
    # Any 127.0.0.0/8 source address can reach a server listening on 127.0.0.1.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def via_nginx(stack: dict, path: str, reader: str = "127.0.0.3", **headers: str):
    return get(stack["nginx_port"], path, reader, {k.replace("_", "-"): v for k, v in headers.items()})


def log_entries(stack: dict, path: str) -> list[dict]:
    lines = stack["access_log"].read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["path"] == path]


def test_page_and_api_through_nginx_compressed(stack) -> None:
    status, headers, body = via_nginx(stack, "/search?q=" + quote("江城"), Accept_Encoding="gzip")
    assert status == 200 and headers["content-encoding"] == "gzip"
    page = gzip.decompress(body).decode("utf-8")
    assert "<mark>江城</mark>" in page and re.search(r'<strong class="total">34</strong>', page)
    status, headers, body = via_nginx(stack, "/api/search?q=" + quote("马拉松") + "&sort=newest",
                                      Accept_Encoding="gzip")
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert [h["id"] for h in json.loads(gzip.decompress(body))["hits"]] == ["demo-017", "demo-018"]
    assert headers["cache-control"] == "public, max-age=60"
    assert "accept-encoding" in headers["vary"].lower()


def test_etag_304_and_nginx_cache(stack) -> None:
    path = "/api/search?q=" + quote("地铁")
    status, first, _ = via_nginx(stack, path)
    assert status == 200 and first["etag"].startswith('W/"') and first["x-cache-status"] == "MISS"
    status, again, body = via_nginx(stack, path)
    assert status == 200 and again["x-cache-status"] == "HIT" and again["etag"] == first["etag"]
    status, revalidated, body = via_nginx(stack, path, If_None_Match=first["etag"])
    assert status == 304 and body == b""
    # The app's own 304 (no search run) for a client revalidating directly:
    status, direct, body = get(stack["app_port"], path, headers={"If-None-Match": first["etag"]})
    assert status == 304 and body == b"" and direct["cache-control"] == "public, max-age=60"


def test_forwarded_client_reaches_access_log_and_rate_limiter(stack) -> None:
    # A reader behind nginx also sends a forged header: nginx replaces it with the real address.
    statuses = [via_nginx(stack, "/api/stats", "127.0.0.5", X_Forwarded_For="198.51.100.66")[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # 3 per minute for 127.0.0.5
    assert via_nginx(stack, "/api/stats", "127.0.0.6")[0] == 200  # another reader, own budget
    clients = [e["client"] for e in log_entries(stack, "/api/stats")]
    assert clients[:5] == ["127.0.0.5"] * 4 + ["127.0.0.6"]
    # A client talking to the app directly (not a trusted proxy) cannot pick its address.
    direct = [get(stack["app_port"], "/api/stats", "127.0.0.7", {"X-Forwarded-For": f"203.0.113.{i}"})[0]
              for i in range(4)]
    assert direct == [200, 200, 200, 429]
    assert [e["client"] for e in log_entries(stack, "/api/stats")][5:9] == ["127.0.0.7"] * 4


def test_request_id_from_nginx_and_probes_kept_local(stack) -> None:
    status, headers, _ = via_nginx(stack, "/healthz")
    assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    assert log_entries(stack, "/healthz")[-1]["request_id"] == headers["x-request-id"]  # nginx's $request_id
    assert via_nginx(stack, "/readyz", "127.0.0.1")[0] == 200
    assert via_nginx(stack, "/metrics", "127.0.0.3")[0] == 403
