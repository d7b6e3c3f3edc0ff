"""Test fixtures.

Which real services the suite uses is chosen by the environment:

- ``LEADWIRE_TEST_BACKEND``: ``sqlite`` (default) or ``postgres`` — the
  database every ``db`` test runs on.
- ``LEADWIRE_TEST_POSTGRES_URL``: a PostgreSQL server (e.g.
  ``postgres://postgres@127.0.0.1:5432/test_{}``; ``{}`` becomes a fresh
  database name). Needed by the postgres backend and by PostgreSQL-only suites.
- ``LEADWIRE_TEST_REDIS_URL`` / ``LEADWIRE_TEST_RABBITMQ_URL``: real dramatiq
  brokers for the broker suites.
- ``LEADWIRE_TEST_STRICT=1``: a suite skipped because its service is not
  named or not reachable fails the run instead (CI sets it).
"""

from __future__ import annotations

import contextlib
import os

import pytest
from tortoise import Tortoise, connections
from tortoise.context import tortoise_test_context

from leadwire.core.models import MODEL_MODULES
from leadwire.core.settings import Settings, load_settings

# Deliveries in tests go to loopback receivers (tests/loopback.py): allow private
# networks for this process and the worker processes it starts. The SSRF guard's
# own tests turn it off with monkeypatch.
os.environ["LEADWIRE_ALLOW_PRIVATE_NETWORKS"] = "true"

# argon2 at production cost takes ~50 ms a hash; the suite hashes thousands of
# times. Same algorithm, minimum cost (subprocess tests still use the real one).
from argon2 import PasswordHasher  # noqa: E402

from leadwire.core import passwords  # noqa: E402

passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

BACKEND = os.environ.get("LEADWIRE_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("LEADWIRE_TEST_POSTGRES_URL", "")
STRICT = os.environ.get("LEADWIRE_TEST_STRICT", "") == "1"
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


def service_skip(reason: str) -> None:
    """Skip a test because a service is missing, or fail in strict mode (CI)."""
    if STRICT:
        pytest.fail(f"service unavailable in strict mode: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_report_header(config):
    return [
        f"leadwire: database backend = {BACKEND}"
        + (f" ({POSTGRES_URL.split('@')[-1]})" if BACKEND == "postgres" else ""),
        "leadwire: PostgreSQL suites " + ("enabled" if POSTGRES_URL else "SKIPPED (set LEADWIRE_TEST_POSTGRES_URL)"),
        "leadwire: broker suites "
        + (
            "enabled"
            if os.environ.get("LEADWIRE_TEST_REDIS_URL") or os.environ.get("LEADWIRE_TEST_RABBITMQ_URL")
            else "SKIPPED (set LEADWIRE_TEST_REDIS_URL / LEADWIRE_TEST_RABBITMQ_URL)"
        ),
        f"leadwire: strict mode {'on: any service skip fails' if STRICT else 'off'}",
    ]


def _db_url() -> str:
    if BACKEND == "sqlite":
        return "sqlite://:memory:"
    if BACKEND == "postgres":
        if not POSTGRES_URL:
            raise pytest.UsageError("LEADWIRE_TEST_BACKEND=postgres needs LEADWIRE_TEST_POSTGRES_URL")
        return POSTGRES_URL
    raise pytest.UsageError(f"LEADWIRE_TEST_BACKEND must be sqlite or postgres, got {BACKEND!r}")


@pytest.fixture(scope="session")
def settings() -> Settings:
    env = {
        "LEADWIRE_ENV": "test",
        "LEADWIRE_SECRET_KEY": TEST_SECRET,
        "LEADWIRE_DATABASE_URL": "sqlite:///unused-in-tests.sqlite3",
    }
    return load_settings(env)


@pytest.fixture(scope="session")
async def _db_context():
    from tortoise import context as tortoise_context

    async with tortoise_test_context(MODEL_MODULES, db_url=_db_url(), app_label="leadwire") as ctx:
        database = getattr(ctx.connections.get("default"), "database", None)
        # Also the global fallback, as in the server: code on the loop outside the
        # test's task (the embedded job worker's coroutines) finds the same ORM.
        tortoise_context.set_global_context(ctx)
        _session["ctx"] = ctx
        yield ctx
        _session.pop("ctx", None)
        tortoise_context._global_context = None
    if BACKEND == "postgres" and database:
        from urllib.parse import urlsplit

        await drop_postgres_database(urlsplit(POSTGRES_URL)._replace(path=f"/{database}").geturl())


async def _empty_all_tables() -> None:
    conn = connections.get("default")
    tables = [m._meta.db_table for m in Tortoise.apps["leadwire"].values()]
    if BACKEND == "postgres":
        await conn.execute_script(f'TRUNCATE {", ".join(tables)} RESTART IDENTITY CASCADE')
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;"
        )


_session: dict = {}


@pytest.fixture(autouse=True)
async def _rebind_models_after_test():
    """Model classes are process-global and a second TortoiseContext (a test of
    migrations, or one seeding a separate database for other processes) binds
    their query builders to its own dialect. Bind them back to the session's."""
    yield
    ctx = _session.get("ctx")
    if ctx is not None:
        _forget_compiled_queries()
        ctx.apps._build_initial_querysets()


def _forget_compiled_queries() -> None:
    # tortoise caches each table's INSERT by connection *name*: another database
    # under the same name ("default") must not reuse the other dialect's SQL.
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()


@pytest.fixture
async def db(_db_context):
    """A database with the full schema and no rows; emptied after each test."""
    yield _db_context
    await _empty_all_tables()


class GraphQLClient:
    """Speaks to the real ASGI app over httpx, as a browser (cookie + CSRF) or as
    an API client (Bearer token)."""

    def __init__(self, http):
        self.http = http
        self.csrf: str | None = None
        self.bearer: str | None = None

    async def post(self, query: str, variables: dict | None = None, *, headers: dict | None = None) -> dict:
        h = {"content-type": "application/json"}
        if self.bearer:
            h["authorization"] = f"Bearer {self.bearer}"
        if self.csrf:
            h["x-csrf-token"] = self.csrf
        h.update(headers or {})
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict | None = None) -> dict:
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def sign_in(self, email: str, password: str, account_id: str | None = None) -> dict:
        body = await self.data(
            """mutation($input: SignInInput!) { signIn(input: $input) {
                 csrfToken userErrors { field code message } viewer { user { id } account { id } } } }""",
            {"input": {"email": email, "password": password, "accountId": account_id}},
        )
        payload = body["signIn"]
        if not payload["userErrors"]:
            self.csrf = payload["csrfToken"]
        return payload


@pytest.fixture
def app(settings):
    from leadwire.app import create_app

    return create_app(settings, manage_database=False)


@pytest.fixture
async def client_factory(app, db):
    """Makes independent clients (each with its own cookie jar)."""
    import httpx

    opened = []

    async def make() -> GraphQLClient:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 5000)), base_url="http://testserver")
        opened.append(http)
        return GraphQLClient(http)

    yield make
    for http in opened:
        await http.aclose()


async def drop_postgres_database(url: str) -> None:
    """Drop a test database, ending any session still connected to it."""
    import asyncpg
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(parts._replace(path="/postgres", query="").geturl().replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def live_server(app, db):
    """The app served by a real uvicorn on 127.0.0.1 (random port), on the test's
    own event loop so it shares the test database. Yields "127.0.0.1:PORT"."""
    from loopback import serve_asgi

    async with serve_asgi(app, websockets=True) as address:
        yield address


@contextlib.asynccontextmanager
async def separate_database(url: str, *, create: bool = False):
    """An ORM context on another database (for tests that hand a database to
    other processes). Binds the models' query builders to its dialect on the
    way in; the autouse fixture binds them back to the session's afterwards."""
    from tortoise.context import TortoiseContext

    from leadwire.core import db as lwdb

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=create)
        _forget_compiled_queries()
        ctx.apps._build_initial_querysets()
        yield ctx
