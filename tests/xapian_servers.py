"""Helpers of the tests that run real Xapian shard servers (`news-search shard serve`).

Without xapian-tools the tests skip, except under CI=true (.ci/services/xapian.sh installs it),
where they fail."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def require_tool(name: str, package: str = "xapian-tools") -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not found (Debian package {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: .ci/services/xapian.sh must install it)")
        pytest.skip(reason)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def cli_command() -> list[str]:
    """`news-search` of this checkout (PYTHONPATH set to it by child_env)."""
    return [sys.executable, "-c", "from search_service.cli import main; main()"]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


def wait_ready(spec: str, proc: subprocess.Popen | None = None, seconds: float = 15.0) -> None:
    import xapian

    host, port = spec.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    while True:
        try:
            xapian.remote_open(host, int(port), 1000).get_doccount()
            return
        except xapian.Error:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the shard server for {spec} exited with {proc.returncode}: "
                                     f"{proc.stderr.read() if proc.stderr else ''}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the shard server {spec} did not answer within {seconds:g}s")
            time.sleep(0.1)


def serve_shard(directory: Path, host: str = "127.0.0.1", port: int | None = None,
                prefix: list[str] | None = None, **kwargs) -> tuple[subprocess.Popen, str]:
    """Start `news-search shard serve` (optionally under `prefix`, e.g. `ip netns exec NS`)."""
    port = port or free_port(host)
    args = [*(prefix or []), *cli_command(), "shard", "serve", "--dir", str(directory), "--port", str(port),
            "--host", host]
    for key, value in kwargs.items():
        args += [f"--{key}", str(value)]
    # A session of its own: xapian-tcpsrv answers SIGTERM by signalling its whole process group
    # (to stop its forked connection handlers), which would otherwise include pytest.
    proc = subprocess.Popen(args, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return proc, f"{host}:{port}"


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
