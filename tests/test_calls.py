"""Call leads end to end: Twilio's webhooks, signed the way Twilio signs them,
sent over real HTTP to the app on a real uvicorn; the ring tree, billing at
the offer's minimum, concurrency caps, the fallback message, retries and the
automatic pause. Runs on SQLite and, with LEADWIRE_TEST_BACKEND=postgres, on
PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import itertools
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from leadwire.core import events
from leadwire.core.calls import numbers, providers
from leadwire.core.calls.numbers import TrackingNumberChanges
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.models.calls import AttemptStatus, Call, CallAttempt, CallStatus
from leadwire.core.models.identity import Account
from leadwire.core.models.leads import Lead, LeadKind, MarketStatus
from leadwire.core.models.marketplace import Campaign, CampaignLeadTypes, CapCounter, LeadSale, RoutingDecision, RoutingOutcome
from leadwire.core.models.money import Notification, NotificationKind
from leadwire.core.settings import Secret
from leadwire.integrations import twilio_voice
from leadwire.plugins.builtin.twilio_voice import TwilioVoice

from market import Market

TOKEN = "twilio-auth-token-0123456789abcdef"
FALLBACK = "We are closed. Please call again tomorrow from eight."
TRACKING = "+13135550199"
PRICE = 4000
_sids = itertools.count(1)


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Written from Twilio's documentation, independently of the app's code: the
    full URL, then each POST parameter sorted by name as name+value, HMAC-SHA1, base64."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_signature_matches_twilios_documented_examples():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    for caller, expected in (("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc=")):
        params = {"CallSid": "CA1234567890ABCDE", "Caller": caller, "Digits": "1234", "From": caller, "To": "+18005551212"}
        assert twilio_voice.compute_signature("12345", url, params) == expected
        assert twilio_signature("12345", url, params) == expected
        assert twilio_voice.signature_valid("12345", url, params, expected)
        assert not twilio_voice.signature_valid("12345", url + "&x=1", params, expected)
        assert not twilio_voice.signature_valid("54321", url, params, expected)


def test_twiml_escapes_and_carries_timeout_and_action():
    body = twilio_voice.dial("+13135550111", timeout=20, action="https://x.test/d/1?a=1&b=2", record=True)
    dial = ET.fromstring(body).find("Dial")
    assert dial.get("timeout") == "20" and dial.get("action") == "https://x.test/d/1?a=1&b=2"
    assert dial.find("Number").text == "+13135550111"
    assert ET.fromstring(twilio_voice.say("Tom & <Jerry>")).find("Say").text == "Tom & <Jerry>"


class Phone:
    """Plays Twilio: posts signed webhooks to the app over real HTTP."""

    def __init__(self, http: httpx.AsyncClient, address: str, token: str = TOKEN):
        self.http, self.base, self.token = http, f"http://{address}", token

    async def post(self, path: str, params: dict[str, str], *, signature: str | None = None) -> httpx.Response:
        url = self.base + path
        sig = signature if signature is not None else twilio_signature(self.token, url, params)
        return await self.http.post(url, data=params, headers={"X-Twilio-Signature": sig})

    async def call(self, caller: str = "+13135550123", *, sid: str | None = None, digits: str | None = None, to=TRACKING):
        sid = sid or f"CA{next(_sids):032x}"
        params = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": to, "CallStatus": "ringing",
                  "Direction": "inbound"}
        if digits is not None:
            params["Digits"] = digits
        response = await self.post("/telephony/twilio/voice", params)
        assert response.status_code == 200, response.text
        return sid, ET.fromstring(response.text)

    async def dial_ended(self, twiml: ET.Element, sid: str, status: str, seconds: int = 0, recording: str = ""):
        action = twiml.find("Dial").get("action")
        params = {"CallSid": sid, "DialCallStatus": status, "DialCallDuration": str(seconds), "CallStatus": "in-progress"}
        if recording:
            params["RecordingUrl"] = recording
        response = await self.post(urlsplit(action).path, params)
        assert response.status_code == 200, response.text
        return ET.fromstring(response.text), response.text


def dialled(twiml: ET.Element) -> str | None:
    dial = twiml.find("Dial")
    return dial.find("Number").text if dial is not None else None


@pytest.fixture
async def setup(db, live_server):
    market = await Market().setup()
    config = {"auth_token": Secret(TOKEN), "public_url": None, "ring_timeout_seconds": 15, "missed_calls_to_pause": 3,
              "fallback_message": "Sorry, nobody can take your call.", "record_calls": True}
    providers.install([InstalledProvider(TwilioVoice(), "twilio_voice", config)])
    market.tracking = await numbers.create_tracking_number(
        market.operator, number=TRACKING, provider="twilio", changes=TrackingNumberChanges(product_id=market.local.id)
    )
    market.call_offer = await market.offer(market.local, PRICE, exclusive=True)
    async with httpx.AsyncClient(timeout=30) as http:
        market.phone = Phone(http, live_server)
        yield market
    providers.install([])


_buyer_phones = itertools.count(111)


async def call_campaign(market, *, price=None, balance=100_000, max_calls=1, **changes):
    offer = market.call_offer if price is None else await market.offer(market.local, price, exclusive=True)
    account, owner = await market.partner(balance=balance)
    phone = f"+1313555{next(_buyer_phones):04d}"
    campaign = await market.campaign(owner, offer, lead_types=CampaignLeadTypes.CALL, buyer_phone=phone,
                                     max_concurrent_calls=max_calls, **changes)
    return account, campaign


async def balance(account) -> int:
    return (await Account.get(id=account.id)).balance_minor


async def test_wrong_signature_is_refused_and_changes_nothing(setup):
    account, _ = await call_campaign(setup)
    params = {"CallSid": "CA" + "f" * 32, "From": "+13135550123", "To": TRACKING, "CallStatus": "ringing"}
    url = setup.phone.base + "/telephony/twilio/voice"
    for bad in ("", "not-a-signature", twilio_signature("another-accounts-token", url, params),
                twilio_signature(TOKEN, url, {**params, "From": "+13135550999"})):
        response = await setup.phone.post("/telephony/twilio/voice", params, signature=bad)
        assert response.status_code == 403
    # A signed dial result for a made-up ring, with the wrong key: refused too.
    response = await setup.phone.post("/telephony/twilio/dial/1", {"CallSid": "CA1", "DialCallStatus": "completed",
                                                                      "DialCallDuration": "500"}, signature="x")
    assert response.status_code == 403
    assert await Call.all().count() == 0 and await Lead.filter(kind=LeadKind.CALL).count() == 0
    assert await balance(account) == 100_000
    # An unknown provider is not found, whatever the signature.
    assert (await setup.phone.post("/telephony/nobody/voice", params)).status_code == 404


async def test_billed_at_91_seconds_not_at_89_with_a_90_second_minimum(setup):
    account, campaign = await call_campaign(setup, daily_cap=5)
    assert (await campaign.offer).min_call_seconds == 90
    feed = events.bus.subscribe(account.id)  # the buyer's live feed
    next_event = asyncio.ensure_future(anext(feed))
    await asyncio.sleep(0)

    sid, twiml = await setup.phone.call()
    assert dialled(twiml) == campaign.buyer_phone
    assert twiml.find("Dial").get("timeout") == "15"
    end, _ = await setup.phone.dial_ended(twiml, sid, "completed", 89)
    assert end.find("Hangup") is not None
    call = await Call.get(call_sid=sid)
    assert call.status == CallStatus.NOT_BILLED and call.duration_seconds == 89
    assert await LeadSale.all().count() == 0 and await balance(account) == 100_000
    assert await CapCounter.filter(campaign_id=campaign.id).count() == 0
    trace = await RoutingDecision.filter(lead_id=call.lead_id).values_list("outcome", flat=True)
    assert RoutingOutcome.SHORT_CALL in trace
    assert (await Lead.get(id=call.lead_id)).market_status == MarketStatus.UNSOLD

    sid, twiml = await setup.phone.call("+13135550124")
    await setup.phone.dial_ended(twiml, sid, "completed", 91, recording="https://api.twilio.com/rec/RE1")
    call = await Call.get(call_sid=sid)
    assert call.status == CallStatus.BILLED and call.duration_seconds == 91
    assert call.recording_url == "https://api.twilio.com/rec/RE1"
    sale = await LeadSale.get(lead_id=call.lead_id)
    assert sale.campaign_id == campaign.id and sale.price_minor == PRICE and sale.exclusive
    assert await balance(account) == 100_000 - PRICE
    assert await CapCounter.filter(campaign_id=campaign.id).values_list("count", flat=True) == [1]  # counted when billed
    buyer_lead = await Lead.get(id=sale.buyer_lead_id)
    assert buyer_lead.account_id == account.id and buyer_lead.kind == LeadKind.CALL
    assert buyer_lead.phone == "+13135550124" and buyer_lead.state == "MI"  # area code 313
    assert call.buyer_lead_id == buyer_lead.id
    assert (await Campaign.get(id=campaign.id)).active_calls == 0
    event = await asyncio.wait_for(next_event, 10)
    assert (event.kind, event.lead_id, event.sale_id) == (events.LeadEventKind.SOLD, buyer_lead.id, sale.id)
    await feed.aclose()


async def test_ring_tree_goes_to_the_next_buyer_when_the_first_does_not_answer(setup):
    first_account, first = await call_campaign(setup, price=6000)
    second_account, second = await call_campaign(setup, price=5000)
    web_only = await setup.campaign((await setup.partner())[1], await setup.offer(setup.local, 9000, exclusive=True))
    sid, twiml = await setup.phone.call()
    assert dialled(twiml) == first.buyer_phone  # the best price rings first
    twiml, _ = await setup.phone.dial_ended(twiml, sid, "no-answer")
    assert dialled(twiml) == second.buyer_phone
    end, _ = await setup.phone.dial_ended(twiml, sid, "completed", 240)
    assert end.find("Hangup") is not None
    call = await Call.get(call_sid=sid)
    assert call.status == CallStatus.BILLED
    sale = await LeadSale.get(lead_id=call.lead_id)
    assert sale.campaign_id == second.id and sale.price_minor == 5000
    assert await balance(first_account) == 100_000 and await balance(second_account) == 95_000
    trace = dict(await RoutingDecision.filter(lead_id=call.lead_id).values_list("campaign_id", "outcome"))
    assert trace[first.id] == RoutingOutcome.NO_ANSWER and trace[second.id] == RoutingOutcome.SOLD
    assert web_only.id not in trace  # takes web leads only: never a candidate
    assert (await Campaign.get(id=first.id)).missed_calls_in_row == 1
    attempts = await CallAttempt.filter(call_id=call.id).order_by("position").values_list("campaign_id", "status")
    assert attempts == [(first.id, AttemptStatus.NO_ANSWER), (second.id, AttemptStatus.ANSWERED)]


async def test_two_simultaneous_calls_against_a_concurrency_cap_of_one(setup):
    account, campaign = await call_campaign(setup, max_calls=1)
    (sid1, t1), (sid2, t2) = await asyncio.gather(setup.phone.call("+13135550131"), setup.phone.call("+13135550132"))
    rang = [t for t in (t1, t2) if dialled(t) == campaign.buyer_phone]
    refused = [t for t in (t1, t2) if dialled(t) is None]
    assert len(rang) == 1 and len(refused) == 1
    assert refused[0].find("Say").text == "Sorry, nobody can take your call."
    assert (await Campaign.get(id=campaign.id)).active_calls == 1
    busy_sid = sid2 if rang[0] is t1 else sid1
    busy_call = await Call.get(call_sid=busy_sid)
    assert busy_call.status == CallStatus.FALLBACK
    assert await RoutingDecision.filter(lead_id=busy_call.lead_id, outcome=RoutingOutcome.LINES_BUSY).count() == 1
    # The ring ends: the line is free for the next call.
    await setup.phone.dial_ended(rang[0], sid1 if rang[0] is t1 else sid2, "completed", 100)
    assert (await Campaign.get(id=campaign.id)).active_calls == 0
    _, t3 = await setup.phone.call("+13135550133")
    assert dialled(t3) == campaign.buyer_phone


async def test_many_simultaneous_calls_never_exceed_the_cap(setup):
    _, campaign = await call_campaign(setup, max_calls=2)
    answers = await asyncio.gather(*(setup.phone.call(f"+1313555{140 + i:04d}") for i in range(6)))
    assert sum(dialled(t) == campaign.buyer_phone for _, t in answers) == 2
    assert (await Campaign.get(id=campaign.id)).active_calls == 2
    assert await CallAttempt.filter(campaign_id=campaign.id, status=AttemptStatus.RINGING).count() == 2


async def test_a_call_outside_every_schedule_gets_the_fallback_message(setup):
    # A window on another weekday than today (in the campaign's time zone): now is outside it.
    today = dt.datetime.now(ZoneInfo("America/New_York")).weekday()
    window = {"day": (today + 3) % 7, "start": "08:00", "end": "09:00"}
    account, campaign = await call_campaign(setup, schedule=[window])
    sid, twiml = await setup.phone.call()
    assert dialled(twiml) is None
    assert twiml.find("Say").text == "Sorry, nobody can take your call." and twiml.find("Hangup") is not None
    call = await Call.get(call_sid=sid)
    assert call.status == CallStatus.FALLBACK
    assert (await Lead.get(id=call.lead_id)).market_status == MarketStatus.UNSOLD
    trace = dict(await RoutingDecision.filter(lead_id=call.lead_id).values_list("campaign_id", "outcome"))
    assert trace == {campaign.id: RoutingOutcome.SCHEDULE}
    # The tracking number's own message wins over the plugins.toml one.
    await numbers.update_tracking_number(setup.operator, setup.tracking.id, TrackingNumberChanges(fallback_message=FALLBACK))
    _, twiml = await setup.phone.call()
    assert twiml.find("Say").text == FALLBACK
    assert await balance(account) == 100_000


async def test_retried_webhooks_change_nothing_twice(setup):
    account, campaign = await call_campaign(setup)
    sid, twiml = await setup.phone.call()
    # Twilio retries the inbound webhook: the same ring, not a second one.
    _, again = await setup.phone.call(sid=sid)
    assert dialled(again) == campaign.buyer_phone and again.find("Dial").get("action") == twiml.find("Dial").get("action")
    assert await CallAttempt.all().count() == 1 and await Lead.filter(kind=LeadKind.CALL).count() == 1
    _, first = await setup.phone.dial_ended(twiml, sid, "completed", 300)
    _, second = await setup.phone.dial_ended(twiml, sid, "completed", 300)
    assert first == second
    assert await LeadSale.all().count() == 1 and await balance(account) == 100_000 - PRICE
    assert await Lead.filter(account_id=account.id).count() == 1
    assert (await Campaign.get(id=campaign.id)).active_calls == 0
    # A dial result whose CallSid is not the ring's call is ignored.
    await setup.phone.dial_ended(twiml, "CA" + "e" * 32, "completed", 300)
    assert await LeadSale.all().count() == 1


async def test_missed_calls_in_a_row_pause_the_campaign_and_tell_its_owner(setup):
    account, campaign = await call_campaign(setup)
    for i in range(3):
        sid, twiml = await setup.phone.call(f"+1313555{150 + i:04d}")
        assert dialled(twiml) == campaign.buyer_phone
        after, _ = await setup.phone.dial_ended(twiml, sid, "no-answer" if i != 1 else "busy")
        assert after.find("Say") is not None  # nobody else: the fallback
    row = await Campaign.get(id=campaign.id)
    assert row.paused_at is not None
    note = await Notification.get(account_id=account.id, kind=NotificationKind.CAMPAIGN_PAUSED)
    assert "missed 3 calls in a row" in note.body and campaign.name in note.title
    # Paused: the next call is not offered to it.
    _, twiml = await setup.phone.call()
    assert dialled(twiml) is None


async def test_an_answer_resets_the_missed_streak(setup):
    _, campaign = await call_campaign(setup)
    for status in ("no-answer", "no-answer", "completed", "no-answer", "no-answer"):
        sid, twiml = await setup.phone.call()
        await setup.phone.dial_ended(twiml, sid, status, 30 if status == "completed" else 0)
    row = await Campaign.get(id=campaign.id)
    assert row.paused_at is None and row.missed_calls_in_row == 2


async def test_caller_hangs_up_while_it_rings(setup):
    _, campaign = await call_campaign(setup)
    sid, twiml = await setup.phone.call()
    response = await setup.phone.post("/telephony/twilio/status", {"CallSid": sid, "CallStatus": "completed",
                                                                     "CallDuration": "7"})
    assert response.status_code == 200
    call = await Call.get(call_sid=sid)
    assert call.status == CallStatus.ABANDONED
    assert (await Campaign.get(id=campaign.id)).active_calls == 0
    assert await CallAttempt.filter(status=AttemptStatus.CANCELED).count() == 1
    # Twilio then reports the dial as canceled: nothing more happens.
    end, _ = await setup.phone.dial_ended(twiml, sid, "canceled")
    assert end.find("Hangup") is not None and (await Campaign.get(id=campaign.id)).missed_calls_in_row == 0


async def test_zip_prompt_places_the_caller(setup):
    _, campaign = await call_campaign(setup, geo_mode="zip_list", zip_codes=["48165"])
    await numbers.update_tracking_number(setup.operator, setup.tracking.id, TrackingNumberChanges(ask_zip=True))
    sid, twiml = await setup.phone.call("+12125550100")
    gather = twiml.find("Gather")
    assert gather is not None and gather.get("numDigits") == "5"
    _, twiml = await setup.phone.call("+12125550100", sid=sid, digits="48165")
    assert dialled(twiml) == campaign.buyer_phone
    lead = await Lead.get(id=(await Call.get(call_sid=sid)).lead_id)
    assert (lead.postal_code, lead.city, lead.state) == ("48165", "New Hudson", "MI")
    # Nothing keyed in (Twilio posts Digits empty): placed by the area code, asked only once.
    sid, twiml = await setup.phone.call("+13135550160")
    assert twiml.find("Gather").get("actionOnEmptyResult") == "true"
    _, twiml = await setup.phone.call("+13135550160", sid=sid, digits="")
    assert twiml.find("Gather") is None
    call = await Call.get(call_sid=sid)
    lead = await Lead.get(id=call.lead_id)
    assert (lead.postal_code, lead.state, call.location_from) == ("", "MI", "area_code")


async def test_unknown_tracking_number_is_not_in_service(setup):
    _, twiml = await setup.phone.call(to="+13135550100")
    assert "not in service" in twiml.find("Say").text
    assert await Call.all().count() == 0
