"""The webhooks of one inbound call, provider-neutral (the HTTP layer hands
them over, checked and parsed by the provider named in the URL).

1. ``voice``: a call to a tracking number. Unless the number asks for a ZIP
   first (then the same webhook again with the digits), a marketplace lead of
   kind CALL is stored (caller, place from the keyed ZIP or the caller's area
   code) and the ring tree starts.
2. The ring tree: the campaigns eligible by the web leads' own rules
   (core.routing: filters, schedule, caps, balance; a call is exclusive), best
   first. Ringing a campaign takes one of its concurrent-call slots by a
   conditional update of ``Campaign.active_calls`` (so the cap holds across
   processes); a campaign whose lines are all busy is skipped.
3. ``dial``: how a ring ended. Not answered: the campaign's missed-call
   streak grows (at the limit it is paused and its owner told why) and the
   next campaign rings. Answered for at least the offer's minimum: the call is
   sold through core.routing.sell_call (caps counted, ledger debit, buyer
   lead, deliveries, live feed). Shorter: not billed.
4. ``status``: the call is over: a ring still going (the caller hung up) ends
   and frees its slot.

Nobody eligible (outside every schedule...): the fallback message.

Idempotent on the provider's call id: a ring ends once (a conditional update
from ``ringing``), and a retried webhook gets the answer given the first time.
"""

from __future__ import annotations

import datetime as dt
import logging

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import notifications, routing
from leadwire.core.calls import location
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.identity import now
from leadwire.core.models.calls import AttemptStatus, Call, CallAttempt, CallStatus, TrackingNumber
from leadwire.core.models.leads import Lead, LeadKind, LeadOrigin, MarketStatus
from leadwire.core.models.marketplace import Campaign, RoutingDecision, RoutingOutcome
from leadwire.core.models.money import NotificationKind
from leadwire.plugins.telephony import (
    AskDigits,
    Connect,
    DialOutcome,
    Hangup,
    Say,
    WebhookRequest,
    WebhookResponse,
)

log = logging.getLogger("leadwire.calls")

ZIP_PROMPT = "Please enter the five digit ZIP code of where you need service."
NOT_IN_SERVICE = "Sorry, this number is not in service."
DEFAULT_FALLBACK = "Sorry, nobody can take your call right now. Please call again during business hours."
_MISSED = {
    DialOutcome.NO_ANSWER: AttemptStatus.NO_ANSWER,
    DialOutcome.BUSY: AttemptStatus.BUSY,
    DialOutcome.FAILED: AttemptStatus.FAILED,
    DialOutcome.CANCELED: AttemptStatus.CANCELED,
}


async def handle(
    installed: InstalledProvider, endpoint: str, request: WebhookRequest, base_url: str, *,
    attempt_id: int | None = None, at: dt.datetime | None = None,
) -> WebhookResponse | None:
    """Answer one webhook; None when its signature is not the provider's
    (nothing is read or written then)."""
    provider = installed.provider
    if not provider.verify(request):
        return None
    at = at or now()
    ctx = _Ctx(installed, base_url.rstrip("/"), at)
    if endpoint == "voice":
        return provider.render(await _voice(ctx, request))
    if endpoint == "dial" and attempt_id is not None:
        return await _dial(ctx, attempt_id, request)
    if endpoint == "status":
        await _status(ctx, request)
        return WebhookResponse("", "text/plain")
    return provider.render(Hangup())


class _Ctx:
    def __init__(self, installed: InstalledProvider, base_url: str, at: dt.datetime):
        self.installed, self.base_url, self.at = installed, base_url, at
        self.name = installed.name

    def url(self, path: str) -> str:
        return f"{self.base_url}/telephony/{self.name}/{path}"

    def fallback(self, number: TrackingNumber) -> Say:
        return Say(number.fallback_message or self.installed.setting("fallback_message", DEFAULT_FALLBACK))


# -- 1. the call comes in ------------------------------------------------------------------


async def _voice(ctx: _Ctx, request: WebhookRequest):
    inbound = ctx.installed.provider.parse_inbound(request)
    number = await TrackingNumber.get_or_none(number=inbound.called, provider=ctx.name, active=True)
    if number is None or not inbound.call_id:
        return Say(NOT_IN_SERVICE)
    call = await Call.get_or_none(provider=ctx.name, call_sid=inbound.call_id)
    if call is not None and call.lead_id is not None:
        return await _replay(ctx, call, number)  # a retried webhook: the call is routed already
    place = location.from_zip(inbound.digits)
    if place is None and number.ask_zip and inbound.digits is None:
        return AskDigits(ZIP_PROMPT, ctx.url("voice"), 5)
    place = place or location.from_caller(inbound.caller)
    try:
        async with in_transaction() as conn:
            lead = await Lead.create(
                account_id=number.account_id, origin=LeadOrigin.MARKETPLACE, kind=LeadKind.CALL, phone=inbound.caller[:32],
                postal_code=place.postal_code, city=place.city, state=place.state, industry_id=number.industry_id,
                product_id=number.product_id, source_id=number.source_id, market_status=MarketStatus.RECEIVED,
                data={}, using_db=conn,
            )
            call = await Call.create(
                provider=ctx.name, call_sid=inbound.call_id, tracking_number_id=number.id, lead_id=lead.id,
                caller=inbound.caller[:32], location_from=place.source, using_db=conn,
            )
    except IntegrityError:  # the same webhook at the same moment from another process
        call = await Call.get(provider=ctx.name, call_sid=inbound.call_id)
        return await _replay(ctx, call, number)
    return await _ring_next(ctx, call, number)


async def _replay(ctx: _Ctx, call: Call, number: TrackingNumber):
    ringing = await CallAttempt.filter(call_id=call.id, status=AttemptStatus.RINGING).order_by("-position").first()
    if ringing is not None and call.status == CallStatus.ROUTING:
        campaign = await Campaign.get(id=ringing.campaign_id)
        return _connect(ctx, ringing, campaign.buyer_phone, number)
    if call.status == CallStatus.ROUTING:
        return await _ring_next(ctx, call, number)
    return ctx.fallback(number)


def _connect(ctx: _Ctx, attempt: CallAttempt, phone: str, number: TrackingNumber) -> Connect:
    return Connect(
        number=phone, timeout_seconds=int(ctx.installed.setting("ring_timeout_seconds", 20)),
        action_url=ctx.url(f"dial/{attempt.id}"), record=bool(ctx.installed.setting("record_calls", False)),
        caller_id=number.number,
    )


# -- 2. the ring tree ------------------------------------------------------------------


async def _ring_next(ctx: _Ctx, call: Call, number: TrackingNumber):
    """Ring the best eligible campaign not rung yet for this call, or end with the fallback."""
    lead = await Lead.get(id=call.lead_id).select_related("industry")
    tried = set(await CallAttempt.filter(call_id=call.id).values_list("campaign_id", flat=True))
    candidates, ranked = await routing.rank_for_call(lead, ctx.at)
    trace: list[RoutingDecision] = []
    if not tried:  # the first ring: trace why the others could not take it
        trace += [_decision(lead.id, c, reason, detail) for c, reason, detail in candidates if reason is not None]
    phones = dict(await Campaign.filter(id__in=[c.id for c in ranked]).values_list("id", "buyer_phone")) if ranked else {}
    position = len(tried) + 1
    for view in ranked:
        if view.id in tried or not phones.get(view.id):
            continue
        async with in_transaction() as conn:
            took = await Campaign.filter(id=view.id, active_calls__lt=F("max_concurrent_calls")).using_db(conn).update(
                active_calls=F("active_calls") + 1
            )
            if took:
                attempt = await CallAttempt.create(call_id=call.id, campaign_id=view.id, position=position, using_db=conn)
            else:
                trace.append(_decision(lead.id, view, RoutingOutcome.LINES_BUSY, ""))
            if trace:
                await RoutingDecision.bulk_create(trace, using_db=conn)
                trace = []
        if took:
            return _connect(ctx, attempt, phones[view.id], number)
    # Nobody (else) can take it.
    status = CallStatus.MISSED if tried else CallStatus.FALLBACK
    async with in_transaction() as conn:
        if trace:
            await RoutingDecision.bulk_create(trace, using_db=conn)
        await Call.filter(id=call.id, status=CallStatus.ROUTING).using_db(conn).update(status=status)
        await Lead.filter(id=lead.id, market_status=MarketStatus.RECEIVED).using_db(conn).update(
            market_status=MarketStatus.UNSOLD
        )
    return ctx.fallback(number)


def _decision(lead_id: int, campaign, reason: RoutingOutcome, detail: str) -> RoutingDecision:
    return RoutingDecision(lead_id=lead_id, campaign_id=campaign.id, outcome=reason, detail=detail[:200],
                           price_minor=campaign.price_minor)


# -- 3. a ring ended -----------------------------------------------------------------------


async def _dial(ctx: _Ctx, attempt_id: int, request: WebhookRequest) -> WebhookResponse:
    provider = ctx.installed.provider
    result = provider.parse_dial_result(request)
    attempt = await CallAttempt.get_or_none(id=attempt_id).select_related("call", "campaign__offer")
    if attempt is None or attempt.call.provider != ctx.name or attempt.call.call_sid != result.call_id:
        return provider.render(Hangup())
    call, campaign = attempt.call, attempt.campaign
    answered = result.outcome == DialOutcome.ANSWERED
    status = AttemptStatus.ANSWERED if answered else _MISSED[result.outcome]
    limit = int(ctx.installed.setting("missed_calls_to_pause", 3))
    async with in_transaction() as conn:
        # Ends once: a retried webhook finds it ended and gets the first answer.
        ended = await CallAttempt.filter(id=attempt.id, status=AttemptStatus.RINGING).using_db(conn).update(
            status=status, duration_seconds=result.connected_seconds, ended_at=ctx.at
        )
        if ended:
            await Campaign.filter(id=campaign.id, active_calls__gt=0).using_db(conn).update(active_calls=F("active_calls") - 1)
            paused = False
            if answered:
                await Campaign.filter(id=campaign.id).using_db(conn).update(missed_calls_in_row=0)
            elif status != AttemptStatus.CANCELED:
                await Campaign.filter(id=campaign.id).using_db(conn).update(missed_calls_in_row=F("missed_calls_in_row") + 1)
                paused = bool(await Campaign.filter(
                    id=campaign.id, missed_calls_in_row__gte=limit, paused_at__isnull=True
                ).using_db(conn).update(paused_at=ctx.at, missed_calls_in_row=0))
                if paused:
                    await notifications.notify(
                        campaign.account_id, NotificationKind.CAMPAIGN_PAUSED, f"Campaign paused: {campaign.name}",
                        f"Your campaign {campaign.name!r} missed {limit} calls in a row (nobody answered within "
                        f"{ctx.installed.setting('ring_timeout_seconds', 20)} seconds), so we paused it to send calls "
                        f"to buyers who can answer. Resume it when someone can take calls at {campaign.buyer_phone}.",
                        conn,
                    )
            if not answered:
                await RoutingDecision.create(
                    lead_id=call.lead_id, campaign_id=campaign.id, outcome=RoutingOutcome.NO_ANSWER,
                    detail=status.value + (" (campaign paused)" if paused else ""), price_minor=campaign.offer.price_minor,
                    using_db=conn,
                )
    if not ended:
        fresh = await CallAttempt.get(id=attempt.id)
        return WebhookResponse(fresh.response_body) if fresh.response_body else provider.render(Hangup())
    number = await TrackingNumber.get(id=call.tracking_number_id)
    if answered:
        instruction = await _connected(ctx, call, attempt, campaign, result)
    elif status == AttemptStatus.CANCELED:
        instruction = Hangup()
    else:
        call = await Call.get(id=call.id)
        instruction = await _ring_next(ctx, call, number) if call.status == CallStatus.ROUTING else Hangup()
    response = provider.render(instruction)
    await CallAttempt.filter(id=attempt.id).update(response_body=response.body)
    return response


async def _connected(ctx: _Ctx, call: Call, attempt: CallAttempt, campaign: Campaign, result) -> Hangup:
    """The buyer talked to the caller: billed if long enough."""
    minimum = campaign.offer.min_call_seconds
    lead = await Lead.get(id=call.lead_id)
    values = {"duration_seconds": result.connected_seconds, "recording_url": result.recording_url[:500], "ended_at": ctx.at}
    if result.connected_seconds >= minimum:
        sold = await routing.sell_call(lead, campaign.id, ctx.at)
        if isinstance(sold[0], int):
            sale_id, buyer_lead_id = sold
            await CallAttempt.filter(id=attempt.id).update(billable=True)
            outcome, detail = RoutingOutcome.SOLD, f"connected {result.connected_seconds} s"
            values.update(status=CallStatus.BILLED, buyer_lead_id=buyer_lead_id, buyer_account_id=campaign.account_id)
        else:
            outcome, detail = sold
            detail = f"connected {result.connected_seconds} s, not billed: {outcome.value} {detail}".strip()
            values.update(status=CallStatus.NOT_BILLED)
    else:
        outcome = RoutingOutcome.SHORT_CALL
        detail = f"connected {result.connected_seconds} s, under the {minimum} s minimum"
        values.update(status=CallStatus.NOT_BILLED)
    async with in_transaction() as conn:
        await Call.filter(id=call.id).using_db(conn).update(**values)
        await RoutingDecision.create(lead_id=lead.id, campaign_id=campaign.id, outcome=outcome, detail=detail[:200],
                                     price_minor=campaign.offer.price_minor, using_db=conn)
        await Lead.filter(id=lead.id, market_status=MarketStatus.RECEIVED).using_db(conn).update(
            market_status=MarketStatus.SOLD if values["status"] == CallStatus.BILLED else MarketStatus.UNSOLD
        )
    return Hangup()


# -- 4. the call is over ---------------------------------------------------------------


async def _status(ctx: _Ctx, request: WebhookRequest) -> None:
    ended = ctx.installed.provider.parse_call_status(request)
    if ended is None:
        return
    call = await Call.get_or_none(provider=ctx.name, call_sid=ended.call_id)
    if call is None:
        return
    async with in_transaction() as conn:
        for attempt in await CallAttempt.filter(call_id=call.id, status=AttemptStatus.RINGING).using_db(conn):
            if await CallAttempt.filter(id=attempt.id, status=AttemptStatus.RINGING).using_db(conn).update(
                status=AttemptStatus.CANCELED, ended_at=ctx.at
            ):
                await Campaign.filter(id=attempt.campaign_id, active_calls__gt=0).using_db(conn).update(
                    active_calls=F("active_calls") - 1
                )
        if await Call.filter(id=call.id, status=CallStatus.ROUTING).using_db(conn).update(
            status=CallStatus.ABANDONED, ended_at=ctx.at
        ):
            if call.lead_id:
                await Lead.filter(id=call.lead_id, market_status=MarketStatus.RECEIVED).using_db(conn).update(
                    market_status=MarketStatus.UNSOLD
                )
        else:
            await Call.filter(id=call.id, ended_at__isnull=True).using_db(conn).update(ended_at=ctx.at)
