"""integrations/stripe_api.py against a fake Stripe over real HTTP.

The fake is a small starlette app on a real loopback uvicorn (tests/loopback.py)
that behaves like Stripe where the client depends on it: bearer-key auth,
form bodies in bracket notation, idempotency keys (the first response stored
and replayed for the same key and parameters, 400 idempotency_error for other
parameters, 409 while the first request is still in flight, validation errors
not stored), Stripe's test payment methods (pm_card_visa,
pm_card_chargeDeclined, ...), partial refunds up to the charged amount, and
injectable faults (500, 429, non-JSON bodies, a slow handler)."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadwire.integrations.stripe_api import (
    CardDeclined,
    ChargeResult,
    ChargeStatus,
    SetupIntent,
    StripeAuthError,
    StripeClient,
    StripeConflict,
    StripeError,
    StripeIdempotencyError,
    StripeInvalidRequest,
    StripeMalformedResponse,
    StripeRateLimited,
    StripeUnavailable,
    encode_form,
    form_pairs,
)

from loopback import free_port, serve_asgi

API_KEY = "sk_test_51LeadwireFakeKey0123456789abcdefGHIJKLmnop"
PUBLISHABLE_KEY = "pk_test_51LeadwireFakePublishable"
STRIPE_VERSION = "2024-06-20"

# Stripe's test PaymentMethods (https://docs.stripe.com/testing), by id:
# (brand, last4, outcome). pm_fake_processing is this fake's own (no Stripe
# test card stays in "processing"), to exercise that status.
TEST_CARDS: dict[str, tuple[str, str, str]] = {
    "pm_card_visa": ("visa", "4242", "succeeds"),
    "pm_card_mastercard": ("mastercard", "4444", "succeeds"),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_authenticationRequired": ("visa", "3184", "authentication_required"),
    "pm_fake_processing": ("visa", "4242", "processing"),
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


# ---------------------------------------------------------------------------
# The fake Stripe
# ---------------------------------------------------------------------------


def parse_bracket_form(text: str) -> dict[str, Any]:
    """``a[b][c]=1&l[]=x&o[0][k]=v`` -> ``{"a": {"b": {"c": "1"}}, "l": ["x"], "o": [{"k": "v"}]}``."""
    root: dict[str, Any] = {}

    def child(next_key: str):
        return [] if next_key == "" or next_key.isdigit() else {}

    def insert(container, keys: list[str], value: str) -> None:
        key, rest = keys[0], keys[1:]
        if isinstance(container, list):
            if key == "":
                if not rest:
                    container.append(value)
                    return
                container.append(child(rest[0]))
                insert(container[-1], rest, value)
                return
            index = int(key)
            while len(container) <= index:
                container.append(None)
            if not rest:
                container[index] = value
                return
            if container[index] is None:
                container[index] = child(rest[0])
            insert(container[index], rest, value)
            return
        if not rest:
            if key in container:
                raise ValueError(f"duplicate parameter {key}")
            container[key] = value
            return
        if key not in container:
            container[key] = child(rest[0])
        insert(container[key], rest, value)

    for name, value in parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)):
        m = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", name)
        if not m:
            raise ValueError(f"malformed parameter name {name!r}")
        insert(root, [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))], value)
    return root


class FakeError(Exception):
    def __init__(self, status: int, error: dict, *, stored: bool = False, headers: dict | None = None):
        self.status, self.error, self.stored, self.headers = status, error, stored, headers or {}


def invalid(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> FakeError:
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return FakeError(status, error)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]


@dataclass
class _Stored:
    method: str
    path: str
    params: dict[str, Any]
    in_flight: bool = True
    status: int = 0
    body: Any = None


@dataclass
class FakeStripe:
    requests: list[Seen] = field(default_factory=list)
    customers: dict[str, dict] = field(default_factory=dict)
    setup_intents: dict[str, dict] = field(default_factory=dict)
    payment_methods: dict[str, dict] = field(default_factory=dict)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    charges: list[tuple[str, int]] = field(default_factory=list)  # (payment intent, amount) of money taken
    attempts: int = 0  # PaymentIntent confirmations executed (charges and declines)
    idempotency: dict[tuple[str, str], _Stored] = field(default_factory=dict)
    faults: list[Response] = field(default_factory=list)  # served, in order, before anything else
    hold: asyncio.Event | None = None  # when set up, PaymentIntent creation waits for it after charging
    held: asyncio.Event = field(default_factory=asyncio.Event)  # a held request has charged and is waiting
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # a held request has finished

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/{path:path}", self.dispatch, methods=["GET", "POST"])])
        self.routes = [
            ("POST", r"/v1/customers", self.create_customer),
            ("POST", r"/v1/setup_intents", self.create_setup_intent),
            ("POST", r"/v1/setup_intents/(?P<id>[^/]+)/confirm", self.confirm_setup_intent),
            ("GET", r"/v1/setup_intents/(?P<id>[^/]+)", self.get_setup_intent),
            ("GET", r"/v1/payment_methods/(?P<id>[^/]+)", self.get_payment_method),
            ("POST", r"/v1/payment_methods/(?P<id>[^/]+)/detach", self.detach_payment_method),
            ("POST", r"/v1/payment_intents", self.create_payment_intent),
            ("POST", r"/v1/refunds", self.create_refund),
        ]

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}{secrets.token_hex(6)}"

    @property
    def posts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]

    # -- HTTP --------------------------------------------------------------

    def respond(self, status: int, body: Any, headers: dict | None = None) -> Response:
        return JSONResponse(body, status_code=status, headers={"Request-Id": self.new_id("req"), **(headers or {})})

    async def dispatch(self, request: Request) -> Response:
        raw = (await request.body()).decode() if request.method == "POST" else request.url.query
        try:
            params = parse_bracket_form(raw)
        except ValueError as exc:
            return self.respond(400, {"error": {"type": "invalid_request_error", "message": str(exc)}})
        path = "/" + request.path_params["path"]
        self.requests.append(Seen(request.method, path, dict(request.headers), params))
        if self.faults:
            fault = self.faults.pop(0)
            return fault

        auth = request.headers.get("authorization", "")
        presented = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        publishable = presented == PUBLISHABLE_KEY and path.endswith("/confirm")
        if presented != API_KEY and not publishable:
            # Stripe masks all but the last 4 characters; this fake echoes the key
            # whole, so that the client's own scrubbing is what is tested.
            return self.respond(
                401, {"error": {"type": "invalid_request_error", "message": f"Invalid API Key provided: {presented}"}}
            )

        for method, pattern, handler in self.routes:
            m = re.fullmatch(pattern, path)
            if m and method == request.method:
                break
        else:
            return self.respond(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({request.method}: {path})."}})

        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        if key is None:
            return await self.execute(handler, params, presented, **m.groupdict())
        scope = (presented, key)
        stored = self.idempotency.get(scope)
        if stored is not None:
            if (stored.method, stored.path, stored.params) != (request.method, path, params):
                return self.respond(400, {"error": {
                    "type": "idempotency_error",
                    "message": f"Keys for idempotent requests can only be used with the same parameters they were first"
                               f" used with. Try using a key other than '{key}' if you meant to execute a different request.",
                }})
            if stored.in_flight:
                return self.respond(409, {"error": {
                    "type": "invalid_request_error", "code": "idempotency_key_in_use",
                    "message": "There is currently another in-progress request using this Stripe-Idempotency-Key.",
                }}, {"Stripe-Should-Retry": "true"})
            return self.respond(stored.status, stored.body, {"Idempotent-Replayed": "true", "Idempotency-Key": key})
        stored = self.idempotency[scope] = _Stored(request.method, path, params)
        keep = False
        try:
            status, body, keep = await self.run(handler, params, presented, **m.groupdict())
            stored.status, stored.body = status, body
            return self.respond(status, body, {"Idempotency-Key": key})
        finally:
            stored.in_flight = False
            if not keep:  # validation errors are not stored: the key may be used again
                del self.idempotency[scope]

    async def execute(self, handler, params, presented, **path) -> Response:
        status, body, _ = await self.run(handler, params, presented, **path)
        return self.respond(status, body)

    async def run(self, handler, params, presented, **path) -> tuple[int, Any, bool]:
        try:
            return 200, await handler(params, presented=presented, **path), True
        except FakeError as exc:
            return exc.status, {"error": exc.error}, exc.stored

    # -- resources ---------------------------------------------------------

    @staticmethod
    def only(params: dict, *allowed: str) -> None:
        for name in params:
            if name not in allowed:
                raise invalid(f"Received unknown parameter: {name}", param=name)

    def need_secret_key(self, presented: str) -> None:
        if presented != API_KEY:
            raise FakeError(401, {"type": "invalid_request_error", "message": "This API call cannot be made with a publishable API key."})

    async def create_customer(self, params, *, presented):
        self.need_secret_key(presented)
        self.only(params, "email", "name", "metadata", "description")
        cid = self.new_id("cus")
        self.customers[cid] = {"id": cid, "object": "customer", "email": params.get("email"),
                               "name": params.get("name"), "metadata": params.get("metadata", {})}
        return self.customers[cid]

    def customer(self, params) -> str:
        cid = params.get("customer")
        if cid not in self.customers:
            raise invalid(f"No such customer: '{cid}'", param="customer", code="resource_missing")
        return cid

    async def create_setup_intent(self, params, *, presented):
        self.need_secret_key(presented)
        self.only(params, "customer", "usage", "payment_method_types", "metadata")
        cid = self.customer(params)
        if params.get("usage") not in ("off_session", "on_session"):
            raise invalid("Invalid usage", param="usage")
        if params.get("payment_method_types") != ["card"]:
            raise invalid("Invalid array", param="payment_method_types")
        sid = self.new_id("seti")
        self.setup_intents[sid] = {
            "id": sid, "object": "setup_intent", "customer": cid, "usage": params["usage"],
            "status": "requires_payment_method", "payment_method": None,
            "payment_method_types": params["payment_method_types"], "metadata": params.get("metadata", {}),
            "client_secret": f"{sid}_secret_{secrets.token_hex(12)}",
        }
        return self.setup_intents[sid]

    async def confirm_setup_intent(self, params, *, presented, id):
        """What Stripe.js does in the browser with the client secret."""
        intent = self.setup_intents.get(id)
        if intent is None:
            raise invalid(f"No such setupintent: '{id}'", param="intent", code="resource_missing", status=404)
        if presented == PUBLISHABLE_KEY and params.get("client_secret") != intent["client_secret"]:
            raise invalid("The client_secret provided does not match this SetupIntent.", param="client_secret")
        fixture = params.get("payment_method")
        if fixture not in TEST_CARDS:
            raise invalid(f"No such PaymentMethod: '{fixture}'", param="payment_method", code="resource_missing")
        brand, last4, _ = TEST_CARDS[fixture]
        pid = self.new_id("pm")
        self.payment_methods[pid] = {
            "id": pid, "object": "payment_method", "type": "card", "customer": intent["customer"],
            "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "funding": "credit"},
            "fixture": fixture,
        }
        intent.update(status="succeeded", payment_method=pid)
        return intent

    async def get_setup_intent(self, params, *, presented, id):
        intent = self.setup_intents.get(id)
        if intent is None:
            raise invalid(f"No such setupintent: '{id}'", param="intent", code="resource_missing", status=404)
        out = dict(intent)
        if "payment_method" in params.get("expand", []) and intent["payment_method"]:
            out["payment_method"] = self.public_pm(intent["payment_method"])
        return out

    def public_pm(self, pid: str) -> dict:
        return {k: v for k, v in self.payment_methods[pid].items() if k != "fixture"}

    async def get_payment_method(self, params, *, presented, id):
        if id not in self.payment_methods:
            raise invalid(f"No such PaymentMethod: '{id}'", param="payment_method", code="resource_missing", status=404)
        return self.public_pm(id)

    async def detach_payment_method(self, params, *, presented, id):
        self.only(params)
        pm = self.payment_methods.get(id)
        if pm is None:
            raise invalid(f"No such PaymentMethod: '{id}'", param="payment_method", code="resource_missing", status=404)
        if pm["customer"] is None:
            raise invalid("The payment method you provided is not attached to a customer so detachment is impossible.",
                          code="payment_method_unexpected_state")
        pm["customer"] = None
        return self.public_pm(id)

    async def create_payment_intent(self, params, *, presented):
        self.only(params, "amount", "currency", "customer", "payment_method", "off_session", "confirm",
                  "description", "metadata")
        amount = params.get("amount", "")
        if not re.fullmatch(r"[0-9]+", amount):
            raise invalid(f"Invalid integer: {amount}", param="amount")
        if int(amount) < 50:
            raise invalid("Amount must be at least $0.50 usd", param="amount", code="amount_too_small")
        if not re.fullmatch(r"[a-z]{3}", params.get("currency", "")):
            raise invalid(f"Invalid currency: {params.get('currency')}", param="currency")
        cid = self.customer(params)
        if params.get("off_session") != "true" or params.get("confirm") != "true":
            raise invalid("This fake only charges off-session with confirm=true.", param="confirm")
        pm = params.get("payment_method")
        if pm in TEST_CARDS:
            fixture = pm
        elif pm in self.payment_methods:
            if self.payment_methods[pm]["customer"] != cid:
                raise invalid("The provided PaymentMethod does not belong to the Customer.", param="payment_method")
            fixture = self.payment_methods[pm]["fixture"]
        else:
            raise invalid(f"No such PaymentMethod: '{pm}'", param="payment_method", code="resource_missing")

        self.attempts += 1
        pid = self.new_id("pi")
        intent = self.payment_intents[pid] = {
            "id": pid, "object": "payment_intent", "amount": int(amount), "currency": params["currency"],
            "customer": cid, "payment_method": pm, "description": params.get("description"),
            "metadata": params.get("metadata", {}), "client_secret": f"{pid}_secret_{secrets.token_hex(12)}",
            "status": "requires_payment_method", "latest_charge": None, "amount_refunded": 0,
        }
        outcome = TEST_CARDS[fixture][2]
        if outcome in DECLINE_MESSAGES:
            error = {"type": "card_error", "code": "card_declined", "decline_code": outcome,
                     "message": DECLINE_MESSAGES[outcome], "charge": self.new_id("ch")}
            intent["last_payment_error"] = error
            raise FakeError(402, {**error, "payment_intent": intent, "payment_method": {"id": pm}}, stored=True)
        if outcome == "authentication_required":
            # What Stripe does off-session: a 402 whose PaymentIntent awaits a new
            # payment method, or on-session authentication with its client secret.
            error = {"type": "card_error", "code": "authentication_required",
                     "decline_code": "authentication_required",
                     "message": "Your card was declined. This transaction requires authentication."}
            intent["last_payment_error"] = error
            raise FakeError(402, {**error, "payment_intent": intent, "payment_method": {"id": pm}}, stored=True)
        if outcome == "processing":
            intent["status"] = "processing"
        else:
            intent.update(status="succeeded", latest_charge=self.new_id("ch"))
            self.charges.append((pid, int(amount)))
        if self.hold is not None:
            self.held.set()
            try:
                await asyncio.wait_for(self.hold.wait(), 10)
            finally:
                self.finished.set()
        return intent

    async def create_refund(self, params, *, presented):
        self.only(params, "payment_intent", "amount", "reason", "metadata")
        intent = self.payment_intents.get(params.get("payment_intent"))
        if intent is None:
            raise invalid(f"No such payment_intent: '{params.get('payment_intent')}'", param="payment_intent",
                          code="resource_missing")
        if intent["status"] != "succeeded":
            raise invalid("This PaymentIntent does not have a successful charge to refund.", param="payment_intent")
        amount = params.get("amount", "")
        if not re.fullmatch(r"[1-9][0-9]*", amount):
            raise invalid(f"Invalid positive integer: {amount}", param="amount")
        left = intent["amount"] - intent["amount_refunded"]
        if left == 0:
            raise invalid(f"Charge {intent['latest_charge']} has already been refunded.", code="charge_already_refunded")
        if int(amount) > left:
            raise invalid(f"Refund amount ({int(amount)}) is greater than unrefunded amount on charge ({left})",
                          param="amount")
        intent["amount_refunded"] += int(amount)
        rid = self.new_id("re")
        self.refunds[rid] = {"id": rid, "object": "refund", "amount": int(amount), "currency": intent["currency"],
                             "payment_intent": intent["id"], "status": "succeeded", "reason": params.get("reason")}
        return self.refunds[rid]


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


@dataclass
class Env:
    fake: FakeStripe
    address: str
    http: httpx.AsyncClient
    client: StripeClient

    def other_client(self, api_key: str = API_KEY, **kwargs) -> StripeClient:
        return StripeClient(self.http, api_key, base_url=f"http://{self.address}", **kwargs)

    async def saved_card(self, fixture: str = "pm_card_visa") -> tuple[str, str]:
        """A customer with a card saved through a SetupIntent, confirmed the way
        Stripe.js does it (publishable key + client secret)."""
        customer = await self.client.create_customer(email="ops@movers.example", name="Acme Movers")
        intent = await self.client.create_setup_intent(customer=customer.id)
        r = await self.http.post(
            f"http://{self.address}/v1/setup_intents/{intent.id}/confirm",
            data={"payment_method": fixture, "client_secret": intent.client_secret},
            headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
        )
        assert r.status_code == 200, r.text
        return customer.id, r.json()["payment_method"]


@pytest.fixture
async def stripe():
    fake = FakeStripe()
    async with serve_asgi(fake.app) as address, httpx.AsyncClient(timeout=5.0) as http:
        client = StripeClient(http, API_KEY, base_url=f"http://{address}", stripe_version=STRIPE_VERSION)
        yield Env(fake, address, http, client)


def assert_secret_free(exc: BaseException) -> None:
    texts = [str(exc), repr(exc), *map(str, exc.args), repr(vars(exc))]
    for text in texts:
        assert API_KEY not in text
        assert "_secret_" not in text
    # A transport exception (whose request carries the Authorization header) is not chained.
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__


async def raises(exc_type: type[StripeError], awaitable) -> StripeError:
    with pytest.raises(exc_type) as info:
        await awaitable
    assert_secret_free(info.value)
    return info.value


async def charge(client: StripeClient, customer: str, pm: str, key: str, amount: int = 1999) -> ChargeResult:
    return await client.charge_off_session(
        amount=amount, currency="USD", customer=customer, payment_method=pm, idempotency_key=key,
        description="Leads top-up", metadata={"account_id": 7, "reason": "auto_recharge"},
    )


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def test_form_encoding_uses_stripe_bracket_notation():
    params = {
        "customer": "cus_1",
        "metadata": {"account_id": 7, "note": "a&b=c [x]"},
        "payment_method_types": ["card"],
        "off_session": True,
        "confirm": False,
        "description": None,
        "items": [{"price": "p_1", "quantity": 2}],
    }
    assert form_pairs(params) == [
        ("customer", "cus_1"),
        ("metadata[account_id]", "7"),
        ("metadata[note]", "a&b=c [x]"),
        ("payment_method_types[]", "card"),
        ("off_session", "true"),
        ("confirm", "false"),
        ("items[0][price]", "p_1"),
        ("items[0][quantity]", "2"),
    ]
    body = encode_form(params)
    assert "metadata%5Baccount_id%5D=7" in body and "payment_method_types%5B%5D=card" in body
    assert parse_bracket_form(body) == {
        "customer": "cus_1",
        "metadata": {"account_id": "7", "note": "a&b=c [x]"},
        "payment_method_types": ["card"],
        "off_session": "true",
        "confirm": "false",
        "items": [{"price": "p_1", "quantity": "2"}],
    }
    with pytest.raises(TypeError):
        encode_form({"amount": 1.5})


# ---------------------------------------------------------------------------
# The happy path, end to end
# ---------------------------------------------------------------------------


async def test_save_a_card_charge_it_refund_and_detach(stripe: Env):
    fake, client = stripe.fake, stripe.client

    customer = await client.create_customer(email="ops@movers.example", name="Acme Movers", metadata={"account_id": 7})
    assert customer.id.startswith("cus_") and customer.email == "ops@movers.example" and customer.name == "Acme Movers"
    assert fake.customers[customer.id]["metadata"] == {"account_id": "7"}

    intent = await client.create_setup_intent(customer=customer.id, metadata={"account_id": 7})
    assert intent.id.startswith("seti_") and intent.status == "requires_payment_method"
    assert intent.client_secret == fake.setup_intents[intent.id]["client_secret"]
    assert intent.client_secret not in repr(intent)
    assert fake.posts[-1].params == {
        "customer": customer.id, "usage": "off_session", "payment_method_types": ["card"],
        "metadata": {"account_id": "7"},
    }

    # The browser (Stripe.js) confirms it with the card; Leadwire never sees the number.
    r = await stripe.http.post(
        f"http://{stripe.address}/v1/setup_intents/{intent.id}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": intent.client_secret},
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"},
    )
    assert r.status_code == 200, r.text

    confirmed = await client.retrieve_setup_intent(intent.id)
    assert confirmed.status == "succeeded" and confirmed.customer == customer.id
    pm_id = confirmed.payment_method_id
    assert pm_id and pm_id.startswith("pm_") and pm_id != "pm_card_visa"
    assert confirmed.card is not None
    assert (confirmed.card.brand, confirmed.card.last4, confirmed.card.exp_month, confirmed.card.exp_year) == (
        "visa", "4242", 12, 2034)
    assert fake.requests[-1].params == {"expand": ["payment_method"]}

    pm = await client.retrieve_payment_method(pm_id)
    assert (pm.id, pm.type, pm.customer, pm.card) == (pm_id, "card", customer.id, confirmed.card)

    result = await charge(client, customer.id, pm_id, "charge-1")
    assert isinstance(result, ChargeResult)
    assert result.status is ChargeStatus.SUCCEEDED and not result.replayed
    assert (result.amount, result.currency) == (1999, "usd")
    assert fake.charges == [(result.payment_intent_id, 1999)]
    assert fake.posts[-1].params == {
        "amount": "1999", "currency": "usd", "customer": customer.id, "payment_method": pm_id,
        "off_session": "true", "confirm": "true", "description": "Leads top-up",
        "metadata": {"account_id": "7", "reason": "auto_recharge"},
    }

    refund = await client.refund(payment_intent=result.payment_intent_id, amount=500, idempotency_key="refund-1",
                                 reason="requested_by_customer")
    assert refund.id.startswith("re_") and refund.status == "succeeded"
    assert (refund.amount, refund.currency, refund.payment_intent_id, refund.replayed) == (
        500, "usd", result.payment_intent_id, False)

    too_much = await raises(StripeInvalidRequest, client.refund(
        payment_intent=result.payment_intent_id, amount=1500, idempotency_key="refund-2"))
    assert too_much.param == "amount" and too_much.http_status == 400 and not too_much.retryable
    rest = await client.refund(payment_intent=result.payment_intent_id, amount=1499, idempotency_key="refund-3")
    assert rest.amount == 1499 and fake.payment_intents[result.payment_intent_id]["amount_refunded"] == 1999
    done = await raises(StripeInvalidRequest, client.refund(
        payment_intent=result.payment_intent_id, amount=1, idempotency_key="refund-4"))
    assert done.code == "charge_already_refunded"

    detached = await client.detach_payment_method(pm_id)
    assert detached.id == pm_id and detached.customer is None
    gone = await raises(StripeInvalidRequest, charge(client, customer.id, pm_id, "charge-2"))
    assert gone.param == "payment_method" and len(fake.charges) == 1

    # Every request carried the key and the pinned version; every POST an idempotency key.
    ours = [r for r in fake.requests if "/confirm" not in r.path]
    assert ours and all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in ours)
    assert all(r.headers["stripe-version"] == STRIPE_VERSION for r in ours)
    posts = [r for r in ours if r.method == "POST"]
    assert len(posts) == 9 and all(r.headers.get("idempotency-key") for r in posts)
    assert len({r.headers["idempotency-key"] for r in posts}) == len(posts)
    assert all(r.headers["content-type"] == "application/x-www-form-urlencoded" for r in posts)
    assert not any("idempotency-key" in r.headers for r in ours if r.method == "GET")


# ---------------------------------------------------------------------------
# Test cards
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "decline_code", "message"),
    [
        ("pm_card_chargeDeclined", "generic_decline", "Your card was declined."),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "Your card has insufficient funds."),
    ],
)
async def test_declined_test_cards_raise_card_declined(stripe: Env, fixture, decline_code, message):
    customer = await stripe.client.create_customer(email="a@b.example")
    exc = await raises(CardDeclined, charge(stripe.client, customer.id, fixture, f"decline-{fixture}"))
    assert (exc.http_status, exc.type, exc.code, exc.decline_code) == (402, "card_error", "card_declined", decline_code)
    assert exc.retryable is False
    assert message in str(exc) and exc.request_id and exc.request_id in str(exc)
    assert exc.payment_intent_id in stripe.fake.payment_intents
    assert stripe.fake.payment_intents[exc.payment_intent_id]["status"] == "requires_payment_method"
    assert exc.payment_method_id == fixture and exc.idempotency_key == f"decline-{fixture}"
    assert stripe.fake.charges == [] and stripe.fake.attempts == 1

    # Stripe stores the decline under the key: a retry replays it, no new attempt.
    again = await raises(CardDeclined, charge(stripe.client, customer.id, fixture, f"decline-{fixture}"))
    assert again.payment_intent_id == exc.payment_intent_id and stripe.fake.attempts == 1


async def test_authentication_required_card_is_requires_action(stripe: Env):
    customer = await stripe.client.create_customer(email="a@b.example")
    result = await charge(stripe.client, customer.id, "pm_card_authenticationRequired", "auth-1")
    assert result.status is ChargeStatus.REQUIRES_ACTION
    assert result.decline_code == "authentication_required"
    intent = stripe.fake.payment_intents[result.payment_intent_id]
    assert result.client_secret == intent["client_secret"] and result.client_secret not in repr(result)
    assert (result.amount, result.currency) == (1999, "usd")
    assert stripe.fake.charges == []

    replay = await charge(stripe.client, customer.id, "pm_card_authenticationRequired", "auth-1")
    assert replay.payment_intent_id == result.payment_intent_id and replay.replayed and stripe.fake.attempts == 1


async def test_saved_declining_card_and_processing_status(stripe: Env):
    customer, pm = await stripe.saved_card("pm_card_chargeDeclinedInsufficientFunds")
    exc = await raises(CardDeclined, charge(stripe.client, customer, pm, "saved-decline"))
    assert exc.decline_code == "insufficient_funds"

    result = await charge(stripe.client, customer, "pm_fake_processing", "processing-1")
    assert result.status is ChargeStatus.PROCESSING and stripe.fake.charges == []


# ---------------------------------------------------------------------------
# Idempotency
# ---------------------------------------------------------------------------


async def test_same_key_same_params_is_replayed_without_a_second_charge(stripe: Env):
    customer, pm = await stripe.saved_card()
    first = await charge(stripe.client, customer, pm, "topup-42")
    second = await charge(stripe.client, customer, pm, "topup-42")
    assert second.payment_intent_id == first.payment_intent_id
    assert (first.replayed, second.replayed) == (False, True)
    assert stripe.fake.charges == [(first.payment_intent_id, 1999)] and stripe.fake.attempts == 1

    third = await charge(stripe.client, customer, pm, "topup-43")
    assert third.payment_intent_id != first.payment_intent_id and len(stripe.fake.charges) == 2

    r1 = await stripe.client.refund(payment_intent=first.payment_intent_id, amount=100, idempotency_key="rf-1")
    r2 = await stripe.client.refund(payment_intent=first.payment_intent_id, amount=100, idempotency_key="rf-1")
    assert r1.id == r2.id and r2.replayed and len(stripe.fake.refunds) == 1


async def test_same_key_other_params_is_an_idempotency_error(stripe: Env):
    customer, pm = await stripe.saved_card()
    await charge(stripe.client, customer, pm, "topup-7", amount=1999)
    exc = await raises(StripeIdempotencyError, charge(stripe.client, customer, pm, "topup-7", amount=2999))
    assert (exc.http_status, exc.type, exc.retryable) == (400, "idempotency_error", False)
    assert "topup-7" in str(exc) and exc.idempotency_key == "topup-7"
    assert [amount for _, amount in stripe.fake.charges] == [1999]


async def test_validation_errors_are_not_stored_under_the_key(stripe: Env):
    exc = await raises(StripeInvalidRequest, charge(stripe.client, "cus_nobody", "pm_card_visa", "k-1"))
    assert (exc.http_status, exc.param, exc.code, exc.retryable) == (400, "customer", "resource_missing", False)
    customer = await stripe.client.create_customer(email="a@b.example")
    missing = await raises(StripeInvalidRequest, stripe.client.retrieve_payment_method("pm_nothing"))
    assert (missing.http_status, missing.code) == (404, "resource_missing")
    small = await raises(StripeInvalidRequest, charge(stripe.client, customer.id, "pm_card_visa", "k-2", amount=10))
    assert (small.param, small.code) == ("amount", "amount_too_small")
    # Same key, fixed parameters: Stripe saved nothing for the failed validation.
    ok = await charge(stripe.client, customer.id, "pm_card_visa", "k-2", amount=1000)
    assert ok.status is ChargeStatus.SUCCEEDED and not ok.replayed


async def test_concurrent_duplicate_gets_409_conflict(stripe: Env):
    customer, pm = await stripe.saved_card()
    stripe.fake.hold = asyncio.Event()
    first = asyncio.create_task(charge(stripe.client, customer, pm, "dup-1"))
    await asyncio.wait_for(stripe.fake.held.wait(), 5)
    exc = await raises(StripeConflict, charge(stripe.client, customer, pm, "dup-1"))
    assert (exc.http_status, exc.code, exc.retryable) == (409, "idempotency_key_in_use", True)
    stripe.fake.hold.set()
    result = await asyncio.wait_for(first, 5)
    assert result.status is ChargeStatus.SUCCEEDED and len(stripe.fake.charges) == 1


async def test_retry_after_a_timeout_with_the_same_key_charges_once(stripe: Env):
    customer, pm = await stripe.saved_card()
    impatient = stripe.other_client(timeout=0.2)
    stripe.fake.hold = asyncio.Event()  # the handler charges, then takes longer than 0.2 s to answer

    exc = await raises(StripeUnavailable, charge(impatient, customer, pm, "topup-timeout"))
    assert exc.retryable and exc.http_status is None and exc.idempotency_key == "topup-timeout"
    assert "same idempotency key" in str(exc)
    [(charged_intent, _)] = stripe.fake.charges  # the money WAS taken, though the client saw a timeout

    # Retried at once: the first request is still running at Stripe.
    busy = await raises(StripeConflict, charge(impatient, customer, pm, "topup-timeout"))
    assert busy.retryable

    stripe.fake.hold.set()
    await asyncio.wait_for(stripe.fake.finished.wait(), 5)
    retried = await charge(impatient, customer, pm, "topup-timeout")
    assert retried.status is ChargeStatus.SUCCEEDED and retried.replayed
    assert retried.payment_intent_id == charged_intent
    assert stripe.fake.charges == [(charged_intent, 1999)] and stripe.fake.attempts == 1


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------


async def test_connection_refused_is_retryable_unavailable():
    async with httpx.AsyncClient(timeout=2.0) as http:
        client = StripeClient(http, API_KEY, base_url=f"http://127.0.0.1:{free_port()}")
        exc = await raises(StripeUnavailable, client.charge_off_session(
            amount=500, currency="usd", customer="cus_1", payment_method="pm_card_visa", idempotency_key="k"))
        assert exc.retryable and exc.http_status is None and "ConnectError" in str(exc)
        assert exc.idempotency_key == "k"


async def test_server_error_is_retryable_and_the_retry_charges_once(stripe: Env):
    customer, pm = await stripe.saved_card()
    stripe.fake.faults.append(JSONResponse(
        {"error": {"type": "api_error", "message": "An unknown error occurred"}}, status_code=500,
        headers={"Request-Id": "req_boom"}))
    exc = await raises(StripeUnavailable, charge(stripe.client, customer, pm, "topup-500"))
    assert (exc.http_status, exc.type, exc.request_id, exc.retryable) == (500, "api_error", "req_boom", True)
    assert stripe.fake.charges == []
    result = await charge(stripe.client, customer, pm, "topup-500")
    assert result.status is ChargeStatus.SUCCEEDED and len(stripe.fake.charges) == 1


@pytest.mark.parametrize(
    ("status", "error", "header", "exc_type", "retryable"),
    [
        (500, {"type": "api_error", "message": "Something went wrong"}, "false", StripeUnavailable, False),
        (400, {"type": "invalid_request_error", "message": "Try again", "code": "lock_timeout"}, "true",
         StripeInvalidRequest, True),
        (409, {"type": "invalid_request_error", "message": "In use"}, "false", StripeConflict, False),
    ],
)
async def test_stripe_should_retry_header_decides(stripe: Env, status, error, header, exc_type, retryable):
    stripe.fake.faults.append(JSONResponse({"error": error}, status_code=status,
                                           headers={"Stripe-Should-Retry": header}))
    exc = await raises(exc_type, stripe.client.create_customer(email="a@b.example"))
    assert exc.retryable is retryable and exc.http_status == status
    assert exc.idempotency_key == stripe.fake.requests[-1].headers["idempotency-key"]


async def test_rate_limited_with_retry_after(stripe: Env):
    body = {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}
    stripe.fake.faults.append(JSONResponse(body, status_code=429, headers={"Retry-After": "3"}))
    exc = await raises(StripeRateLimited, stripe.client.retrieve_payment_method("pm_x"))
    assert (exc.http_status, exc.code, exc.retry_after, exc.retryable) == (429, "rate_limit", 3.0, True)

    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    stripe.fake.faults.append(JSONResponse(body, status_code=429, headers={"Retry-After": later}))
    exc = await raises(StripeRateLimited, stripe.client.retrieve_payment_method("pm_x"))
    assert 25 <= exc.retry_after <= 31


async def test_malformed_responses_are_retryable(stripe: Env):
    customer, pm = await stripe.saved_card()
    stripe.fake.faults.append(PlainTextResponse("<html>upstream connect error</html>", status_code=200,
                                                media_type="text/html"))
    exc = await raises(StripeMalformedResponse, charge(stripe.client, customer, pm, "topup-html"))
    assert isinstance(exc, StripeUnavailable) and exc.retryable and exc.http_status == 200
    assert "text/html" in str(exc)

    stripe.fake.faults.append(PlainTextResponse("<html>Bad gateway</html>", status_code=502, media_type="text/html"))
    exc = await raises(StripeUnavailable, charge(stripe.client, customer, pm, "topup-html"))
    assert exc.retryable and exc.http_status == 502

    stripe.fake.faults.append(JSONResponse({"object": "payment_intent"}))  # JSON, but no id / status
    exc = await raises(StripeMalformedResponse, charge(stripe.client, customer, pm, "topup-html"))
    assert exc.retryable and exc.idempotency_key == "topup-html"

    stripe.fake.faults.append(Response(b'{"id": "pi_trunc', status_code=200, media_type="application/json"))
    exc = await raises(StripeMalformedResponse, stripe.client.retrieve_payment_method(pm))
    assert exc.retryable
    assert stripe.fake.charges == []


# ---------------------------------------------------------------------------
# Auth and secrets
# ---------------------------------------------------------------------------


async def test_wrong_key_is_an_auth_error_without_the_key(stripe: Env):
    wrong = "sk_test_51WrongKeyWrongKeyWrongKey0123456789"
    client = stripe.other_client(wrong)
    exc = await raises(StripeAuthError, client.create_customer(email="a@b.example"))
    assert (exc.http_status, exc.retryable) == (401, False)
    assert wrong not in str(exc) and wrong not in repr(vars(exc)) and "[redacted]" in str(exc)
    assert "Invalid API Key provided" in str(exc)
    assert stripe.fake.customers == {}
    seen = stripe.fake.requests[-1]
    assert seen.headers["authorization"] == f"Bearer {wrong}" and "stripe-version" not in seen.headers

    # The right key in the message (a proxy echoing it) is scrubbed too.
    stripe.fake.faults.append(JSONResponse({"error": {"type": "api_error", "message": f"bad key {API_KEY}"}},
                                           status_code=503))
    exc = await raises(StripeUnavailable, stripe.client.retrieve_payment_method("pm_x"))
    assert "bad key [redacted]" in str(exc)


async def test_client_repr_and_results_hold_no_secret():
    async with httpx.AsyncClient() as http:
        client = StripeClient(http, API_KEY)
        assert API_KEY not in repr(client) and client.base_url == "https://api.stripe.com"
        with pytest.raises(ValueError):
            StripeClient(http, "")
    intent = SetupIntent(id="seti_1", status="succeeded", customer=None, payment_method_id=None, card=None,
                         client_secret="seti_1_secret_abc")
    assert "seti_1_secret_abc" not in repr(intent)


async def test_arguments_are_checked_before_anything_is_sent(stripe: Env):
    c = stripe.client
    base = {"currency": "usd", "customer": "cus_1", "payment_method": "pm_card_visa", "idempotency_key": "k"}
    for amount in (0, -5, 19.99, True, "1999"):
        with pytest.raises(ValueError):
            await c.charge_off_session(amount=amount, **base)
    with pytest.raises(ValueError):
        await c.charge_off_session(amount=100, **{**base, "currency": "dollars"})
    for key in ("", "   ", "k" * 256):
        with pytest.raises(ValueError):
            await c.charge_off_session(amount=100, **{**base, "idempotency_key": key})
        with pytest.raises(ValueError):
            await c.refund(payment_intent="pi_1", amount=100, idempotency_key=key)
    with pytest.raises(ValueError):
        await c.refund(payment_intent="pi_1", amount=0, idempotency_key="k")
    with pytest.raises(ValueError):
        await c.retrieve_payment_method("")
    assert stripe.fake.requests == []
