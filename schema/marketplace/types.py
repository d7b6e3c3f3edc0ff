"""GraphQL types of the marketplace: catalogue, campaigns, sales, routing trace."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info
from tortoise.functions import Count

from leadwire.core import campaigns as core_campaigns
from leadwire.core import industries
from leadwire.core import delivery as core_delivery
from leadwire.core.models import marketplace as m
from leadwire.plugins.industry import FieldType, FilterOp
from leadwire.schema.relay import Connection, paginate

CampaignStatus = strawberry.enum(m.CampaignStatus, name="CampaignStatus")
GeoMode = strawberry.enum(m.GeoMode, name="GeoMode")
CampaignLeadTypes = strawberry.enum(m.CampaignLeadTypes, name="CampaignLeadTypes",
                                    description="What a campaign takes: web-form leads, phone calls, or both.")
RoutingOutcome = strawberry.enum(m.RoutingOutcome, name="RoutingOutcome")


@strawberry.type(description="An amount of money: integer minor units (cents) and an ISO 4217 currency.")
class Money:
    amount_minor: int
    currency: str


LeadFieldType = strawberry.enum(FieldType, name="LeadFieldType")
CampaignFilterOp = strawberry.enum(FilterOp, name="CampaignFilterOp")


@strawberry.type(description="A field of an industry's leads, as its schema plugin declares it (forms are built from these).")
class LeadFieldSpec:
    name: str = strawberry.field(description="The key in a lead's `data`.")
    type: LeadFieldType
    label: str
    required: bool
    choices: list[str] = strawberry.field(description="For CHOICE: the allowed values, in order.")
    min_value: int | None
    max_value: int | None
    derived: bool = strawberry.field(description="Computed by Leadwire (never sent by a lead source).")


@strawberry.type(description="A filter a campaign may set on an industry field (in `fieldFilters`).")
class CampaignFilterSpec:
    field: str
    op: CampaignFilterOp = strawberry.field(
        description="IN: a list of accepted values; MIN/MAX: a bound (choices by their order); REQUIRE_TRUE: true."
    )
    label: str


@strawberry.type(description="An industry lead schema a plugin provides (what createIndustry's schemaKey names).")
class IndustrySchema:
    key: str
    name: str
    fields: list[LeadFieldSpec]
    filters: list[CampaignFilterSpec]

    @classmethod
    def from_schema(cls, schema) -> IndustrySchema:
        return cls(
            key=schema.key, name=schema.name,
            fields=[LeadFieldSpec(name=f.name, type=f.type, label=f.label, required=f.required, choices=list(f.choices),
                                  min_value=f.min_value, max_value=f.max_value, derived=f.derived) for f in schema.fields],
            filters=[CampaignFilterSpec(field=c.field, op=c.op, label=c.label) for c in schema.filters],
        )


@strawberry.type
class Industry(relay.Node):
    id: relay.NodeID[int]
    schema_key: str
    name: str
    active: bool

    @classmethod
    def from_row(cls, r: m.Industry) -> Industry:
        return cls(id=r.id, schema_key=r.schema_key, name=r.name, active=r.active)

    @strawberry.field(description="Its leads' fields and the filters campaigns can set; null if its plugin is not installed.")
    def lead_schema(self) -> IndustrySchema | None:
        schema = industries.schema_for(self.schema_key)
        return IndustrySchema.from_schema(schema) if schema else None

    @strawberry.field
    async def products(self, info: Info) -> list[Product]:
        return [Product.from_row(p) for p in await info.context.loaders.products_of_industry.load(self.id)]


@strawberry.type(description="A category of an industry.")
class Product(relay.Node):
    id: relay.NodeID[int]
    name: str
    max_buyers: int = strawberry.field(description="Most buyers of one shared lead.")
    active: bool
    _industry_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: m.Product) -> Product:
        return cls(id=r.id, name=r.name, max_buyers=r.max_buyers, active=r.active, _industry_id=r.industry_id)

    @strawberry.field
    async def industry(self, info: Info) -> Industry:
        return Industry.from_row(await info.context.loaders.industry.load(self._industry_id))


@strawberry.type(description='A "Lead Deal": activate it to get a campaign.')
class Offer(relay.Node):
    id: relay.NodeID[int]
    name: str
    price: Money
    exclusive: bool
    active: bool
    default_daily_cap: int | None
    min_call_seconds: int = strawberry.field(
        description="Call leads: a call is billed only when connected to the buyer at least this many seconds."
    )
    _product_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: m.Offer) -> Offer:
        return cls(
            id=r.id, name=r.name, price=Money(amount_minor=r.price_minor, currency=r.currency), exclusive=r.exclusive,
            active=r.active, default_daily_cap=r.default_daily_cap, min_call_seconds=r.min_call_seconds,
            _product_id=r.product_id,
        )

    @strawberry.field
    async def product(self, info: Info) -> Product:
        return Product.from_row(await info.context.loaders.product.load(self._product_id))


@strawberry.type(description="A weekly window, in the campaign's time zone (day 0 = Monday).")
class ScheduleWindow:
    day: int
    start: str
    end: str


@strawberry.type
class MissedLeads:
    reason: RoutingOutcome
    count: int


@strawberry.type(description="What routing did with one lead for one campaign (no other buyer is shown).")
class RoutingDecision:
    decided_at: datetime
    outcome: RoutingOutcome
    detail: str
    lead_postal_code: str
    lead_city: str
    lead_state: str


@strawberry.type
class Campaign(relay.Node):
    id: relay.NodeID[int]
    name: str
    time_zone: str
    status: CampaignStatus
    paused: bool
    filter_enabled: bool
    geo_mode: GeoMode
    states: list[str]
    zip_codes: list[str]
    radius_zip: str
    radius_miles: int
    field_filters: JSON
    schedule: list[ScheduleWindow]
    daily_cap: int | None
    weekly_cap: int | None
    monthly_cap: int | None
    channels: JSON = strawberry.field(
        description='The Integration tab: {channel: settings}; secret settings read as "********".'
    )
    lead_types: CampaignLeadTypes = strawberry.field(description="Web leads, calls or both.")
    buyer_phone: str = strawberry.field(description="Calls: the number the ring tree rings (E.164).")
    max_concurrent_calls: int = strawberry.field(description="Calls: how many may ring or be connected at once.")
    active_calls: int = strawberry.field(description="Calls ringing or connected now.")
    missed_calls_in_row: int = strawberry.field(
        description="Calls missed since the last one answered; at the operator's limit the campaign is paused."
    )
    revision: int
    last_sold_at: datetime | None
    created_at: datetime
    _offer_id: strawberry.Private[int]
    _account_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: m.Campaign) -> Campaign:
        return cls(
            id=r.id, name=r.name, time_zone=r.time_zone, status=r.status, paused=r.paused_at is not None,
            filter_enabled=r.filter_enabled, geo_mode=r.geo_mode, states=r.states, zip_codes=r.zip_codes,
            radius_zip=r.radius_zip, radius_miles=r.radius_miles, field_filters=r.field_filters,
            schedule=[ScheduleWindow(**w) for w in r.schedule], daily_cap=r.daily_cap, weekly_cap=r.weekly_cap,
            monthly_cap=r.monthly_cap, channels=core_delivery.public_channels(r.channels), lead_types=r.lead_types,
            buyer_phone=r.buyer_phone, max_concurrent_calls=r.max_concurrent_calls, active_calls=r.active_calls,
            missed_calls_in_row=r.missed_calls_in_row, revision=r.revision, last_sold_at=r.last_sold_at,
            created_at=r.created_at, _offer_id=r.offer_id, _account_id=r.account_id,
        )

    @strawberry.field(description="The partner company running it (operator staff see every campaign).")
    async def partner_name(self, info: Info) -> str:
        account = await info.context.loaders.account.load(self._account_id)
        return account.name if account else ""

    @strawberry.field
    async def offer(self, info: Info) -> Offer:
        return Offer.from_row(await info.context.loaders.offer.load(self._offer_id))

    @strawberry.field(description="The ZIP codes the geo filter covers (ZIP list or radius).")
    async def covered_zip_codes(self) -> list[str]:
        return await core_campaigns.covered_zip_codes(self.id)

    @strawberry.field(description="Leads this campaign was a candidate for but did not get, counted by reason.")
    async def missed_leads(self, since: datetime) -> list[MissedLeads]:
        rows = (
            await m.RoutingDecision.filter(campaign_id=self.id, decided_at__gte=since)
            .exclude(outcome=m.RoutingOutcome.SOLD)
            .annotate(n=Count("id"))
            .group_by("outcome")
            .values_list("outcome", "n")
        )
        return sorted((MissedLeads(reason=o, count=n) for o, n in rows), key=lambda x: -x.count)

    @strawberry.field(description="Every lead this campaign was a candidate for, newest first, and what happened.")
    async def routing_decisions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[RoutingDecision]:
        qs = m.RoutingDecision.filter(campaign_id=self.id).select_related("lead")
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
            to_node=lambda d: RoutingDecision(
                decided_at=d.decided_at, outcome=d.outcome, detail=d.detail, lead_postal_code=d.lead.postal_code,
                lead_city=d.lead.city, lead_state=d.lead.state,
            ),
        )


@strawberry.type(description="A sale of a marketplace lead: the official record of a lead delivered.")
class LeadSale:
    price: Money
    exclusive: bool
    sold_at: datetime
    campaign: Campaign


@strawberry.type(description="One candidate campaign in a lead's routing trace (operator only).")
class RoutingTraceEntry:
    campaign: Campaign
    partner_name: str
    outcome: RoutingOutcome
    detail: str
    price: Money
    decided_at: datetime


