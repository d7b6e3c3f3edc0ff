"""Authentication hardening, over real requests to the ASGI app: sign-in limits
per e-mail and per network (database-backed), credentials hashed at rest, CSRF
(token and Origin / Sec-Fetch-Site), and no secret or personal data in logs or
error messages."""

import logging

import httpx
import pytest
from tortoise import connections

from leadwire.app import create_app
from leadwire.core import access, auth, logsafety
from leadwire.core.models.identity import AccountKind
from leadwire.core.settings import load_settings

from conftest import TEST_SECRET, GraphQLClient
from factories import PASSWORD, make_account

SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { userErrors { code message } viewer { user { id } } } }"""


def _client(env: dict, ip: str) -> GraphQLClient:
    settings = load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET, "LEADWIRE_ENV": "test", **env})
    app = create_app(settings, manage_database=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5000)), base_url="http://testserver")
    return GraphQLClient(http)


async def _sign_in(c: GraphQLClient, email: str, password: str) -> dict:
    return (await c.data(SIGN_IN, {"input": {"email": email, "password": password}}))["signIn"]


LIMITS = {
    "LEADWIRE_LOGIN_MAX_FAILURES": "50",
    "LEADWIRE_LOGIN_MAX_FAILURES_PER_EMAIL": "4",
    "LEADWIRE_LOGIN_MAX_FAILURES_PER_IP": "3",
}


async def test_password_spraying_from_one_network_is_limited_per_ip(db):
    _, victim = await make_account()
    attacker = _client(LIMITS, "198.51.100.1")
    for n in range(3):  # three different accounts, one wrong password each
        payload = await _sign_in(attacker, f"someone{n}@example.com", "guess")
        assert payload["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    payload = await _sign_in(attacker, victim.email, PASSWORD)  # even the right password
    assert payload["userErrors"][0]["code"] == "RATE_LIMITED"
    assert "from your network" in payload["userErrors"][0]["message"]
    assert payload["viewer"] is None
    elsewhere = _client(LIMITS, "198.51.100.2")
    assert (await _sign_in(elsewhere, victim.email, PASSWORD))["userErrors"] == []


async def test_guessing_one_account_from_many_networks_is_limited_per_email(db):
    _, victim = await make_account()
    for n in range(4):
        payload = await _sign_in(_client(LIMITS, f"198.51.100.{10 + n}"), victim.email, f"guess {n}")
        assert payload["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    payload = await _sign_in(_client(LIMITS, "198.51.100.99"), victim.email.upper(), PASSWORD)
    assert payload["userErrors"][0]["code"] == "RATE_LIMITED"
    assert "for this e-mail" in payload["userErrors"][0]["message"]
    other_account_ok = await _sign_in(_client(LIMITS, "198.51.100.99"), (await make_account())[1].email, PASSWORD)
    assert other_account_ok["userErrors"] == []


async def test_every_credential_is_stored_hashed(db):
    """Session cookies, personal API tokens and lead-source keys: the clear value
    is in no column of any table, its SHA-256 is."""
    _, operator = await make_account(kind=AccountKind.OPERATOR)
    c = _client({}, "198.51.100.20")
    await c.sign_in(operator.email, PASSWORD)
    session = c.http.cookies.get("lw_session")
    created = await c.data('mutation { createApiToken(input: {name: "ci"}) { token } }')
    token = created["createApiToken"]["token"]
    source = await auth.create_lead_source(operator, name="Web")
    _, key = await auth.create_lead_source_key(operator, source.id)
    conn = connections.get("default")
    dump = []
    for table in ("session", "api_token", "lead_source_key"):
        rows = await conn.execute_query_dict(f'SELECT * FROM "{table}"')
        dump.append(repr(rows))
    dump = "\n".join(dump)
    for clear in (session, token, key):
        assert clear and clear not in dump
        assert clear[:12] + "x" not in dump  # at most the shown prefix
        assert auth.token_hash(clear) in dump


@pytest.fixture
async def browser(db):
    _, owner = await make_account()
    c = _client({"LEADWIRE_ALLOWED_ORIGINS": "https://app.example.com"}, "198.51.100.30")
    await c.sign_in(owner.email, PASSWORD)
    return c


MUTATION = 'mutation { createApiToken(input: {name: "x"}) { token userErrors { code message } } }'


async def test_cross_site_cookie_mutations_are_refused_even_with_the_csrf_token(browser):
    for headers, why in (
        ({"origin": "https://evil.example"}, "Origin"),
        ({"origin": "null"}, "Origin"),
        ({"sec-fetch-site": "cross-site"}, "Cross-site"),
        ({"origin": "http://testserver", "sec-fetch-site": "cross-site"}, "Cross-site"),
    ):
        body = await browser.post(MUTATION, headers=headers)
        payload = body["data"]["createApiToken"]
        assert payload["token"] is None and payload["userErrors"][0]["code"] == "UNAUTHENTICATED", headers
        assert why in payload["userErrors"][0]["message"]
    assert await access_token_count(browser) == 0


async def access_token_count(c: GraphQLClient) -> int:
    return len((await c.data("{ apiTokens { id } }"))["apiTokens"])


async def test_same_origin_and_allowed_origins_may_mutate(browser):
    for headers in (
        {"origin": "http://testserver", "sec-fetch-site": "same-origin"},
        {"origin": "https://app.example.com", "sec-fetch-site": "same-site"},
        {},  # a non-browser client: no Origin, the CSRF header is enough
    ):
        body = await browser.post(MUTATION, headers=headers)
        assert body["data"]["createApiToken"]["token"], headers
    browser.csrf = None
    body = await browser.post(MUTATION, headers={"origin": "http://testserver"})
    assert body["data"]["createApiToken"]["userErrors"][0]["code"] == "UNAUTHENTICATED"


async def test_bearer_tokens_are_not_subject_to_origin_checks(db):
    """No ambient credential, nothing to forge: an API token works from any origin."""
    _, owner = await make_account()
    _, clear = await auth.create_api_token(owner, name="ci")
    c = _client({}, "198.51.100.40")
    c.bearer = clear
    body = await c.post(MUTATION, headers={"origin": "https://elsewhere.example", "sec-fetch-site": "cross-site"})
    assert body["data"]["createApiToken"]["token"]


async def test_refused_credentials_are_not_echoed(db):
    c = _client({}, "198.51.100.50")
    secret = "lw_pat_" + "A" * 43
    c.bearer = secret
    body = await c.post("{ viewer { user { id } } }")
    assert secret not in str(body) and "AAAA" not in str(body)
    c.bearer = None
    wrong = await _sign_in(c, "pat@example.com", "my secret password 123")
    assert "my secret password" not in str(wrong)


async def test_logs_mask_secrets_and_personal_data(db, monkeypatch, caplog):
    """An unexpected error carrying an e-mail, a phone, a token and a database
    password is logged (with its traceback) masked, and answered masked."""
    _, owner = await make_account()
    _, clear = await auth.create_api_token(owner, name="ci")

    def explode(viewer):
        raise RuntimeError(f"lead jane.roe@example.com +13135550199 via {clear} postgres://lw:hunter2@db/lw")

    from leadwire.schema.leads import queries

    monkeypatch.setattr(queries.access, "visible_leads", explode)
    c = _client({}, "198.51.100.60")
    c.bearer = clear
    with caplog.at_level(logging.DEBUG):
        body = await c.post("{ leads(first: 5) { totalCount } }")
    assert body["errors"][0]["message"] == "Unexpected error."
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "RuntimeError" in text  # it was logged...
    for leaked in ("jane.roe@", "5550199", clear[8:], "hunter2"):  # ...masked
        assert leaked not in text, leaked
    assert "j***@example.com" in text and "+1***99" in text


def test_mask_keeps_ordinary_text():
    line = "delivered lead 1234 to campaign 56 at 2026-11-25T14:09:03Z in 12.5 ms (HTTP 200)"
    assert logsafety.mask(line) == line
    assert logsafety.mask("api_key=sk_live_123 token: abc Authorization: Bearer xyz.abc.def") == (
        "api_key=*** token: *** Authorization: *** ***"
    )
