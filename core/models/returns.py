"""Lead returns (seed 000) and the campaign settings in force at each revision,
which the "outside the filter at delivery" reason is checked against."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class ReturnReason(str, Enum):
    """Every reason a partner may give. Only the first three are valid (seed
    000), the others are the seed's invalid return reasons, refused with its
    explanation (core.returns)."""

    NO_WORKING_PHONE = "no_working_phone"
    NEVER_REQUESTED_QUOTE = "never_requested_quote"
    OUTSIDE_FILTER_AT_DELIVERY = "outside_filter_at_delivery"
    # -- valid for call leads only (core.calls) --
    WRONG_NUMBER = "wrong_number"  # the caller meant to reach someone else
    NO_CUSTOMER_ON_LINE = "no_customer_on_line"  # silence, a recording, a robocall
    DUPLICATE_CALLER = "duplicate_caller"  # the same caller was billed to this buyer within 7 days
    # -- invalid --
    REPRESENTATIVE_FOR_CONSUMER = "representative_for_consumer"
    CALLED_BY_OTHER_AGENTS = "called_by_other_agents"
    CONSUMER_UNRESPONSIVE = "consumer_unresponsive"
    EMAIL_UNANSWERED_OR_INVALID = "email_unanswered_or_invalid"
    FILTER_CHANGED_WITHOUT_PAUSE = "filter_changed_without_pause"
    NOTIFICATION_NOT_RECEIVED = "notification_not_received"


class ReturnStatus(str, Enum):
    PENDING = "pending"  # waiting for the operator (due within 10 days)
    APPROVED = "approved"  # credited on the ledger
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the account closed before the review


class ReturnRequest(Model):
    """A partner's request to return one purchased lead for credit. One per sale."""

    id = fields.BigIntField(primary_key=True)
    sale: fields.OneToOneRelation = fields.OneToOneField(
        "leadwire.LeadSale", related_name="return_request", on_delete=fields.RESTRICT
    )
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="return_requests", on_delete=fields.RESTRICT
    )
    buyer_lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="return_requests", on_delete=fields.RESTRICT
    )
    reason = fields.CharEnumField(ReturnReason, max_length=40)
    note = fields.CharField(max_length=1000, default="")
    status = fields.CharEnumField(ReturnStatus, max_length=16, default=ReturnStatus.PENDING)
    amount_minor = fields.BigIntField()  # the sale's price: the credit if approved
    currency = fields.CharField(max_length=3)
    requested_by_id = fields.BigIntField(null=True)
    requested_at = fields.DatetimeField()
    due_at = fields.DatetimeField()  # requested_at + 10 days: the review is overdue after it
    # What Leadwire found when it checked the request (the filter at delivery,
    # the routing trace), for the operator.
    evidence = fields.JSONField(default=list)
    reviewed_at = fields.DatetimeField(null=True)
    reviewed_by_id = fields.BigIntField(null=True)
    review_note = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "return_request"
        # buyer_lead_id: a lead's return (lead history, its filter and export) by index.
        indexes = (("status", "due_at"), ("account_id", "requested_at"), ("buyer_lead_id",))


class CampaignRevision(Model):
    """A campaign's Global, Filter and Schedule settings as they were at one
    revision (``Campaign.revision``, a sale records the revision it was made
    under). Written in the transaction that makes the revision current."""

    id = fields.BigIntField(primary_key=True)
    campaign: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="revisions", on_delete=fields.CASCADE
    )
    revision = fields.IntField()
    settings = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaign_revision"
        unique_together = (("campaign_id", "revision"),)
