"""Delivery mutations: re-send a delivery."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import delivery as core_delivery
from leadwire.schema.delivery.types import Delivery
from leadwire.schema.errors import UserError, mutation
from leadwire.schema.relay import decode_id


@strawberry.input
class ResendDeliveryInput:
    delivery_id: relay.GlobalID


@strawberry.type
class ResendDeliveryPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    delivery: Delivery | None = strawberry.field(default=None, description="The new delivery (a fresh idempotency key).")


@strawberry.type
class DeliveryMutations:
    @strawberry.mutation(description="Send a finished (delivered or failed) delivery again through the same channel.")
    @mutation(ResendDeliveryPayload)
    async def resend_delivery(self, info: Info, input: ResendDeliveryInput) -> ResendDeliveryPayload:
        row = await core_delivery.resend(info.context.viewer, decode_id(input.delivery_id, "Delivery", "delivery_id"))
        return ResendDeliveryPayload(delivery=Delivery.from_row(row))
