"""A fake Stripe for tests: a small starlette app, served on a real loopback
uvicorn (tests/loopback.py), that behaves like Stripe where Leadwire depends
on it: bearer-key auth, form bodies in bracket notation, idempotency keys (the
first response stored and replayed for the same key and parameters, 400
idempotency_error for other parameters, 409 while the first request is still
in flight, validation errors not stored), Stripe's test payment methods
(pm_card_visa, pm_card_chargeDeclined, ...), partial refunds up to the
charged amount, and injectable faults (500, 429, non-JSON bodies, a slow
handler). Used by the client's tests and the Stripe gateway's."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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
            ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", self.get_payment_intent),
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

    async def get_payment_intent(self, params, *, presented, id):
        intent = self.payment_intents.get(id)
        if intent is None:
            raise invalid(f"No such payment_intent: '{id}'", param="intent", code="resource_missing", status=404)
        return intent

    def settle_processing(self, intent_id: str, *, succeed: bool = True) -> None:
        """What Stripe does later to a PaymentIntent left processing."""
        intent = self.payment_intents[intent_id]
        if succeed:
            intent.update(status="succeeded", latest_charge=self.new_id("ch"))
            self.charges.append((intent_id, intent["amount"]))
        else:
            intent.update(status="requires_payment_method", last_payment_error={
                "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                "message": "Your card was declined."})

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
