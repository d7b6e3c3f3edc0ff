"""Money around the ledger: gateways' customers and saved payment methods,
payments in (deposits), refunds out, auto-charge, account closure, abuse
flags and the partner's notifications.

Card numbers never reach Leadwire: a payment method is the gateway's token
(e.g. Stripe's ``pm_...``) and what may be shown of it (brand, last 4, expiry).
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class GatewayCustomer(Model):
    """The gateway's customer record for one account (e.g. Stripe's ``cus_...``)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="gateway_customers", on_delete=fields.RESTRICT
    )
    gateway = fields.CharField(max_length=50)
    customer_ref = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "gateway_customer"
        unique_together = (("account_id", "gateway"),)


class PaymentMethod(Model):
    """A card on file: the gateway's token and what can be shown of it.

    ``default_slot`` is 1 for the account's default method and NULL for the
    others: the unique (account, default_slot) constraint lets the database
    itself refuse a second default."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="payment_methods", on_delete=fields.RESTRICT
    )
    gateway = fields.CharField(max_length=50)
    token = fields.CharField(max_length=255)  # the gateway's id of the saved method (pm_...)
    customer_ref = fields.CharField(max_length=255, default="")
    brand = fields.CharField(max_length=30, default="")
    last4 = fields.CharField(max_length=4, default="")
    exp_month = fields.SmallIntField(default=0)
    exp_year = fields.SmallIntField(default=0)
    default_slot = fields.SmallIntField(null=True)
    created_by_id = fields.BigIntField(null=True)  # the membership that saved it
    created_at = fields.DatetimeField(auto_now_add=True)
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment_method"
        unique_together = (("gateway", "token"), ("account_id", "default_slot"))

    @property
    def label(self) -> str:
        if self.last4:
            return f"{(self.brand or 'card').title()} ending {self.last4}"
        return self.gateway


class CardSetupStatus(str, Enum):
    STARTED = "started"
    COMPLETED = "completed"


class CardSetup(Model):
    """One "add a card" flow: started by Leadwire at the gateway (a SetupIntent),
    confirmed by the partner's browser with the gateway's script, completed by
    Leadwire, which then saves the resulting payment method."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="card_setups", on_delete=fields.RESTRICT
    )
    gateway = fields.CharField(max_length=50)
    setup_ref = fields.CharField(max_length=255)  # seti_...
    customer_ref = fields.CharField(max_length=255, default="")
    status = fields.CharEnumField(CardSetupStatus, max_length=16, default=CardSetupStatus.STARTED)
    payment_method: fields.ForeignKeyNullableRelation[PaymentMethod] = fields.ForeignKeyField(
        "leadwire.PaymentMethod", related_name="setups", null=True, on_delete=fields.RESTRICT
    )
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "card_setup"
        unique_together = (("gateway", "setup_ref"),)


class PaymentPurpose(str, Enum):
    ADD_FUNDS = "add_funds"  # the partner, from a card on file
    AUTO_CHARGE = "auto_charge"  # below the threshold, from the chosen card
    MANUAL = "manual"  # a bank transfer or check the operator recorded


class PaymentStatus(str, Enum):
    PENDING = "pending"  # no final answer from the gateway yet (a job keeps asking, same idempotency key)
    PROCESSING = "processing"  # the gateway accepted it; the final result comes later
    SUCCEEDED = "succeeded"  # money received and deposited on the ledger
    FAILED = "failed"  # declined or refused: nothing deposited
    UNKNOWN = "unknown"  # the gateway could not be reached for too long: the operator resolves it


IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN)


class Payment(Model):
    """Money coming in. Its deposit ledger entry is written in the same
    transaction that marks it succeeded, by a conditional update, so a
    payment is deposited once however many times it is settled."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="payments", on_delete=fields.RESTRICT
    )
    gateway = fields.CharField(max_length=50)
    purpose = fields.CharEnumField(PaymentPurpose, max_length=16)
    status = fields.CharEnumField(PaymentStatus, max_length=16, default=PaymentStatus.PENDING)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    payment_method: fields.ForeignKeyNullableRelation[PaymentMethod] = fields.ForeignKeyField(
        "leadwire.PaymentMethod", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    method_label = fields.CharField(max_length=100, default="")  # "Visa ending 4242", "Check"
    # The same on every attempt of this payment: the gateway charges it once.
    idempotency_key = fields.CharField(max_length=200, unique=True)
    reference = fields.CharField(max_length=255, default="")  # the gateway's id (pi_...) or the bank reference
    tries = fields.SmallIntField(default=0)  # gateway calls made
    failure_code = fields.CharField(max_length=100, default="")
    failure_message = fields.CharField(max_length=500, default="")
    refunded_minor = fields.BigIntField(default=0)  # sent back at closure, through this payment's gateway
    note = fields.CharField(max_length=300, default="")
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    settled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment"
        indexes = (("account_id", "created_at"), ("status", "created_at"))


class RefundStatus(str, Enum):
    PENDING = "pending"  # to be sent through the gateway (a job)
    SENT = "sent"  # the gateway accepted the refund
    AWAITING_OPERATOR = "awaiting_operator"  # the operator sends it (bank transfer, check) and records it
    PAID = "paid"  # the operator recorded it as paid
    FAILED = "failed"  # the gateway refused it: the operator pays it another way and records it


class Refund(Model):
    """Money going back to a closing partner, through the gateway it came from.
    The ledger was debited when the account closed, this row tracks the payout."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="refunds", on_delete=fields.RESTRICT
    )
    closure: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.AccountClosure", related_name="refunds", on_delete=fields.RESTRICT
    )
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "leadwire.Payment", related_name="refunds", null=True, on_delete=fields.RESTRICT
    )  # null: deposits with no payment record are paid back by the operator
    gateway = fields.CharField(max_length=50)
    amount_minor = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(RefundStatus, max_length=20, default=RefundStatus.PENDING)
    idempotency_key = fields.CharField(max_length=200, unique=True)
    reference = fields.CharField(max_length=255, default="")
    tries = fields.SmallIntField(default=0)
    failure_message = fields.CharField(max_length=500, default="")
    note = fields.CharField(max_length=300, default="")
    settled_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refund"
        indexes = (("status", "created_at"),)


class AutoChargeState(str, Enum):
    IDLE = "idle"  # armed: a sale that takes the balance below the threshold makes it due
    DUE = "due"  # a charge is scheduled or in flight (at most one per account)
    SUSPENDED = "suspended"  # too many failed charges: off until the owner updates it


class AutoCharge(Model):
    """Auto-charge settings and state of one account (seed 000: "set your
    account to auto-charge so you don't miss any leads")."""

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation = fields.OneToOneField(
        "leadwire.Account", related_name="auto_charge", on_delete=fields.RESTRICT
    )
    enabled = fields.BooleanField(default=False)
    threshold_minor = fields.BigIntField(default=0)
    amount_minor = fields.BigIntField(default=0)
    payment_method: fields.ForeignKeyNullableRelation[PaymentMethod] = fields.ForeignKeyField(
        "leadwire.PaymentMethod", related_name="auto_charges", null=True, on_delete=fields.RESTRICT
    )  # null: the account's default card
    state = fields.CharEnumField(AutoChargeState, max_length=16, default=AutoChargeState.IDLE)
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "leadwire.Payment", related_name="auto_charge_in_flight", null=True, on_delete=fields.RESTRICT
    )  # the charge in flight, if any
    episode = fields.IntField(default=0)  # +1 each time it becomes due
    failures = fields.SmallIntField(default=0)  # consecutive failed charges
    last_error = fields.CharField(max_length=500, default="")
    suspended_at = fields.DatetimeField(null=True)
    last_charged_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "auto_charge"


class NotificationKind(str, Enum):
    AUTO_CHARGE_FAILED = "auto_charge_failed"
    AUTO_CHARGE_SUSPENDED = "auto_charge_suspended"
    RETURN_REVIEWED = "return_reviewed"
    ACCOUNT_CLOSED = "account_closed"
    REFUND_SENT = "refund_sent"
    CAMPAIGN_PAUSED = "campaign_paused"  # paused automatically (missed calls in a row, core.calls)


class Notification(Model):
    """A message to a partner account's owner, shown in the dashboard (the API)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="notifications", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(NotificationKind, max_length=30)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("account_id", "created_at"),)


class ClosureKind(str, Enum):
    CANCELLATION = "cancellation"  # the partner asked
    ABUSE = "abuse"  # the operator closed it for abusing the return policy


class AccountClosure(Model):
    """How a partner account was closed and what was paid out. One per account."""

    id = fields.BigIntField(primary_key=True)
    account: fields.OneToOneRelation = fields.OneToOneField(
        "leadwire.Account", related_name="closure", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(ClosureKind, max_length=16)
    requested_by_id = fields.BigIntField(null=True)
    note = fields.CharField(max_length=1000, default="")
    balance_minor = fields.BigIntField()  # the balance just before closing
    credit_minor = fields.BigIntField()  # credits in it, not refunded (forfeited)
    refundable_minor = fields.BigIntField()  # money the partner deposited, still unspent
    fee_minor = fields.BigIntField()  # the administrative fee kept (seed 000: $50 within 30 days)
    refund_minor = fields.BigIntField()  # paid back: refundable - fee
    currency = fields.CharField(max_length=3)
    closed_at = fields.DatetimeField()

    class Meta:
        table = "account_closure"


class AccountFlag(Model):
    """The operator's flag on a partner suspected of abusing returns (the
    first step before closing the account for abuse)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="flags", on_delete=fields.RESTRICT
    )
    note = fields.CharField(max_length=1000)
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    cleared_at = fields.DatetimeField(null=True)
    cleared_by_id = fields.BigIntField(null=True)
    clear_note = fields.CharField(max_length=1000, default="")

    class Meta:
        table = "account_flag"
        indexes = (("account_id", "created_at"),)
