"""A webhook receiver for the delivery benchmark: accepts each POST, keeps a
count per idempotency key (as a real receiver de-duplicates), answers 200."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

seen: dict[str, int] = {}


async def hook(request: Request) -> JSONResponse:
    await request.body()
    key = request.headers.get("idempotency-key", "")
    seen[key] = seen.get(key, 0) + 1
    return JSONResponse({"ok": True})


async def count(request: Request) -> JSONResponse:
    return JSONResponse({"keys": len(seen), "requests": sum(seen.values())})


app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/count", count)])
