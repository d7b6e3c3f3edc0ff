"""Ceilings: bare starlette endpoints with asyncpg, no validation, no ORM, no
GraphQL — the fastest any request on this machine and database could be.

- ``GET /const``: constant JSON (the ceiling for any request);
- ``POST /insert``: one row inserted in a transaction (the ceiling for intake);
- ``GET /latest?account=N``: a partner's latest 50 leads with their campaign,
  as JSON (the ceiling for list queries)."""

import os
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DATABASE_URL = os.environ["CEILING_DATABASE_URL"]
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(app):
    global pool
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=4, max_size=16)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial primary key, a text, b int, "
                           "created_at timestamptz default now())")
    yield
    await pool.close()


async def insert(request: Request) -> JSONResponse:
    body = await request.json()
    async with pool.acquire() as conn, conn.transaction():
        row_id = await conn.fetchval("INSERT INTO bench_ceiling (a, b) VALUES ($1, $2) RETURNING id", body["a"], body["b"])
    return JSONResponse({"id": row_id}, status_code=201)


LATEST = """SELECT l.id, l.first_name, l.last_name, l.phone, l.email, l.postal_code, l.city, l.state, l.created_at,
       s.price_minor, s.currency, c.name AS campaign
  FROM lead l LEFT JOIN lead_sale s ON s.buyer_lead_id = l.id LEFT JOIN campaign c ON c.id = s.campaign_id
 WHERE l.account_id = $1 ORDER BY l.id DESC LIMIT 50"""


async def latest(request: Request) -> JSONResponse:
    async with pool.acquire() as conn:
        rows = await conn.fetch(LATEST, int(request.query_params["account"]))
    return JSONResponse([{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows])


async def const(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[Route("/insert", insert, methods=["POST"]), Route("/latest", latest), Route("/const", const),
            Route("/health", health)],
    lifespan=lifespan,
)
