"""Leads as an account works them: the record its users see and are assigned.

The marketplace capability extends this with industry data, the sale and the
routing trace; who may see a lead is decided in core.access, nowhere else.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class LeadOrigin(str, Enum):
    MARKETPLACE = "marketplace"  # bought through a campaign
    REGISTRATION = "registration"  # the account's own web form
    IMPORT = "import"
    MANUAL = "manual"


class LeadKind(str, Enum):
    """How the consumer reached the marketplace: a web form (or API post) or a phone call (core.calls)."""

    WEB = "web"
    CALL = "call"


class LeadOutcome(str, Enum):
    """A closed lead's result (on the pipeline's closing stage, core.workspace)."""

    WON = "won"
    LOST = "lost"


class MarketStatus(str, Enum):
    """Where a marketplace lead (one in the operator's account) stands."""

    RECEIVED = "received"  # stored, routing not finished (a crash here is re-routed)
    SOLD = "sold"
    UNSOLD = "unsold"  # nobody could buy it; the operator can re-route it
    DUPLICATE = "duplicate"  # same phone or e-mail in the industry within the window


class Lead(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="leads", on_delete=fields.RESTRICT
    )
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="assigned_leads", null=True, on_delete=fields.RESTRICT
    )
    origin = fields.CharEnumField(LeadOrigin, max_length=16, default=LeadOrigin.MANUAL)
    kind = fields.CharEnumField(LeadKind, max_length=8, default=LeadKind.WEB, db_default="web")
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=32, default="")  # E.164
    postal_code = fields.CharField(max_length=10, default="")
    city = fields.CharField(max_length=100, default="")
    state = fields.CharField(max_length=2, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    # -- marketplace ---------------------------------------------------------
    industry: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Industry", related_name="leads", null=True, on_delete=fields.RESTRICT
    )
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Product", related_name="leads", null=True, on_delete=fields.RESTRICT
    )
    source: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.LeadSource", related_name="leads", null=True, on_delete=fields.RESTRICT
    )
    data = fields.JSONField(default=dict)  # the industry's fields, normalised by its schema
    market_status = fields.CharEnumField(MarketStatus, max_length=16, null=True)
    duplicate_of: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="duplicates", null=True, on_delete=fields.SET_NULL
    )
    # How many buyers it has been sold to, and whether exclusively: written only
    # by conditional updates in the sale's transaction (core.routing), so no
    # exclusive lead is sold twice and no shared lead beyond its maximum.
    sale_count = fields.SmallIntField(default=0)
    sold_exclusively = fields.BooleanField(default=False)
    idempotency_key = fields.CharField(max_length=100, null=True)
    request_hash = fields.CharField(max_length=64, default="")
    # Consent, as the consumer gave it.
    consent_text = fields.TextField(default="")
    consent_at = fields.DatetimeField(null=True)
    consent_ip = fields.CharField(max_length=64, default="")
    consent_user_agent = fields.CharField(max_length=300, default="")
    consent_page_url = fields.CharField(max_length=500, default="")

    # -- the sales workspace (core.workspace) ----------------------------------
    # NULL until the lead enters the account's pipeline (bought leads a moment
    # after the sale, by the workspace_enter_lead job).
    stage: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.PipelineStage", related_name="leads", null=True, on_delete=fields.RESTRICT
    )
    outcome = fields.CharEnumField(LeadOutcome, max_length=8, null=True)  # set on the closing stage only
    lost_reason: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.LostReason", related_name="leads", null=True, on_delete=fields.RESTRICT
    )
    closed_at = fields.DatetimeField(null=True)
    # When it reached its current stage (time in stage, core.reports.pipeline).
    # NULL: since it was created (imported and hand-made leads start on a stage).
    stage_entered_at = fields.DatetimeField(null=True)
    value_minor = fields.BigIntField(default=0, db_default=0)  # the deal's value, in the account's currency
    awaiting_assignment = fields.BooleanField(default=False, db_default=False)  # in a manual queue
    assignment_method = fields.CharField(max_length=16, null=True)  # core.models.workspace.AssignmentMethod
    assignment_rule: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.AssignmentRule", related_name="leads", null=True, on_delete=fields.SET_NULL
    )
    assigned_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)  # deleted (lost leads): gone from every list, sale kept

    class Meta:
        table = "lead"
        unique_together = (("source_id", "idempotency_key"),)
        indexes = (
            # Lists page newest first by id within an account (keyset cursors).
            ("account_id", "id"),
            ("account_id", "created_at"),
            ("assignee_id", "created_at"),
            ("industry_id", "phone", "created_at"),
            ("industry_id", "email", "created_at"),
            ("account_id", "stage_id"),
            ("account_id", "phone"),
            ("account_id", "email"),
        )
