"""Call queries: tracking numbers (operator), the call log ("Call Logic"). Web and call leads side by side:
the reports' dashboards (partnerDashboard.thisMonthByKind, operatorDashboard.supply), grouped by Lead.kind."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from leadwire.core import access
from leadwire.schema.calls.types import CallRing, TrackingNumber
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
