"""The append-only ledger of each partner account's money."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class EntryKind(str, Enum):
    DEPOSIT = "deposit"  # money the partner paid in (a payment): refundable at closing
    LEAD_CHARGE = "lead_charge"  # a lead sold to the partner
    RETURN_CREDIT = "return_credit"  # an approved return: credit, never refunded
    REFUND = "refund"  # deposited money paid back at closing
    FEE = "fee"  # the administrative fee kept at cancellation
    ADJUSTMENT = "adjustment"  # the operator's manual correction, with a reason


class LedgerEntry(Model):
    """One movement of money, never changed or deleted. ``amount_minor`` is
    signed (a charge is negative): an account's balance is always the sum of
    its entries. ``credit_minor`` is the part of the amount that moved the
    account's credits (the part of the balance that is not refundable): the
    account's credit balance is the sum of these."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="ledger_entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(EntryKind, max_length=16)
    amount_minor = fields.BigIntField()
    credit_minor = fields.BigIntField(default=0, db_default=0)
    currency = fields.CharField(max_length=3)
    sale: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.LeadSale", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    payment: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Payment", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    return_request: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.ReturnRequest", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    closure: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.AccountClosure", related_name="ledger_entries", null=True, on_delete=fields.RESTRICT
    )
    # The membership that made it (an operator's adjustment or recorded
    # payment); a plain id so that deleting a user never touches the ledger.
    actor_id = fields.BigIntField(null=True)
    memo = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        indexes = (("account_id", "created_at"),)
