"""The built-in delivery channels end to end, against real servers on loopback:
a lead is sold, its delivery job runs, and an aiosmtpd SMTP server, a fake
Twilio, a webhook receiver that verifies the signature and a fake HubSpot
receive it. Faults end in the right state after the right number of attempts.
(The clients' own fault handling is tested in test_integrations_*.)"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadwire.core import delivery, extensions, industries, routing
from leadwire.core.campaigns import CampaignChanges, update_campaign
from leadwire.core.errors import DomainError
from leadwire.core.jobs import run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from leadwire.integrations import signed_webhook
from leadwire.plugins.manager import build_plugin_manager, install_registrations

from loopback import free_port, serve_asgi
from market import Market

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token-XYZ"
WEBHOOK_SECRET = "whsec-0123456789abcdef"


def plugins_toml(tmp_path, smtp_port: int = 1, twilio: str = "http://127.0.0.1:1", hubspot: str = "http://127.0.0.1:1"):
    # Timeouts short enough for the "hang" case (its server sleeps 5 s), long
    # enough that a loaded CI machine still connects to a loopback server in
    # time: at 0.5 s an SMS attempt once "timed out connecting" on PostgreSQL's pass.
    path = tmp_path / "plugins.toml"
    path.write_text(f"""
[plugin.email_channel]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_address = "Leadwire <leads@market.example>"
timeout_seconds = 5.0

[plugin.sms_channel]
account_sid = "{SID}"
auth_token = "{TOKEN}"
from_number = "+13135550100"
base_url = "{twilio}"
timeout_seconds = 2.0

[plugin.webhook_channel]
timeout_seconds = 2.0

[plugin.hubspot_channel]
base_url = "{hubspot}"
""")
    return path


@pytest.fixture
async def market(db):
    yield await Market().setup()
    industries.install([])
    delivery.install([])
    extensions.install(None)


def use_plugins(path):
    install_registrations(build_plugin_manager(path, {}, load_entry_points=False))
    industries.install(industries.installed())  # keep what Market installed


async def sell_with(m, channels) -> Delivery:
    """A new partner's campaign with these channels buys the next lead alone."""
    from leadwire.core.models.marketplace import Campaign

    await Campaign.all().update(paused_at=dt.datetime.now(dt.timezone.utc))  # earlier campaigns of the test
    _, owner = await m.partner()
    campaign = await m.campaign(owner, await m.offer(m.local), channels=channels)
    lead = await m.lead()
    result = await routing.route_lead(lead.id)
    assert result.sold_to == [campaign.id]
    return await Delivery.get(buyer_lead_id=result.buyer_lead_ids[0])


async def attempt(d: Delivery) -> JobStatus | None:
    """Run the delivery's job now (as the sweeper would once it is due)."""
    job = next(j for j in await OutboxJob.filter(name="deliver").order_by("-id") if j.payload["delivery_id"] == d.id)
    await OutboxJob.filter(id=job.id).update(run_after=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    status = await run_job(job.id)
    await d.refresh_from_db()
    return status


async def outcomes(d: Delivery) -> list[tuple[AttemptOutcome, int | None]]:
    return [(a.outcome, a.status_code) for a in await DeliveryAttempt.filter(delivery_id=d.id).order_by("number")]


# -- e-mail ------------------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


async def test_email_reaches_a_real_smtp_server_as_text_and_html(market, tmp_path):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        use_plugins(plugins_toml(tmp_path, smtp_port=port))
        d = await sell_with(market, {"email": {"to": ["sales@buyer.example", "boss@buyer.example"]}})
        assert await attempt(d) == JobStatus.DONE
    finally:
        controller.stop()
    assert d.status == DeliveryStatus.DELIVERED, d.last_error
    [(rcpts, msg)] = inbox.messages
    assert rcpts == ["sales@buyer.example", "boss@buyer.example"]
    assert msg["Subject"].startswith("New lead: Casey Mover") and msg["Message-ID"] == f"<{d.idempotency_key}@market.example>"
    assert d.provider_message_id == msg["Message-ID"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "+1313555" in text and "Move size" in text and "2 bedrooms" in text and "25.00 USD" in text
    assert "<table>" in html and "Casey" in html


async def test_email_settings_are_checked_and_an_unreachable_relay_is_retried(market, tmp_path):
    use_plugins(plugins_toml(tmp_path, smtp_port=free_port()))  # nothing listens there
    _, owner = await market.partner()
    campaign = await market.campaign(owner, await market.offer(market.local))
    with pytest.raises(DomainError) as exc:
        await update_campaign(owner, campaign.id, CampaignChanges(channels={"email": {"to": ["not-an-address"]}}))
    assert exc.value.errors[0].field == "channels.email.to"
    d = await sell_with(market, {"email": {"to": ["sales@buyer.example"]}})
    assert await attempt(d) == JobStatus.PENDING
    assert d.status == DeliveryStatus.PENDING and (await outcomes(d))[0][0] == AttemptOutcome.RETRY


# -- SMS ---------------------------------------------------------------------------------


def fake_twilio(script: list):
    """Answers each Messages.json POST with the next scripted response; checks auth and form."""
    seen = []

    async def messages(request: Request):
        auth = request.headers.get("authorization", "")
        import base64

        assert base64.b64decode(auth.split()[1]).decode() == f"{SID}:{TOKEN}"
        form = await request.form()
        seen.append(dict(form))
        kind = script.pop(0) if script else "ok"
        if kind == "429":
            return JSONResponse({"code": 20429, "message": "Too Many Requests", "status": 429}, 429, headers={"Retry-After": "90"})
        if kind == "400":
            return JSONResponse({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}, 400)
        if kind == "hang":
            await asyncio.sleep(5)
        return JSONResponse({"sid": "SM" + "a" * 32, "status": "queued"}, 201)

    return Starlette(routes=[Route(f"/2010-04-01/Accounts/{SID}/Messages.json", messages, methods=["POST"])]), seen


async def test_sms_through_a_twilio_compatible_api_with_429_then_success(market, tmp_path):
    app, seen = fake_twilio(["429"])
    async with serve_asgi(app) as address:
        use_plugins(plugins_toml(tmp_path, twilio=f"http://{address}"))
        d = await sell_with(market, {"sms": {"to": "(313) 555-0199"}})
        assert await attempt(d) == JobStatus.PENDING
        job = next(j for j in await OutboxJob.filter(name="deliver") if j.payload["delivery_id"] == d.id)
        assert job.run_after >= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=85)  # Retry-After: 90
        assert await attempt(d) == JobStatus.DONE
    assert d.status == DeliveryStatus.DELIVERED and d.provider_message_id.startswith("SM")
    assert await outcomes(d) == [(AttemptOutcome.RETRY, 429), (AttemptOutcome.DELIVERED, 201)]
    assert seen[0]["To"] == "+13135550199" and seen[0]["From"] == "+13135550100"
    assert len(seen[0]["Body"]) <= 160 and seen[0]["Body"].startswith("New Local moving lead: Casey")
    assert TOKEN not in d.last_error


async def test_sms_permanent_error_and_timeout(market, tmp_path):
    app, _ = fake_twilio(["400", "hang"])
    async with serve_asgi(app) as address:
        use_plugins(plugins_toml(tmp_path, twilio=f"http://{address}"))
        d = await sell_with(market, {"sms": {"to": "+13135550199"}})
        assert await attempt(d) == JobStatus.DONE
        assert d.status == DeliveryStatus.FAILED and "21211" in d.last_error and d.attempts == 1
        d2 = await sell_with(market, {"sms": {"to": "+13135550198"}})
        assert await attempt(d2) == JobStatus.PENDING
        assert (await outcomes(d2))[0][0] == AttemptOutcome.RETRY and "timed out" in (await DeliveryAttempt.get(delivery_id=d2.id)).error.lower()


# -- webhook -------------------------------------------------------------------------------


def receiver(script: list):
    """A CRM endpoint that verifies every request and de-duplicates by idempotency key."""
    state = {"requests": 0, "accepted": {}, "rejected": []}

    async def hook(request: Request):
        state["requests"] += 1
        body = await request.body()
        try:
            signed_webhook.verify(WEBHOOK_SECRET, request.headers.get(signed_webhook.SIGNATURE_HEADER), body)
        except signed_webhook.SignatureError as exc:
            state["rejected"].append(exc.reason)
            return PlainTextResponse("bad signature", 401)
        kind = script.pop(0) if script else "ok"
        if kind == "500":
            return PlainTextResponse("internal error", 500)
        if kind == "400":
            return JSONResponse({"error": "missing field Phone"}, 400)
        if kind == "malformed":
            return Response(b"\x00\xff not json", 200, media_type="application/json")
        key = request.headers["idempotency-key"]
        state["accepted"].setdefault(key, await request.json())
        return JSONResponse({"id": "crm-1"}, 200)

    return Starlette(routes=[Route("/leads", hook, methods=["POST"])]), state


async def test_webhook_signed_payload_verified_by_the_receiver_after_a_500(market, tmp_path):
    app, state = receiver(["500"])
    async with serve_asgi(app) as address:
        use_plugins(plugins_toml(tmp_path))
        d = await sell_with(market, {"webhook": {"url": f"http://{address}/leads", "secret": WEBHOOK_SECRET,
                                                 "headers": {"Authorization": "Bearer crm-token-999"}}})
        assert await attempt(d) == JobStatus.PENDING
        assert await attempt(d) == JobStatus.DONE
    assert d.status == DeliveryStatus.DELIVERED and await outcomes(d) == [(AttemptOutcome.RETRY, 500), (AttemptOutcome.DELIVERED, 200)]
    assert state["rejected"] == [] and list(state["accepted"]) == [d.idempotency_key]
    body = state["accepted"][d.idempotency_key]
    assert body["event"] == "lead.sold" and body["lead"]["first_name"] == "Casey" and body["sale"]["price_minor"] == 2500
    assert body["lead"]["data"]["move_size"] == "2_bedrooms"


async def test_webhook_field_mapping_and_malformed_answer(market, tmp_path):
    app, state = receiver(["malformed"])
    async with serve_asgi(app) as address:
        use_plugins(plugins_toml(tmp_path))
        mapping = {"FirstName": "lead.first_name", "Phone": "lead.phone", "Size": "lead.data.move_size", "Nope": "lead.x"}
        d = await sell_with(market, {"webhook": {"url": f"http://{address}/leads", "secret": WEBHOOK_SECRET,
                                                 "field_mapping": mapping}})
        # A 2xx with an unreadable body: the receiver took it (its status is what counts).
        assert await attempt(d) == JobStatus.DONE
        assert d.status == DeliveryStatus.DELIVERED
        d2 = await sell_with(market, {"webhook": {"url": f"http://{address}/leads", "secret": WEBHOOK_SECRET,
                                                  "field_mapping": mapping}})
        assert await attempt(d2) == JobStatus.DONE
    [body] = state["accepted"].values()
    assert body == {"FirstName": "Casey", "Phone": body["Phone"], "Size": "2_bedrooms", "Nope": None}


async def test_webhook_faults_end_in_the_right_state(market, tmp_path):
    app, state = receiver(["400"])
    use_plugins(plugins_toml(tmp_path))
    async with serve_asgi(app) as address:
        refused = await sell_with(market, {"webhook": {"url": f"http://{address}/leads", "secret": WEBHOOK_SECRET}})
        assert await attempt(refused) == JobStatus.DONE
    assert refused.status == DeliveryStatus.FAILED and await outcomes(refused) == [(AttemptOutcome.FAILED, 400)]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    unreachable = await sell_with(market, {"webhook": {"url": f"http://127.0.0.1:{dead_port}/leads", "secret": WEBHOOK_SECRET}})
    assert await attempt(unreachable) == JobStatus.PENDING
    assert (await outcomes(unreachable))[0] == (AttemptOutcome.RETRY, None)


async def test_webhook_settings_are_checked(market, tmp_path):
    use_plugins(plugins_toml(tmp_path))
    _, owner = await market.partner()
    campaign = await market.campaign(owner, await market.offer(market.local))
    with pytest.raises(DomainError) as exc:
        await update_campaign(owner, campaign.id, CampaignChanges(channels={"webhook": {
            "url": "http://crm.example/leads", "secret": "short", "field_mapping": {"X": "lead..bad"}}}))
    assert {e.field for e in exc.value.errors} == {"channels.webhook.url", "channels.webhook.secret", "channels.webhook.field_mapping"}


# -- HubSpot ---------------------------------------------------------------------------------


async def test_hubspot_creates_or_updates_the_contact(market, tmp_path):
    calls = []

    async def create(request: Request):
        assert request.headers["authorization"] == "Bearer pat-na1-secret"
        body = await request.json()
        calls.append(("POST", body))
        if len(calls) == 1:
            return JSONResponse({"id": "501", "properties": body["properties"]}, 201)
        return JSONResponse({"status": "error", "message": "Contact already exists. Existing ID: 501",
                             "category": "CONFLICT"}, 409)

    async def update(request: Request):
        calls.append(("PATCH", await request.json()))
        return JSONResponse({"id": request.path_params["id"]}, 200)

    app = Starlette(routes=[Route("/crm/v3/objects/contacts", create, methods=["POST"]),
                            Route("/crm/v3/objects/contacts/{id}", update, methods=["PATCH"])])
    async with serve_asgi(app) as address:
        use_plugins(plugins_toml(tmp_path, hubspot=f"http://{address}"))
        settings = {"hubspot": {"access_token": "pat-na1-secret", "property_mapping": {"move_size": "lead.data.move_size"}}}
        first = await sell_with(market, settings)
        second = await sell_with(market, settings)
        for d in (first, second):
            assert await attempt(d) == JobStatus.DONE
            assert d.status == DeliveryStatus.DELIVERED and d.provider_message_id == "501"
    assert [c[0] for c in calls] == ["POST", "POST", "PATCH"]
    assert calls[0][1]["properties"]["firstname"] == "Casey" and calls[0][1]["properties"]["move_size"] == "2_bedrooms"
