"""Schemathesis fuzzing of the GraphQL API: every query and mutation of the
committed schema, with arguments generated from their types (unicode, empty
strings, huge and negative numbers, malformed ids, nulls where allowed),
sent to the real ASGI app as a partner account's owner (API token) and as a
lead-source key. Not one answer may be a server error (5xx) or a masked
unexpected exception ("Unexpected error."): every bad input must end in a
clear error.

``LEADWIRE_FUZZ_EXAMPLES`` (default 6) sets the examples per operation and
principal; the default run sends about 1,300 requests (under a minute on the
2-core CI machine). A deeper local run: ``LEADWIRE_FUZZ_EXAMPLES=50``.
"""

from __future__ import annotations

import os
from pathlib import Path

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from leadwire.core import auth

from factories import PASSWORD  # noqa: F401
from test_graphql_marketplace import funded_partner, world  # noqa: F401  (fixture)

def _json_object(d: dict) -> graphql.ObjectValueNode:
    return graphql.ObjectValueNode(fields=tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=graphql.StringValueNode(value=v)) for k, v in d.items()
    ))


# The JSON scalar (campaign channels, import mappings, registration values): text, numbers and small objects.
schemathesis.graphql.scalar("JSON", st.one_of(
    st.text(max_size=30).map(schemathesis.graphql.nodes.String),
    st.integers(min_value=-(2**40), max_value=2**40).map(schemathesis.graphql.nodes.Int),
    st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(max_size=20), max_size=4).map(_json_object),
))

EXAMPLES = int(os.environ.get("LEADWIRE_FUZZ_EXAMPLES", "6"))
SCHEMA_FILE = Path(__file__).parent.parent / "schema" / "schema.graphql"
# Operations that would end the principal's access for the rest of the run.
SKIPPED = {"Mutation.closeAccount", "Mutation.signOut", "Mutation.transferOwnership"}


def generated_cases() -> list[tuple[str, str]]:
    """(operation, GraphQL document) pairs, the same on every run (derandomised)."""
    schema = schemathesis.graphql.from_path(SCHEMA_FILE)
    out: list[tuple[str, str]] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED or operation.label.startswith("Subscription."):
            continue
        seen: list[str] = []

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(operation.as_strategy())
        def collect(case):
            seen.append(case.body)

        collect()
        out.extend((operation.label, body) for body in dict.fromkeys(seen))
    # Queries first: a mutation may change what later queries see.
    return sorted(out, key=lambda pair: not pair[0].startswith("Query."))


@pytest.fixture(scope="module")
def cases():
    return generated_cases()


async def _send_all(client, cases) -> tuple[int, list]:
    failures = []
    for label, document in cases:
        response = await client.http.post("/graphql", json={"query": document}, headers={
            "content-type": "application/json", "authorization": f"Bearer {client.bearer}"})
        if response.status_code >= 500:
            failures.append((label, response.status_code, document[:300]))
            continue
        try:
            body = response.json()
        except ValueError:
            failures.append((label, "not JSON", response.text[:200]))
            continue
        for error in body.get("errors") or []:
            if error.get("message") == "Unexpected error.":
                failures.append((label, "unexpected error", document[:400]))
                break
    return len(cases), failures


async def test_fuzz_as_a_partner_and_as_a_lead_source(world, client_factory, cases, caplog):
    partner = await funded_partner(client_factory, "Fuzzed Movers")
    viewer_token = await partner.data('mutation { createApiToken(input: {name: "fuzz"}) { token } }')
    fuzzer = await client_factory()
    fuzzer.bearer = viewer_token["createApiToken"]["token"]
    sent, failures = await _send_all(fuzzer, cases)
    source_sent, source_failures = await _send_all(world["source"], cases)
    assert failures + source_failures == [], "\n".join(map(str, (failures + source_failures)[:20]))
    assert sent == source_sent == len(cases) and len(cases) >= 100 * min(EXAMPLES, 2)
