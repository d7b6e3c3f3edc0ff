"""The API guide's examples work: every GraphQL snippet validates against the
schema, the curl requests' queries validate too, and the Python client runs
against a real server."""

import asyncio
import json
import re
from pathlib import Path

from graphql import parse, validate

from leadwire.core import auth

from factories import make_account, make_lead, make_user, viewer_for
from leadwire.schema.schema import build_schema

API_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", API_DOC.read_text(), re.S)


def _assert_valid(query: str) -> None:
    errors = validate(build_schema()._schema, parse(query))
    assert not errors, (query, errors)


def test_graphql_snippets_validate():
    blocks = _blocks("graphql")
    assert len(blocks) >= 3
    for block in blocks:
        _assert_valid(block)


def test_curl_queries_validate():
    queries = []
    for block in _blocks("sh"):
        for payload in re.findall(r"-d '(.*?)'", block, re.S):
            queries.append(json.loads(payload)["query"])
    assert len(queries) == 3
    for q in queries:
        _assert_valid(q)


async def test_python_client_pages_through_every_visible_lead(live_server):
    account, owner = await make_account()
    rep = await make_user(owner)
    mine = {(await make_lead(account.id, rep)).id for _ in range(130)}
    await make_lead(account.id, None)  # not the rep's: must not appear
    _, token = await auth.create_api_token(await viewer_for(rep), name="docs")
    namespace: dict = {}
    exec(_blocks("python")[0], namespace)
    leads = await asyncio.to_thread(lambda: list(namespace["all_leads"](f"http://{live_server}", token)))
    from leadwire.schema.relay import parse_global_id

    assert {int(parse_global_id(n["id"]).node_id) for n in leads} == mine


def test_the_documented_webhook_verifier_accepts_our_signature_and_nothing_else():
    """docs/plugins.md tells receivers how to verify; that code must agree with the sender."""
    import time

    from leadwire.integrations import signed_webhook

    doc = (API_DOC.parent / "plugins.md").read_text()
    [snippet] = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verify(secret: str" in b]
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - our own documentation
    verify = scope["verify"]
    body = b'{"event":"lead.sold"}'
    now = int(time.time())
    header = signed_webhook.signature_header(["old-secret-123456", "new-secret-123456"], now, body)
    assert verify("new-secret-123456", header, body) and verify("old-secret-123456", header, body)
    assert not verify("wrong-secret-1234", header, body)
    assert not verify("new-secret-123456", header, body + b" ")
    assert not verify("new-secret-123456", signed_webhook.signature_header("new-secret-123456", now - 600, body), body)
