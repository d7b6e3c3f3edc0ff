"""Query cost limits: the computed cost (objects × page sizes), the per-query
maximum refused before execution, the per-client budget shared by every API
process and refilled over time, all reported in ``extensions.cost``."""

import httpx
import pytest

from leadwire.app import create_app
from leadwire.core import auth, budget
from leadwire.core.models.identity import ApiToken, QueryBudget
from leadwire.core.settings import ConfigError, load_settings

from conftest import TEST_SECRET, GraphQLClient
from factories import make_account

EXAMPLE = "{ leads(first: 50) { totalCount edges { node { id assignee { name } } } } }"


def _client(env: dict | None = None) -> GraphQLClient:
    settings = load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET, "LEADWIRE_ENV": "test", **(env or {})})
    app = create_app(settings, manage_database=False)
    return GraphQLClient(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))


async def _token_client(env: dict | None = None):
    _, owner = await make_account()
    _, clear = await auth.create_api_token(owner, name="ci")
    c = _client(env)
    c.bearer = clear
    return c, owner, clear


async def test_cost_is_reported_and_matches_the_documented_example(db):
    c, _, _ = await _token_client()
    body = await c.post(EXAMPLE)
    assert "errors" not in body
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 151  # 1 + 50 × (edge + node + assignee)
    assert cost["maximumQueryCost"] == 1000
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 20000 and status["restoreRate"] == 1000
    assert 20000 - 151 <= status["currentlyAvailable"] <= 20000


@pytest.mark.parametrize(
    "query, variables, expected",
    [
        ("{ viewer { user { id name } } }", {}, 2),  # viewer + user; scalars are free
        ("{ leads { edges { node { id } } } }", {}, 1 + 20 * 2),  # no `first`: the default page of 20
        ("query($n: Int) { leads(first: $n) { edges { node { id } } } }", {"n": 7}, 1 + 7 * 2),
        # A variable left out: its declared default, or (with none) the default page.
        ("query($n: Int = 30) { leads(first: $n) { edges { node { id } } } }", {}, 1 + 30 * 2),
        ("query($n: Int) { leads(first: $n) { edges { node { id } } } }", {}, 1 + 20 * 2),
        ("{ leads(first: 10) { pageInfo { hasNextPage } } }", {}, 2),  # pageInfo is not per item
        ("{ leads(first: 10) { ...L } } fragment L on LeadConnection { edges { node { id } } }", {}, 21),
        ('{ nodes(ids: ["a", "b", "c"]) { id } }', {}, 3),
        (
            "{ leads(first: 10) { edges { node { assignee { leads(first: 5) { edges { node { id } } } } } } } }",
            {},
            1 + 10 * (1 + 1 + 1 + (1 + 5 * 2)),
        ),
        ('mutation { createApiToken(input: {name: "x"}) { token apiToken { id } } }', {}, 1 + 1 + 10),
    ],
)
async def test_cost_model(db, query, variables, expected):
    c, _, _ = await _token_client()
    body = await c.post(query, variables)
    assert body["extensions"]["cost"]["requestedQueryCost"] == expected, body


async def test_a_query_over_the_maximum_is_refused_before_it_runs(db):
    c, owner, _ = await _token_client({"LEADWIRE_QUERY_COST_MAX": "10", "LEADWIRE_QUERY_BUDGET": "100"})
    body = await c.post('mutation { createApiToken(input: {name: "costly"}) { token apiToken { id } } }')
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 12, "maximum": 10}
    assert "costs 12 points, over the maximum of 10" in error["message"]
    assert not await ApiToken.filter(name="costly").exists()  # it never ran
    body = await c.post(
        "{ leads(first: 100) { edges { node { assignee { leads(first: 100) { edges { node { id } } } } } } } }"
    )
    assert body["errors"][0]["extensions"]["cost"] == 1 + 100 * (3 + 1 + 100 * 2)


@pytest.mark.parametrize("first", [0, 101, 1_000_000_000, -5])
async def test_a_page_size_out_of_range_names_the_argument(db, first):
    c, _, _ = await _token_client()
    body = await c.post("query($n: Int) { users(first: $n) { edges { node { id } } } }", {"n": first})
    error = body["errors"][0]
    assert body["data"] is None
    assert error["message"] == f"`first` must be between 1 and 100, got {first}."
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}


async def test_the_budget_is_shared_by_processes_and_throttles_with_a_clear_error(db):
    """Two app instances (two API processes) charge one bucket: 700 points
    restored at 1 a second; the fifth 151-point query from either is throttled."""
    env = {"LEADWIRE_QUERY_COST_MAX": "500", "LEADWIRE_QUERY_BUDGET": "700", "LEADWIRE_QUERY_BUDGET_RESTORE_RATE": "1"}
    first, owner, clear = await _token_client(env)
    second = _client(env)
    second.bearer = clear
    seen = []
    for n in range(4):
        body = await (first if n % 2 else second).post(EXAMPLE)
        assert "errors" not in body, body
        seen.append(body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"])
    assert seen[-1] <= 700 - 4 * 151 + 5 and seen == sorted(seen, reverse=True)
    body = await first.post(EXAMPLE)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "THROTTLED" and error["extensions"]["cost"] == 151
    assert "retry in" in error["message"] and error["extensions"]["retryAfterSeconds"] >= 1
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 151
    # Another user has a bucket of their own.
    other, _, _ = await _token_client(env)
    assert "errors" not in await other.post(EXAMPLE)
    assert await QueryBudget.filter(key=f"m:{owner.membership_id}").count() == 1


async def test_concurrent_first_requests_of_a_client_are_all_charged(db):
    """A new client's first requests at once: one inserts the bucket, the others
    (whose update found no row yet) charge it instead of being refused."""
    import asyncio

    kw = {"capacity": 1000, "restore_rate": 1.0}
    results = await asyncio.gather(*[budget.charge("burst", 10, at=5000.0, **kw) for _ in range(20)])
    assert all(r.allowed for r in results), results
    assert (await QueryBudget.get(key="burst")).full_at == pytest.approx(5000.0 + 20 * 10)
    assert min(r.remaining for r in results) == 1000 - 20 * 10


async def test_bucket_refills_over_time(db):
    """core.budget with explicit clock values (no sleeping)."""
    kw = {"capacity": 100, "restore_rate": 10.0}
    assert (await budget.charge("k", 60, at=1000.0, **kw)).remaining == 40
    refused = await budget.charge("k", 60, at=1000.0, **kw)
    assert not refused.allowed and refused.remaining == 40 and refused.retry_after == pytest.approx(2.0)
    later = await budget.charge("k", 60, at=1002.0, **kw)  # 20 points back
    assert later.allowed and later.remaining == 0
    assert (await budget.charge("k", 100, at=1100.0, **kw)).remaining == 0  # long idle: full, never above
    assert not (await budget.charge("k", 1, at=1100.0, **kw)).allowed


def test_budget_must_hold_one_maximal_query():
    with pytest.raises(ConfigError, match="LEADWIRE_QUERY_BUDGET"):
        load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET, "LEADWIRE_QUERY_BUDGET": "500"})


def test_every_admin_ui_operation_fits_the_maximum_at_the_largest_page():
    """The UI's own operations (from its generated client) stay under the
    per-query maximum even with every page at the largest size."""
    import json
    import re
    from pathlib import Path

    from graphql import parse

    from leadwire.schema.cost import operation_cost
    from leadwire.schema.schema import build_schema

    schema = build_schema()._schema
    source = (Path(__file__).parent.parent / "admin_ui" / "src" / "gql" / "gql.ts").read_text()
    documents = {
        json.loads(f'"{m}"')
        for m in re.findall(r'^\s*"(\\n\s*(?:query|mutation|subscription)(?:[^"\\]|\\.)*)": ', source, re.M)
    }
    assert len(documents) > 20
    costs = {" ".join(d.split())[:60]: operation_cost(schema, parse(d), None, {"first": 100}, max_page_size=100)
             for d in documents}
    assert max(costs.values()) <= 1000, sorted(costs.items(), key=lambda kv: kv[1])[-3:]
