"""Lead returns, as seed 000 states them.

- A partner returns a lead it bought **within 7 calendar days of delivery**.
  Precisely: the window closes at the same local time, seven calendar days
  after the delivery, in the partner's time zone, which is the time zone of
  the campaign that bought the lead, as set at delivery (its Global tab).
  Counting calendar days on the local clock, not 168 hours, is what makes the
  time zone matter: across a daylight-saving change the window is 167 or
  169 hours long. The request is accepted up to and including that instant.
- Only the valid reasons are accepted: no working phone number, never
  requested a quote, outside the filter at delivery. The invalid reasons seed
  000 lists are refused with its explanation.
- "Outside the filter at delivery" is checked against the campaign's settings
  in force at delivery (the sale's revision, core.campaign_history) and the
  routing trace: a lead that was inside them is refused with what was checked,
  including when the filter has changed since (seed 000: leads delivered under
  the old filter because the campaign was not paused are not returnable).
- The operator approves or declines with a note; the review is due 10 days
  after the request (``due_at``); past it, a pending return is overdue.
- An approved return is a credit on the ledger (core.ledger: spent first,
  never refunded), never a card refund: approving writes the credit in the
  same transaction as the status change, conditionally, so it is credited once.
- Each partner's return rate is visible; the operator can flag a partner
  suspected of abusing returns, and close the account for abuse
  (core.accounts_closing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from leadwire.core import campaign_history, extensions, industries, ledger, notifications
from leadwire.core.access import Viewer, require_operator, visible_lead
from leadwire.core.errors import DomainError, ErrorCode, FieldError, Forbidden, not_found
from leadwire.core.identity import now
from leadwire.core.models.identity import Account, AccountKind
from leadwire.core.models.leads import Lead, LeadKind
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.marketplace import Campaign, LeadSale, RoutingDecision, RoutingOutcome
from leadwire.core.models.money import AccountFlag, NotificationKind
from leadwire.core.models.returns import ReturnReason, ReturnRequest, ReturnStatus
from leadwire.integrations import geodata
from leadwire.plugins.events import ReturnDecided
from leadwire.plugins.industry import filter_accepts

WINDOW_DAYS = 7
REVIEW_DAYS = 10
MAX_NOTE = 1000

# Seed 000: "Leads are returnable ... for full credit if any of the following applies".
VALID_REASONS = {
    ReturnReason.NO_WORKING_PHONE: "None of the telephone numbers on the lead is a valid, working number.",
    ReturnReason.NEVER_REQUESTED_QUOTE: "The consumer did not request service information or a quote.",
    ReturnReason.OUTSIDE_FILTER_AT_DELIVERY: "At delivery, the lead did not fall within the campaign's filter.",
    # Call leads (core.calls): a billed call is a lead like any other, returned for what can go wrong with a call.
    ReturnReason.WRONG_NUMBER: "The caller meant to reach someone else and did not want the service.",
    ReturnReason.NO_CUSTOMER_ON_LINE: "Nobody was on the line: silence, a recording or an automated call.",
    ReturnReason.DUPLICATE_CALLER: "The same caller was billed to this account for another call in the 7 days before.",
}
# Which valid reasons fit which kind of lead.
CALL_ONLY_REASONS = frozenset({ReturnReason.WRONG_NUMBER, ReturnReason.NO_CUSTOMER_ON_LINE, ReturnReason.DUPLICATE_CALLER})
WEB_ONLY_REASONS = frozenset({ReturnReason.NO_WORKING_PHONE, ReturnReason.NEVER_REQUESTED_QUOTE})
DUPLICATE_CALLER_DAYS = 7
# Seed 000: "Invalid Lead Return Reasons", each with why.
REFUSED_REASONS = {
    ReturnReason.REPRESENTATIVE_FOR_CONSUMER: (
        "A representative, parent or guardian looking for service for the person named on the lead is not a reason "
        "to return it: the guarantee is a working phone number to the person named on the lead or to their "
        "representative, parent or guardian."
    ),
    ReturnReason.CALLED_BY_OTHER_AGENTS: (
        "Exclusive leads are delivered to only one of our buyers (shared leads to at most 4, or 8 for full-service "
        "moving), and that is what we guarantee. Consumers may visit other sites, not ours, before or after they "
        "submit their information on one of ours, so other agents calling them does not make the lead non-exclusive."
    ),
    ReturnReason.CONSUMER_UNRESPONSIVE: (
        "We guarantee a working phone number, not that the prospect will take or return your calls or have a "
        "voicemail: call the consumer as soon as possible after the purchase and keep following up."
    ),
    ReturnReason.EMAIL_UNANSWERED_OR_INVALID: (
        "A lead that does not answer your e-mails, or whose e-mail address is invalid, is not returnable: the "
        "guarantee is a working phone number."
    ),
    ReturnReason.FILTER_CHANGED_WITHOUT_PAUSE: (
        "A lead delivered under your old filter settings because the campaign was not paused or disabled while its "
        "filter set changed is not returnable: pause the campaign before changing its filter."
    ),
    ReturnReason.NOTIFICATION_NOT_RECEIVED: (
        "The dashboard is the official record of leads delivered; e-mail and text messages are courtesy "
        "notifications, so no credit is given because a notification did not arrive."
    ),
}


def _local(t: dt.datetime, time_zone: str) -> str:
    return t.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M %Z")


# -- the window ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnWindow:
    delivered_at: dt.datetime  # UTC
    time_zone: str  # the partner's (the buying campaign's, at delivery)
    closes_at: dt.datetime  # UTC: the same local time, 7 calendar days later

    def is_open(self, at: dt.datetime) -> bool:
        return at <= self.closes_at

    def describe(self) -> str:
        return (f"delivered {_local(self.delivered_at, self.time_zone)}, returnable until "
                f"{_local(self.closes_at, self.time_zone)} ({self.time_zone})")


def window_for(delivered_at: dt.datetime, time_zone: str) -> ReturnWindow:
    """Seven calendar days on the partner's local clock. A local time that does
    not exist that day (the spring-forward hour) is read with the offset before
    the change, as zoneinfo does."""
    tz = ZoneInfo(time_zone)
    local = delivered_at.astimezone(tz)
    closes_local = (local.replace(tzinfo=None) + dt.timedelta(days=WINDOW_DAYS)).replace(tzinfo=tz)
    return ReturnWindow(delivered_at, time_zone, closes_local.astimezone(dt.timezone.utc))


async def partner_time_zone(sale: LeadSale) -> str:
    """The buying campaign's time zone as set at delivery (today's if not kept)."""
    settings = await campaign_history.settings_at(sale.campaign_id, sale.campaign_revision)
    if settings and settings.get("time_zone"):
        return settings["time_zone"]
    campaign = await Campaign.get(id=sale.campaign_id)
    return campaign.time_zone or "UTC"


async def window_of(sale: LeadSale) -> ReturnWindow:
    return window_for(sale.sold_at, await partner_time_zone(sale))


# -- "outside the filter at delivery" ---------------------------------------------------------


@dataclass
class FilterCheck:
    """``inside``: True (the lead matched the filter in force at delivery),
    False (it did not), None (that filter could not be recovered)."""

    inside: bool | None
    facts: list[str] = field(default_factory=list)
    revision_then: int = 0
    revision_now: int = 0


async def check_filter_at_delivery(sale: LeadSale) -> FilterCheck:
    """Evaluate the marketplace lead, as routing saw it, against the campaign's
    Filter and Schedule tabs at the sale's revision, and read the routing trace."""
    campaign = await Campaign.get(id=sale.campaign_id)
    check = FilterCheck(inside=None, revision_then=sale.campaign_revision, revision_now=campaign.revision)
    trace = await RoutingDecision.filter(lead_id=sale.lead_id, campaign_id=sale.campaign_id).order_by("id").values_list(
        "outcome", "decided_at"
    )
    sold = [t for o, t in trace if o == RoutingOutcome.SOLD]
    check.facts.append(
        f"Routing trace: sold to this campaign at {sold[0].isoformat(timespec='seconds')}." if sold
        else "Routing trace: no sale to this campaign is recorded for this lead."
    )
    settings = await campaign_history.settings_at(sale.campaign_id, sale.campaign_revision)
    if settings is None:
        check.facts.append(f"The campaign's settings at delivery (revision {sale.campaign_revision}) were not kept.")
        return check
    lead = await Lead.get(id=sale.lead_id).select_related("industry")
    ok = True
    if not settings["filter_enabled"] or settings["geo_mode"] == "anywhere":
        check.facts.append("Service area: the filter took leads from anywhere.")
    elif settings["geo_mode"] == "states":
        inside = lead.state in settings["states"]
        ok &= inside
        check.facts.append(f"Service area: the states {', '.join(settings['states'])}; the lead is in {lead.state or 'no state'}.")
    elif settings["geo_mode"] == "zip_list":
        inside = lead.postal_code in settings["zip_codes"]
        ok &= inside
        check.facts.append(f"Service area: a list of {len(settings['zip_codes'])} ZIP codes, "
                           f"{'including' if inside else 'not including'} the lead's {lead.postal_code}.")
    else:
        inside = lead.postal_code in set(geodata.zips_within(settings["radius_zip"], settings["radius_miles"]))
        ok &= inside
        check.facts.append(f"Service area: {settings['radius_miles']} miles around {settings['radius_zip']}, "
                           f"{'including' if inside else 'not including'} the lead's ZIP {lead.postal_code}.")
    filters = {k: v for k, v in (settings.get("field_filters") or {}).items() if v not in (None, [], False)}
    if settings["filter_enabled"] and filters:
        schema = industries.schema_for(lead.industry.schema_key) if lead.industry else None
        if schema is None:
            check.facts.append("Industry filters: the industry's schema is not installed; they could not be checked.")
        else:
            failed = filter_accepts(schema, filters, lead.data or {})
            if failed:
                ok = False
                check.facts.append(f"Industry filter {failed}: the lead's {lead.data.get(failed)!r} is outside "
                                   f"the campaign's setting {filters.get(failed)!r}.")
            else:
                ops = {spec.field: spec.op.value for spec in schema.filters}
                words = {"in": "one of", "min": "at least", "max": "at most", "require_true": "required:"}
                check.facts.append("Industry filters: " + ", ".join(
                    f"{name} {lead.data.get(name)!r} ({words.get(ops.get(name), 'setting')} {wanted!r})"
                    for name, wanted in sorted(filters.items())) + ".")
    from leadwire.core.routing import in_schedule

    time_zone = settings.get("time_zone") or campaign.time_zone
    in_hours = in_schedule(SimpleNamespace(schedule=settings.get("schedule") or [], time_zone=time_zone), sale.sold_at)
    ok &= in_hours
    check.facts.append(f"Schedule: delivered {_local(sale.sold_at, time_zone)}, "
                       f"{'inside' if in_hours else 'outside'} the campaign's weekly hours.")
    check.inside = ok
    return check


# -- requesting ------------------------------------------------------------------------------


async def _purchase(viewer: Viewer, lead_id: int) -> LeadSale:
    if viewer.is_operator:
        raise Forbidden("Returns are requested by the partner that bought the lead.")
    lead = await visible_lead(viewer, lead_id)
    if lead is None:
        raise not_found("lead_id", "lead")
    sale = await LeadSale.get_or_none(buyer_lead_id=lead.id, account_id=viewer.account_id)
    if sale is None:
        raise DomainError.single("lead_id", ErrorCode.INVALID, "Only a lead bought through a campaign can be returned.")
    return sale


async def _earlier_calls(sale: LeadSale, buyer_lead: Lead) -> list[str]:
    """The same caller's other calls billed to the account in the days before this sale."""
    since = sale.sold_at - dt.timedelta(days=DUPLICATE_CALLER_DAYS)
    rows = await LeadSale.filter(
        account_id=sale.account_id, buyer_lead__kind=LeadKind.CALL, buyer_lead__phone=buyer_lead.phone,
        sold_at__gte=since, sold_at__lte=sale.sold_at,
    ).exclude(id=sale.id).order_by("sold_at").values_list("sold_at", flat=True)
    return [f"The same caller was billed to this account on {t.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC." for t in rows]


@dataclass(frozen=True)
class Eligibility:
    returnable: bool
    window: ReturnWindow
    why_not: str = ""
    existing: ReturnRequest | None = None


async def eligibility(viewer: Viewer, lead_id: int, *, at: dt.datetime | None = None) -> Eligibility:
    """Whether the viewer can return this lead now, and until when."""
    at = at or now()
    sale = await _purchase(viewer, lead_id)
    window = await window_of(sale)
    existing = await ReturnRequest.get_or_none(sale_id=sale.id)
    if existing is not None:
        return Eligibility(False, window, f"A return was requested already ({existing.status.value}).", existing)
    if not window.is_open(at):
        return Eligibility(False, window, f"The 7-day return window has closed: {window.describe()}.")
    return Eligibility(True, window)


async def request_return(
    viewer: Viewer, lead_id: int, reason: ReturnReason | str, note: str = "", *, at: dt.datetime | None = None,
) -> ReturnRequest:
    """A partner asks to return a bought lead for credit. Refused, with the
    reason why and nothing written, when the reason is not a valid one, the
    window has closed, the lead was returned already, or (outside the filter)
    the lead was inside the filter in force at delivery."""
    at = at or now()
    note = (note or "").strip()
    sale = await _purchase(viewer, lead_id)
    errors = []
    try:
        reason = ReturnReason(reason)
    except ValueError:
        errors.append(FieldError("reason", ErrorCode.INVALID, f"Unknown reason {reason!r}."))
    else:
        if reason in REFUSED_REASONS:
            errors.append(FieldError("reason", ErrorCode.RETURN_REASON_REFUSED, REFUSED_REASONS[reason]))
        buyer_lead = await Lead.get(id=sale.buyer_lead_id)
        is_call = buyer_lead.kind == LeadKind.CALL
        if is_call and reason in WEB_ONLY_REASONS:
            errors.append(FieldError("reason", ErrorCode.RETURN_REASON_REFUSED, (
                "This is a call lead: the caller reached you on the phone. Return it as a wrong number, no customer "
                "on the line, a duplicate caller, or outside the filter at delivery.")))
        elif not is_call and reason in CALL_ONLY_REASONS:
            errors.append(FieldError("reason", ErrorCode.RETURN_REASON_REFUSED,
                                     "This reason is for call leads only; this lead came from a web form."))
    if len(note) > MAX_NOTE:
        errors.append(FieldError("note", ErrorCode.TOO_LONG, f"The note is at most {MAX_NOTE} characters."))
    if errors:
        raise DomainError(*errors)
    window = await window_of(sale)
    if not window.is_open(at):
        raise DomainError.single("lead_id", ErrorCode.RETURN_WINDOW_CLOSED,
                                 f"Leads can be returned within 7 calendar days of delivery: this one was {window.describe()}.")
    if await ReturnRequest.exists(sale_id=sale.id):
        raise DomainError.single("lead_id", ErrorCode.DUPLICATE, "A return was requested for this lead already.")
    evidence: list[str] = []
    if reason == ReturnReason.DUPLICATE_CALLER:
        evidence = await _earlier_calls(sale, buyer_lead)
        if not evidence:
            raise DomainError.single("reason", ErrorCode.RETURN_REASON_REFUSED, (
                f"No other call from {buyer_lead.phone} was billed to your account in the "
                f"{DUPLICATE_CALLER_DAYS} days before this one."))
    if reason == ReturnReason.OUTSIDE_FILTER_AT_DELIVERY:
        check = await check_filter_at_delivery(sale)
        evidence = check.facts
        if check.inside:
            message = (f"The lead was inside your campaign's filter at delivery (revision {check.revision_then}), "
                       "as the routing trace shows: " + " ".join(check.facts))
            if check.revision_now != check.revision_then:
                message += (f" The campaign's settings have changed since (revision {check.revision_now} now): "
                            + REFUSED_REASONS[ReturnReason.FILTER_CHANGED_WITHOUT_PAUSE])
            raise DomainError.single("reason", ErrorCode.RETURN_REASON_REFUSED, message)
    try:
        async with in_transaction() as conn:
            if not await ledger.lock_account(viewer.account_id, conn):
                raise DomainError.single(None, ErrorCode.ACCOUNT_CLOSED, "This account is closed.")
            return await ReturnRequest.create(
                sale_id=sale.id, account_id=viewer.account_id, buyer_lead_id=sale.buyer_lead_id, reason=reason,
                note=note, amount_minor=sale.price_minor, currency=sale.currency, requested_by_id=viewer.membership_id,
                requested_at=at, due_at=at + dt.timedelta(days=REVIEW_DAYS), evidence=evidence, using_db=conn,
            )
    except IntegrityError:  # the same lead, at the same moment, from another request
        raise DomainError.single("lead_id", ErrorCode.DUPLICATE, "A return was requested for this lead already.") from None


# -- reviewing --------------------------------------------------------------------------------


async def review_return(
    viewer: Viewer, return_id: int, *, approve: bool, note: str = "", at: dt.datetime | None = None,
) -> ReturnRequest:
    """The operator approves (the lead's price back as a ledger credit) or
    declines (a note, which the partner sees, is required)."""
    require_operator(viewer, "review returns")
    at = at or now()
    note = (note or "").strip()
    if not approve and len(note) < 3:
        raise DomainError.single("note", ErrorCode.REQUIRED, "Say why the return is declined: the partner sees the note.")
    if len(note) > MAX_NOTE:
        raise DomainError.single("note", ErrorCode.TOO_LONG, f"The note is at most {MAX_NOTE} characters.")
    ret = await ReturnRequest.get_or_none(id=return_id)
    if ret is None:
        raise not_found("return_id", "return")
    async with in_transaction() as conn:
        await ledger.lock_account(ret.account_id, conn, active_only=False)
        status = ReturnStatus.APPROVED if approve else ReturnStatus.DECLINED
        done = await ReturnRequest.filter(id=ret.id, status=ReturnStatus.PENDING).using_db(conn).update(
            status=status, reviewed_at=at, reviewed_by_id=viewer.membership_id, review_note=note
        )
        if not done:
            current = await ReturnRequest.get(id=ret.id).using_db(conn)
            raise DomainError.single("return_id", ErrorCode.INVALID, f"This return is {current.status.value} already.")
        lead = await Lead.get(id=ret.buyer_lead_id).using_db(conn)
        who = f"{lead.first_name} {lead.last_name}".strip() or f"lead {lead.id}"
        if approve:
            await ledger.credit(ret.account_id, ret.amount_minor, EntryKind.RETURN_CREDIT,
                                f"Return approved: {who}", conn, return_request_id=ret.id, actor_id=viewer.membership_id)
        await notifications.notify(
            ret.account_id, NotificationKind.RETURN_REVIEWED,
            f"Return {'approved' if approve else 'declined'}: {who}",
            (f"{ledger.money_text(ret.amount_minor)} was credited to your balance." if approve else "No credit.")
            + (f" Note: {note}" if note else ""),
            conn,
        )
    extensions.notify("leadwire_return_decided", ReturnDecided(
        return_id=ret.id, sale_id=ret.sale_id, buyer_lead_id=ret.buyer_lead_id, account_id=ret.account_id,
        approved=approve, reason=ReturnReason(ret.reason).value, amount_minor=ret.amount_minor, currency=ret.currency,
        note=note, decided_at=at,
    ))
    return await ReturnRequest.get(id=ret.id)


def overdue(qs, at: dt.datetime | None = None):
    """Pending returns whose review is past due (10 days after the request)."""
    return qs.filter(status=ReturnStatus.PENDING, due_at__lt=at or now())


async def withdraw_pending(account_id: int, why: str, conn) -> int:
    """At closing (core.accounts_closing, holding the account row): pending
    returns end without review."""
    return await ReturnRequest.filter(account_id=account_id, status=ReturnStatus.PENDING).using_db(conn).update(
        status=ReturnStatus.WITHDRAWN, reviewed_at=now(), review_note=why[:MAX_NOTE]
    )


# -- return rates and abuse ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnStats:
    sales: int
    requested: int
    approved: int
    declined: int
    pending: int

    @property
    def rate(self) -> float:
        """Returns requested per lead bought."""
        return self.requested / self.sales if self.sales else 0.0

    @property
    def approved_rate(self) -> float:
        return self.approved / self.sales if self.sales else 0.0


async def return_stats(account_id: int, *, days: int | None = None, at: dt.datetime | None = None) -> ReturnStats:
    """Leads bought and returns requested by one partner (all time, or the last ``days``)."""
    sales = LeadSale.filter(account_id=account_id)
    returns = ReturnRequest.filter(account_id=account_id)
    if days is not None:
        since = (at or now()) - dt.timedelta(days=days)
        sales, returns = sales.filter(sold_at__gte=since), returns.filter(requested_at__gte=since)
    by_status = dict(await returns.annotate(n=Count("id")).group_by("status").values_list("status", "n"))
    count = lambda s: int(by_status.get(s, 0) or by_status.get(s.value, 0))  # noqa: E731
    return ReturnStats(
        sales=await sales.count(), requested=sum(int(v) for v in by_status.values()),
        approved=count(ReturnStatus.APPROVED), declined=count(ReturnStatus.DECLINED), pending=count(ReturnStatus.PENDING),
    )


async def flag_account(viewer: Viewer, account_id: int, note: str) -> AccountFlag:
    """The operator flags a partner suspected of abusing the return policy."""
    require_operator(viewer, "flag accounts")
    note = (note or "").strip()
    if not 3 <= len(note) <= MAX_NOTE:
        raise DomainError.single("note", ErrorCode.REQUIRED, f"Say why (3 to {MAX_NOTE} characters).")
    if not await Account.exists(id=account_id, kind=AccountKind.PARTNER):
        raise not_found("account_id", "partner account")
    async with in_transaction() as conn:
        await ledger.lock_account(account_id, conn, active_only=False)
        if await AccountFlag.filter(account_id=account_id, cleared_at__isnull=True).using_db(conn).exists():
            raise DomainError.single("account_id", ErrorCode.DUPLICATE, "This account is flagged already.")
        return await AccountFlag.create(account_id=account_id, note=note, created_by_id=viewer.membership_id, using_db=conn)


async def clear_flag(viewer: Viewer, account_id: int, note: str) -> AccountFlag:
    require_operator(viewer, "clear flags")
    note = (note or "").strip()
    if not 3 <= len(note) <= MAX_NOTE:
        raise DomainError.single("note", ErrorCode.REQUIRED, f"Say why (3 to {MAX_NOTE} characters).")
    flag = await AccountFlag.filter(account_id=account_id, cleared_at__isnull=True).first()
    if flag is None:
        raise DomainError.single("account_id", ErrorCode.NOT_FOUND, "This account is not flagged.")
    await AccountFlag.filter(id=flag.id, cleared_at__isnull=True).update(
        cleared_at=now(), cleared_by_id=viewer.membership_id, clear_note=note
    )
    return await AccountFlag.get(id=flag.id)


async def active_flag(account_id: int) -> AccountFlag | None:
    return await AccountFlag.filter(account_id=account_id, cleared_at__isnull=True).first()
