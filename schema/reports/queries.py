"""Report queries: the lead history (a connection), the dashboards, campaign
performance and the pipeline report. Thin calls into core.reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core.campaigns import visible_campaigns
from leadwire.core.errors import DomainError
from leadwire.core.reports import campaigns as campaign_reports
from leadwire.core.reports import dashboard
from leadwire.core.reports import pipeline as pipeline_reports
from leadwire.core.reports.history import HistoryFilter, HistoryOrder, history_queryset
from leadwire.schema.leads.queries import paginate_leads
from leadwire.schema.leads.types import Lead
from leadwire.schema.permissions import IsOperator, IsPartner, IsSignedIn
from leadwire.schema.relay import Connection, decode_id
from leadwire.schema.reports.types import (
    CampaignPerformance,
    LeadHistoryFilter,
    LeadHistoryOrder,
    OperatorDashboard,
    PartnerDashboard,
    PipelineReport,
)
from leadwire.schema.workspace.queries import load_lost_reasons_report
from leadwire.schema.workspace.types import account_currency

_ID_FIELDS = (("campaign_ids", "Campaign"), ("industry_ids", "Industry"), ("stage_ids", "PipelineStage"),
              ("source_ids", "LeadSource"), ("assignee_ids", "User"))


def to_history_filter(f: LeadHistoryFilter | None, prefix: str = "filter") -> HistoryFilter:
    """The GraphQL filter as core's, global IDs decoded (a wrong one is a userError naming it)."""
    if f is None:
        return HistoryFilter()
    ids, errors = {}, []
    for name, type_name in _ID_FIELDS:
        out = []
        for i, gid in enumerate(getattr(f, name) or []):
            try:
                out.append(decode_id(gid, type_name, f"{prefix}.{name}.{i}"))
            except DomainError as exc:
                errors += exc.errors
        ids[name] = out
    if errors:
        raise DomainError(*errors)
    return HistoryFilter(
        start=f.from_, end=f.to, states=list(f.states or []), statuses=list(f.statuses or []),
        origins=list(f.origins or []), market_statuses=list(f.market_statuses or []),
        return_statuses=list(f.return_statuses or []), search=f.search, **ids,
    )


_INPUT_NAMES = {"start": "from", "end": "to"}


def prefixed_errors(exc: DomainError, prefix: str) -> DomainError:
    """core's field names as the input's (``end`` is ``to``), under ``prefix``."""
    from leadwire.core.errors import FieldError

    def name(field: str | None) -> str:
        if not field:
            return prefix
        if field.startswith(prefix + "."):
            return field
        head, dot, rest = field.partition(".")
        return f"{prefix}.{_INPUT_NAMES.get(head, head)}{dot}{rest}"

    return DomainError(*[FieldError(name(e.field), e.code, e.message) for e in exc.errors])


@strawberry.type
class ReportQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description=(
        "Every lead you may see, with all its details, filtered; newest first unless orderBy says otherwise. "
        "createLeadExport downloads the same set."))
    async def lead_history(
        self, info: Info, filter: LeadHistoryFilter | None = None,
        order_by: LeadHistoryOrder = HistoryOrder.NEWEST_FIRST, first: int | None = None, after: str | None = None,
    ) -> Connection[Lead]:
        f = to_history_filter(filter)
        try:
            qs = history_queryset(info.context.viewer, f)
        except DomainError as exc:
            raise prefixed_errors(exc, "filter") from None
        return await paginate_leads(info, qs, first=first, after=after,
                                    ascending=order_by == HistoryOrder.OLDEST_FIRST)

    @strawberry.field(permission_classes=[IsSignedIn, IsPartner], description=(
        "Your account's global dashboard (partners): balance, auto-charge, leads bought against caps, spend, "
        "returns, campaigns, missed leads."))
    async def partner_dashboard(
        self, info: Info,
        window_days: Annotated[int, strawberry.argument(description="Returns and missed leads over the last N days.")] = 30,
    ) -> PartnerDashboard:
        d = await dashboard.partner_dashboard(info.context.viewer, window_days=window_days)
        campaigns = {c.id: c for c in await visible_campaigns(info.context.viewer).filter(id__in=[c.campaign_id for c in d.campaigns])}
        return PartnerDashboard.build(d, campaigns)

    @strawberry.field(permission_classes=[IsSignedIn, IsOperator], description=(
        "The marketplace over a period (operator): leads received, sold and unsold per industry and source, revenue, "
        "sell-through, returns per partner, failing deliveries."))
    async def operator_dashboard(
        self, info: Info, from_: Annotated[dt.date, strawberry.argument(name="from")], to: dt.date,
    ) -> OperatorDashboard:
        return OperatorDashboard.build(await dashboard.operator_dashboard(info.context.viewer, start=from_, end=to))

    @strawberry.field(permission_classes=[IsSignedIn], description=(
        "A campaign over a period (days on the campaign's clock, at most 366): leads, spend, average price, returns, "
        "missed leads by reason, and a series by day."))
    async def campaign_performance(
        self, info: Info, campaign_id: relay.GlobalID, from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
    ) -> CampaignPerformance:
        cid = decode_id(campaign_id, "Campaign", "campaign_id")
        return CampaignPerformance.build(
            await campaign_reports.campaign_performance(info.context.viewer, cid, start=from_, end=to))

    @strawberry.field(permission_classes=[IsSignedIn], description=(
        "The pipeline over the leads you see: per stage leads, value, weighted forecast, conversion to the next stage "
        "and time in stage; with from and to (days in your time zone), why leads were lost in that period."))
    async def pipeline_report(
        self, info: Info, from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> PipelineReport:
        report = await pipeline_reports.pipeline_report(info.context.viewer)
        lost = await load_lost_reasons_report(info, from_, to) if from_ is not None and to is not None else None
        return PipelineReport.build(report, await account_currency(info), lost)
