"""Marketplace mutations: the catalogue (operator), campaigns (partner owner),
lead intake (lead sources) and re-routing (operator). Rules live in core."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from leadwire.core import campaigns as core_campaigns
from leadwire.core import intake, routing
from leadwire.core.access import require_operator, visible_lead
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.errors import DomainError, ErrorCode, not_found
from leadwire.core.models.leads import MarketStatus as CoreMarketStatus
from leadwire.schema.errors import UserError, mutation, to_user_errors
from leadwire.schema.leads.types import Lead, MarketStatus
from leadwire.schema.marketplace.types import Campaign, CampaignLeadTypes, CampaignStatus, GeoMode, Industry, Offer, Product
from leadwire.schema.relay import decode_id


@strawberry.input
class CreateIndustryInput:
    schema_key: str = strawberry.field(description="The industry plugin's key, e.g. moving.")
    name: str | None = None


@strawberry.type
class CreateIndustryPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    industry: Industry | None = None


@strawberry.input
class CreateProductInput:
    industry_id: relay.GlobalID
    name: str
    max_buyers: int | None = strawberry.field(default=None, description="Defaults to the industry's rule (4; 8 for full-service moving).")


@strawberry.type
class CreateProductPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    product: Product | None = None


@strawberry.input
class CreateOfferInput:
    product_id: relay.GlobalID
    name: str
    price_minor: int = strawberry.field(description="Price per lead in minor units (cents).")
    exclusive: bool = False
    default_daily_cap: int | None = 10
    min_call_seconds: int = strawberry.field(default=90, description="Call leads: the billable minimum, in seconds.")


@strawberry.type
class CreateOfferPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    offer: Offer | None = None


@strawberry.input
class ActivateOfferInput:
    offer_id: relay.GlobalID
    name: str | None = None


@strawberry.type
class CampaignPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    campaign: Campaign | None = None


@strawberry.input
class ScheduleWindowInput:
    day: int = strawberry.field(description="0 = Monday ... 6 = Sunday")
    start: str = strawberry.field(description="HH:MM in the campaign's time zone")
    end: str = strawberry.field(description="HH:MM, after start; 24:00 for midnight")


@strawberry.input(description="Fields left out are not changed.")
class UpdateCampaignInput:
    campaign_id: relay.GlobalID
    name: str | None = None
    time_zone: str | None = None
    status: CampaignStatus | None = None
    filter_enabled: bool | None = None
    geo_mode: GeoMode | None = None
    states: list[str] | None = None
    zip_codes: list[str] | None = None
    radius_zip: str | None = None
    radius_miles: int | None = None
    field_filters: JSON | None = strawberry.field(default=None, description='e.g. {"move_type": ["long_distance"], "move_size": "3_bedrooms"}')
    schedule: list[ScheduleWindowInput] | None = strawberry.field(default=None, description="Replaces the whole week; an empty list means always open.")
    daily_cap: int | None = None
    weekly_cap: int | None = None
    monthly_cap: int | None = None
    remove_caps: list[str] | None = strawberry.field(default=None, description="Caps to lift: dailyCap, weeklyCap, monthlyCap.")
    channels: JSON | None = strawberry.field(
        default=None,
        description='The Integration tab, replaced whole: {"email": {"to": ["sales@example.com"]}, ...}; see '
        "deliveryChannels for each channel's settings. Send a secret back as ******** to keep it.",
    )
    lead_types: CampaignLeadTypes | None = strawberry.field(default=None, description="Web leads, calls or both.")
    buyer_phone: str | None = strawberry.field(
        default=None, description="The number calls ring (required to take calls); an empty string clears it."
    )
    max_concurrent_calls: int | None = strawberry.field(default=None, description="1 to 100 calls at once.")


@strawberry.input
class CampaignInput:
    campaign_id: relay.GlobalID


@strawberry.input
class ConsentInput:
    text: str = strawberry.field(description="The consent wording the consumer agreed to.")
    given_at: datetime | None = strawberry.field(default=None, description="When; the time of the request if left out.")
    ip: str = ""
    user_agent: str = ""
    page_url: str = ""


@strawberry.input
class SubmitLeadInput:
    product_id: relay.GlobalID
    first_name: str
    last_name: str
    phone: str
    postal_code: str
    consent: ConsentInput
    email: str = ""
    data: JSON = strawberry.field(default_factory=dict, description="The industry's fields (see its schema).")
    idempotency_key: str | None = strawberry.field(default=None, description="Retries with the same key return the same lead.")


@strawberry.type(description="What happened to a submitted lead. No buyer is named to the source.")
class SubmitLeadPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lead_id: relay.GlobalID | None = None
    status: MarketStatus | None = None
    buyer_count: int = 0
    replayed: bool = strawberry.field(default=False, description="True when an idempotent retry returned the first result.")


@strawberry.input
class RerouteLeadInput:
    lead_id: relay.GlobalID


@strawberry.type
class RerouteLeadPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lead: Lead | None = None


_CAP_FIELDS = {"dailyCap": "daily_cap", "weeklyCap": "weekly_cap", "monthlyCap": "monthly_cap"}


def _changes(input: UpdateCampaignInput) -> CampaignChanges:
    remove = []
    for name in input.remove_caps or []:
        if name not in _CAP_FIELDS:
            raise DomainError.single("remove_caps", ErrorCode.INVALID, f"Unknown cap {name!r}: use dailyCap, weeklyCap or monthlyCap.")
        remove.append(_CAP_FIELDS[name])
    if input.field_filters is not None and not isinstance(input.field_filters, dict):
        raise DomainError.single("field_filters", ErrorCode.INVALID, "Expected an object of field: setting.")
    return CampaignChanges(
        name=input.name, time_zone=input.time_zone,
        status=core_campaigns.CampaignStatus(input.status.value) if input.status else None,
        filter_enabled=input.filter_enabled,
        geo_mode=core_campaigns.GeoMode(input.geo_mode.value) if input.geo_mode else None,
        states=input.states, zip_codes=input.zip_codes, radius_zip=input.radius_zip, radius_miles=input.radius_miles,
        field_filters=input.field_filters,
        schedule=[{"day": w.day, "start": w.start, "end": w.end} for w in input.schedule] if input.schedule is not None else None,
        daily_cap=input.daily_cap, weekly_cap=input.weekly_cap, monthly_cap=input.monthly_cap,
        clear_caps=tuple(remove), channels=input.channels,
        lead_types=core_campaigns.CampaignLeadTypes(input.lead_types.value) if input.lead_types else None,
        buyer_phone=input.buyer_phone, max_concurrent_calls=input.max_concurrent_calls,
    )


@strawberry.type
class MarketplaceMutations:
    @strawberry.mutation(description="Add an industry backed by an installed schema plugin (operator).")
    @mutation(CreateIndustryPayload)
    async def create_industry(self, info: Info, input: CreateIndustryInput) -> CreateIndustryPayload:
        row = await core_campaigns.create_industry(info.context.viewer, schema_key=input.schema_key, name=input.name)
        return CreateIndustryPayload(industry=Industry.from_row(row))

    @strawberry.mutation(description="Add a product (category) to an industry (operator).")
    @mutation(CreateProductPayload)
    async def create_product(self, info: Info, input: CreateProductInput) -> CreateProductPayload:
        row = await core_campaigns.create_product(
            info.context.viewer, industry_id=decode_id(input.industry_id, "Industry", "industry_id"),
            name=input.name, max_buyers=input.max_buyers,
        )
        return CreateProductPayload(product=Product.from_row(row))

    @strawberry.mutation(description='Add an offer ("Lead Deal") to a product (operator).')
    @mutation(CreateOfferPayload)
    async def create_offer(self, info: Info, input: CreateOfferInput) -> CreateOfferPayload:
        row = await core_campaigns.create_offer(
            info.context.viewer, product_id=decode_id(input.product_id, "Product", "product_id"), name=input.name,
            price_minor=input.price_minor, exclusive=input.exclusive, default_daily_cap=input.default_daily_cap,
            min_call_seconds=input.min_call_seconds,
        )
        return CreateOfferPayload(offer=Offer.from_row(row))

    @strawberry.mutation(description="Activate an offer: creates a campaign with a default schedule and cap.")
    @mutation(CampaignPayload)
    async def activate_offer(self, info: Info, input: ActivateOfferInput) -> CampaignPayload:
        row = await core_campaigns.activate_offer(
            info.context.viewer, decode_id(input.offer_id, "Offer", "offer_id"), name=input.name
        )
        return CampaignPayload(campaign=Campaign.from_row(row))

    @strawberry.mutation(description="Change a campaign's Global, Filter, Schedule or Integration settings.")
    @mutation(CampaignPayload)
    async def update_campaign(self, info: Info, input: UpdateCampaignInput) -> CampaignPayload:
        row = await core_campaigns.update_campaign(
            info.context.viewer, decode_id(input.campaign_id, "Campaign", "campaign_id"), _changes(input)
        )
        return CampaignPayload(campaign=Campaign.from_row(row))

    @strawberry.mutation(description="Pause a campaign now, whatever its schedule.")
    @mutation(CampaignPayload)
    async def pause_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        row = await core_campaigns.set_paused(info.context.viewer, decode_id(input.campaign_id, "Campaign", "campaign_id"), True)
        return CampaignPayload(campaign=Campaign.from_row(row))

    @strawberry.mutation(description="Resume a paused campaign.")
    @mutation(CampaignPayload)
    async def resume_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        row = await core_campaigns.set_paused(info.context.viewer, decode_id(input.campaign_id, "Campaign", "campaign_id"), False)
        return CampaignPayload(campaign=Campaign.from_row(row))

    @strawberry.mutation(description="Post a consumer's quote request (lead sources, with their API key). It is validated, stored and sold in real time.")
    async def submit_lead(self, info: Info, input: SubmitLeadInput) -> SubmitLeadPayload:
        source = info.context.lead_source
        if source is None:
            message = info.context.auth_problem or "Send a lead source API key: Authorization: Bearer lw_src_..."
            return SubmitLeadPayload(user_errors=[UserError(field=None, code=ErrorCode.UNAUTHENTICATED, message=message)])
        try:
            product_id = decode_id(input.product_id, "Product", "product_id")
            if not isinstance(input.data, dict):
                raise DomainError.single("data", ErrorCode.INVALID, "Expected an object of the industry's fields.")
            result = await intake.submit_lead(source, intake.LeadSubmission(
                product_id=product_id, first_name=input.first_name, last_name=input.last_name, phone=input.phone,
                postal_code=input.postal_code, email=input.email, data=input.data,
                idempotency_key=input.idempotency_key,
                consent=intake.Consent(text=input.consent.text, given_at=input.consent.given_at, ip=input.consent.ip,
                                       user_agent=input.consent.user_agent, page_url=input.consent.page_url),
            ))
        except DomainError as exc:
            return SubmitLeadPayload(user_errors=to_user_errors(exc.errors))
        lead = result.lead
        return SubmitLeadPayload(
            lead_id=relay.GlobalID("Lead", str(lead.id)), status=lead.market_status, buyer_count=lead.sale_count,
            replayed=not result.created,
        )

    @strawberry.mutation(description="Route an unsold lead again, now (operator).")
    @mutation(RerouteLeadPayload)
    async def reroute_lead(self, info: Info, input: RerouteLeadInput) -> RerouteLeadPayload:
        viewer = info.context.viewer
        require_operator(viewer, "re-route leads")
        lead = await visible_lead(viewer, decode_id(input.lead_id, "Lead", "lead_id"))
        if lead is None:
            raise not_found("lead_id", "lead")
        if lead.market_status != CoreMarketStatus.UNSOLD:
            raise DomainError.single("lead_id", ErrorCode.INVALID, "Only an unsold lead can be re-routed.")
        await routing.route_lead(lead.id, reroute_unsold=True)
        await lead.refresh_from_db()
        return RerouteLeadPayload(lead=Lead.from_row(lead))
