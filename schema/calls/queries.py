"""Call queries: tracking numbers (operator), the call log ("Call Logic"), the dashboard split."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from leadwire.core import access
from leadwire.core.calls import summary
from leadwire.schema.calls.types import CallRing, LeadKindSummary, TrackingNumber
from leadwire.schema.permissions import IsSignedIn
from leadwire.schema.relay import Connection, paginate


@strawberry.type
class CallQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="The marketplace's tracking numbers (operator; empty for partners).")
    async def tracking_numbers(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[TrackingNumber]:
        return await paginate(
            access.visible_tracking_numbers(info.context.viewer), first=first, after=after,
            max_page_size=info.context.settings.max_page_size, to_node=TrackingNumber.from_row,
        )

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description='"Call Logic": every time a call rang one of the account\'s campaigns (answered, missed, too '
        "short or billed), newest first. Operator staff: every ring.",
    )
    async def call_rings(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[CallRing]:
        return await paginate(
            access.visible_call_rings(info.context.viewer).select_related("call"), first=first, after=after,
            max_page_size=info.context.settings.max_page_size, to_node=CallRing.from_row,
        )

    @strawberry.field(permission_classes=[IsSignedIn], description="Web and call leads side by side since a moment.")
    async def lead_kind_summary(self, info: Info, since: datetime) -> list[LeadKindSummary]:
        from leadwire.schema.marketplace.types import Money

        return [
            LeadKindSummary(kind=s.kind, leads=s.leads, sold=s.sold, amount=Money(amount_minor=s.amount_minor, currency=s.currency))
            for s in await summary.lead_kind_summary(info.context.viewer, since)
        ]
