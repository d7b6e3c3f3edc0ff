"""The write ceiling: a bare starlette endpoint that inserts one row with asyncpg
in a transaction. No validation, no ORM, no GraphQL: the fastest any intake on
this machine and database could be."""

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


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/insert", insert, methods=["POST"]), Route("/health", health)], lifespan=lifespan)
