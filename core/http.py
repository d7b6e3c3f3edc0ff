"""One shared outgoing HTTP client per event loop (connection pooling for
delivery channels and gateways). Created on first use on the loop that uses
it: the server's loop in embedded mode, dramatiq's loop thread in a worker.

Its connections go only to public internet addresses (integrations.netguard:
resolved, checked, then connected to the checked address) unless the setting
``LEADWIRE_ALLOW_PRIVATE_NETWORKS`` is on (tests with loopback receivers, a
demo, an installation whose receivers live on its own network). Campaign
settings that are URLs are checked with :func:`url_problem` when saved.
"""

from __future__ import annotations

import asyncio
import os

import httpx

from leadwire import __version__
from leadwire.integrations import netguard

_clients: dict[int, httpx.AsyncClient] = {}
ALLOW_PRIVATE_ENV = "LEADWIRE_ALLOW_PRIVATE_NETWORKS"


def private_networks_allowed() -> bool:
    """The installation's policy, read from the environment every time (so every
    process of an installation, worker processes included, agrees, and
    ``Settings.allow_private_networks`` shows the same value)."""
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be a destination of an outgoing request, or None
    (checked without the network; connections are checked again)."""
    if private_networks_allowed():
        return None
    return netguard.url_problem(url)


def client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    existing = _clients.get(id(loop))
    if existing is None or existing.is_closed:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        transport = netguard.guard_transport(httpx.AsyncHTTPTransport(limits=limits), allow_private=private_networks_allowed)
        existing = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(15.0, connect=5.0),
            limits=limits,
            headers={"User-Agent": f"Leadwire/{__version__}"},
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would connect where the guard cannot see
        )
        _clients[id(loop)] = existing
    return existing


async def close() -> None:
    """Close this loop's client (at shutdown)."""
    existing = _clients.pop(id(asyncio.get_running_loop()), None)
    if existing is not None:
        await existing.aclose()
