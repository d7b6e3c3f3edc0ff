"""Call leads through the public API: tracking numbers (operator), campaign
call settings and the offer's billable minimum with userErrors, a call lead on
the buyer's dashboard (caller, duration, recording, rings), the masked caller
for a partner that missed the call, returns with call reasons, and the
dashboards' web/call split."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from leadwire.core.calls import providers
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.models.marketplace import CampaignLeadTypes
from leadwire.core.settings import Secret
from leadwire.plugins.builtin.twilio_voice import TwilioVoice

from factories import PASSWORD
from market import Market
from test_calls import TOKEN, Phone, dialled
from test_graphql_identity import signed_in

ERRORS = "userErrors { field code message }"
TRACKING = "+13135550177"


@pytest.fixture
async def world(db, app, client_factory):
    market = await Market().setup()
    providers.install([InstalledProvider(TwilioVoice(), "twilio_voice", {
        "auth_token": Secret(TOKEN), "public_url": None, "ring_timeout_seconds": 20, "missed_calls_to_pause": 3,
        "fallback_message": "Closed.", "record_calls": True})])
    market.op = await signed_in(client_factory, market.operator.email)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        market.phone = Phone(http, "testserver")
        yield market
    providers.install([])


def gid(kind: str, pk: int) -> str:
    from strawberry import relay

    return str(relay.GlobalID(kind, str(pk)))


CREATE_NUMBER = f"""mutation($i: CreateTrackingNumberInput!) {{ createTrackingNumber(input: $i) {{
  trackingNumber {{ id number provider askZip product {{ name }} }} {ERRORS} }} }}"""
UPDATE_CAMPAIGN = f"""mutation($i: UpdateCampaignInput!) {{ updateCampaign(input: $i) {{
  campaign {{ leadTypes buyerPhone maxConcurrentCalls activeCalls missedCallsInRow }} {ERRORS} }} }}"""


async def test_tracking_numbers_campaign_settings_and_a_call_lead_on_the_dashboard(world, client_factory):
    product_id = gid("Product", world.local.id)
    bad = await world.op.data(CREATE_NUMBER, {"i": {"number": "12", "productId": product_id, "provider": "nope"}})
    errors = {e["field"]: e["code"] for e in bad["createTrackingNumber"]["userErrors"]}
    assert errors == {"number": "INVALID", "provider": "INVALID"}
    made = await world.op.data(CREATE_NUMBER, {"i": {"number": "(313) 555-0177", "productId": product_id}})
    assert made["createTrackingNumber"]["trackingNumber"]["number"] == TRACKING
    assert made["createTrackingNumber"]["trackingNumber"]["product"]["name"] == "Local moving"
    again = await world.op.data(CREATE_NUMBER, {"i": {"number": TRACKING, "productId": product_id}})
    assert again["createTrackingNumber"]["userErrors"][0]["code"] == "DUPLICATE"
    listed = await world.op.data("{ trackingNumbers(first: 10) { edges { node { number } } } }")
    assert [e["node"]["number"] for e in listed["trackingNumbers"]["edges"]] == [TRACKING]

    offer = await world.op.data(
        f"""mutation($i: CreateOfferInput!) {{ createOffer(input: $i) {{ offer {{ id minCallSeconds }} {ERRORS} }} }}""",
        {"i": {"productId": product_id, "name": "Calls", "priceMinor": 3000, "exclusive": True, "minCallSeconds": 90}},
    )
    assert offer["createOffer"]["offer"]["minCallSeconds"] == 90
    refused = await world.op.data(
        f"""mutation($i: CreateOfferInput!) {{ createOffer(input: $i) {{ offer {{ id }} {ERRORS} }} }}""",
        {"i": {"productId": product_id, "name": "Calls", "priceMinor": 3000, "minCallSeconds": -1}},
    )
    assert refused["createOffer"]["userErrors"][0]["field"] == "minCallSeconds"
    offer_id = offer["createOffer"]["offer"]["id"]

    # Two partners: the first misses the call, the second buys it.
    partners = []
    for name, phone in (("Slow Movers", "+13135550181"), ("Quick Movers", "+13135550182")):
        account, owner = await world.partner(name=name)
        client = await signed_in(client_factory, owner.email)
        act = await client.data(f'mutation {{ activateOffer(input: {{offerId: "{offer_id}"}}) {{ campaign {{ id }} }} }}')
        campaign_id = act["activateOffer"]["campaign"]["id"]
        no_phone = await client.data(UPDATE_CAMPAIGN, {"i": {"campaignId": campaign_id, "leadTypes": "CALL", "schedule": []}})
        assert [(e["field"], e["code"]) for e in no_phone["updateCampaign"]["userErrors"]] == [("buyerPhone", "REQUIRED")]
        wrong = await client.data(UPDATE_CAMPAIGN, {"i": {"campaignId": campaign_id, "leadTypes": "CALL",
                                                          "buyerPhone": "555", "maxConcurrentCalls": 0}})
        assert {e["field"] for e in wrong["updateCampaign"]["userErrors"]} == {"buyerPhone", "maxConcurrentCalls"}
        ok = await client.data(UPDATE_CAMPAIGN, {"i": {"campaignId": campaign_id, "leadTypes": "CALL", "buyerPhone": phone,
                                                       "maxConcurrentCalls": 2, "schedule": []}})
        assert ok["updateCampaign"]["campaign"]["leadTypes"] == "CALL" and ok["updateCampaign"]["userErrors"] == []
        partners.append((account, client, phone))
    # Same price: the older campaign (Slow Movers) rings first.
    sid, twiml = await world.phone.call("+13135550123", to=TRACKING)
    assert dialled(twiml) == partners[0][2]
    twiml, _ = await world.phone.dial_ended(twiml, sid, "no-answer")
    assert dialled(twiml) == partners[1][2]
    await world.phone.dial_ended(twiml, sid, "completed", 125, recording="https://api.twilio.com/rec/RE9")

    buyer = partners[1][1]
    leads = await buyer.data("""{ leads(first: 5) { edges { node { id kind phone call {
        callerNumber status durationSeconds recordingUrl locatedBy rings { position status billable duration_seconds: durationSeconds } } } } } }""")
    node = leads["leads"]["edges"][0]["node"]
    assert node["kind"] == "CALL" and node["phone"] == "+13135550123"
    call = node["call"]
    assert call["callerNumber"] == "+13135550123" and call["status"] == "BILLED" and call["durationSeconds"] == 125
    assert call["recordingUrl"] == "https://api.twilio.com/rec/RE9" and call["locatedBy"] == "area_code"
    assert call["rings"] == [{"position": 2, "status": "ANSWERED", "billable": True, "duration_seconds": 125}]  # only its own ring

    # The partner that missed it sees its ring, the caller masked, no recording, and no lead.
    slow = partners[0][1]
    rings = await slow.data("{ callRings(first: 5) { edges { node { position status call { callerNumber recordingUrl } } } } }")
    ring = rings["callRings"]["edges"][0]["node"]
    assert ring["status"] == "NO_ANSWER" and ring["call"] == {"callerNumber": "+1313*****23", "recordingUrl": ""}
    assert (await slow.data("{ leads(first: 5) { edges { node { id } } } }"))["leads"]["edges"] == []
    # The operator sees both rings and the full number.
    op_rings = await world.op.data("{ callRings(first: 5) { edges { node { position call { callerNumber } } } } }")
    assert sorted(e["node"]["position"] for e in op_rings["callRings"]["edges"]) == [1, 2]
    assert {e["node"]["call"]["callerNumber"] for e in op_rings["callRings"]["edges"]} == {"+13135550123"}

    # The Global Dashboard (the reports' dashboards): calls and web leads side by side.
    dash = await buyer.data("{ partnerDashboard { thisMonthByKind { kind leadCount amount { amountMinor } } } }")
    assert dash["partnerDashboard"]["thisMonthByKind"] == [{"kind": "call", "leadCount": 1, "amount": {"amountMinor": 3000}}]
    today = dt.date.today()
    op_dash = await world.op.data(
        "query($f: Date!, $t: Date!) { operatorDashboard(from: $f, to: $t) { supply { kind received sold } } }",
        {"f": (today - dt.timedelta(days=1)).isoformat(), "t": (today + dt.timedelta(days=1)).isoformat()})
    assert op_dash["operatorDashboard"]["supply"] == [{"kind": "call", "received": 1, "sold": 1}]

    # Returns: reasons that fit a call.
    RETURN = f"""mutation($i: RequestReturnInput!) {{ requestReturn(input: $i) {{ {ERRORS} }} }}"""
    web_reason = await buyer.data(RETURN, {"i": {"leadId": node["id"], "reason": "NO_WORKING_PHONE"}})
    assert web_reason["requestReturn"]["userErrors"][0]["code"] == "RETURN_REASON_REFUSED"
    assert "call lead" in web_reason["requestReturn"]["userErrors"][0]["message"]
    dup = await buyer.data(RETURN, {"i": {"leadId": node["id"], "reason": "DUPLICATE_CALLER"}})
    assert "No other call from +13135550123" in dup["requestReturn"]["userErrors"][0]["message"]
    ok = await buyer.data(RETURN, {"i": {"leadId": node["id"], "reason": "NO_CUSTOMER_ON_LINE", "note": "Silence."}})
    assert ok["requestReturn"]["userErrors"] == []


async def test_partners_cannot_manage_tracking_numbers(world, client_factory):
    _, owner = await world.partner()
    partner = await signed_in(client_factory, owner.email)
    out = await partner.data(CREATE_NUMBER, {"i": {"number": TRACKING, "productId": gid("Product", world.local.id)}})
    assert out["createTrackingNumber"]["userErrors"][0]["code"] == "FORBIDDEN"
    assert (await partner.data("{ trackingNumbers(first: 5) { edges { node { id } } } }"))["trackingNumbers"]["edges"] == []


async def test_web_leads_refuse_call_reasons(world, client_factory):
    from leadwire.core import routing

    account, owner = await world.partner()
    await world.campaign(owner, await world.offer(world.local, 2000))
    lead = await world.lead()
    result = await routing.route_lead(lead.id)
    assert result.sold_to
    buyer = await signed_in(client_factory, owner.email)
    leads = await buyer.data("{ leads(first: 1) { edges { node { id kind call { status } } } } }")
    node = leads["leads"]["edges"][0]["node"]
    assert node["kind"] == "WEB" and node["call"] is None
    out = await buyer.data(f"""mutation($i: RequestReturnInput!) {{ requestReturn(input: $i) {{ {ERRORS} }} }}""",
                           {"i": {"leadId": node["id"], "reason": "WRONG_NUMBER"}})
    assert "call leads only" in out["requestReturn"]["userErrors"][0]["message"]


def test_the_guides_graphql_examples_validate():
    import re
    from pathlib import Path

    from graphql import parse, validate

    from leadwire.schema.schema import build_schema

    doc = (Path(__file__).resolve().parent.parent / "docs" / "calls.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", doc, re.S)
    assert len(blocks) == 3
    schema = build_schema()._schema
    for block in blocks:
        assert not validate(schema, parse(block)), block
