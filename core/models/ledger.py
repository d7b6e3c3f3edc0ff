"""The append-only ledger of each partner account's money."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class EntryKind(str, Enum):
    DEPOSIT = "deposit"
    LEAD_CHARGE = "lead_charge"
    RETURN_CREDIT = "return_credit"
    REFUND = "refund"
    FEE = "fee"
    ADJUSTMENT = "adjustment"


class LedgerEntry(Model):
    """One movement of money. ``amount_minor`` is signed (a charge is negative):
    an account's balance is always the sum of its entries."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="ledger_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(EntryKind, max_length=16)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    sale: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.LeadSale", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    memo = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        indexes = (("account_id", "created_at"),)
