"""The catalogue (operator) and partner campaigns (seed 000's tabs).

Activating an offer creates a campaign pre-filled with a default schedule and
the offer's caps. Every change to a campaign's filter is validated whole
before anything is written, then the campaign row, its precomputed service
area (CampaignArea) and its revision change in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import campaign_history, delivery, industries
from leadwire.core.access import Viewer, require_operator
from leadwire.core.errors import DomainError, ErrorCode, FieldError, Forbidden, not_found
from leadwire.core.identity import check_name, check_time_zone, now
from leadwire.core.models.identity import Account
from leadwire.core.models.marketplace import (
    Campaign,
    CampaignArea,
    CampaignLeadTypes,
    CampaignStatus,
    GeoMode,
    Industry,
    Offer,
    Product,
)
from leadwire.integrations import geodata
from leadwire.plugins.industry import validate_filters

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split()
)
MAX_RADIUS_MILES = 500
MAX_MIN_CALL_SECONDS = 3600
MAX_CONCURRENT_CALLS = 100
MAX_ZIP_LIST = 5000
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
# Seed 000: "Your campaign was pre-populated with a schedule and lead cap."
DEFAULT_SCHEDULE = [{"day": d, "start": "08:00", "end": "20:00"} for d in range(0, 6)]


# -- catalogue (operator) -------------------------------------------------------------


async def create_industry(viewer: Viewer, *, schema_key: str, name: str | None = None) -> Industry:
    require_operator(viewer, "manage industries")
    schema = industries.schema_for(schema_key)
    if schema is None:
        known = ", ".join(s.key for s in industries.installed()) or "none installed"
        raise DomainError.single("schema_key", ErrorCode.INVALID, f"No industry plugin provides {schema_key!r} ({known}).")
    if await Industry.exists(schema_key=schema_key):
        raise DomainError.single("schema_key", ErrorCode.DUPLICATE, "This industry exists already.")
    return await Industry.create(schema_key=schema_key, name=check_name(name or schema.name, "name", "The name", 100))


async def create_product(viewer: Viewer, *, industry_id: int, name: str, max_buyers: int | None = None) -> Product:
    require_operator(viewer, "manage products")
    industry = await Industry.get_or_none(id=industry_id)
    if industry is None:
        raise not_found("industry_id", "industry")
    name = check_name(name, "name", "The product name", 100)
    schema = industries.schema_for(industry.schema_key)
    limit = schema.max_buyers_for(name) if schema else 4
    if max_buyers is None:
        max_buyers = limit
    if not 1 <= max_buyers <= limit:
        raise DomainError.single(
            "max_buyers", ErrorCode.INVALID, f"A shared {name} lead may go to 1 to {limit} buyers."
        )
    if await Product.exists(industry_id=industry_id, name=name):
        raise DomainError.single("name", ErrorCode.DUPLICATE, "This industry already has a product with this name.")
    return await Product.create(industry=industry, name=name, max_buyers=max_buyers)


async def create_offer(
    viewer: Viewer,
    *,
    product_id: int,
    name: str,
    price_minor: int,
    exclusive: bool,
    default_daily_cap: int | None = 10,
    min_call_seconds: int = 90,
) -> Offer:
    require_operator(viewer, "manage offers")
    product = await Product.get_or_none(id=product_id)
    if product is None:
        raise not_found("product_id", "product")
    errors = []
    if price_minor <= 0 or price_minor > 10_000_000:
        errors.append(FieldError("price_minor", ErrorCode.INVALID, "The price per lead must be between 1 and 10,000,000 minor units."))
    if default_daily_cap is not None and default_daily_cap < 1:
        errors.append(FieldError("default_daily_cap", ErrorCode.INVALID, "A cap must be at least 1 (or none)."))
    if not 0 <= min_call_seconds <= MAX_MIN_CALL_SECONDS:
        errors.append(FieldError("min_call_seconds", ErrorCode.INVALID,
                                 f"The billable minimum of a call must be 0 to {MAX_MIN_CALL_SECONDS} seconds."))
    if errors:
        raise DomainError(*errors)
    return await Offer.create(
        product=product, name=check_name(name, "name", "The offer name", 100), price_minor=price_minor,
        exclusive=exclusive, default_daily_cap=default_daily_cap, min_call_seconds=min_call_seconds,
    )


# -- campaigns (partner) -----------------------------------------------------------------


def _require_partner(viewer: Viewer, action: str) -> None:
    if viewer.is_operator or not viewer.is_owner:
        raise Forbidden(f"Only a partner account's owner can {action}.", code=ErrorCode.OWNER_REQUIRED)


async def activate_offer(viewer: Viewer, offer_id: int, *, name: str | None = None) -> Campaign:
    """Seed 000: pick an offer, click Activate: a campaign is created for you."""
    _require_partner(viewer, "activate offers")
    offer = await Offer.get_or_none(id=offer_id, active=True).select_related("product__industry")
    if offer is None or not offer.product.active or not offer.product.industry.active:
        raise not_found("offer_id", "offer")
    async with in_transaction() as conn:
        campaign = await Campaign.create(
            account_id=viewer.account_id,
            offer=offer,
            product_id=offer.product_id,
            name=check_name(name or f"{offer.product.name} — {offer.name}", "name", "The campaign name", 100),
            time_zone=viewer.time_zone if viewer.time_zone != "UTC" else "America/New_York",
            schedule=DEFAULT_SCHEDULE,
            daily_cap=offer.default_daily_cap,
            weekly_cap=offer.default_weekly_cap,
            monthly_cap=offer.default_monthly_cap,
            using_db=conn,
        )
        await campaign_history.record(campaign.id, conn)  # revision 1, for returns (core.returns)
        await Account.filter(id=viewer.account_id, first_activated_at__isnull=True).using_db(conn).update(
            first_activated_at=now()
        )
    return campaign


async def _own_campaign(viewer: Viewer, campaign_id: int, conn=None) -> Campaign:
    qs = Campaign.filter(id=campaign_id, account_id=viewer.account_id)
    campaign = await (qs.using_db(conn) if conn else qs).get_or_none()
    if campaign is None:
        raise not_found("campaign_id", "campaign")
    return campaign


def visible_campaigns(viewer: Viewer):
    """Operator staff see every campaign; a partner's users see their account's."""
    if viewer.is_operator:
        return Campaign.all()
    return Campaign.filter(account_id=viewer.account_id)


@dataclass
class CampaignChanges:
    """Fields left as None are not changed."""

    name: str | None = None
    time_zone: str | None = None
    status: CampaignStatus | None = None
    filter_enabled: bool | None = None
    geo_mode: GeoMode | None = None
    states: list[str] | None = None
    zip_codes: list[str] | None = None
    radius_zip: str | None = None
    radius_miles: int | None = None
    field_filters: dict[str, Any] | None = None
    schedule: list[dict[str, Any]] | None = None
    daily_cap: int | None = None
    weekly_cap: int | None = None
    monthly_cap: int | None = None
    clear_caps: tuple[str, ...] = ()  # cap fields to set to "no cap"
    channels: dict[str, Any] | None = None
    # Calls (core.calls)
    lead_types: CampaignLeadTypes | None = None
    buyer_phone: str | None = None
    max_concurrent_calls: int | None = None


def check_schedule(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clean = []
    for i, w in enumerate(windows):
        day, start, end = w.get("day"), str(w.get("start", "")), str(w.get("end", ""))
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
            raise DomainError.single("schedule", ErrorCode.INVALID, f"Window {i + 1}: day must be 0 (Monday) to 6 (Sunday).")
        if not _TIME.match(start) or not _TIME.match(end) or start == "24:00":
            raise DomainError.single("schedule", ErrorCode.INVALID, f"Window {i + 1}: times must be HH:MM (end may be 24:00).")
        if end <= start:
            raise DomainError.single(
                "schedule", ErrorCode.INVALID, f"Window {i + 1}: ends at or before it starts; split a window that crosses midnight."
            )
        clean.append({"day": day, "start": start, "end": end})
    return sorted(clean, key=lambda w: (w["day"], w["start"]))


async def update_campaign(viewer: Viewer, campaign_id: int, changes: CampaignChanges) -> Campaign:
    _require_partner(viewer, "change campaigns")
    campaign = await _own_campaign(viewer, campaign_id)
    product = await Product.get(id=campaign.product_id).select_related("industry")
    schema = industries.schema_for(product.industry.schema_key)
    values: dict[str, Any] = {}
    errors: list[FieldError] = []

    def attempt(fn):
        try:
            return fn()
        except DomainError as exc:
            errors.extend(exc.errors)

    if changes.name is not None:
        values["name"] = attempt(lambda: check_name(changes.name, "name", "The campaign name", 100))
    if changes.time_zone is not None:
        values["time_zone"] = attempt(lambda: check_time_zone(changes.time_zone))
    if changes.status is not None:
        values["status"] = changes.status
    if changes.filter_enabled is not None:
        values["filter_enabled"] = changes.filter_enabled
    if changes.geo_mode is not None:
        values["geo_mode"] = changes.geo_mode
    if changes.states is not None:
        states = sorted({s.strip().upper() for s in changes.states})
        bad = [s for s in states if s not in US_STATES]
        if bad:
            errors.append(FieldError("states", ErrorCode.INVALID, f"Not US state codes: {', '.join(bad)}."))
        values["states"] = states
    if changes.zip_codes is not None:
        zips = sorted({z.strip() for z in changes.zip_codes if z.strip()})
        bad = [z for z in zips if geodata.lookup(z) is None or len(z) != 5]
        if bad:
            errors.append(FieldError("zip_codes", ErrorCode.INVALID, f"Unknown ZIP codes: {', '.join(bad[:10])}."))
        if len(zips) > MAX_ZIP_LIST:
            errors.append(FieldError("zip_codes", ErrorCode.TOO_LONG, f"At most {MAX_ZIP_LIST} ZIP codes; use a radius."))
        values["zip_codes"] = zips
    if changes.radius_zip is not None:
        if geodata.lookup(changes.radius_zip) is None or len(changes.radius_zip.strip()) != 5:
            errors.append(FieldError("radius_zip", ErrorCode.INVALID, f"Unknown ZIP code {changes.radius_zip!r}."))
        values["radius_zip"] = changes.radius_zip.strip()
    if changes.radius_miles is not None:
        if not 1 <= changes.radius_miles <= MAX_RADIUS_MILES:
            errors.append(FieldError("radius_miles", ErrorCode.INVALID, f"The radius must be 1 to {MAX_RADIUS_MILES} miles."))
        values["radius_miles"] = changes.radius_miles
    if changes.field_filters is not None:
        if schema is None:
            errors.append(FieldError("field_filters", ErrorCode.INVALID, "This industry's schema plugin is not installed."))
        else:
            for p in validate_filters(schema, changes.field_filters):
                errors.append(FieldError("field_filters", ErrorCode.INVALID, f"{p.field}: {p.message}"))
        values["field_filters"] = {k: v for k, v in changes.field_filters.items() if v is not None}
    if changes.schedule is not None:
        values["schedule"] = attempt(lambda: check_schedule(changes.schedule))
    for cap in ("daily_cap", "weekly_cap", "monthly_cap"):
        value = getattr(changes, cap)
        if cap in changes.clear_caps:
            values[cap] = None
        elif value is not None:
            if value < 1 or value > 1_000_000:
                errors.append(FieldError(cap, ErrorCode.INVALID, "A cap must be 1 to 1,000,000 leads (or none)."))
            values[cap] = value
    if changes.channels is not None:
        values["channels"] = attempt(lambda: delivery.check_campaign_channels(changes.channels, campaign.channels or {}))
    if changes.buyer_phone is not None:
        from leadwire.core.intake import normalise_phone  # intake imports routing, which imports this module

        if changes.buyer_phone.strip():
            values["buyer_phone"] = attempt(lambda: normalise_phone(changes.buyer_phone, "buyer_phone"))
        else:
            values["buyer_phone"] = ""
    if changes.max_concurrent_calls is not None:
        if not 1 <= changes.max_concurrent_calls <= MAX_CONCURRENT_CALLS:
            errors.append(FieldError("max_concurrent_calls", ErrorCode.INVALID,
                                     f"A campaign takes 1 to {MAX_CONCURRENT_CALLS} calls at once."))
        values["max_concurrent_calls"] = changes.max_concurrent_calls
    if changes.lead_types is not None:
        values["lead_types"] = changes.lead_types
    takes_calls = (values.get("lead_types") or campaign.lead_types) != CampaignLeadTypes.WEB
    if takes_calls and not values.get("buyer_phone", campaign.buyer_phone) and not any(
        e.field == "buyer_phone" for e in errors
    ):
        errors.append(FieldError("buyer_phone", ErrorCode.REQUIRED, "A campaign that takes calls needs the phone number to ring."))
    if errors:
        raise DomainError(*errors)

    merged = {**{f: getattr(campaign, f) for f in ("filter_enabled", "geo_mode", "states", "zip_codes", "radius_zip", "radius_miles")}, **values}
    mode = GeoMode(merged["geo_mode"])
    # A geo mode needs its settings: refuse a filter that would silently match nothing.
    if merged["filter_enabled"]:
        if mode == GeoMode.STATES and not merged["states"]:
            raise DomainError.single("states", ErrorCode.REQUIRED, "Choose at least one state for a state filter.")
        if mode == GeoMode.ZIP_LIST and not merged["zip_codes"]:
            raise DomainError.single("zip_codes", ErrorCode.REQUIRED, "List at least one ZIP code.")
        if mode == GeoMode.ZIP_RADIUS and (not merged["radius_zip"] or not merged["radius_miles"]):
            raise DomainError.single("radius_zip", ErrorCode.REQUIRED, "A radius filter needs a centre ZIP and miles.")
    areas = _areas(merged["filter_enabled"], mode, merged)
    values["matches_anywhere"] = areas is None

    async with in_transaction() as conn:
        # The database counts revisions: two edits at once get two numbers (returns check a
        # lead against the settings of the revision it was sold under).
        await Campaign.filter(id=campaign.id).using_db(conn).update(revision=F("revision") + 1, **values)
        await campaign_history.record(campaign.id, conn)  # the settings of the new revision, for returns
        await CampaignArea.filter(campaign_id=campaign.id).using_db(conn).delete()
        if areas:
            await CampaignArea.bulk_create(
                [CampaignArea(campaign_id=campaign.id, product_id=campaign.product_id, area=a) for a in areas],
                batch_size=1000,
                using_db=conn,
            )
    return await Campaign.get(id=campaign.id)


def _areas(filter_enabled: bool, mode: GeoMode, merged: dict[str, Any]) -> list[str] | None:
    """The campaign's service area as index keys, or None for "anywhere"."""
    if not filter_enabled or mode == GeoMode.ANYWHERE:
        return None
    if mode == GeoMode.STATES:
        return [f"s:{s}" for s in merged["states"]]
    if mode == GeoMode.ZIP_LIST:
        return [f"z:{z}" for z in merged["zip_codes"]]
    return [f"z:{z}" for z in geodata.zips_within(merged["radius_zip"], merged["radius_miles"])]


async def set_paused(viewer: Viewer, campaign_id: int, paused: bool) -> Campaign:
    """Pause or resume at any moment, whatever the schedule says."""
    if viewer.is_operator:
        raise Forbidden("Only the partner pauses or resumes its campaigns.")
    # Like every other campaign change: resuming spends the account's money.
    _require_partner(viewer, "pause or resume campaigns")
    campaign = await _own_campaign(viewer, campaign_id)
    await Campaign.filter(id=campaign.id).update(paused_at=now() if paused else None)
    return await Campaign.get(id=campaign.id)


async def covered_zip_codes(campaign_id: int) -> list[str]:
    rows = await CampaignArea.filter(campaign_id=campaign_id, area__startswith="z:").values_list("area", flat=True)
    return sorted(a[2:] for a in rows)

