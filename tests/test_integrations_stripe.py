"""integrations/stripe_api.py against a fake Stripe (tests/fake_stripe.py) over
real HTTP on a loopback uvicorn."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass

import httpx
import pytest
from starlette.responses import JSONResponse, PlainTextResponse, Response

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

from fake_stripe import API_KEY, PUBLISHABLE_KEY, STRIPE_VERSION, FakeStripe, parse_bracket_form
from loopback import free_port, serve_asgi

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


async def test_retrieve_payment_intent_follows_a_processing_charge(stripe: Env):
    customer = await stripe.client.create_customer(email="a@b.example")
    result = await charge(stripe.client, customer.id, "pm_fake_processing", "proc-1")
    assert result.status is ChargeStatus.PROCESSING
    intent = await stripe.client.retrieve_payment_intent(result.payment_intent_id)
    assert (intent.id, intent.status, intent.amount, intent.currency) == (result.payment_intent_id, "processing", 1999, "usd")
    stripe.fake.settle_processing(result.payment_intent_id, succeed=False)
    failed = await stripe.client.retrieve_payment_intent(result.payment_intent_id)
    assert failed.status == "requires_payment_method" and failed.decline_code == "generic_decline"
    assert failed.failure_message == "Your card was declined."
    missing = await raises(StripeInvalidRequest, stripe.client.retrieve_payment_intent("pi_nothing"))
    assert missing.http_status == 404
    assert not any("idempotency-key" in r.headers for r in stripe.fake.requests if r.method == "GET")
