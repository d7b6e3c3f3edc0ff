"""The Global Dashboard's split (seed 000): web leads and call leads side by
side, counted over the leads the viewer may see (core.access)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum

from leadwire.core import access, ledger
from leadwire.core.access import Viewer
from leadwire.core.models.leads import LeadKind
from leadwire.core.models.marketplace import LeadSale


@dataclass(frozen=True)
class KindSummary:
    kind: LeadKind
    leads: int  # leads received (the operator: marketplace leads; a partner: leads it sees)
    sold: int  # sales (the operator: sales of its leads; a partner: its purchases)
    amount_minor: int  # what those sales cost (partner) or earned (operator)
    currency: str


async def lead_kind_summary(viewer: Viewer, since: dt.datetime) -> list[KindSummary]:
    leads = dict(
        await access.visible_leads(viewer).filter(created_at__gte=since).annotate(n=Count("id")).group_by("kind")
        .values_list("kind", "n")
    )
    sales = LeadSale.filter(sold_at__gte=since)
    sales = sales.filter(lead__account_id=viewer.account_id) if viewer.is_operator else sales.filter(
        buyer_lead_id__in=Subquery(access.visible_leads(viewer).values("id"))
    )
    kind_path = "lead__kind" if viewer.is_operator else "buyer_lead__kind"
    totals = {
        k: (n, amount or 0)
        for k, n, amount in await sales.annotate(n=Count("id"), amount=Sum("price_minor")).group_by(kind_path)
        .values_list(kind_path, "n", "amount")
    }
    return [
        KindSummary(kind=kind, leads=leads.get(kind, 0), sold=totals.get(kind, (0, 0))[0],
                    amount_minor=int(totals.get(kind, (0, 0))[1]), currency=ledger.MARKET_CURRENCY)
        for kind in LeadKind
    ]
