"""Real-time routing: sell a marketplace lead to the campaigns it matches.

The guarantee (seed 000): a lead is sold only to campaigns whose filter and
schedule it matches at the moment of delivery. The rules, in the order the
trace reports the first one a campaign fails:

1. candidates: campaigns of the lead's product whose service area covers the
   lead's ZIP or state (an index lookup, CampaignArea), plus those taking leads
   from anywhere;
2. ``account_closed`` / ``not_approved`` (by the operator) / ``disabled`` / ``paused``;
3. ``field_filter``: the industry's field filters (when the filter is on);
4. ``schedule``: inside a weekly window in the campaign's own time zone
   (zoneinfo, so correct across daylight-saving changes); no windows = always;
5. ``cap``: under its daily, weekly and monthly caps (periods in its time zone);
6. ``balance``: the partner's balance covers the price.

Ranking is deterministic: price per lead first (highest), then fairness (the
campaign that sold longest ago, never-sold first), then the oldest campaign.
Exclusive or shared: the best exclusive buyer's price is compared with the sum
of the best shared buyers' prices (up to the product's maximum buyers); the
higher revenue wins and a tie goes to exclusive (fewer calls for the
consumer). Eligible campaigns not chosen are traced as ``outranked``.

Each sale is one transaction of conditional updates — the lead's buyer slot,
the cap counters, the balance debit — plus the sale row, the buyer's copy of
the lead and the ledger entry. If any condition fails (another process got
there first) the whole sale rolls back, the campaign is traced with the
reason, and routing moves on to the next candidate. So across any number of
processes no balance goes below zero, no cap is exceeded, no exclusive lead is
sold twice and no shared lead goes beyond its maximum.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from leadwire.core import db, delivery, events, extensions, industries, ledger
from leadwire.core.identity import now as utc_now
from leadwire.core.models.identity import Account, AccountStatus
from leadwire.core.models.leads import Lead, LeadKind, LeadOrigin, MarketStatus
from leadwire.core.models.marketplace import (
    Campaign,
    CampaignLeadTypes,
    CampaignStatus,
    CapCounter,
    RoutingDecision,
    RoutingOutcome,
)
from leadwire.core.workspace.entry import enqueue_entry as enter_workspace
from leadwire.plugins.events import LeadSold
from leadwire.plugins.industry import filter_accepts

_CAPS = (("daily_cap", "d"), ("weekly_cap", "w"), ("monthly_cap", "m"))


@lru_cache(maxsize=1024)
def _clock(at: dt.datetime, time_zone: str) -> tuple[str, int, dict[str, str]]:
    """The campaign clock at ``at``: local "HH:MM", weekday, and the cap period
    keys. Cached: a lead's candidates share a handful of time zones, and this
    was computed twice per candidate."""
    local = at.astimezone(ZoneInfo(time_zone))
    keys = {
        "d": f"d:{local.date().isoformat()}",
        "w": "w:{}-W{:02d}".format(*local.isocalendar()[:2]),
        "m": f"m:{local.year}-{local.month:02d}",
    }
    return local.strftime("%H:%M"), local.weekday(), keys


def cap_periods(campaign: Campaign | CampaignView, at: dt.datetime) -> list[tuple[str, int]]:
    """(period key, cap) for each cap the campaign has, in its time zone."""
    caps = [(k, getattr(campaign, attr)) for attr, k in _CAPS if getattr(campaign, attr) is not None]
    if not caps:
        return []
    keys = _clock(at, campaign.time_zone)[2]
    return [(keys[k], cap) for k, cap in caps]


def in_schedule(campaign: Campaign | CampaignView, at: dt.datetime) -> bool:
    if not campaign.schedule:
        return True
    hhmm, day, _ = _clock(at, campaign.time_zone)
    return any(w["day"] == day and w["start"] <= hhmm < w["end"] for w in campaign.schedule)


@dataclass(slots=True)
class CampaignView:
    """What routing reads of a campaign, its offer and its account: plain values
    from one query, not ORM objects (routing may weigh hundreds per lead)."""

    id: int
    account_id: int
    status: str
    paused_at: dt.datetime | None
    filter_enabled: bool
    field_filters: dict
    schedule: list
    time_zone: str
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None
    last_sold_at: dt.datetime | None
    revision: int
    price_minor: int
    currency: str
    exclusive: bool
    offer_active: bool
    account_status: str
    account_approved_at: dt.datetime | None
    balance_minor: int
    name: str
    channels: dict  # the Integration tab: {delivery channel: settings}


_VIEW_FIELDS = (
    "id", "account_id", "status", "paused_at", "filter_enabled", "field_filters", "schedule", "time_zone",
    "daily_cap", "weekly_cap", "monthly_cap", "last_sold_at", "revision", "offer__price_minor", "offer__currency",
    "offer__exclusive", "offer__active", "account__status", "account__approved_at", "account__balance_minor",
    "name", "channels",
)


_TRACE_COLUMNS = ("lead_id", "campaign_id", "outcome", "detail", "price_minor", "decided_at")


@dataclass
class _Candidate:
    campaign: CampaignView
    reason: RoutingOutcome | None = None
    detail: str = ""

    @property
    def rank_key(self):
        last = self.campaign.last_sold_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return (-self.campaign.price_minor, last, self.campaign.id)


@dataclass
class RoutingResult:
    lead_id: int
    sold_to: list[int] = field(default_factory=list)  # campaign ids
    buyer_lead_ids: list[int] = field(default_factory=list)
    exclusive: bool = False
    status: MarketStatus = MarketStatus.UNSOLD
    decisions: dict[int, RoutingOutcome] = field(default_factory=dict)
    # Another router sold this lead at the same time (see the end of route_lead):
    # sold_to is then only this router's part, the lead row has the whole.
    contended: bool = False
    # Wall time of each phase, in ms (benchmarks): deciding, selling, tracing.
    timings: dict[str, float] = field(default_factory=dict)


class _SaleRefused(Exception):
    def __init__(self, reason: RoutingOutcome, detail: str = ""):
        self.reason, self.detail = reason, detail


# Every campaign that may want the lead: the product's campaigns taking this
# kind of lead that cover its ZIP or state (an index probe on campaign_area) or
# match anywhere. Plain rows, converted here: this runs for every lead and
# reads ~100 campaigns at 100,000.
_CANDIDATES = db.Statement(
    'SELECT c."id", c."account_id", c."status", c."paused_at", c."filter_enabled", c."field_filters", c."schedule", '
    'c."time_zone", c."daily_cap", c."weekly_cap", c."monthly_cap", c."last_sold_at", c."revision", o."price_minor", '
    'o."currency", o."exclusive", o."active", a."status", a."approved_at", a."balance_minor", c."name", c."channels" '
    'FROM "campaign" c JOIN "offer" o ON o."id" = c."offer_id" JOIN "account" a ON a."id" = c."account_id" '
    'WHERE c."product_id" = $1 AND c."lead_types" IN ($2, $3) AND (c."matches_anywhere" = $4 OR c."id" IN '
    '(SELECT "campaign_id" FROM "campaign_area" WHERE "product_id" = $1 AND "area" IN ($5, $6)))'
)


def _view_converters() -> tuple:
    """Per column of _CANDIDATES: how the driver's value becomes CampaignView's
    (JSON text, and on SQLite datetimes as text and booleans as 0/1)."""
    campaign, account = Campaign._meta.fields_map, Account._meta.fields_map

    def json_value(field):
        return lambda value: field.to_python_value(value) if isinstance(value, (str, bytes)) else value

    def time_value(field):
        return lambda value: field.to_python_value(value) if isinstance(value, str) else value

    def flag(value):
        return None if value is None else bool(value)

    return (
        None, None, campaign["status"].to_python_value, time_value(campaign["paused_at"]), flag, json_value(campaign["field_filters"]),
        json_value(campaign["schedule"]), None, None, None, None, time_value(campaign["last_sold_at"]), None, None,
        None, flag, flag, account["status"].to_python_value, time_value(account["approved_at"]), None, None, json_value(campaign["channels"]),
    )


_CONVERTERS: tuple = ()


async def _candidates(lead: Lead) -> list[_Candidate]:
    global _CONVERTERS
    if not _CONVERTERS:
        _CONVERTERS = _view_converters()
    zip_area = f"z:{lead.postal_code}" if lead.postal_code else ""
    state_area = f"s:{lead.state}" if lead.state else ""
    # Web leads go to campaigns taking web leads, calls to those taking calls (core.calls).
    takes = CampaignLeadTypes.CALL if lead.kind == LeadKind.CALL else CampaignLeadTypes.WEB
    conn = Campaign._meta.db
    _, rows = await conn.execute_query(
        _CANDIDATES.text(conn),
        [lead.product_id, takes.value, CampaignLeadTypes.BOTH.value, True, zip_area, state_area],
    )
    converters = _CONVERTERS
    return [
        _Candidate(CampaignView(*(v if f is None else f(v) for f, v in zip(converters, row))))
        for row in rows
    ]


async def _current_counts(campaigns: list[CampaignView], at: dt.datetime) -> dict[tuple[int, str], int]:
    wanted = {(c.id, key) for c in campaigns for key, _ in cap_periods(c, at)} if campaigns else set()
    if not wanted:
        return {}
    rows = await CapCounter.filter(
        campaign_id__in=list({c for c, _ in wanted}), period__in=list({p for _, p in wanted})
    ).values_list("campaign_id", "period", "count")
    return {(c, p): n for c, p, n in rows}


def _first_failure(c: _Candidate, lead: Lead, at: dt.datetime, counts: dict, schema) -> tuple[RoutingOutcome, str] | None:
    campaign = c.campaign
    if campaign.account_status != AccountStatus.ACTIVE:
        return RoutingOutcome.ACCOUNT_CLOSED, ""
    if campaign.account_approved_at is None:
        return RoutingOutcome.NOT_APPROVED, ""
    if campaign.status != CampaignStatus.ACTIVE or not campaign.offer_active:
        return RoutingOutcome.DISABLED, ""
    if campaign.paused_at is not None:
        return RoutingOutcome.PAUSED, ""
    if campaign.filter_enabled and campaign.field_filters and schema is not None:
        failed = filter_accepts(schema, campaign.field_filters, lead.data)
        if failed:
            return RoutingOutcome.FIELD_FILTER, failed
    if not in_schedule(campaign, at):
        return RoutingOutcome.SCHEDULE, ""
    for key, cap in cap_periods(campaign, at):
        if counts.get((campaign.id, key), 0) >= cap:
            return RoutingOutcome.CAP, key
    if campaign.balance_minor < campaign.price_minor:
        return RoutingOutcome.BALANCE, ""
    return None


def _choose(eligible: list[_Candidate], max_buyers: int) -> tuple[bool, list[_Candidate]]:
    """Exclusive or shared, and the buyers in the order to try them."""
    ranked = sorted(eligible, key=lambda c: c.rank_key)
    exclusive = [c for c in ranked if c.campaign.exclusive]
    shared = [c for c in ranked if not c.campaign.exclusive]
    exclusive_revenue = exclusive[0].campaign.price_minor if exclusive else 0
    shared_revenue = sum(c.campaign.price_minor for c in shared[:max_buyers])
    if exclusive and exclusive_revenue >= shared_revenue:
        return True, exclusive
    return False, shared


# The sale's guards and writes as plain statements (core.db.Statement): each
# guard is a conditional update that holds across processes, read here.
_TAKE_EXCLUSIVE_SLOT = db.Statement(
    'UPDATE "lead" SET "sale_count" = 1, "sold_exclusively" = $2 WHERE "id" = $1 AND "sale_count" = 0'
)
_TAKE_SHARED_SLOT = db.Statement(
    'UPDATE "lead" SET "sale_count" = "sale_count" + 1 '
    'WHERE "id" = $1 AND "sold_exclusively" = $2 AND "sale_count" < $3'
)
_OPEN_CAP_PERIOD = db.Statement(
    'INSERT INTO "cap_counter" ("campaign_id", "period", "count") VALUES ($1, $2, 0) ON CONFLICT DO NOTHING'
)
_COUNT_UNDER_CAP = db.Statement(
    'UPDATE "cap_counter" SET "count" = "count" + 1 WHERE "campaign_id" = $1 AND "period" = $2 AND "count" < $3'
)
_RECORD_SALE = db.Statement(
    'INSERT INTO "lead_sale" ("lead_id", "buyer_lead_id", "campaign_id", "account_id", "price_minor", "currency", '
    '"exclusive", "campaign_revision", "sold_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING "id"'
)
# The buyer's own copy of the lead: every column a new lead starts with
# (tests compare it with the ORM's Lead.create of the same values).
_COPY_FOR_BUYER = db.Statement(
    'INSERT INTO "lead" ("account_id", "origin", "kind", "first_name", "last_name", "email", "phone", "postal_code", '
    '"city", "state", "industry_id", "product_id", "data", "created_at", "sale_count", "sold_exclusively", '
    '"request_hash", "consent_text", "consent_ip", "consent_user_agent", "consent_page_url", "value_minor", '
    '"awaiting_assignment") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, $15, \'\', '
    '\'\', \'\', \'\', \'\', 0, $15) RETURNING "id"'
)
_LEAD_DATA = Lead._meta.fields_map["data"]
_STAMP_LAST_SOLD = db.Statement('UPDATE "campaign" SET "last_sold_at" = $2 WHERE "id" = $1')


async def _sell(
    lead: Lead, c: _Candidate, *, exclusive: bool, max_buyers: int, at: dt.datetime, known_counters: dict
) -> tuple[int, int]:
    """One sale, all or nothing. Returns (sale id, buyer's lead id). The unique
    (lead, campaign) constraint refuses a second sale to the same campaign."""
    campaign = c.campaign
    async with in_transaction() as conn:
        # 1. The lead's buyer slot (first write: on SQLite it takes the write lock).
        if exclusive:
            got = await _TAKE_EXCLUSIVE_SLOT.rows_changed(conn, lead.id, True)
        else:
            got = await _TAKE_SHARED_SLOT.rows_changed(conn, lead.id, False, max_buyers)
        if not got:
            raise _SaleRefused(RoutingOutcome.OUTRANKED, "lead taken")
        # 2. Caps: create the period's counter if new, then count under the cap.
        periods = cap_periods(campaign, at)
        for key, _ in periods:
            if (campaign.id, key) not in known_counters:
                await _OPEN_CAP_PERIOD.rows_changed(conn, campaign.id, key)
        for key, cap in periods:
            if not await _COUNT_UNDER_CAP.rows_changed(conn, campaign.id, key, cap):
                raise _SaleRefused(RoutingOutcome.CAP, key)
        # 3. The buyer's own copy, the sale, then the money.
        [buyer_lead] = await _COPY_FOR_BUYER.returning(
            conn, campaign.account_id, LeadOrigin.MARKETPLACE.value, LeadKind(lead.kind).value, lead.first_name,
            lead.last_name, lead.email, lead.phone, lead.postal_code, lead.city, lead.state, lead.industry_id,
            lead.product_id, _LEAD_DATA.to_db_value(lead.data, Lead), utc_now(), False,
        )
        buyer_lead_id = buyer_lead["id"]
        # Into the buyer's pipeline and assignment rules: a job committed with
        # the sale, run after it (core.workspace.entry), not in this transaction.
        await enter_workspace(buyer_lead_id, conn)
        [sale] = await _RECORD_SALE.returning(
            conn, lead.id, buyer_lead_id, campaign.id, campaign.account_id, campaign.price_minor, campaign.currency,
            exclusive, campaign.revision, utc_now(),
        )
        sale_id = sale["id"]
        if not await ledger.debit_for_sale(campaign.account_id, campaign.price_minor, sale_id, conn):
            raise _SaleRefused(RoutingOutcome.BALANCE, "")
        await _STAMP_LAST_SOLD.rows_changed(conn, campaign.id, at)
        # The courtesy copies (e-mail, SMS, CRM): committed with the sale or not at all.
        if campaign.channels:
            await delivery.schedule_deliveries(
                sale_id=sale_id, account_id=campaign.account_id, buyer_lead_id=buyer_lead_id,
                channel_names=list(campaign.channels), conn=conn,
            )
    return sale_id, buyer_lead_id


async def route_lead(lead_id: int, *, at: dt.datetime | None = None, reroute_unsold: bool = False) -> RoutingResult:
    """Route a received lead (or, for the operator's re-route, an unsold one).
    Safe to repeat: a lead already routed is left alone."""
    at = at or utc_now()
    t0 = time.perf_counter()
    lead = await Lead.get(id=lead_id).select_related("industry", "product")
    result = RoutingResult(lead_id=lead.id)
    routable = (MarketStatus.RECEIVED, MarketStatus.UNSOLD) if reroute_unsold else (MarketStatus.RECEIVED,)
    if lead.market_status not in routable or lead.kind == LeadKind.CALL:  # calls are sold by ringing (core.calls)
        result.status = MarketStatus(lead.market_status) if lead.market_status else MarketStatus.UNSOLD
        return result
    product = lead.product
    candidates, eligible, counts = await _eligibility(lead, at)

    # Choose exclusive or shared among the campaigns not tried yet; if every try
    # of the chosen kind is refused (another process took the cap or the money
    # since we read it), choose again among the rest.
    t1 = time.perf_counter()
    exclusive = False
    sold: list[_Candidate] = []
    sale_ids: list[int] = []
    remaining = eligible
    while remaining and not sold:
        exclusive, order = _choose(remaining, product.max_buyers)
        wanted = 1 if exclusive else product.max_buyers
        for c in order:
            if len(sold) >= wanted:
                break
            try:
                sale_id, buyer_lead_id = await _sell(
                    lead, c, exclusive=exclusive, max_buyers=product.max_buyers, at=at, known_counters=counts
                )
            except _SaleRefused as refused:
                c.reason, c.detail = refused.reason, refused.detail
                result.contended |= refused.detail == "lead taken"
                continue
            except IntegrityError:  # already sold to this campaign (a concurrent re-route)
                c.reason, c.detail = RoutingOutcome.OUTRANKED, "already sold to this campaign"
                result.contended = True
                continue
            c.reason = RoutingOutcome.SOLD
            c.detail = ""
            sold.append(c)
            sale_ids.append(sale_id)
            result.sold_to.append(c.campaign.id)
            result.buyer_lead_ids.append(buyer_lead_id)
        remaining = [c for c in remaining if c.reason is None]
    for c in eligible:
        if c.reason is None:
            c.reason = RoutingOutcome.OUTRANKED

    t2 = time.perf_counter()
    result.exclusive = exclusive and bool(result.sold_to)
    result.status = MarketStatus.SOLD if result.sold_to else MarketStatus.UNSOLD
    decided_at = utc_now()
    async with in_transaction() as conn:
        # Plain tuples: at 100,000 campaigns a lead has ~100 candidates, and one
        # ORM object per trace row was most of the trace's cost.
        await db.insert_rows(
            conn, RoutingDecision._meta.db_table, _TRACE_COLUMNS,
            [(lead.id, c.campaign.id, c.reason.value, c.detail[:200], c.campaign.price_minor, decided_at)
             for c in candidates],
        )
        # A lead can have two routers at once (the intake safety net and a
        # request slower than its delay), or sales from a router that died
        # before this write: a router that sold nothing must not mark unsold a
        # lead that has sales. One conditional statement in the usual case.
        if result.sold_to:
            await Lead.filter(id=lead.id).using_db(conn).update(market_status=result.status)
        elif not await Lead.filter(id=lead.id, sale_count=0).using_db(conn).update(market_status=result.status):
            result.status, result.contended = MarketStatus.SOLD, True
            await Lead.filter(id=lead.id).using_db(conn).update(market_status=MarketStatus.SOLD)
    result.decisions = {c.campaign.id: c.reason for c in candidates}
    t3 = time.perf_counter()
    result.timings = {"decide_ms": (t1 - t0) * 1000, "sell_ms": (t2 - t1) * 1000, "trace_ms": (t3 - t2) * 1000}
    _announce_sales(lead.id, list(zip(sold, result.buyer_lead_ids, sale_ids)), exclusive=result.exclusive, at=at)
    return result


def _announce_sales(lead_id: int, sales: list[tuple[_Candidate, int, int]], *, exclusive: bool, at: dt.datetime) -> None:
    # After commit: the live feed of each buyer (the official record is the sale).
    events.bus.publish(
        *(events.LeadEvent(events.LeadEventKind.SOLD, buyer_id, c.campaign.account_id, sale_id) for c, buyer_id, sale_id in sales)
    )
    if extensions.listening("leadwire_lead_sold"):
        extensions.notify("leadwire_lead_sold", *(
            LeadSold(
                sale_id=sale_id, lead_id=lead_id, buyer_lead_id=buyer_id, campaign_id=c.campaign.id,
                account_id=c.campaign.account_id, price_minor=c.campaign.price_minor, currency=c.campaign.currency,
                exclusive=exclusive, sold_at=at,
            )
            for c, buyer_id, sale_id in sales
        ))


# -- shared with call leads (core.calls) ------------------------------------------------


async def _eligibility(lead: Lead, at: dt.datetime) -> tuple[list[_Candidate], list[_Candidate], dict]:
    """Every candidate campaign, its first failed rule (``reason``) or none,
    the eligible ones, and the cap counts read. ``lead`` has industry fetched."""
    schema = industries.schema_for(lead.industry.schema_key) if lead.industry else None
    candidates = await _candidates(lead)
    counts = await _current_counts([c.campaign for c in candidates], at)
    eligible = []
    for c in candidates:
        failure = _first_failure(c, lead, at, counts, schema)
        if failure:
            c.reason, c.detail = failure
        else:
            eligible.append(c)
    return candidates, eligible, counts


async def rank_for_call(lead: Lead, at: dt.datetime) -> tuple[list[tuple[CampaignView, RoutingOutcome, str]], list[CampaignView]]:
    """A call lead's candidates with the rule each failed (None if eligible),
    and the eligible campaigns best first, by the same rules and ranking as web
    leads (a call is always exclusive)."""
    candidates, eligible, _ = await _eligibility(lead, at)
    ranked = sorted(eligible, key=lambda c: c.rank_key)
    return [(c.campaign, c.reason, c.detail) for c in candidates], [c.campaign for c in ranked]


async def sell_call(lead: Lead, campaign_id: int, at: dt.datetime) -> tuple[int, int] | tuple[RoutingOutcome, str]:
    """Sell a connected call lead to the campaign that took it: the same sale
    as a web lead (exclusive, caps counted now, ledger debit, buyer lead,
    deliveries, live feed). Returns (sale id, buyer lead id), or the rule that
    refused it (cap, balance...) with nothing written."""
    row = await Campaign.filter(id=campaign_id).values_list(*_VIEW_FIELDS)
    c = _Candidate(CampaignView(*row[0]))
    counts = await _current_counts([c.campaign], at)
    try:
        sale_id, buyer_lead_id = await _sell(lead, c, exclusive=True, max_buyers=1, at=at, known_counters=counts)
    except _SaleRefused as refused:
        return refused.reason, refused.detail
    except IntegrityError:
        return RoutingOutcome.OUTRANKED, "already sold to this campaign"
    _announce_sales(lead.id, [(c, buyer_lead_id, sale_id)], exclusive=True, at=at)
    return sale_id, buyer_lead_id
