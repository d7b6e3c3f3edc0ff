"""Outgoing requests only to public addresses (an SSRF guard).

A buyer chooses their webhook URL, an operator a provider's base URL: without
a guard, Leadwire could be made to POST into its own network (the database's
admin port, a cloud metadata service at 169.254.169.254, a router). Two checks:

- :func:`url_problem`, without the network, when a URL is saved: the scheme,
  names that always mean this machine or an internal zone (``localhost``,
  ``*.internal``...) and addresses written as numbers in any form
  (``127.1``, ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``);
- :class:`GuardedBackend`, when connecting: the host name is resolved, every
  answer checked, and the connection made to the checked address itself (a DNS
  answer that changes between the check and the connection, "DNS rebinding",
  cannot slip through). TLS still verifies the certificate for the host name.

A refusal raises :class:`BlockedDestination` (an ``httpx.ConnectError``) whose
message names the address, never the URL (URLs can carry tokens).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore
import httpx

_INTERNAL_NAMES = ("localhost", "localhost.localdomain", "metadata.google.internal", "metadata", "instance-data")
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")


class BlockedDestination(httpx.ConnectError):
    """The destination is not a public address and private networks are not allowed."""


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``ip`` is not a public destination, or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None:
            return address_problem(mapped)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:  # 169.254.0.0/16 holds the cloud metadata services
        return "a link-local address (cloud metadata lives there)"
    if ip.is_private:
        return "a private network address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "not a public internet address"
    return None


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an address if it is written as one, in any form a resolver
    accepts (``127.1``, ``2130706433``, ``0x7f000001``, octal)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if all(part and (part.isdigit() or part.lower().startswith("0x")) for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_problem(host: str) -> str | None:
    """Why a host name or address is refused without resolving it, or None."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return "no host"
    ip = _literal_address(host)
    if ip is not None:
        return address_problem(ip)
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
        return "an internal host name"
    return None


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be a destination, checked without the network, or None."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "not an http(s) URL"
    if not host:
        return "no host"
    problem = host_problem(host)
    return f"{problem}: only public internet addresses are allowed" if problem else None


async def resolve_public(host: str, port: int) -> str:
    """The first public address ``host`` resolves to; BlockedDestination if it
    resolves to none (every answer is checked, the caller connects to the one
    returned)."""
    ip = _literal_address(host)
    if ip is not None:
        candidates = [ip]
    else:
        if host_problem(host):
            raise BlockedDestination(f"refused to connect: {host_problem(host)}")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"DNS lookup failed: {exc.strerror or exc}") from None
        candidates = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    reasons = []
    for candidate in candidates:
        problem = address_problem(candidate)
        if problem is None:
            return str(candidate)
        reasons.append(f"{candidate} is {problem}")
    raise BlockedDestination(f"refused to connect: {'; '.join(reasons) or 'no address'}")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to public addresses."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, *, allow_private: Callable[[], bool] = lambda: False):
        self.inner = inner
        self.allow_private = allow_private  # asked on every connection: a setting may change

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if not self.allow_private():
            host = await resolve_public(host, port)
        return await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        if not self.allow_private():
            raise BlockedDestination("refused to connect: a local socket")
        return await self.inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guard_transport(transport: httpx.AsyncHTTPTransport, *, allow_private: Callable[[], bool]) -> httpx.AsyncHTTPTransport:
    """``transport`` with its connections made through :class:`GuardedBackend`."""
    pool = transport._pool
    pool._network_backend = GuardedBackend(pool._network_backend, allow_private=allow_private)
    return transport
