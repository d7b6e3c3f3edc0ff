"""Deliveries: the courtesy copies of a sold lead pushed to its buyer through
the campaign's channels (seed 000: e-mail, text message, the buyer's CRM),
with every attempt logged. The sale, not a delivery, is the official record."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class DeliveryStatus(str, Enum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # a permanent failure, or every attempt used


class AttemptOutcome(str, Enum):
    IN_PROGRESS = "in_progress"  # started; the worker has not reported yet
    DELIVERED = "delivered"
    RETRY = "retry"  # a temporary failure
    FAILED = "failed"  # a permanent failure
    INTERRUPTED = "interrupted"  # the worker died during the attempt


class Delivery(Model):
    """One delivery of one sale through one channel. A re-send is a new row
    (the next ``generation``) with its own idempotency key, since the buyer
    asked for the lead to arrive again."""

    id = fields.BigIntField(primary_key=True)
    sale: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.LeadSale", related_name="deliveries", on_delete=fields.RESTRICT
    )
    # The buyer and its copy of the lead: who may see this delivery follows them.
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="deliveries", on_delete=fields.RESTRICT
    )
    buyer_lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="deliveries", on_delete=fields.RESTRICT
    )
    channel = fields.CharField(max_length=50)
    generation = fields.SmallIntField(default=1)  # 2, 3... for re-sends
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    idempotency_key = fields.CharField(max_length=64, unique=True)
    attempts = fields.SmallIntField(default=0)
    max_attempts = fields.SmallIntField(default=8)
    next_attempt_at = fields.DatetimeField(null=True)
    provider_message_id = fields.CharField(max_length=200, default="")
    last_error = fields.TextField(default="")
    requested_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="requested_deliveries", null=True, on_delete=fields.SET_NULL
    )  # who asked for a re-send
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        unique_together = (("sale_id", "channel", "generation"),)
        indexes = (("buyer_lead_id", "created_at"), ("status", "created_at"))


class DeliveryAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "leadwire.Delivery", related_name="attempt_log", on_delete=fields.CASCADE
    )
    number = fields.SmallIntField()
    started_at = fields.DatetimeField()
    latency_ms = fields.IntField(null=True)
    outcome = fields.CharEnumField(AttemptOutcome, max_length=16, default=AttemptOutcome.IN_PROGRESS)
    status_code = fields.IntField(null=True)
    provider_message_id = fields.CharField(max_length=200, default="")
    error = fields.TextField(default="")  # secrets removed

    class Meta:
        table = "delivery_attempt"
        unique_together = (("delivery_id", "number"),)
