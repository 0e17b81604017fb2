"""Network namespaces as stand-in machines for the shard-failure tests (tests/test_xapian_netns.py).

Each "host" is a namespace joined to this one by a veth pair: 10.213.<k>.1 on our side,
10.213.<k>.2 inside. `cut()` makes the host drop off the network the hard way: every packet
between it and us vanishes, in both directions, with no refusal and no error, so a client sees
a hang (a connect or a read that times out), never a quick "connection refused" or "no route to
host". It does so by pinning each side's neighbour entry for the other to a MAC address nobody
has (the frames reach the veth peer, which drops them as addressed to another host); the link
stays up. (`ip link set ... down` is not that: a new connection then fails within about a second
with EHOSTUNREACH once ARP gives up; the kernel here has no netem/tc drop actions and no
iptables.) `restore()` removes the pinned entries. Needs root and `ip` (iproute2); without them
the tests skip, except under CI=true, where they fail.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest

SUBNET = "10.213"
NOBODY_MAC = "02:00:5e:00:de:ad"  # locally administered, on no interface here


def require_netns() -> None:
    problems = []
    if shutil.which("ip") is None:
        problems.append("`ip` (iproute2) not found")
    if os.geteuid() != 0:
        problems.append("not root (network namespaces need CAP_NET_ADMIN)")
    if not problems:
        probe = f"nsxprobe{os.getpid()}"
        made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if made.returncode != 0:
            problems.append(f"`ip netns add` fails: {made.stderr.strip()}")
        else:
            subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    if problems:
        reason = "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(f"network namespace test cannot run: {reason} (CI=true: run .ci/run as root)")
        pytest.skip(reason)


def _ip(*args: str, ns: str | None = None) -> None:
    cmd = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")


@dataclass
class Host:
    name: str  # the namespace
    index: int
    outside: str  # veth end in our namespace
    inside: str  # veth end in the host's namespace

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}.2"

    def prefix(self) -> list[str]:
        """Run a command on this host: `ip netns exec NAME ...`."""
        return ["ip", "netns", "exec", self.name]

    @property
    def our_address(self) -> str:
        return f"{SUBNET}.{self.index}.1"

    def cut(self) -> None:
        """Packets to and from the host are dropped silently from now on (connections hang)."""
        _ip("neigh", "replace", self.address, "lladdr", NOBODY_MAC, "dev", self.outside, "nud", "permanent")
        _ip("neigh", "replace", self.our_address, "lladdr", NOBODY_MAC, "dev", self.inside, "nud", "permanent",
            ns=self.name)

    def restore(self) -> None:
        """The link works again (idempotent)."""
        for args, ns in (((self.address, "dev", self.outside), None),
                         ((self.our_address, "dev", self.inside), self.name)):
            try:
                _ip("neigh", "del", *args, ns=ns)
            except RuntimeError as exc:
                if "No such file" not in str(exc) and "Cannot assign" not in str(exc):
                    raise

    def reachable(self, port: int, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection((self.address, port), timeout=timeout):
                return True
        except OSError:
            return False


class Hosts:
    """`n` namespaces with their links; use as a context manager (removes them all on exit)."""

    def __init__(self, n: int, tag: str | None = None) -> None:
        tag = tag or f"{os.getpid() % 100000}"
        base = 20 + os.getpid() % 200  # a /24 per host, away from other runs' ranges
        self.hosts = [Host(f"nsx{tag}h{i}", (base + i) % 250 + 1, f"vx{tag}o{i}", f"vx{tag}i{i}") for i in range(n)]

    def __enter__(self) -> list[Host]:
        try:
            for h in self.hosts:
                _ip("netns", "add", h.name)
                _ip("link", "add", h.outside, "type", "veth", "peer", "name", h.inside)
                _ip("link", "set", h.inside, "netns", h.name)
                _ip("addr", "add", f"{h.our_address}/24", "dev", h.outside)
                _ip("link", "set", h.outside, "up")
                _ip("addr", "add", f"{h.address}/24", "dev", h.inside, ns=h.name)
                _ip("link", "set", h.inside, "up", ns=h.name)
                _ip("link", "set", "lo", "up", ns=h.name)
        except BaseException:
            self.__exit__()
            raise
        return self.hosts

    def __exit__(self, *exc: object) -> None:
        for h in self.hosts:
            subprocess.run(["ip", "netns", "del", h.name], capture_output=True)
            subprocess.run(["ip", "link", "del", h.outside], capture_output=True)  # gone with the peer, normally


def wait_until(predicate, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
