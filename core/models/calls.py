"""Call leads (seed 000's "Call Logic"): tracking numbers, the calls they
receive and each ring of the ring tree (core.calls)."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class TrackingNumber(Model):
    """A phone number the operator advertises for one product (and optionally
    one lead source): a call to it becomes a call lead for that product."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="tracking_numbers", on_delete=fields.RESTRICT
    )  # the operator's account, which owns the call leads as it owns web leads
    number = fields.CharField(max_length=32, unique=True)  # E.164, as the provider sends it in To
    provider = fields.CharField(max_length=50)  # the telephony provider's name (plugin registry)
    industry: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Industry", related_name="tracking_numbers", on_delete=fields.RESTRICT
    )
    product: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Product", related_name="tracking_numbers", on_delete=fields.RESTRICT
    )
    source: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.LeadSource", related_name="tracking_numbers", null=True, on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100, default="")
    ask_zip = fields.BooleanField(default=False)  # ask the caller to key in a ZIP code first
    fallback_message = fields.CharField(max_length=500, default="")  # empty: the provider block's message
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tracking_number"


class CallStatus(str, Enum):
    ROUTING = "routing"  # ringing the ring tree
    BILLED = "billed"  # connected at least the minimum: sold
    NOT_BILLED = "not_billed"  # connected, but shorter than the minimum
    MISSED = "missed"  # nobody in the ring tree answered
    FALLBACK = "fallback"  # nobody could take it (schedules, caps, balance): the fallback message
    ABANDONED = "abandoned"  # the caller hung up before anyone answered


class Call(Model):
    """One inbound call, known by the provider's id (CallSid): every webhook of
    the call finds it by that id, so a retried webhook changes nothing twice."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=50)
    call_sid = fields.CharField(max_length=64)
    tracking_number: fields.ForeignKeyRelation[TrackingNumber] = fields.ForeignKeyField(
        "leadwire.TrackingNumber", related_name="calls", on_delete=fields.RESTRICT
    )
    lead: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="calls", null=True, on_delete=fields.RESTRICT
    )  # the marketplace lead
    buyer_lead: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="bought_calls", null=True, on_delete=fields.SET_NULL
    )
    buyer_account_id = fields.BigIntField(null=True)  # the account billed for it
    caller = fields.CharField(max_length=32, default="")
    location_from = fields.CharField(max_length=16, default="")  # "area_code", "keypad" or ""
    status = fields.CharEnumField(CallStatus, max_length=16, default=CallStatus.ROUTING)
    duration_seconds = fields.IntField(default=0)  # connected to the buyer
    recording_url = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "call"
        unique_together = (("provider", "call_sid"),)
        # The partner dashboard asks whether an account bought calls in a period.
        indexes = (("buyer_account_id", "ended_at"),)


class AttemptStatus(str, Enum):
    RINGING = "ringing"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELED = "canceled"  # the caller hung up while it rang


class CallAttempt(Model):
    """One ring of the ring tree: the call offered to one campaign. While it
    is ringing or connected it holds one of the campaign's concurrent-call
    slots (Campaign.active_calls)."""

    id = fields.BigIntField(primary_key=True)
    call: fields.ForeignKeyRelation[Call] = fields.ForeignKeyField(
        "leadwire.Call", related_name="attempts", on_delete=fields.CASCADE
    )
    campaign: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Campaign", related_name="call_attempts", on_delete=fields.RESTRICT
    )
    position = fields.SmallIntField()  # 1 = the first campaign rung
    status = fields.CharEnumField(AttemptStatus, max_length=16, default=AttemptStatus.RINGING)
    duration_seconds = fields.IntField(default=0)
    billable = fields.BooleanField(default=False)
    # The answer given to the provider when this attempt ended, replayed to a retried webhook.
    response_body = fields.TextField(default="")
    started_at = fields.DatetimeField(auto_now_add=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "call_attempt"
        unique_together = (("call_id", "position"),)
        indexes = (("campaign_id", "status"),)
