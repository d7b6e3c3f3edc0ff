"""Dashboards: the partner's global summary and the operator's marketplace summary.

Every figure is one GROUP BY (or one conditional aggregate) in the database;
Python only puts names on ids and sums a handful of grouped rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from leadwire.core import access
from leadwire.core.access import Viewer, visible_sales
from leadwire.core.campaigns import visible_campaigns
from leadwire.core.errors import DomainError, ErrorCode, Forbidden
from leadwire.core.identity import now
from leadwire.core.ledger import MARKET_CURRENCY
from leadwire.core.models.calls import Call, CallStatus
from leadwire.core.models.delivery import DeliveryStatus
from leadwire.core.models.identity import Account, LeadSource
from leadwire.core.models.leads import MarketStatus
from leadwire.core.models.marketplace import CampaignStatus, CapCounter, Industry, RoutingDecision, RoutingOutcome
from leadwire.core.models.money import AutoCharge
from leadwire.core.models.returns import ReturnStatus
from leadwire.core.reports.common import DEFAULT_KIND, KIND_FIELD, check_period, local_day_bounds
from leadwire.core.routing import in_schedule

MISSED = [o for o in RoutingOutcome if o != RoutingOutcome.SOLD]


@dataclass
class Period:
    lead_count: int
    spend_minor: int


@dataclass
class CampaignCaps:
    campaign_id: int
    name: str
    state: str  # running, paused, outside_schedule, disabled
    today: int
    week: int
    month: int
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None


@dataclass
class PartnerDashboard:
    time_zone: str
    currency: str
    balance_minor: int
    credit_minor: int
    auto_charge: AutoCharge | None  # None: not set up, or not the viewer's to see
    today: Period
    week: Period
    month: Period
    by_kind: list[tuple[str, int, int]]  # (kind, leads, spend) this month
    returns: dict[str, tuple[int, int]]  # status -> (count, amount) of returns asked in the window
    pending_returns: int
    campaigns: list[CampaignCaps]
    missed: list[tuple[str, int]]  # routing outcome -> leads missed in the window, most first
    window_days: int


def _cap_keys(time_zone: str, at: dt.datetime) -> dict[str, str]:
    local = at.astimezone(ZoneInfo(time_zone))
    return {
        "d": f"d:{local.date().isoformat()}",
        "w": "w:{}-W{:02d}".format(*local.isocalendar()[:2]),
        "m": f"m:{local.year}-{local.month:02d}",
    }


def period_starts(time_zone: str, at: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """Today, this (ISO, Monday) week and this month, as UTC instants, in the time zone."""
    tz = ZoneInfo(time_zone)
    local = at.astimezone(tz).date()
    start = lambda d: dt.datetime.combine(d, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)  # noqa: E731
    return start(local), start(local - dt.timedelta(days=local.weekday())), start(local.replace(day=1))


def _by_kind_rows(rows, kind_key: str | None, total_n: int, total_value: int) -> list[tuple[str, int, int]]:
    if kind_key is None or not rows:
        return [(DEFAULT_KIND, total_n, total_value)]
    return [(str(getattr(k, "value", k) or DEFAULT_KIND), n, int(v or 0)) for k, n, v in rows]


async def partner_dashboard(viewer: Viewer, *, window_days: int = 30, at: dt.datetime | None = None) -> PartnerDashboard:
    if viewer.is_operator:
        raise Forbidden("The partner dashboard is a partner account's: operator staff use the operator dashboard.")
    if not 1 <= window_days <= 366:
        raise DomainError.single("window_days", ErrorCode.INVALID, "The window is 1 to 366 days.")
    at = at or now()
    day, week, month = period_starts(viewer.time_zone, at)
    since = min(week, month)
    account = await Account.get(id=viewer.account_id)

    sales = visible_sales(viewer).filter(sold_at__gte=since, sold_at__lte=at)
    agg = await sales.annotate(
        # Counting sold_at, not id: the (account_id, sold_at, price_minor) index then answers alone.
        n_day=Count("sold_at", _filter=Q(sold_at__gte=day)), v_day=Sum("price_minor", _filter=Q(sold_at__gte=day)),
        n_week=Count("sold_at", _filter=Q(sold_at__gte=week)), v_week=Sum("price_minor", _filter=Q(sold_at__gte=week)),
        n_month=Count("sold_at", _filter=Q(sold_at__gte=month)), v_month=Sum("price_minor", _filter=Q(sold_at__gte=month)),
    ).values("n_day", "v_day", "n_week", "v_week", "n_month", "v_month")
    a = agg[0] if agg else {}
    p = lambda k: Period(int(a.get(f"n_{k}") or 0), int(a.get(f"v_{k}") or 0))  # noqa: E731
    today, this_week, this_month = p("day"), p("week"), p("month")
    kind_rows = []
    # Grouping by kind joins every sale of the month to its lead (~300 ms at a
    # million leads): done only when the account bought a call this month (an
    # index probe); otherwise every sale is a web lead and the totals say it all.
    if KIND_FIELD and await Call.filter(
        buyer_account_id=viewer.account_id, status=CallStatus.BILLED, ended_at__gte=month - dt.timedelta(days=1)
    ).exists():
        kind_rows = await visible_sales(viewer).filter(sold_at__gte=month, sold_at__lte=at).group_by(
            f"buyer_lead__{KIND_FIELD}").annotate(n=Count("id"), v=Sum("price_minor")).values_list(
            f"buyer_lead__{KIND_FIELD}", "n", "v")

    window_start = at - dt.timedelta(days=window_days)
    returns_qs = access.visible_returns(viewer)
    returns = {
        str(getattr(s, "value", s)): (n, int(v or 0))
        for s, n, v in await returns_qs.filter(requested_at__gte=window_start).group_by("status").annotate(
            n=Count("id"), v=Sum("amount_minor")).values_list("status", "n", "v")
    }
    pending = await returns_qs.filter(status=ReturnStatus.PENDING).count()

    camps = await visible_campaigns(viewer).order_by("name", "id").values(
        "id", "name", "status", "paused_at", "schedule", "time_zone", "daily_cap", "weekly_cap", "monthly_cap")
    keys = {c["id"]: _cap_keys(c["time_zone"], at) for c in camps}
    counted = {
        (cid, period): n
        for cid, period, n in await CapCounter.filter(
            campaign_id__in=list(keys), period__in=sorted({k for ks in keys.values() for k in ks.values()})
        ).values_list("campaign_id", "period", "count")
    } if camps else {}
    campaigns = []
    for c in camps:
        if c["status"] == CampaignStatus.DISABLED:
            state = "disabled"
        elif c["paused_at"] is not None:
            state = "paused"
        elif not in_schedule(_Sched(c["schedule"], c["time_zone"]), at):
            state = "outside_schedule"
        else:
            state = "running"
        k = keys[c["id"]]
        campaigns.append(CampaignCaps(
            c["id"], c["name"], state, counted.get((c["id"], k["d"]), 0), counted.get((c["id"], k["w"]), 0),
            counted.get((c["id"], k["m"]), 0), c["daily_cap"], c["weekly_cap"], c["monthly_cap"],
        ))
    missed = []
    if camps:
        missed = [
            (str(getattr(o, "value", o)), n)
            for o, n in await RoutingDecision.filter(
                campaign_id__in=list(keys), decided_at__gte=window_start, outcome__in=MISSED
            ).group_by("outcome").annotate(n=Count("decided_at")).values_list("outcome", "n")
        ]
        missed.sort(key=lambda r: (-r[1], r[0]))
    auto = await AutoCharge.get_or_none(account_id=viewer.account_id) if access.can_see_money(viewer, viewer.account_id) else None
    return PartnerDashboard(
        time_zone=viewer.time_zone, currency=MARKET_CURRENCY, balance_minor=account.balance_minor,
        credit_minor=account.credit_minor, auto_charge=auto, today=today, week=this_week, month=this_month,
        by_kind=_by_kind_rows(kind_rows, KIND_FIELD, this_month.lead_count, this_month.spend_minor),
        returns=returns, pending_returns=pending, campaigns=campaigns, missed=missed, window_days=window_days,
    )


@dataclass
class _Sched:
    schedule: list
    time_zone: str


# -- the operator ---------------------------------------------------------------------------


@dataclass
class SupplyRow:
    industry: Industry | None
    source: LeadSource | None
    kind: str
    received: int = 0
    sold: int = 0
    unsold: int = 0
    duplicate: int = 0
    pending: int = 0


@dataclass
class PartnerReturns:
    account: Account
    sold: int
    sales_minor: int
    returns: dict[str, int] = field(default_factory=dict)


@dataclass
class OperatorDashboard:
    time_zone: str
    start: dt.date
    end: dt.date
    currency: str
    supply: list[SupplyRow]
    sold_count: int
    revenue_minor: int
    partners: list[PartnerReturns]
    deliveries_failed: dict[str, int]  # channel -> failed deliveries created in the period
    deliveries_retrying: int  # pending deliveries that have failed at least once (now)


async def operator_dashboard(viewer: Viewer, *, start: dt.date, end: dt.date) -> OperatorDashboard:
    access.require_operator(viewer, "see the marketplace dashboard")
    check_period(start, end, field="end")
    lo, hi = local_day_bounds(start, end, viewer.time_zone)
    leads = access.visible_leads(viewer).filter(created_at__gte=lo, created_at__lt=hi, market_status__isnull=False)
    group = ["industry_id", "source_id", "market_status"] + ([KIND_FIELD] if KIND_FIELD else [])
    rows = await leads.group_by(*group).annotate(n=Count("id")).values_list(*group, "n")
    industries = {i.id: i for i in await Industry.filter(id__in={r[0] for r in rows if r[0]})}
    sources = {s.id: s for s in await LeadSource.filter(id__in={r[1] for r in rows if r[1]})}
    supply: dict[tuple, SupplyRow] = {}
    for r in rows:
        industry_id, source_id, status, n = r[0], r[1], MarketStatus(r[2]), r[-1]
        kind = str(getattr(r[3], "value", r[3])) if KIND_FIELD else DEFAULT_KIND
        row = supply.setdefault((industry_id, source_id, kind),
                                SupplyRow(industries.get(industry_id), sources.get(source_id), kind))
        row.received += n
        if status == MarketStatus.SOLD:
            row.sold += n
        elif status == MarketStatus.UNSOLD:
            row.unsold += n
        elif status == MarketStatus.DUPLICATE:
            row.duplicate += n
        else:
            row.pending += n

    sales = visible_sales(viewer).filter(sold_at__gte=lo, sold_at__lt=hi)
    per_partner = await sales.group_by("account_id").annotate(n=Count("id"), v=Sum("price_minor")).values_list(
        "account_id", "n", "v")
    returned = await access.visible_returns(viewer).filter(requested_at__gte=lo, requested_at__lt=hi).group_by(
        "account_id", "status").annotate(n=Count("id")).values_list("account_id", "status", "n")
    ids = {a for a, _, _ in per_partner} | {a for a, _, _ in returned}
    accounts = {a.id: a for a in await Account.filter(id__in=ids)} if ids else {}
    partners = {a: PartnerReturns(accounts[a], n, int(v or 0)) for a, n, v in per_partner}
    for a, status, n in returned:
        partners.setdefault(a, PartnerReturns(accounts[a], 0, 0)).returns[str(getattr(status, "value", status))] = n
    failed = dict(await access.visible_deliveries(viewer).filter(status=DeliveryStatus.FAILED, created_at__gte=lo, created_at__lt=hi)
                  .group_by("channel").annotate(n=Count("id")).values_list("channel", "n"))
    retrying = await access.visible_deliveries(viewer).filter(status=DeliveryStatus.PENDING, attempts__gt=0).count()
    return OperatorDashboard(
        time_zone=viewer.time_zone, start=start, end=end, currency=MARKET_CURRENCY,
        supply=sorted(supply.values(), key=lambda s: (-s.received, s.industry.name if s.industry else "",
                                                      s.source.name if s.source else "")),
        sold_count=sum(p.sold for p in partners.values()), revenue_minor=sum(p.sales_minor for p in partners.values()),
        partners=sorted(partners.values(), key=lambda p: (-p.sold, p.account.name)),
        deliveries_failed=failed, deliveries_retrying=retrying,
    )
