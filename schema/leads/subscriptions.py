"""The live lead feed (graphql-transport-ws)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from leadwire.core import access, auth
from leadwire.core.events import LeadEventKind as CoreLeadEventKind
from leadwire.core.events import bus
from leadwire.schema.leads.types import Lead
from leadwire.schema.permissions import IsSignedIn

LeadEventKind = strawberry.enum(CoreLeadEventKind, name="LeadEventKind")


@strawberry.type
class LeadEvent:
    kind: LeadEventKind
    lead: Lead


@strawberry.type
class LeadSubscriptions:
    @strawberry.subscription(
        permission_classes=[IsSignedIn],
        description="Lead events the viewer may see, as they happen. Ends when the viewer is barred.",
    )
    async def lead_events(self, info: Info) -> AsyncGenerator[LeadEvent, None]:
        viewer = info.context.viewer
        async for event in bus.subscribe(viewer.account_id):
            # Re-read every time: a bar or a move in the manager tree applies
            # to an open feed as it does to the next request.
            viewer = await auth.reload_viewer(viewer.membership_id)
            if viewer is None:
                return
            row = await access.visible_lead(viewer, event.lead_id)
            if row is not None:
                yield LeadEvent(kind=event.kind, lead=Lead.from_row(row))
