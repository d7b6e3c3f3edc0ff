"""The database going away: a request answers a clear 503 (GraphQL-shaped,
Retry-After, no traceback) and the next one, once it is back, succeeds.
Found by the crash tests (tests/test_crashes.py), which cut it mid-storm."""

from __future__ import annotations

import uuid

import asyncpg.exceptions as pg
import httpx
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from leadwire.core.db import UNAVAILABLE_MESSAGE, unavailable

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip
from storm import TcpProxy


def _chained(outer: Exception, cause: Exception) -> Exception:
    try:
        try:
            raise cause
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


def test_what_counts_as_the_database_being_unavailable():
    assert unavailable(ConnectionRefusedError(111, "Connection refused"))
    assert unavailable(pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"))
    assert unavailable(pg.CannotConnectNowError("the database system is starting up"))
    assert unavailable(DBConnectionError("cannot connect"))
    assert unavailable(pg.InterfaceError("cannot call Transaction.rollback(): the underlying connection is closed"))
    assert unavailable(_chained(OperationalError("query failed"), ConnectionResetError(104, "reset")))
    # Bugs and refusals stay what they are.
    assert not unavailable(None)
    assert not unavailable(IntegrityError("duplicate key value"))
    assert not unavailable(ValueError("nope"))
    assert not unavailable(pg.InterfaceError("cannot perform operation: another operation is in progress"))


async def test_a_request_that_cannot_reach_the_database_gets_a_clear_503_then_succeeds(settings):
    if not POSTGRES_URL:
        service_skip("database cut on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    from leadwire.app import create_app
    from leadwire.core import auth, db as lwdb
    from leadwire.core.models.identity import AccountKind

    from factories import make_account

    url = POSTGRES_URL.replace("{}", "cut_{}").format(uuid.uuid4().hex[:12])
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(host, int(port or 5432))
    await proxy.start()
    try:
        async with separate_database(url, create=True):
            await lwdb.migrate()
            _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
            _, token = await auth.create_api_token(operator, name="cut")
        async with separate_database(url.replace(host_port, f"127.0.0.1:{proxy.port}")):
            app = create_app(settings, manage_database=False)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
                async def ask() -> httpx.Response:
                    return await http.post("/graphql", json={"query": "{ viewer { user { id } } }"},
                                           headers={"authorization": f"Bearer {token}"})

                assert (await ask()).json()["data"]["viewer"]["user"]["id"]
                await proxy.cut()
                r = await ask()
                assert r.status_code == 503 and r.headers["retry-after"] == "5"
                assert r.json() == {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]}
                await proxy.start()
                ok = await ask()
                assert ok.status_code == 200 and ok.json()["data"]["viewer"]["user"]["id"], ok.text
    finally:
        await proxy.stop()
        await drop_postgres_database(url)
