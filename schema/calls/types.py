"""GraphQL types of call leads: tracking numbers, a call and its rings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import access
from leadwire.core.models import calls as c
from leadwire.core.models.leads import LeadKind as CoreLeadKind

if TYPE_CHECKING:
    from leadwire.schema.marketplace.types import Campaign, Product

MarketplaceTypes = "leadwire.schema.marketplace.types"
LeadKind = strawberry.enum(CoreLeadKind, name="LeadKind", description="How the consumer came: a web form or a phone call.")
CallStatus = strawberry.enum(c.CallStatus, name="CallStatus")
CallRingStatus = strawberry.enum(c.AttemptStatus, name="CallRingStatus")


@strawberry.type(description="A phone number the marketplace advertises: a call to it is a call lead for its product (operator).")
class TrackingNumber(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="E.164.")
    provider: str = strawberry.field(description="The telephony provider answering it (e.g. twilio).")
    name: str
    ask_zip: bool = strawberry.field(description="Callers key in their ZIP code before the call is routed.")
    fallback_message: str = strawberry.field(
        description="Said when nobody can take a call; empty: the provider's fallback_message from plugins.toml."
    )
    active: bool
    created_at: datetime
    _product_id: strawberry.Private[int]
    _source_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: c.TrackingNumber) -> TrackingNumber:
        return cls(id=r.id, number=r.number, provider=r.provider, name=r.name, ask_zip=r.ask_zip,
                   fallback_message=r.fallback_message, active=r.active, created_at=r.created_at,
                   _product_id=r.product_id, _source_id=r.source_id)

    @strawberry.field
    async def product(self, info: Info) -> Annotated["Product", strawberry.lazy(MarketplaceTypes)]:
        from leadwire.schema.marketplace.types import Product

        return Product.from_row(await info.context.loaders.product.load(self._product_id))

    @strawberry.field(description="The lead source its calls are attributed to, if any.")
    def source_id(self) -> relay.GlobalID | None:
        return relay.GlobalID("LeadSource", str(self._source_id)) if self._source_id else None


@strawberry.type(description="One time a call rang a campaign's buyer phone (the ring tree).")
class CallRing:
    position: int = strawberry.field(description="1 = the first campaign rung for this call.")
    status: CallRingStatus
    duration_seconds: int = strawberry.field(description="Connected time, when answered.")
    billable: bool = strawberry.field(description="Connected at least the offer's minimum, and billed.")
    started_at: datetime
    ended_at: datetime | None
    _campaign_id: strawberry.Private[int]
    _call: strawberry.Private[c.Call]

    @classmethod
    def from_row(cls, r: c.CallAttempt) -> CallRing:
        return cls(position=r.position, status=r.status, duration_seconds=r.duration_seconds, billable=r.billable,
                   started_at=r.started_at, ended_at=r.ended_at, _campaign_id=r.campaign_id, _call=r.call)

    @strawberry.field
    async def campaign(self, info: Info) -> Annotated["Campaign", strawberry.lazy(MarketplaceTypes)] | None:
        from leadwire.core.campaigns import visible_campaigns
        from leadwire.schema.marketplace.types import Campaign

        row = await visible_campaigns(info.context.viewer).get_or_none(id=self._campaign_id)
        return Campaign.from_row(row) if row else None

    @strawberry.field
    def call(self, info: Info) -> CallDetails:
        return CallDetails.from_row(self._call, info)


@strawberry.type(description="A call lead's call: the caller, how long they talked to the buyer, the recording, the rings.")
class CallDetails:
    caller_number: str = strawberry.field(
        description="The caller's number: in full for the operator and the buyer billed for the call, masked "
        "(+1313*****23) for a partner whose phone rang but who did not buy it."
    )
    status: CallStatus
    duration_seconds: int = strawberry.field(description="Connected to the buyer.")
    recording_url: str = strawberry.field(description="The recording of the connected call, if recorded.")
    located_by: str = strawberry.field(description='"keypad" (a ZIP keyed in), "area_code" or "" (unknown).')
    started_at: datetime
    ended_at: datetime | None
    _id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: c.Call, info: Info) -> CallDetails:
        viewer = info.context.viewer
        billed_to_viewer = r.buyer_account_id == viewer.account_id or viewer.is_operator
        return cls(
            caller_number=access.caller_number_for(viewer, r), status=r.status, duration_seconds=r.duration_seconds,
            recording_url=r.recording_url if billed_to_viewer else "", located_by=r.location_from,
            started_at=r.created_at, ended_at=r.ended_at, _id=r.id,
        )

    @strawberry.field(description="The rings of this call the viewer may see (the operator: all), in order.")
    async def rings(self, info: Info) -> list[CallRing]:
        rows = await access.visible_call_rings(info.context.viewer).filter(call_id=self._id).select_related("call") \
            .order_by("position")
        return [CallRing.from_row(r) for r in rows]
