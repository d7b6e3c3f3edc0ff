"""GraphQL types for leads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core.models.leads import Lead as LeadRow
from leadwire.core.models.leads import LeadOrigin as CoreLeadOrigin

LeadOrigin = strawberry.enum(CoreLeadOrigin, name="LeadOrigin")


@strawberry.type(description="A lead as the account works it.")
class Lead(relay.Node):
    id: relay.NodeID[int]
    origin: LeadOrigin
    first_name: str
    last_name: str
    email: str
    phone: str = strawberry.field(description="E.164, e.g. +13135550100.")
    postal_code: str
    city: str
    state: str
    created_at: datetime
    _assignee_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: LeadRow) -> Lead:
        return cls(
            id=r.id,
            origin=r.origin,
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email,
            phone=r.phone,
            postal_code=r.postal_code,
            city=r.city,
            state=r.state,
            created_at=r.created_at,
            _assignee_id=r.assignee_id,
        )

    @strawberry.field(description="The user working this lead.")
    async def assignee(self, info: Info) -> Annotated["User", strawberry.lazy("leadwire.schema.identity.types")] | None:
        from leadwire.schema.identity.types import User

        if self._assignee_id is None:
            return None
        # A visible lead's assignee is always at or below the viewer.
        m = await info.context.loaders.membership.load(self._assignee_id)
        return User.from_row(m) if m else None
