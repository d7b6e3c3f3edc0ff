"""The lead history: every lead the viewer may see, with all its details,
filtered and keyset-paged (newest or oldest first). The GraphQL connection
(schema.reports) and the download (core.reports.export) both start here, so
they always show the same set.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from leadwire.core import access
from leadwire.core.access import Viewer
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.models.leads import Lead, LeadOrigin, LeadOutcome, MarketStatus
from leadwire.core.models.marketplace import LeadSale
from leadwire.core.models.returns import ReturnRequest, ReturnStatus
from leadwire.core.reports.common import MAX_REPORT_DAYS, check_period, local_day_bounds

MAX_SEARCH = 100
MAX_LIST = 50


class HistoryStatus(str, Enum):
    OPEN = "open"  # not won or lost
    WON = "won"
    LOST = "lost"


class ReturnFilter(str, Enum):
    NONE = "none"  # never asked to return
    PENDING = ReturnStatus.PENDING.value
    APPROVED = ReturnStatus.APPROVED.value
    DECLINED = ReturnStatus.DECLINED.value
    WITHDRAWN = ReturnStatus.WITHDRAWN.value


class HistoryOrder(str, Enum):
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


@dataclass
class HistoryFilter:
    """What to keep. Empty lists and None mean "any". Dates are days in the
    viewer's own time zone, both included, on the lead's creation time."""

    start: dt.date | None = None
    end: dt.date | None = None
    campaign_ids: list[int] = field(default_factory=list)
    industry_ids: list[int] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    statuses: list[HistoryStatus] = field(default_factory=list)
    stage_ids: list[int] = field(default_factory=list)
    source_ids: list[int] = field(default_factory=list)
    origins: list[LeadOrigin] = field(default_factory=list)
    market_statuses: list[MarketStatus] = field(default_factory=list)
    return_statuses: list[ReturnFilter] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    search: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat() if self.start else None
        out["end"] = self.end.isoformat() if self.end else None
        for k in ("statuses", "origins", "market_statuses", "return_statuses"):
            out[k] = [getattr(v, "value", v) for v in out[k]]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryFilter:
        d = dict(data)
        d["start"] = dt.date.fromisoformat(d["start"]) if d.get("start") else None
        d["end"] = dt.date.fromisoformat(d["end"]) if d.get("end") else None
        d["statuses"] = [HistoryStatus(v) for v in d.get("statuses", [])]
        d["origins"] = [LeadOrigin(v) for v in d.get("origins", [])]
        d["market_statuses"] = [MarketStatus(v) for v in d.get("market_statuses", [])]
        d["return_statuses"] = [ReturnFilter(v) for v in d.get("return_statuses", [])]
        return cls(**d)


def check_filter(f: HistoryFilter) -> None:
    errors = []
    if f.start and f.end:
        try:
            check_period(f.start, f.end, max_days=MAX_REPORT_DAYS, field="end")
        except DomainError as exc:
            errors += exc.errors
    for name in ("campaign_ids", "industry_ids", "states", "statuses", "stage_ids", "source_ids", "origins",
                 "market_statuses", "return_statuses", "assignee_ids"):
        if len(getattr(f, name)) > MAX_LIST:
            errors.append(FieldError(name, ErrorCode.TOO_LONG, f"At most {MAX_LIST} values."))
    for i, s in enumerate(f.states):
        if not (len(s) == 2 and s.isalpha()):
            errors.append(FieldError(f"states.{i}", ErrorCode.INVALID, "A state is its two-letter code, e.g. MI."))
    if f.search is not None and len(f.search.strip()) > MAX_SEARCH:
        errors.append(FieldError("search", ErrorCode.TOO_LONG, f"Search for at most {MAX_SEARCH} characters."))
    if errors:
        raise DomainError(*errors)


def history_queryset(viewer: Viewer, f: HistoryFilter) -> QuerySet[Lead]:
    """The leads of the history: access.visible_leads narrowed by the filter
    (the filter only ever narrows, so it can never reach a lead the viewer may
    not see)."""
    check_filter(f)
    qs = access.visible_leads(viewer)
    if f.start or f.end:
        lo, hi = local_day_bounds(f.start or dt.date(1970, 1, 1), f.end or dt.date(9998, 12, 30), viewer.time_zone)
        if f.start:
            qs = qs.filter(created_at__gte=lo)
        if f.end:
            qs = qs.filter(created_at__lt=hi)
    if f.campaign_ids:
        # A partner's lead came from one sale (buyer_lead); a marketplace lead was sold to campaigns (lead).
        key = "lead_id" if viewer.is_operator else "buyer_lead_id"
        qs = qs.filter(id__in=Subquery(LeadSale.filter(campaign_id__in=f.campaign_ids).values(key)))
    if f.industry_ids:
        qs = qs.filter(industry_id__in=f.industry_ids)
    if f.states:
        qs = qs.filter(state__in=[s.upper() for s in f.states])
    if f.statuses:
        q = Q()
        for s in set(f.statuses):
            q |= Q(outcome__isnull=True) if s == HistoryStatus.OPEN else Q(outcome=LeadOutcome(s.value))
        qs = qs.filter(q)
    if f.stage_ids:
        qs = qs.filter(stage_id__in=f.stage_ids)
    if f.source_ids:
        qs = qs.filter(source_id__in=f.source_ids)
    if f.origins:
        qs = qs.filter(origin__in=list(f.origins))
    if f.market_statuses:
        qs = qs.filter(market_status__in=list(f.market_statuses))
    if f.assignee_ids:
        qs = qs.filter(assignee_id__in=f.assignee_ids)
    if f.return_statuses:
        statuses = [ReturnStatus(r.value) for r in f.return_statuses if r != ReturnFilter.NONE]
        returned = ReturnRequest.all()
        q = Q()
        if statuses:
            q |= Q(id__in=Subquery(returned.filter(status__in=statuses).values("buyer_lead_id")))
        if ReturnFilter.NONE in f.return_statuses:
            q |= ~Q(id__in=Subquery(ReturnRequest.all().values("buyer_lead_id")))
        qs = qs.filter(q)
    return search_leads(qs, f.search)


def search_leads(qs: QuerySet[Lead], search: str | None) -> QuerySet[Lead]:
    """Leads whose name, e-mail, phone or city contains the text, or whose ZIP starts
    with it (the ``leads`` list and the history search alike)."""
    term = (search or "").strip()[:MAX_SEARCH]
    if not term:
        return qs
    return qs.filter(
        Q(first_name__icontains=term)
        | Q(last_name__icontains=term)
        | Q(email__icontains=term)
        | Q(phone__contains=term)
        | Q(postal_code__startswith=term)
        | Q(city__icontains=term)
    )
