"""GraphQL types of the reports (core.reports)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import relay

from leadwire.core.reports import campaigns as cr
from leadwire.core.reports import dashboard as dash
from leadwire.core.reports import pipeline as pr
from leadwire.core.reports.export import ExportFormat as CoreExportFormat
from leadwire.core.reports.history import HistoryOrder, HistoryStatus, ReturnFilter
from leadwire.schema.errors import UserError
from leadwire.schema.identity.types import Account, LeadSource
from leadwire.schema.leads.types import LeadOrigin, MarketStatus
from leadwire.schema.marketplace.types import Campaign, Industry, Money, RoutingOutcome
from leadwire.schema.money.types import AutoChargeSettings, ReturnStatus
from leadwire.schema.workspace.types import LostReasonsReport, PipelineStage

LeadHistoryStatus = strawberry.enum(HistoryStatus, name="LeadHistoryStatus", description="OPEN (not won or lost), WON or LOST.")
LeadReturnFilter = strawberry.enum(ReturnFilter, name="LeadReturnFilter",
                                   description="A return's status, or NONE: never asked to return.")
LeadHistoryOrder = strawberry.enum(HistoryOrder, name="LeadHistoryOrder")
ExportFormat = strawberry.enum(CoreExportFormat, name="ExportFormat",
                               description="CSV only for now (XLSX is not offered: see docs/reports.md).")


@strawberry.input(description="Which leads of the history. Every field narrows; empty lists and nulls mean any.")
class LeadHistoryFilter:
    from_: dt.date | None = strawberry.field(default=None, name="from",
                                             description="Created on or after this day (your time zone).")
    to: dt.date | None = strawberry.field(default=None, description="Created on or before this day (your time zone).")
    campaign_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Bought by (sold to) these campaigns.")
    industry_ids: list[relay.GlobalID] | None = None
    states: list[str] | None = strawberry.field(default=None, description="Two-letter state codes.")
    statuses: list[LeadHistoryStatus] | None = None
    stage_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Pipeline stages.")
    source_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Lead sources (operator).")
    origins: list[LeadOrigin] | None = strawberry.field(default=None, description="Bought, registration page, import, by hand.")
    market_statuses: list[MarketStatus] | None = strawberry.field(default=None, description="Marketplace leads (operator).")
    return_statuses: list[LeadReturnFilter] | None = None
    assignee_ids: list[relay.GlobalID] | None = strawberry.field(default=None, description="Users (at or below you).")
    search: str | None = strawberry.field(default=None, description="Name, e-mail, phone, city or ZIP contains.")


@strawberry.type(description="A download link: GET it (signed in as yourself) once, within 10 minutes.")
class ReportExport:
    url: str = strawberry.field(description="/exports/<one-time token>, relative to the API's origin.")
    expires_at: dt.datetime
    format: ExportFormat


@strawberry.type
class CreateLeadExportPayload:
    export: ReportExport | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


# -- the partner dashboard ----------------------------------------------------------------


@strawberry.type(description="Leads bought and money spent in one period.")
class PurchasePeriod:
    lead_count: int
    spend: Money


@strawberry.type(description="One kind of lead: web (forms and API posts) or call (core.calls).")
class KindSlice:
    kind: str = strawberry.field(description="web or call.")
    lead_count: int
    amount: Money


@strawberry.type(description="A campaign's state and its leads against its caps (days, weeks, months on its clock).")
class CampaignCapUse:
    campaign: Campaign
    state: str = strawberry.field(description="running, paused, outside_schedule or disabled.")
    today: int
    this_week: int
    this_month: int
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None


@strawberry.type
class StatusCount:
    status: ReturnStatus
    count: int
    amount: Money


@strawberry.type(description="Why leads a campaign could have bought went elsewhere (the routing trace).")
class MissedReason:
    reason: RoutingOutcome
    lead_count: int


@strawberry.type
class CampaignStateCounts:
    running: int
    paused: int
    outside_schedule: int
    disabled: int


@strawberry.type(description="A partner's global dashboard; purchases over the leads you see.")
class PartnerDashboard:
    time_zone: str = strawberry.field(description="Your time zone: today, this week (from Monday) and this month are there.")
    balance: Money
    credit: Money = strawberry.field(description="The part of the balance that is credits.")
    auto_charge: AutoChargeSettings | None = strawberry.field(description="Owner only; null when not set up.")
    today: PurchasePeriod
    this_week: PurchasePeriod
    this_month: PurchasePeriod
    this_month_by_kind: list[KindSlice]
    window_days: int = strawberry.field(description="The window of returns and missed leads, in days back from now.")
    returns: list[StatusCount] = strawberry.field(description="Returns asked in the window, by status.")
    pending_returns: int = strawberry.field(description="Returns waiting for the operator, whenever asked.")
    campaign_states: CampaignStateCounts
    campaigns: list[CampaignCapUse]
    missed: list[MissedReason] = strawberry.field(description="Leads your campaigns missed in the window, by reason, most first.")

    @classmethod
    def build(cls, d: dash.PartnerDashboard, campaigns: dict) -> PartnerDashboard:
        m = lambda v: Money(amount_minor=v, currency=d.currency)  # noqa: E731
        period = lambda p: PurchasePeriod(lead_count=p.lead_count, spend=m(p.spend_minor))  # noqa: E731
        states = {"running": 0, "paused": 0, "outside_schedule": 0, "disabled": 0}
        for c in d.campaigns:
            states[c.state] += 1
        return cls(
            time_zone=d.time_zone, balance=m(d.balance_minor), credit=m(d.credit_minor),
            auto_charge=AutoChargeSettings.from_row(d.auto_charge) if d.auto_charge else None,
            today=period(d.today), this_week=period(d.week), this_month=period(d.month),
            this_month_by_kind=[KindSlice(kind=k, lead_count=n, amount=m(v)) for k, n, v in d.by_kind],
            window_days=d.window_days,
            returns=[StatusCount(status=s, count=n, amount=m(v)) for s, (n, v) in sorted(d.returns.items())],
            pending_returns=d.pending_returns, campaign_states=CampaignStateCounts(**states),
            campaigns=[CampaignCapUse(campaign=Campaign.from_row(campaigns[c.campaign_id]), state=c.state, today=c.today,
                                      this_week=c.week, this_month=c.month, daily_cap=c.daily_cap,
                                      weekly_cap=c.weekly_cap, monthly_cap=c.monthly_cap) for c in d.campaigns],
            missed=[MissedReason(reason=r, lead_count=n) for r, n in d.missed],
        )


# -- the operator dashboard ---------------------------------------------------------------


@strawberry.type(description="Marketplace leads received in the period from one industry and source.")
class SupplyRow:
    industry: Industry | None
    source: LeadSource | None
    kind: str = strawberry.field(description="web or call.")
    received: int
    sold: int
    unsold: int
    duplicate: int
    routing: int = strawberry.field(description="Still being routed.")
    sell_through: float | None = strawberry.field(description="sold / received (null with none received).")


@strawberry.type(description="A partner's purchases in the period and the returns it asked in it.")
class PartnerReturnRow:
    account: Account
    sold: int
    sales: Money
    returns: int
    approved: int
    declined: int
    pending: int
    return_rate: float | None = strawberry.field(description="returns / sold (null with nothing sold).")


@strawberry.type
class ChannelCount:
    channel: str
    count: int


@strawberry.type(description="The marketplace over a period (days in your time zone).")
class OperatorDashboard:
    time_zone: str
    from_: dt.date = strawberry.field(name="from")
    to: dt.date
    received: int
    sold_leads: int = strawberry.field(description="Marketplace leads received in the period and sold.")
    sales: int = strawberry.field(description="Sales in the period (a shared lead sells to several partners).")
    revenue: Money
    sell_through: float | None
    supply: list[SupplyRow]
    partners: list[PartnerReturnRow]
    deliveries_failed: list[ChannelCount] = strawberry.field(description="Deliveries made in the period that failed, per channel.")
    deliveries_retrying: int = strawberry.field(description="Deliveries waiting for a retry after a failure, now.")

    @classmethod
    def build(cls, d: dash.OperatorDashboard) -> OperatorDashboard:
        m = lambda v: Money(amount_minor=v, currency=d.currency)  # noqa: E731
        received = sum(s.received for s in d.supply)
        sold = sum(s.sold for s in d.supply)
        return cls(
            time_zone=d.time_zone, from_=d.start, to=d.end, received=received, sold_leads=sold, sales=d.sold_count,
            revenue=m(d.revenue_minor), sell_through=sold / received if received else None,
            supply=[SupplyRow(industry=Industry.from_row(s.industry) if s.industry else None,
                              source=LeadSource.from_row(s.source) if s.source else None, kind=s.kind,
                              received=s.received, sold=s.sold, unsold=s.unsold, duplicate=s.duplicate, routing=s.pending,
                              sell_through=s.sold / s.received if s.received else None) for s in d.supply],
            partners=[PartnerReturnRow(
                account=Account.from_row(p.account), sold=p.sold, sales=m(p.sales_minor), returns=sum(p.returns.values()),
                approved=p.returns.get("approved", 0), declined=p.returns.get("declined", 0),
                pending=p.returns.get("pending", 0),
                return_rate=sum(p.returns.values()) / p.sold if p.sold else None) for p in d.partners],
            deliveries_failed=[ChannelCount(channel=c, count=n) for c, n in sorted(d.deliveries_failed.items())],
            deliveries_retrying=d.deliveries_retrying,
        )


# -- campaign performance -----------------------------------------------------------------


@strawberry.type(description="One day of a campaign (on its clock).")
class CampaignDay:
    day: dt.date
    lead_count: int
    spend: Money
    returned: int = strawberry.field(description="Returns asked that day (of leads the campaign bought).")
    missed: int


@strawberry.type
class CampaignPerformance:
    campaign: Campaign
    time_zone: str = strawberry.field(description="The campaign's: its days are days there.")
    from_: dt.date = strawberry.field(name="from")
    to: dt.date
    lead_count: int
    spend: Money
    average_price: Money | None
    returns: list[StatusCount] = strawberry.field(description="Returns asked in the period of leads it bought, by status.")
    missed: list[MissedReason]
    days: list[CampaignDay]

    @classmethod
    def build(cls, p: cr.CampaignPerformance) -> CampaignPerformance:
        m = lambda v: Money(amount_minor=v, currency=p.currency)  # noqa: E731
        return cls(
            campaign=Campaign.from_row(p.campaign), time_zone=p.time_zone, from_=p.start, to=p.end,
            lead_count=p.lead_count, spend=m(p.spend_minor),
            average_price=m(p.average_price_minor) if p.average_price_minor is not None else None,
            returns=[StatusCount(status=s, count=n, amount=m(v)) for s, (n, v) in sorted(p.returns.items())],
            missed=[MissedReason(reason=r, lead_count=n) for r, n in p.missed],
            days=[CampaignDay(day=d.day, lead_count=d.lead_count, spend=m(d.spend_minor), returned=d.returned,
                              missed=d.missed) for d in p.days],
        )


# -- the pipeline report ------------------------------------------------------------------


@strawberry.type(description="Open leads on a stage by how long they have been on it.")
class StageAges:
    under_1_day: int
    from_1_to_7_days: int
    from_7_to_30_days: int
    over_30_days: int


@strawberry.type
class PipelineStageReport:
    stage: PipelineStage
    lead_count: int
    value: Money
    weighted_value: Money = strawberry.field(description="Value times the stage's probability (closing stage: the won value).")
    won_count: int
    lost_count: int
    reached: int = strawberry.field(description="Leads on this stage or a later one.")
    conversion_to_next: float | None = strawberry.field(
        description="Share of the leads that reached this stage and went on to the next (from where leads are now).")
    time_in_stage: StageAges | None = strawberry.field(description="Open stages only.")
    oldest_entered_at: dt.datetime | None = strawberry.field(description="When its longest-waiting open lead got there.")


@strawberry.type(description="The pipeline over the leads you see, in the account's currency, and why leads were lost.")
class PipelineReport:
    currency: str
    lead_count: int
    value: Money
    weighted_forecast: Money
    stages: list[PipelineStageReport]
    lost_reasons: LostReasonsReport | None = strawberry.field(description="For the period asked (from/to), if any.")

    @classmethod
    def build(cls, r: pr.PipelineReport, currency: str, lost: LostReasonsReport | None) -> PipelineReport:
        m = lambda v: Money(amount_minor=v, currency=currency)  # noqa: E731
        stages = []
        for s in r.stages:
            ages = None
            if s.ages:
                ages = StageAges(under_1_day=s.ages["under_1_day"], from_1_to_7_days=s.ages["1_to_7_days"],
                                 from_7_to_30_days=s.ages["7_to_30_days"], over_30_days=s.ages["over_30_days"])
            stages.append(PipelineStageReport(
                stage=PipelineStage.from_row(s.stage), lead_count=s.totals.lead_count, value=m(s.totals.value_minor),
                weighted_value=m(s.weighted_value_minor), won_count=s.totals.won_count, lost_count=s.totals.lost_count,
                reached=s.reached, conversion_to_next=s.conversion_to_next, time_in_stage=ages,
                oldest_entered_at=s.oldest_entered_at,
            ))
        return cls(currency=currency, lead_count=r.lead_count, value=m(r.value_minor),
                   weighted_forecast=m(r.weighted_value_minor), stages=stages, lost_reasons=lost)
