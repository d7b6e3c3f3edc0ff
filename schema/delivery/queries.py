"""Delivery queries: the channels on offer and the delivery log."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from leadwire.core import access
from leadwire.core import delivery as core_delivery
from leadwire.schema.delivery.types import Delivery, DeliveryChannel, DeliveryStatus
from leadwire.schema.permissions import IsSignedIn
from leadwire.schema.relay import Connection, paginate


@strawberry.type
class DeliveryQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="The delivery channels campaigns can use.")
    def delivery_channels(self) -> list[DeliveryChannel]:
        return [DeliveryChannel.from_installed(c) for c in core_delivery.installed()]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="The delivery log, newest first: the buyer's own deliveries (within what the viewer may see); "
        "operator staff: every delivery. Filter by status, e.g. FAILED.",
    )
    async def deliveries(
        self, info: Info, status: DeliveryStatus | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Delivery]:
        qs = access.visible_deliveries(info.context.viewer)
        if status is not None:
            qs = qs.filter(status=status.value)
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=Delivery.from_row
        )
