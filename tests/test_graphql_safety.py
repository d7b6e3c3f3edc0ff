"""Limits and hygiene of the public endpoint: depth, aliases, tokens, masked
internals, introspection and GraphiQL only where configured."""

import httpx
import pytest

from leadwire.app import create_app
from leadwire.core import access
from leadwire.core.settings import load_settings

from conftest import TEST_SECRET, GraphQLClient
from factories import PASSWORD, make_account


@pytest.fixture
async def owner_client(client_factory):
    _, owner = await make_account()
    c = await client_factory()
    await c.sign_in(owner.email, PASSWORD)
    return c


def _nested(depth: int) -> str:
    q = "id"
    for _ in range(depth):
        q = f"leads(first: 1) {{ edges {{ node {{ assignee {{ {q} }} }} }} }}"
    return "{ viewer { user { " + q + " } } }"


async def test_depth_limit(owner_client):
    body = await owner_client.post(_nested(4))
    assert "errors" in body and "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_alias_limit(owner_client):
    query = "{ " + " ".join(f"a{i}: viewer {{ user {{ id }} }}" for i in range(31)) + " }"
    body = await owner_client.post(query)
    assert "aliases" in body["errors"][0]["message"]


async def test_token_limit(owner_client):
    query = "{ viewer { " + " ".join("__typename" for _ in range(2100)) + " } }"
    body = await owner_client.post(query)
    assert "token" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked(owner_client, monkeypatch):
    def explode(viewer):
        raise RuntimeError("connection to 10.0.0.5 failed: password=hunter2")

    monkeypatch.setattr(access, "visible_leads", explode)
    from leadwire.schema.leads import queries

    monkeypatch.setattr(queries.access, "visible_leads", explode)
    body = await owner_client.post("{ leads(first: 5) { totalCount } }")
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(body) and "10.0.0.5" not in str(body)


async def test_expected_errors_stay_readable(owner_client):
    body = await owner_client.post("{ leads(first: 0) { totalCount } }")
    assert body["errors"][0]["message"] == "`first` must be between 1 and 100, got 0."


async def _client_for(env: dict, db) -> httpx.AsyncClient:
    settings = load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET, **env})
    app = create_app(settings, manage_database=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_production_hides_schema_graphiql_and_suggestions(db):
    async with await _client_for({"LEADWIRE_ENV": "production"}, db) as http:
        c = GraphQLClient(http)
        body = await c.post("{ __schema { types { name } } }")
        assert "introspection" in body["errors"][0]["message"].lower()
        body = await c.post("{ viewr { id } }")
        assert "Did you mean" not in body["errors"][0]["message"]
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in page.text.lower()


async def test_development_serves_graphiql_and_introspection(db):
    async with await _client_for({"LEADWIRE_ENV": "development"}, db) as http:
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        body = await GraphQLClient(http).post("{ __schema { queryType { name } } }")
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_queries_via_get_are_refused(db):
    async with await _client_for({}, db) as http:
        response = await http.get("/graphql", params={"query": "{ viewer { user { id } } }"})
        assert response.status_code in (400, 405)


async def test_a_client_that_leaves_mid_request_is_not_an_error(live_server, caplog):
    """A client that disconnects before sending its whole body (a load generator
    stopping, a phone losing signal) leaves no traceback in the server log."""
    import asyncio
    import logging

    host, port = live_server.split(":")
    with caplog.at_level(logging.ERROR):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 500\r\n\r\n{\"query\": \"{")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.3)  # let the server notice
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_answers_are_encoded_as_json_whatever_they_hold():
    """The view encodes with orjson and falls back to the standard encoder for
    what orjson refuses; either way the client reads back what was sent."""
    import json

    from leadwire.app import LeadwireGraphQL

    view = LeadwireGraphQL(load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET}))
    ordinary = {"data": {"leads": {"edges": [{"node": {"city": "Zürich", "n": 1, "ok": True, "x": None,
                                                        "f": 1.5, "s": "\u2028 \"quoted\" \\ </script>"}}]}}}
    refused_by_orjson = [
        {"errors": [{"message": "bad text \ud800 echoed"}]},  # a lone surrogate
        {"data": {"big": 2**70}},  # over 64 bits
    ]
    for data in [ordinary, *refused_by_orjson]:
        encoded = view.encode_json(data)
        assert isinstance(encoded, str)  # websockets send it as a text frame
        assert json.loads(encoded) == data
    # key order is the selection order
    assert list(json.loads(view.encode_json({"b": 1, "a": 2}))) == ["b", "a"]
