"""integrations.signed_webhook: the signature scheme, and post() against a
buyer's receiver served by a real uvicorn on 127.0.0.1 that checks the
signature with verify(), drops repeats by Idempotency-Key, and misbehaves on
demand."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import email.utils
import json
import re
import time
from dataclasses import dataclass, field

import httpx
import pytest
from loopback import free_port, serve_asgi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.integrations.signed_webhook import (
    IDEMPOTENCY_HEADER, SIGNATURE_HEADER, SignatureError, check_field_mapping, map_fields, post, sign,
    signature_header, verify,
)

SECRET = "whsec_3f9a1c0d5e7b2a4c6e8f0a1b2c3d4e5f"
NEW_SECRET = "whsec_new_77aa88bb99cc00dd11ee22ff33"
URL_TOKEN = "tok_live_a1b2c3d4e5f6"  # buyers' hook URLs often carry a token: it must not reach a message
BUYER_AUTH = "Bearer crm-api-key-0123456789"
LEAD = {"event": "lead.sold", "lead": {"id": "TGVhZDo0Mg==", "first_name": "Zoë", "city": "Malmö", "note": "🚚 2BR"}}


@dataclass
class Receiver:
    """A buyer's endpoint that does what the docs tell buyers to do."""

    secrets: list[str] = field(default_factory=lambda: [SECRET])
    fault: str | None = None
    clock_offset: float = 0.0
    deliveries: dict[str, dict] = field(default_factory=dict)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.headers.append(dict(request.headers))
        if request.path_params["token"] != URL_TOKEN:
            return JSONResponse({"error": "no such hook"}, status_code=404)
        fault = self.fault
        if fault == "slow":
            await self.release.wait()
        if fault == "down":
            return PlainTextResponse("<html><h1>500 Internal Server Error</h1></html>", status_code=500)
        if fault == "rate-limited":
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "3"})
        if fault == "maintenance":
            until = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
            return PlainTextResponse("maintenance", status_code=503, headers={"Retry-After": until})
        if fault == "gone":
            return JSONResponse({"error": "this hook was deleted"}, status_code=410)
        if fault == "moved":
            return RedirectResponse("https://elsewhere.example/hook", status_code=302)
        if fault == "echo":  # a careless receiver that quotes what it knows
            return JSONResponse({"error": f"bad request; secret={SECRET}; auth={request.headers.get('authorization')}"},
                                status_code=400)
        try:
            verify(self.secrets, request.headers.get(SIGNATURE_HEADER), body, now=time.time() + self.clock_offset)
        except SignatureError as exc:
            return JSONResponse({"error": exc.reason, "detail": str(exc)}, status_code=401)
        if request.headers.get("content-type") != "application/json":
            return JSONResponse({"error": "expected JSON"}, status_code=415)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, status_code=400)
        duplicate = key in self.deliveries
        self.deliveries.setdefault(key, json.loads(body))
        if fault == "gzip-garbage":
            return Response(b"definitely not gzip", headers={"content-encoding": "gzip"})
        if fault == "huge":
            return PlainTextResponse("x" * 2_000_000)
        return JSONResponse({"ok": True, "duplicate": duplicate})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hooks/{token}", self.hook, methods=["POST"])])


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def _url(host: str) -> str:
    return f"http://{host}/hooks/{URL_TOKEN}"


async def _post(http, url, *, secret=SECRET, key="dlv_42", timeout=2.0, **kwargs):
    return await post(http, url, LEAD, secret=secret, idempotency_key=key, timeout=timeout, **kwargs)


async def _post_expecting_failure(http, url, **kwargs) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        await _post(http, url, **kwargs)
    for text in (caught.value.message, str(caught.value), repr(caught.value)):
        assert SECRET not in text and NEW_SECRET not in text
        assert URL_TOKEN not in text
        assert BUYER_AUTH not in text and "crm-api-key" not in text
    return caught.value


# --- the signature ---------------------------------------------------------------


def test_sign_matches_a_known_vector():
    # printf '%s' '1700000000.{"lead":{"id":42,"name":"Zoë"}}' | openssl dgst -sha256 -hmac whsec_example_secret
    body = '{"lead":{"id":42,"name":"Zoë"}}'.encode()
    expected = "f02cb75d75fd97867a272dbc23f2253de95dc4c2cb098b2f56b23b3944c78c4b"
    assert sign("whsec_example_secret", 1700000000, body) == expected
    assert sign(b"whsec_example_secret", 1700000000, body) == expected
    assert signature_header("whsec_example_secret", 1700000000, body) == f"t=1700000000,v1={expected}"


def test_verify_accepts_a_fresh_signature_and_any_matching_v1():
    body = b'{"a":1}'
    now = 1_700_000_000
    header = signature_header([NEW_SECRET, SECRET], now, body)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}", header)
    verify(SECRET, header, body, now=now)  # the old secret's signature matches
    verify(NEW_SECRET, header, body, now=now + 299)
    verify([NEW_SECRET, SECRET], signature_header(SECRET, now, body), body, now=now)
    verify(SECRET, f"t={now}, v0=ignored, v1={sign(SECRET, now, body)}", body, now=now)  # unknown schemes ignored


@pytest.mark.parametrize("header", [
    None, "", "garbage", "t=,v1=00", "t=abc,v1=" + "0" * 64, "v1=" + "0" * 64, "t=1700000000",
    "t=1700000000,t=1700000001,v1=" + "0" * 64, "t=-5,v1=" + "0" * 64,
])
def test_verify_rejects_malformed_headers(header):
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, header, b"{}", now=1_700_000_000)
    assert caught.value.reason == "malformed"


def test_verify_rejects_a_tampered_body_a_wrong_secret_and_a_stale_or_future_timestamp():
    body = b'{"price":"25.00"}'
    now = 1_700_000_000
    header = signature_header(SECRET, now, body)
    for wrong_body, secret in ((b'{"price":"0.01"}', SECRET), (body, NEW_SECRET)):
        with pytest.raises(SignatureError) as caught:
            verify(secret, header, wrong_body, now=now)
        assert caught.value.reason == "mismatch"
    # the timestamp is inside the signed bytes: changing it breaks the signature
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, header.replace(f"t={now}", f"t={now + 1000}"), body, now=now + 1000)
    for skew in (301, -301):
        with pytest.raises(SignatureError) as caught:
            verify(SECRET, header, body, now=now + skew)
        assert caught.value.reason == "expired"
    verify(SECRET, header, body, now=now + 10**6, tolerance_seconds=None)


def test_secrets_and_timestamps_are_checked():
    with pytest.raises(ValueError):
        sign("", 1, b"")
    with pytest.raises(ValueError):
        sign(SECRET, -1, b"")
    with pytest.raises(ValueError):
        sign(SECRET, True, b"")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        signature_header([], 1, b"")


# --- post() --------------------------------------------------------------------


async def test_post_delivers_signed_json_that_the_receiver_verifies(http):
    receiver = Receiver()
    async with serve_asgi(receiver.app()) as host:
        answer = await _post(http, _url(host), extra_headers={"Authorization": BUYER_AUTH})
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"ok": True, "duplicate": False}
    assert answer.latency_ms > 0
    assert receiver.deliveries == {"dlv_42": LEAD}  # non-ASCII survived, signed bytes = sent bytes
    [headers] = receiver.headers
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == "dlv_42"
    assert headers["user-agent"].startswith("Leadwire-Webhook/")
    assert headers["authorization"] == BUYER_AUTH
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers[SIGNATURE_HEADER.lower()])


async def test_a_retry_carries_the_same_idempotency_key_so_the_receiver_drops_it(http):
    receiver = Receiver()
    async with serve_asgi(receiver.app()) as host:
        first = await _post(http, _url(host))
        second = await _post(http, _url(host))
    assert json.loads(first.body)["duplicate"] is False
    assert json.loads(second.body)["duplicate"] is True
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize(("sender", "receiver_knows"), [
    ([NEW_SECRET, SECRET], [SECRET]),  # the sender rotated first
    ([NEW_SECRET, SECRET], [NEW_SECRET]),  # the receiver already switched
    (SECRET, [NEW_SECRET, SECRET]),  # the receiver accepts both during the change
])
async def test_secret_rotation(http, sender, receiver_knows):
    receiver = Receiver(secrets=receiver_knows)
    async with serve_asgi(receiver.app()) as host:
        answer = await _post(http, _url(host), secret=sender)
    assert answer.status_code == 200


async def test_a_wrong_secret_is_rejected_by_the_receiver_as_a_permanent_failure(http):
    receiver = Receiver(secrets=[NEW_SECRET])
    async with serve_asgi(receiver.app()) as host:
        failure = await _post_expecting_failure(http, _url(host), secret=SECRET)
    assert (failure.retryable, failure.status_code) == (False, 401)
    assert '"error":"mismatch"' in failure.message
    assert receiver.deliveries == {}


async def test_a_receiver_whose_clock_is_ahead_sees_a_stale_signature(http):
    receiver = Receiver(clock_offset=600)
    async with serve_asgi(receiver.app()) as host:
        failure = await _post_expecting_failure(http, _url(host))
    assert failure.status_code == 401
    assert '"error":"expired"' in failure.message


async def test_the_receiver_rejects_tampered_and_replayed_requests(http):
    receiver = Receiver()
    body = json.dumps(LEAD).encode()
    async with serve_asgi(receiver.app()) as host:
        tampered = await http.post(_url(host), content=body.replace(b"Zo", b"Jo"), headers={
            "Content-Type": "application/json", IDEMPOTENCY_HEADER: "k1",
            SIGNATURE_HEADER: signature_header(SECRET, int(time.time()), body)})
        replayed = await http.post(_url(host), content=body, headers={
            "Content-Type": "application/json", IDEMPOTENCY_HEADER: "k2",
            SIGNATURE_HEADER: signature_header(SECRET, int(time.time()) - 3600, body)})
    assert (tampered.status_code, tampered.json()["error"]) == (401, "mismatch")
    assert (replayed.status_code, replayed.json()["error"]) == (401, "expired")
    assert receiver.deliveries == {}


async def test_connection_refused_is_retryable_and_hides_the_url(http):
    failure = await _post_expecting_failure(http, f"http://127.0.0.1:{free_port()}/hooks/{URL_TOKEN}?key={URL_TOKEN}")
    assert failure.retryable is True and failure.status_code is None


async def test_a_slow_receiver_times_out_retryably(http):
    receiver = Receiver(fault="slow")
    async with serve_asgi(receiver.app()) as host:
        try:
            started = time.perf_counter()
            failure = await _post_expecting_failure(http, _url(host), timeout=0.2)
            elapsed = time.perf_counter() - started
        finally:
            receiver.release.set()
    assert failure.retryable is True
    assert "timed out" in failure.message
    assert elapsed < 1.0


async def test_a_500_is_retryable_with_the_start_of_the_page(http):
    async with serve_asgi(Receiver(fault="down").app()) as host:
        failure = await _post_expecting_failure(http, _url(host))
    assert (failure.retryable, failure.status_code, failure.retry_after) == (True, 500, None)
    assert "500 Internal Server Error" in failure.message


async def test_429_and_503_carry_retry_after_in_seconds_or_as_a_date(http):
    async with serve_asgi(Receiver(fault="rate-limited").app()) as host:
        limited = await _post_expecting_failure(http, _url(host))
    async with serve_asgi(Receiver(fault="maintenance").app()) as host:
        maintenance = await _post_expecting_failure(http, _url(host))
    assert (limited.retryable, limited.status_code, limited.retry_after) == (True, 429, 3.0)
    assert (maintenance.retryable, maintenance.status_code) == (True, 503)
    assert maintenance.retry_after is not None and 25 <= maintenance.retry_after <= 30


@pytest.mark.parametrize(("fault", "status"), [("gone", 410), ("moved", 302)])
async def test_gone_and_redirects_are_permanent(http, fault, status):
    async with serve_asgi(Receiver(fault=fault).app()) as host:
        failure = await _post_expecting_failure(http, _url(host))
    assert (failure.retryable, failure.status_code) == (False, status)
    if fault == "moved":
        assert "redirects are not followed" in failure.message


async def test_a_receiver_that_echoes_secrets_has_them_redacted(http):
    async with serve_asgi(Receiver(fault="echo").app()) as host:
        failure = await _post_expecting_failure(http, _url(host), extra_headers={"Authorization": BUYER_AUTH})
    assert failure.status_code == 400
    assert failure.message.count("[redacted]") == 2


async def test_a_2xx_with_an_undecodable_or_huge_body_is_still_delivered(http):
    for fault in ("gzip-garbage", "huge"):
        receiver = Receiver(fault=fault)
        async with serve_asgi(receiver.app()) as host:
            answer = await _post(http, _url(host))
        assert answer.status_code == 200
        assert len(answer.body) <= 200
        assert receiver.deliveries == {"dlv_42": LEAD}


async def test_requests_that_cannot_be_built_fail_permanently_without_sending(http):
    receiver = Receiver()
    async with serve_asgi(receiver.app()) as host:
        cases = [
            {"extra_headers": {"Leadwire-Signature": "t=1,v1=forged"}},
            {"extra_headers": {"content-type": "text/plain"}},
            {"extra_headers": {"X-Buyer": "ok\r\nX-Injected: 1"}},
            {"extra_headers": {"Bad Name": "1"}},
            {"key": "dlv\n42"},
        ]
        for kwargs in cases:
            failure = await _post_expecting_failure(http, _url(host), **kwargs)
            assert failure.retryable is False, kwargs
        with pytest.raises(DeliveryFailed, match="not JSON") as caught:
            await post(http, _url(host), {"price": decimal.Decimal("25.00")}, secret=SECRET, idempotency_key="k",
                       timeout=1)
        assert caught.value.retryable is False
        with pytest.raises(DeliveryFailed, match="not JSON"):
            await post(http, _url(host), {"score": float("nan")}, secret=SECRET, idempotency_key="k", timeout=1)
    assert receiver.headers == []  # nothing reached the receiver
    for url in (f"ftp://crm.example/{URL_TOKEN}", f"http://crm.example:notaport/{URL_TOKEN}", f"http:///{URL_TOKEN}"):
        failure = await _post_expecting_failure(http, url)
        assert failure.retryable is False, url


# --- field mapping -------------------------------------------------------------------


def test_map_fields_follows_dotted_paths_and_leaves_missing_ones_empty():
    source = {"lead": {"first_name": "Zoë", "phones": ["+16175550100"], "data": {"move_size": "2BR"}}, "price": 25}
    mapping = {"FirstName": "lead.first_name", "Phone": "lead.phones.0", "MoveSize": "lead.data.move_size",
               "Price": "price", "Solar": "lead.data.roof_type", "Phone2": "lead.phones.1"}
    assert map_fields(source, mapping) == {"FirstName": "Zoë", "Phone": "+16175550100", "MoveSize": "2BR",
                                           "Price": 25, "Solar": None, "Phone2": None}


def test_check_field_mapping_reports_problems_by_receiver_field():
    problems = check_field_mapping({"Good": "lead.first_name", "Empty": "", "Spaces": "lead. name",
                                    "Trailing": "lead.", "": "lead.id", "NotText": 5})  # type: ignore[dict-item]
    assert set(problems) == {"Empty", "Spaces", "Trailing", "", "NotText"}
    assert check_field_mapping({"Good": "lead.first_name"}) == {}
    assert check_field_mapping(["lead.first_name"]) == {"": "the field mapping must be an object of field name "  # type: ignore[arg-type]
                                                        "to source path"}
    with pytest.raises(ValueError, match="Trailing"):
        map_fields({}, {"Trailing": "lead."})
