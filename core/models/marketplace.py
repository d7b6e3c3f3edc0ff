"""The marketplace (seed 000): the catalogue (industries > products > offers),
partner campaigns, the sale of a lead to a campaign, and the routing trace.

A marketplace lead is a ``Lead`` of the operator's account; each sale copies it
into the buyer's account as that buyer's own ``Lead`` (which its team works),
linked by a ``LeadSale``.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class Industry(Model):
    id = fields.BigIntField(primary_key=True)
    schema_key = fields.CharField(max_length=50, unique=True)  # the industry plugin's key
    name = fields.CharField(max_length=100)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "industry"


class Product(Model):
    """A category of an industry ("Local moving", "Full-service moving")."""

    id = fields.BigIntField(primary_key=True)
    industry: fields.ForeignKeyRelation[Industry] = fields.ForeignKeyField(
        "leadwire.Industry", related_name="products", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    # The most buyers one shared lead of this product may go to (seed 000: 4,
    # 8 for full-service moving); exclusive offers always sell to one.
    max_buyers = fields.SmallIntField(default=4)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "product"
        unique_together = (("industry_id", "name"),)


class Offer(Model):
    """A "Lead Deal": what a partner activates to get a campaign."""

    id = fields.BigIntField(primary_key=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "leadwire.Product", related_name="offers", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    price_minor = fields.BigIntField()  # per lead, in the marketplace currency's minor units
    currency = fields.CharField(max_length=3, default="USD")
    exclusive = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)
    # What a campaign created by activating this offer starts with.
    default_daily_cap = fields.IntField(null=True, default=10)
    default_weekly_cap = fields.IntField(null=True)
    default_monthly_cap = fields.IntField(null=True)
    # Call leads (core.calls): a call is billable only when connected at least this long.
    min_call_seconds = fields.IntField(default=90, db_default=90)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "offer"


class CampaignStatus(str, Enum):
    ACTIVE = "active"
    DISABLED = "disabled"


class CampaignLeadTypes(str, Enum):
    """What a campaign takes: web-form leads, phone calls, or both."""

    WEB = "web"
    CALL = "call"
    BOTH = "both"


class GeoMode(str, Enum):
    ANYWHERE = "anywhere"
    STATES = "states"
    ZIP_LIST = "zip_list"
    ZIP_RADIUS = "zip_radius"


class Campaign(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="campaigns", on_delete=fields.RESTRICT
    )
    offer: fields.ForeignKeyRelation[Offer] = fields.ForeignKeyField(
        "leadwire.Offer", related_name="campaigns", on_delete=fields.RESTRICT
    )
    # Denormalised from the offer so that routing selects candidates with one index.
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "leadwire.Product", related_name="campaigns", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    # Global tab
    time_zone = fields.CharField(max_length=64, default="America/New_York")
    status = fields.CharEnumField(CampaignStatus, max_length=16, default=CampaignStatus.ACTIVE)
    paused_at = fields.DatetimeField(null=True)
    # Filter tab
    filter_enabled = fields.BooleanField(default=True)
    geo_mode = fields.CharEnumField(GeoMode, max_length=16, default=GeoMode.ANYWHERE)
    states = fields.JSONField(default=list)
    zip_codes = fields.JSONField(default=list)
    radius_zip = fields.CharField(max_length=5, default="")
    radius_miles = fields.IntField(default=0)
    field_filters = fields.JSONField(default=dict)
    # True when the campaign takes leads from anywhere (no geo filter, or the
    # filter switched off): routing selects these without the area index.
    matches_anywhere = fields.BooleanField(default=True)
    # Schedule tab: [{"day": 0-6 (Monday=0), "start": "HH:MM", "end": "HH:MM"}] in time_zone
    schedule = fields.JSONField(default=list)
    daily_cap = fields.IntField(null=True)
    weekly_cap = fields.IntField(null=True)
    monthly_cap = fields.IntField(null=True)
    # Integration tab: {"channel name": {settings}} (delivery channels issue)
    channels = fields.JSONField(default=dict)
    # Calls (core.calls): what the campaign takes, the number its calls ring,
    # how many may ring or talk at once (held in active_calls by conditional
    # updates, so the cap holds across processes) and the missed calls in a row.
    lead_types = fields.CharEnumField(CampaignLeadTypes, max_length=8, default=CampaignLeadTypes.WEB, db_default="web")
    buyer_phone = fields.CharField(max_length=32, default="", db_default="")
    max_concurrent_calls = fields.IntField(default=1, db_default=1)
    active_calls = fields.IntField(default=0, db_default=0)
    missed_calls_in_row = fields.IntField(default=0, db_default=0)
    revision = fields.IntField(default=1)  # bumped on every settings change
    last_sold_at = fields.DatetimeField(null=True)  # fairness: longest-unserved wins ties
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaign"
        indexes = (("product_id", "matches_anywhere"),)


class CampaignArea(Model):
    """The campaign's service area, precomputed from its geo filter: one row per
    ZIP (ZIP list, or every ZIP within the radius) or per state. Routing finds
    the campaigns covering a lead's ZIP or state by index, not by scanning."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="areas", on_delete=fields.CASCADE
    )
    product_id = fields.BigIntField()
    area = fields.CharField(max_length=8)  # "z:48165" or "s:MI"

    class Meta:
        table = "campaign_area"
        unique_together = (("campaign_id", "area"),)
        indexes = (("product_id", "area"),)


class CapCounter(Model):
    """Leads counted against one cap period of a campaign (day/week/month in the
    campaign's time zone). Incremented by a conditional update in the sale's
    transaction, so a cap holds across processes."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="cap_counters", on_delete=fields.CASCADE
    )
    period = fields.CharField(max_length=16)  # "d:2026-11-24", "w:2026-W48", "m:2026-11"
    count = fields.IntField(default=0)

    class Meta:
        table = "cap_counter"
        unique_together = (("campaign_id", "period"),)


class LeadSale(Model):
    """One sale of a marketplace lead to one campaign: the official record of a
    lead delivered (seed 000)."""

    id = fields.BigIntField(primary_key=True)
    lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="sales", on_delete=fields.RESTRICT
    )
    buyer_lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="purchase", on_delete=fields.RESTRICT
    )
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="sales", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="purchases", on_delete=fields.RESTRICT
    )
    price_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    exclusive = fields.BooleanField()
    campaign_revision = fields.IntField()  # the filter in force at delivery
    sold_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lead_sale"
        # buyer_lead_id: each buyer's lead comes from exactly one sale, and "a lead's sale"
        # (every lead page, returns, exports) is an index lookup, not a scan.
        unique_together = (("lead_id", "campaign_id"), ("buyer_lead_id",))
        # price_minor in both: the reports' counts and spend per account or campaign over
        # a period are then read from the index alone (core.reports).
        indexes = (("account_id", "sold_at", "price_minor"), ("campaign_id", "sold_at", "price_minor"))


class RoutingOutcome(str, Enum):
    SOLD = "sold"
    DISABLED = "disabled"
    PAUSED = "paused"
    FIELD_FILTER = "field_filter"
    SCHEDULE = "schedule"
    CAP = "cap"
    BALANCE = "balance"
    OUTRANKED = "outranked"  # eligible, but the lead went to better-ranked buyers
    ACCOUNT_CLOSED = "account_closed"
    NOT_APPROVED = "not_approved"  # the marketplace has not approved the partner yet
    # call leads (core.calls)
    LINES_BUSY = "lines_busy"  # as many calls as the campaign takes at once are ringing or connected
    NO_ANSWER = "no_answer"  # rang, nobody answered in time (or busy, failed)
    SHORT_CALL = "short_call"  # answered, but shorter than the offer's billable minimum


class RoutingDecision(Model):
    """The routing trace: for each candidate campaign (the campaigns of the
    lead's product whose service area covers it), what happened and why."""

    id = fields.BigIntField(primary_key=True)
    lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="routing_decisions", on_delete=fields.CASCADE
    )
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="routing_decisions", on_delete=fields.CASCADE
    )
    outcome = fields.CharEnumField(RoutingOutcome, max_length=16)
    detail = fields.CharField(max_length=200, default="")  # e.g. the field that failed
    price_minor = fields.BigIntField()
    decided_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "routing_decision"
        # outcome: the reports' missed leads by reason are read from the index alone.
        indexes = (("campaign_id", "decided_at", "outcome"), ("lead_id", "campaign_id"))
