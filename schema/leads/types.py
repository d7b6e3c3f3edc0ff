"""GraphQL types for leads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, ClassVar

import strawberry
from strawberry import relay
from strawberry.types import Info

from strawberry.scalars import JSON

from leadwire.core.models.leads import Lead as LeadRow
from leadwire.core.models.leads import LeadOrigin as CoreLeadOrigin
from leadwire.core.models.leads import MarketStatus as CoreMarketStatus
from leadwire.schema.execution import prefetched
from leadwire.schema.workspace.lead_fields import LeadWorkspaceFields

if TYPE_CHECKING:
    from leadwire.schema.calls.types import CallDetails, LeadKind
    from leadwire.schema.identity.types import User
    from leadwire.schema.delivery.types import Delivery
    from leadwire.schema.marketplace.types import LeadSale, Product, RoutingTraceEntry

LeadOrigin = strawberry.enum(CoreLeadOrigin, name="LeadOrigin")
MarketStatus = strawberry.enum(CoreMarketStatus, name="MarketStatus")
MarketplaceTypes = "leadwire.schema.marketplace.types"
NOT_FETCHED = object()


@strawberry.type(description="A lead as the account works it.")
class Lead(LeadWorkspaceFields, relay.Node):
    id: relay.NodeID[int]
    origin: LeadOrigin
    kind: Annotated["LeadKind", strawberry.lazy("leadwire.schema.calls.types")] = strawberry.field(
        description="WEB (a form or an API post) or CALL (a phone call to a tracking number)."
    )
    first_name: str
    last_name: str
    email: str
    phone: str = strawberry.field(description="E.164, e.g. +13135550100.")
    postal_code: str
    city: str
    state: str
    created_at: datetime
    data: JSON = strawberry.field(description="The industry's own fields, as its schema normalised them.")
    market_status: MarketStatus | None = strawberry.field(
        description="For marketplace leads (operator): received, sold, unsold or duplicate."
    )
    _assignee_id: strawberry.Private[int | None]
    _industry_id: strawberry.Private[int | None]
    _product_id: strawberry.Private[int | None]
    _sale: strawberry.Private[object] = NOT_FETCHED

    # What from_row reads: a page of leads reads these columns only (not the
    # consent record, the request hash...: a third of the row).
    ROW_FIELDS: ClassVar[tuple[str, ...]] = (
        "id", "origin", "kind", "first_name", "last_name", "email", "phone", "postal_code", "city", "state",
        "created_at", "data", "market_status", "assignee_id", "industry_id", "product_id",
        *LeadWorkspaceFields.ROW_FIELDS,
    )

    @classmethod
    def from_row(cls, r: LeadRow) -> Lead:
        return cls(
            id=r.id,
            origin=r.origin,
            kind=r.kind,
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email,
            phone=r.phone,
            postal_code=r.postal_code,
            city=r.city,
            state=r.state,
            created_at=r.created_at,
            data=r.data,
            market_status=r.market_status,
            _assignee_id=r.assignee_id,
            _industry_id=r.industry_id,
            _product_id=r.product_id,
            **LeadWorkspaceFields.workspace_values(r),
        )

    @strawberry.field(description="The user working this lead.")
    async def assignee(self, info: Info) -> Annotated["User", strawberry.lazy("leadwire.schema.identity.types")] | None:
        from leadwire.schema.identity.types import User

        if self._assignee_id is None:
            return None
        # A visible lead's assignee is always at or below the viewer.
        m = await info.context.loaders.membership.load(self._assignee_id)
        return User.from_row(m) if m else None

    @strawberry.field
    async def product(self, info: Info) -> Annotated["Product", strawberry.lazy(MarketplaceTypes)] | None:
        from leadwire.schema.marketplace.types import Product

        return Product.from_row(await info.context.loaders.product.load(self._product_id)) if self._product_id else None

    @strawberry.field(description="For a lead bought through a campaign: the sale (price, time, campaign).")
    @prefetched("_sale", NOT_FETCHED)
    def sale(self, info: Info) -> Annotated["LeadSale", strawberry.lazy(MarketplaceTypes)] | None:
        # A list reads its page's sales with the page (schema.leads.queries):
        # then this is a plain value, with no coroutine and no DataLoader round per lead.
        if self._sale is not NOT_FETCHED:
            return self._sale
        return info.context.loaders.sale_of_buyer_lead.load(self.id)

    @strawberry.field(
        description="For a call lead: the call (caller, connected time, recording, rings); null for web leads."
    )
    async def call(self, info: Info) -> Annotated["CallDetails", strawberry.lazy("leadwire.schema.calls.types")] | None:
        from leadwire.core.models.calls import Call
        from leadwire.core.models.leads import LeadKind as CoreLeadKind
        from leadwire.schema.calls.types import CallDetails

        if self.kind != CoreLeadKind.CALL:
            return None  # no query for web leads
        field = "lead_id" if info.context.viewer.is_operator else "buyer_lead_id"
        row = await Call.get_or_none(**{field: self.id})
        return CallDetails.from_row(row, info) if row else None

    @strawberry.field(
        description="How this lead was pushed to its buyer (e-mail, SMS, CRM...), newest first. For the operator's "
        "marketplace lead: the deliveries of every sale of it."
    )
    async def deliveries(self, info: Info) -> list[Annotated["Delivery", strawberry.lazy("leadwire.schema.delivery.types")]]:
        from leadwire.schema.delivery.types import Delivery

        rows = await info.context.loaders.deliveries_of_leads(info.context.viewer).load(self.id)
        return [Delivery.from_row(r) for r in rows]

    @strawberry.field(description="Operator only: every candidate campaign and what routing decided.")
    async def routing_trace(
        self, info: Info
    ) -> list[Annotated["RoutingTraceEntry", strawberry.lazy(MarketplaceTypes)]] | None:
        from leadwire.core.ledger import MARKET_CURRENCY
        from leadwire.core.models.marketplace import RoutingDecision
        from leadwire.schema.marketplace.types import Campaign, Money, RoutingTraceEntry

        if not info.context.viewer.is_operator:
            return None
        rows = await RoutingDecision.filter(lead_id=self.id).select_related("campaign__account").order_by("id")
        return [
            RoutingTraceEntry(
                campaign=Campaign.from_row(d.campaign), partner_name=d.campaign.account.name, outcome=d.outcome,
                detail=d.detail, price=Money(amount_minor=d.price_minor, currency=MARKET_CURRENCY), decided_at=d.decided_at,
            )
            for d in rows
        ]
