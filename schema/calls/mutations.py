"""Tracking number mutations (operator)."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core.calls import numbers
from leadwire.core.calls.numbers import TrackingNumberChanges
from leadwire.schema.calls.types import TrackingNumber
from leadwire.schema.errors import UserError, mutation
from leadwire.schema.relay import decode_id


@strawberry.input
class CreateTrackingNumberInput:
    number: str = strawberry.field(description="The phone number, E.164 or a US number.")
    product_id: relay.GlobalID
    provider: str = strawberry.field(default="twilio", description="The telephony provider answering it.")
    source_id: relay.GlobalID | None = None
    name: str = ""
    ask_zip: bool = False
    fallback_message: str = ""


@strawberry.input(description="Fields left out are not changed.")
class UpdateTrackingNumberInput:
    tracking_number_id: relay.GlobalID
    product_id: relay.GlobalID | None = None
    source_id: relay.GlobalID | None = None
    clear_source: bool = False
    name: str | None = None
    ask_zip: bool | None = None
    fallback_message: str | None = None
    active: bool | None = None


@strawberry.type
class TrackingNumberPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    tracking_number: TrackingNumber | None = None


@strawberry.type
class CallMutations:
    @strawberry.mutation(description="Attach a phone number to a product (operator): its calls become call leads.")
    @mutation(TrackingNumberPayload)
    async def create_tracking_number(self, info: Info, input: CreateTrackingNumberInput) -> TrackingNumberPayload:
        row = await numbers.create_tracking_number(
            info.context.viewer, number=input.number, provider=input.provider,
            changes=TrackingNumberChanges(
                name=input.name, product_id=decode_id(input.product_id, "Product", "product_id"),
                source_id=decode_id(input.source_id, "LeadSource", "source_id") if input.source_id else None,
                ask_zip=input.ask_zip, fallback_message=input.fallback_message,
            ),
        )
        return TrackingNumberPayload(tracking_number=TrackingNumber.from_row(row))

    @strawberry.mutation(description="Change a tracking number (operator).")
    @mutation(TrackingNumberPayload)
    async def update_tracking_number(self, info: Info, input: UpdateTrackingNumberInput) -> TrackingNumberPayload:
        row = await numbers.update_tracking_number(
            info.context.viewer, decode_id(input.tracking_number_id, "TrackingNumber", "tracking_number_id"),
            TrackingNumberChanges(
                name=input.name,
                product_id=decode_id(input.product_id, "Product", "product_id") if input.product_id else None,
                source_id=decode_id(input.source_id, "LeadSource", "source_id") if input.source_id else None,
                clear_source=input.clear_source, ask_zip=input.ask_zip, fallback_message=input.fallback_message,
                active=input.active,
            ),
        )
        return TrackingNumberPayload(tracking_number=TrackingNumber.from_row(row))
