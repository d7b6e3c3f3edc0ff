"""Marketplace queries: the catalogue (any signed-in user) and campaigns."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import campaigns as core_campaigns
from leadwire.core import industries
from leadwire.core.errors import DomainError
from leadwire.core.models import marketplace as m
from leadwire.schema.marketplace.types import Campaign, Industry, IndustrySchema, Offer
from leadwire.schema.permissions import IsSignedIn
from leadwire.schema.relay import Connection, decode_id, paginate


@strawberry.type
class MarketplaceQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="Industries and their products.")
    async def industries(self) -> list[Industry]:
        return [Industry.from_row(i) for i in await m.Industry.filter(active=True).order_by("name")]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="The industry lead schemas installed plugins provide (createIndustry takes one's key).",
    )
    def industry_schemas(self) -> list[IndustrySchema]:
        return [IndustrySchema.from_schema(s) for s in industries.installed()]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description='The "Lead Deals" search of seed 000: active offers, by industry and product.',
    )
    async def offers(
        self,
        info: Info,
        industry_id: relay.GlobalID | None = None,
        product_id: relay.GlobalID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Offer]:
        qs = m.Offer.filter(active=True, product__active=True, product__industry__active=True)
        try:
            if industry_id is not None:
                qs = qs.filter(product__industry_id=decode_id(industry_id, "Industry", "industry_id"))
            if product_id is not None:
                qs = qs.filter(product_id=decode_id(product_id, "Product", "product_id"))
        except DomainError:  # an id of another type matches nothing
            qs = qs.none()
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=Offer.from_row
        )

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="The account's campaigns (operator staff: every campaign), newest first.",
    )
    async def campaigns(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Campaign]:
        qs = core_campaigns.visible_campaigns(info.context.viewer)
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=Campaign.from_row
        )
