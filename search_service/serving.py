"""Connection limits and worker processes of `news-search serve` (waitress, one per core).

Why waitress per core rather than a pre-fork server with sync workers: waitress reads whole
requests on its event loop before a thread runs the app, so an idle or trickling connection costs
a socket, not a worker thread (slowloris). One process only ever uses one core for Python, so
`--workers N` forks N waitress processes that accept on one shared listening socket; the parent
only supervises (restarts a worker that dies, stops all on SIGTERM/SIGINT).

Every limit is a `serve` option and an environment variable (NEWS_SEARCH_SERVE_<NAME>):

* connection limit per worker (waitress refuses to accept beyond it; default 1000);
* request header bytes (default 32 KiB: a longer header is refused with 431);
* request body bytes (default 64 KiB, the app's MAX_CONTENT_LENGTH: a declared longer body is
  refused before it is read, a chunked one as soon as it passes the limit);
* idle timeout, seconds a connection may stay silent (default 30).
"""
from __future__ import annotations

import os
import resource
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

ENV_PREFIX = "NEWS_SEARCH_SERVE_"
DEFAULT_CONNECTIONS = 1000
DEFAULT_HEADER_BYTES = 32 * 1024
DEFAULT_BODY_BYTES = 64 * 1024
DEFAULT_IDLE_SECONDS = 30


@dataclass
class ServeLimits:
    connection_limit: int = DEFAULT_CONNECTIONS
    header_limit: int = DEFAULT_HEADER_BYTES
    body_limit: int = DEFAULT_BODY_BYTES
    idle_timeout: int = DEFAULT_IDLE_SECONDS
    workers: int = 0  # 0: one per core

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def waitress_settings(self) -> dict[str, Any]:
        return {
            "connection_limit": self.connection_limit,
            "max_request_header_size": self.header_limit,
            "max_request_body_size": self.body_limit,
            "channel_timeout": self.idle_timeout,
            "cleanup_interval": max(1, min(30, self.idle_timeout // 2)),
            "asyncore_use_poll": True,  # select() stops at 1024 descriptors
            "backlog": 2048,
        }


def limit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The `serve` options of this module (kept together so other `serve` changes merge cleanly)."""
    options = [
        click.option("--workers", type=click.IntRange(0, 64), default=0, show_default=True,
                     envvar=ENV_PREFIX + "WORKERS", show_envvar=True,
                     help="Worker processes sharing the port (0: one per CPU core)."),
        click.option("--connection-limit", type=click.IntRange(1, 100_000), default=DEFAULT_CONNECTIONS,
                     show_default=True, envvar=ENV_PREFIX + "CONNECTION_LIMIT", show_envvar=True,
                     help="Open connections per worker; more wait in the listen queue."),
        click.option("--header-limit", type=click.IntRange(1024), default=DEFAULT_HEADER_BYTES,
                     show_default=True, envvar=ENV_PREFIX + "HEADER_LIMIT", show_envvar=True,
                     help="Bytes of request line and headers (longer: 431)."),
        click.option("--body-limit", type=click.IntRange(0), default=DEFAULT_BODY_BYTES, show_default=True,
                     envvar=ENV_PREFIX + "BODY_LIMIT", show_envvar=True,
                     help="Bytes of request body, refused before buffering (longer: 413)."),
        click.option("--idle-timeout", type=click.IntRange(1, 3600), default=DEFAULT_IDLE_SECONDS,
                     show_default=True, envvar=ENV_PREFIX + "IDLE_TIMEOUT", show_envvar=True,
                     help="Seconds a connection may stay silent before it is closed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _raise_fd_limit() -> None:
    """Let each worker hold its connection limit in sockets (the soft limit is often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.setblocking(False)
    return sock


def run(make_app: Callable[[], Any], host: str, port: int, threads: int, limits: ServeLimits,
        ident: str = "news-search", extra: dict[str, Any] | None = None) -> None:
    """Serve `make_app()` with `limits` (and `extra` waitress settings); with more than one
    worker, fork them and supervise."""
    from waitress import serve as waitress_serve

    _raise_fd_limit()
    sock = listen(host, port)
    settings = dict(limits.waitress_settings(), threads=threads, ident=ident, **(extra or {}))
    workers = limits.worker_count()
    if workers == 1:
        waitress_serve(make_app(), sockets=[sock], **settings)
        return
    _supervise(lambda: waitress_serve(make_app(), sockets=[sock], **settings), workers)


def _supervise(work: Callable[[], None], workers: int) -> None:
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: default signals, serve until killed
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                work()
            except BaseException:  # noqa: BLE001 -- the worker exits; the parent restarts it
                code = 1
            os._exit(code)
        children.add(pid)

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    restarts: list[float] = []
    while children:
        try:
            pid, _status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if stopping:
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 10] + [now]
        if len(restarts) > 5 * workers:  # crashing at start: stop instead of spinning
            stop(signal.SIGTERM, None)
            raise click.ClickException("workers keep exiting right after start; see the messages above")
        spawn()
