"""The real client address behind reverse proxies we trust (ProxyFix-style WSGI middleware).

``TRUSTED_PROXIES`` (env ``NEWS_SEARCH_TRUSTED_PROXIES``) lists addresses or networks, separated
by commas or spaces (``127.0.0.1, 10.0.0.0/8``); none by default. Only when the connection comes
from one of them are ``X-Forwarded-For`` / ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` read:
``X-Forwarded-For`` is walked from the right (the nearest hop), skipping our own trusted proxies,
and the first address that is not one of them becomes ``REMOTE_ADDR``, which the rate limiter
and the access log use. From any other peer the headers are ignored, so a client cannot forge its
address by sending ``X-Forwarded-For`` itself. werkzeug's ProxyFix trusts a number of hops
whoever sends them; this trusts named addresses.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PEER_KEY = "news_search.peer_addr"  # the connection's own address, kept beside the rewritten one


def parse_networks(value: Any) -> tuple[Network, ...]:
    """Addresses / CIDR networks from a string (commas or spaces) or a list; ValueError names the bad one."""
    if not value:
        return ()
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    nets = []
    for item in items:
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network "
                             "(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(nets)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:5123
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class TrustedProxies:
    def __init__(self, app: Callable[..., Iterable[bytes]], networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    def trusted(self, addr: str | None) -> bool:
        ip = _address(addr or "")
        return ip is not None and any(ip in net for net in self.networks)

    def client_of(self, peer: str, forwarded_for: str) -> str:
        """The left-most address of the chain that we reach without passing an untrusted hop."""
        client = peer
        for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
            ip = _address(hop)
            if ip is None:  # garbage in the header: stop at the last address we could trust
                break
            client = str(ip)
            if not self.trusted(client):
                break
        return client

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        peer = environ.get("REMOTE_ADDR", "")
        environ[PEER_KEY] = peer
        if self.networks and self.trusted(peer):
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                environ["REMOTE_ADDR"] = self.client_of(peer, forwarded)
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[-1].strip()
            if host:
                environ["HTTP_HOST"] = host
        return self.app(environ, start_response)
