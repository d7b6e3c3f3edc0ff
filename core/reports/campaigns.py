"""Campaign performance over a period: leads, spend, average price, returns asked and
missed leads by reason, in total and by day on the campaign's clock (its time
zone, where its caps and schedule count)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum

from leadwire.core import access
from leadwire.core.access import Viewer, visible_sales
from leadwire.core.campaigns import visible_campaigns
from leadwire.core.errors import not_found
from leadwire.core.ledger import MARKET_CURRENCY
from leadwire.core.models.marketplace import Campaign, LeadSale, RoutingDecision
from leadwire.core.reports.common import MAX_SERIES_DAYS, check_period, day_bucket, day_starts
from leadwire.core.reports.dashboard import MISSED


RETURN_REACH = dt.timedelta(days=10)  # the return window (7 calendar days) and time-zone slack


@dataclass
class Day:
    day: dt.date
    lead_count: int = 0
    spend_minor: int = 0
    returned: int = 0
    missed: int = 0


@dataclass
class CampaignPerformance:
    campaign: Campaign
    time_zone: str
    start: dt.date
    end: dt.date
    currency: str
    lead_count: int
    spend_minor: int
    returns: dict[str, tuple[int, int]]  # status -> (count, amount), returns of leads sold in the period
    missed: list[tuple[str, int]]  # reason -> leads missed, most first
    days: list[Day]

    @property
    def average_price_minor(self) -> int | None:
        return round(self.spend_minor / self.lead_count) if self.lead_count else None


def _s(v) -> str:
    return str(getattr(v, "value", v))


async def campaign_performance(viewer: Viewer, campaign_id: int, *, start: dt.date, end: dt.date) -> CampaignPerformance:
    check_period(start, end, max_days=MAX_SERIES_DAYS, field="to")
    campaign = await visible_campaigns(viewer).get_or_none(id=campaign_id)
    if campaign is None:
        raise not_found("campaign_id", "campaign")
    bounds = day_starts(start, end, campaign.time_zone)
    lo, hi = bounds[0], bounds[-1]
    days = [Day(start + dt.timedelta(days=i)) for i in range(len(bounds) - 1)]

    sales = visible_sales(viewer).filter(campaign_id=campaign.id, sold_at__gte=lo, sold_at__lt=hi)
    # values(), not values_list(): the latter repeats the CASE with fresh parameters, which PostgreSQL
    # then refuses as not grouped.
    for r in await sales.annotate(d=day_bucket("sold_at", bounds)).group_by("d").annotate(
            n=Count("sold_at"), v=Sum("price_minor")).values("d", "n", "v"):
        days[r["d"]].lead_count, days[r["d"]].spend_minor = r["n"], int(r["v"] or 0)

    # Returns asked in the period for leads this campaign bought, by the day asked.
    returns: dict[str, tuple[int, int]] = {}
    # A return is asked within 7 days of the sale (core.returns), so its sale is among the campaign's
    # of the period and the days before it: a range of the (campaign_id, sold_at) index, where a join
    # on the campaign made PostgreSQL scan every sale.
    bought = LeadSale.filter(campaign_id=campaign.id, sold_at__gte=lo - RETURN_REACH, sold_at__lt=hi)
    asked = access.visible_returns(viewer).filter(sale_id__in=Subquery(bought.values("id")), requested_at__gte=lo,
                                                  requested_at__lt=hi)
    for r in await asked.annotate(d=day_bucket("requested_at", bounds)).group_by("d", "status").annotate(
            n=Count("requested_at"), v=Sum("amount_minor")).values("d", "status", "n", "v"):
        i, status, n, v = r["d"], r["status"], r["n"], r["v"]
        days[i].returned += n
        c, a = returns.get(_s(status), (0, 0))
        returns[_s(status)] = (c + n, a + int(v or 0))

    missed: dict[str, int] = {}
    decisions = RoutingDecision.filter(campaign_id=campaign.id, decided_at__gte=lo, decided_at__lt=hi, outcome__in=MISSED)
    for r in await decisions.annotate(d=day_bucket("decided_at", bounds)).group_by("d", "outcome").annotate(
            n=Count("decided_at")).values("d", "outcome", "n"):
        i, outcome, n = r["d"], r["outcome"], r["n"]
        days[i].missed += n
        missed[_s(outcome)] = missed.get(_s(outcome), 0) + n

    return CampaignPerformance(
        campaign=campaign, time_zone=campaign.time_zone, start=start, end=end, currency=MARKET_CURRENCY,
        lead_count=sum(d.lead_count for d in days), spend_minor=sum(d.spend_minor for d in days), returns=returns,
        missed=sorted(missed.items(), key=lambda kv: (-kv[1], kv[0])), days=days,
    )
