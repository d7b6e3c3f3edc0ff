"""One shared outgoing HTTP client per event loop (connection pooling for
delivery channels and gateways). Created on first use on the loop that uses
it: the server's loop in embedded mode, dramatiq's loop thread in a worker."""

from __future__ import annotations

import asyncio

import httpx

from leadwire import __version__

_clients: dict[int, httpx.AsyncClient] = {}


def client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    existing = _clients.get(id(loop))
    if existing is None or existing.is_closed:
        existing = httpx.AsyncClient(
            timeout=httpx.Timeout(15.0, connect=5.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": f"Leadwire/{__version__}"},
            follow_redirects=False,
        )
        _clients[id(loop)] = existing
    return existing


async def close() -> None:
    """Close this loop's client (at shutdown)."""
    existing = _clients.pop(id(asyncio.get_running_loop()), None)
    if existing is not None:
        await existing.aclose()
