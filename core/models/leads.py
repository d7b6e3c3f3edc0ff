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


class Lead(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="leads", on_delete=fields.RESTRICT
    )
    assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="assigned_leads", null=True, on_delete=fields.RESTRICT
    )
    origin = fields.CharEnumField(LeadOrigin, max_length=16, default=LeadOrigin.MANUAL)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=32, default="")  # E.164
    postal_code = fields.CharField(max_length=10, default="")
    city = fields.CharField(max_length=100, default="")
    state = fields.CharField(max_length=2, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "lead"
        indexes = (("account_id", "created_at"), ("assignee_id", "created_at"))
