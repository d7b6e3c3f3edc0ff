"""Real servers on the loopback interface for integration tests: an ASGI app
(a fake SMS provider, a CRM, a webhook receiver, a payment gateway...) served
by a real uvicorn on 127.0.0.1 and a random free port, on the caller's event
loop, so tests talk to it over real TCP with real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serve_asgi(app, *, websockets: bool = False) -> AsyncIterator[str]:
    """Serve ``app`` until the block ends. Yields ``"127.0.0.1:PORT"``."""
    import uvicorn

    sock = socket.socket()
    # Accepted connections inherit it: without it, a response written in two
    # parts waits for the client's delayed ACK (~40 ms a request on loopback).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", loop="none", ws="websockets-sansio" if websockets else "none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
