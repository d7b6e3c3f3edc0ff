"""Money mutations. The rules live in core (ledger, payments, autocharge,
returns, accounts_closing); these only translate ids and shapes."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from leadwire.core import accounts_closing, autocharge, ledger, notifications, payments, returns
from leadwire.core.errors import ErrorCode
from leadwire.core.models.money import PaymentStatus as CorePaymentStatus
from leadwire.schema.errors import UserError, mutation
from leadwire.schema.marketplace.types import Money
from leadwire.schema.money.types import (
    AccountClosure,
    AccountFlag,
    AutoChargeSettings,
    LedgerEntry,
    Payment,
    PaymentMethod,
    Refund,
    ReturnReason,
    ReturnRequest,
    money,
)
from leadwire.schema.relay import decode_id


@strawberry.enum(description="How the operator received a payment.")
class RecordedPaymentMethod(Enum):
    BANK_TRANSFER = "bank_transfer"
    CHECK = "check"


# -- cards ---------------------------------------------------------------------------------


@strawberry.input
class StartCardSetupInput:
    gateway: str = strawberry.field(default="stripe", description="A gateway that saves cards (see paymentGateways).")


@strawberry.type(description="Give clientSecret to the gateway's script in the browser (Stripe.js confirmCardSetup), "
                 "then call completeCardSetup with setupId.")
class StartCardSetupPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    setup_id: relay.GlobalID | None = None
    gateway: str | None = None
    client_secret: str | None = strawberry.field(default=None, description="For the browser only: never store or log it.")
    public_config: JSON | None = None


@strawberry.input
class CompleteCardSetupInput:
    setup_id: relay.GlobalID


@strawberry.type
class PaymentMethodPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    payment_method: PaymentMethod | None = None


@strawberry.input
class PaymentMethodInput:
    payment_method_id: relay.GlobalID


@strawberry.type
class RemovePaymentMethodPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    removed_payment_method_id: relay.GlobalID | None = None


# -- payments --------------------------------------------------------------------------------


@strawberry.input
class AddFundsInput:
    amount_minor: int = strawberry.field(description="In cents: 1000 ($10) to 1000000 ($10,000).")
    payment_method_id: relay.GlobalID | None = strawberry.field(default=None, description="Defaults to the default card.")
    idempotency_key: str | None = strawberry.field(default=None, description="Retries with the same key return the first payment.")


@strawberry.type(description="The payment (SUCCEEDED: deposited; FAILED: see failureMessage; PENDING or PROCESSING: "
                 "the answer comes later) and the balance after it.")
class PaymentPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    payment: Payment | None = None
    balance: Money | None = None


@strawberry.input
class RecordManualPaymentInput:
    account_id: relay.GlobalID
    amount_minor: int
    method: RecordedPaymentMethod
    reference: str = strawberry.field(description="The transfer's reference or the check's number (once per account).")
    note: str = ""


@strawberry.input
class ResolvePaymentInput:
    payment_id: relay.GlobalID
    succeeded: bool = strawberry.field(description="What the gateway's own records show.")
    note: str
    reference: str = strawberry.field(default="", description="The gateway's charge id, if it succeeded.")


@strawberry.input
class AdjustBalanceInput:
    account_id: relay.GlobalID
    amount_minor: int = strawberry.field(description="Positive adds credits; negative takes money (credits first).")
    reason: str = strawberry.field(description="Kept on the ledger entry.")


@strawberry.type
class AdjustBalancePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    entry: LedgerEntry | None = None
    balance: Money | None = None


@strawberry.input
class UpdateAutoChargeInput:
    enabled: bool
    threshold_minor: int = strawberry.field(description="Charge when a sale takes the balance below this (cents).")
    amount_minor: int = strawberry.field(description="How much to charge each time (cents).")
    payment_method_id: relay.GlobalID | None = strawberry.field(default=None, description="Null: the default card.")


@strawberry.type
class AutoChargePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    auto_charge: AutoChargeSettings | None = None


@strawberry.input
class MarkNotificationsReadInput:
    notification_ids: list[relay.GlobalID]


@strawberry.type
class MarkNotificationsReadPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    marked: int = 0


@strawberry.enum
class ReturnDecision(Enum):
    APPROVE = "approve"
    DECLINE = "decline"


@strawberry.input
class RequestReturnInput:
    lead_id: relay.GlobalID = strawberry.field(description="The lead as the partner owns it.")
    reason: ReturnReason
    note: str = ""


@strawberry.input
class ReviewReturnInput:
    return_id: relay.GlobalID
    decision: ReturnDecision
    note: str = strawberry.field(default="", description="The partner sees it; required to decline.")


@strawberry.type
class ReturnPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    return_request: ReturnRequest | None = None


@strawberry.input
class AccountNoteInput:
    account_id: relay.GlobalID
    note: str


@strawberry.type
class AccountFlagPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    flag: AccountFlag | None = None


@strawberry.input
class CloseAccountInput:
    confirm: bool = strawberry.field(description="Must be true: closing cannot be undone.")
    reason: str = ""


@strawberry.type(description="The closing: the refund (deposited money less any fee), the credits not refunded, and "
                 "the refunds on their way back through the gateways the money came from.")
class CloseAccountPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    closure: AccountClosure | None = None


@strawberry.input
class SettleRefundInput:
    refund_id: relay.GlobalID
    reference: str = strawberry.field(description="The transfer's reference or the check's number.")
    note: str = ""


@strawberry.type
class RefundPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    refund: Refund | None = None


async def _balance(account_id: int) -> Money:
    return money((await ledger.balances(account_id)).balance_minor)


def _declined(payment) -> list[UserError]:
    if payment.status != CorePaymentStatus.FAILED:
        return []
    return [UserError(field="paymentMethodId", code=ErrorCode.PAYMENT_DECLINED, message=payment.failure_message)]


@strawberry.type
class MoneyMutations:
    @strawberry.mutation(description="Add a card, step 1 (the owner): the gateway prepares a card form for the browser.")
    @mutation(StartCardSetupPayload)
    async def start_card_setup(self, info: Info, input: StartCardSetupInput) -> StartCardSetupPayload:
        started = await payments.start_card_setup(info.context.viewer, input.gateway)
        return StartCardSetupPayload(
            setup_id=relay.GlobalID("CardSetup", str(started.setup.id)), gateway=started.setup.gateway,
            client_secret=started.client_secret, public_config=dict(started.public_config),
        )

    @strawberry.mutation(description="Add a card, step 3: after the browser confirmed it, save it (the first card is the default).")
    @mutation(PaymentMethodPayload)
    async def complete_card_setup(self, info: Info, input: CompleteCardSetupInput) -> PaymentMethodPayload:
        row = await payments.complete_card_setup(info.context.viewer, decode_id(input.setup_id, "CardSetup", "setup_id"))
        return PaymentMethodPayload(payment_method=PaymentMethod.from_row(row))

    @strawberry.mutation(description="Remove a card (detached at the gateway). The newest other card becomes the default.")
    @mutation(RemovePaymentMethodPayload)
    async def remove_payment_method(self, info: Info, input: PaymentMethodInput) -> RemovePaymentMethodPayload:
        await payments.remove_payment_method(
            info.context.viewer, decode_id(input.payment_method_id, "PaymentMethod", "payment_method_id")
        )
        return RemovePaymentMethodPayload(removed_payment_method_id=input.payment_method_id)

    @strawberry.mutation(description="Make a card the default (for adding funds and auto-charge).")
    @mutation(PaymentMethodPayload)
    async def set_default_payment_method(self, info: Info, input: PaymentMethodInput) -> PaymentMethodPayload:
        row = await payments.set_default_payment_method(
            info.context.viewer, decode_id(input.payment_method_id, "PaymentMethod", "payment_method_id")
        )
        return PaymentMethodPayload(payment_method=PaymentMethod.from_row(row))

    @strawberry.mutation(description="Add funds from a card on file (the owner). A declined card is a PAYMENT_DECLINED "
                         "userError on paymentMethodId, with the failed payment.")
    @mutation(PaymentPayload)
    async def add_funds(self, info: Info, input: AddFundsInput) -> PaymentPayload:
        viewer = info.context.viewer
        row = await payments.add_funds(
            viewer, input.amount_minor,
            payment_method_id=decode_id(input.payment_method_id, "PaymentMethod", "payment_method_id"),
            idempotency_key=input.idempotency_key,
        )
        return PaymentPayload(user_errors=_declined(row), payment=Payment.from_row(row), balance=await _balance(viewer.account_id))

    @strawberry.mutation(description="Record a bank transfer or check received from a partner (operator): deposited at once.")
    @mutation(PaymentPayload)
    async def record_manual_payment(self, info: Info, input: RecordManualPaymentInput) -> PaymentPayload:
        account_id = decode_id(input.account_id, "Account", "account_id")
        row = await payments.record_manual_payment(
            info.context.viewer, account_id, input.amount_minor, method=input.method.value, reference=input.reference,
            note=input.note,
        )
        return PaymentPayload(payment=Payment.from_row(row), balance=await _balance(account_id))

    @strawberry.mutation(description="Settle a payment whose outcome Leadwire could not learn, after checking the gateway (operator).")
    @mutation(PaymentPayload)
    async def resolve_payment(self, info: Info, input: ResolvePaymentInput) -> PaymentPayload:
        row = await payments.resolve_payment(
            info.context.viewer, decode_id(input.payment_id, "Payment", "payment_id"), succeeded=input.succeeded,
            note=input.note, reference=input.reference,
        )
        return PaymentPayload(payment=Payment.from_row(row), balance=await _balance(row.account_id))

    @strawberry.mutation(description="A manual ledger adjustment with its reason (operator). Positive adds credits.")
    @mutation(AdjustBalancePayload)
    async def adjust_balance(self, info: Info, input: AdjustBalanceInput) -> AdjustBalancePayload:
        account_id = decode_id(input.account_id, "Account", "account_id")
        row = await ledger.adjust_balance(info.context.viewer, account_id, input.amount_minor, input.reason)
        return AdjustBalancePayload(entry=LedgerEntry.from_row(row), balance=await _balance(account_id))

    @strawberry.mutation(description="Set up auto-charge (the owner). Saving turns a suspended auto-charge back on.")
    @mutation(AutoChargePayload)
    async def update_auto_charge(self, info: Info, input: UpdateAutoChargeInput) -> AutoChargePayload:
        row = await autocharge.update_settings(
            info.context.viewer, enabled=input.enabled, threshold_minor=input.threshold_minor,
            amount_minor=input.amount_minor,
            payment_method_id=decode_id(input.payment_method_id, "PaymentMethod", "payment_method_id"),
        )
        return AutoChargePayload(auto_charge=AutoChargeSettings.from_row(row))

    @strawberry.mutation(description="Mark notifications read.")
    @mutation(MarkNotificationsReadPayload)
    async def mark_notifications_read(self, info: Info, input: MarkNotificationsReadInput) -> MarkNotificationsReadPayload:
        ids = [decode_id(i, "Notification", "notification_ids") for i in input.notification_ids[:100]]
        return MarkNotificationsReadPayload(marked=await notifications.mark_read(info.context.viewer, ids))

    @strawberry.mutation(description="Return a bought lead for credit: within 7 calendar days of delivery, for a valid reason. "
                         "Invalid reasons are refused with the explanation.")
    @mutation(ReturnPayload)
    async def request_return(self, info: Info, input: RequestReturnInput) -> ReturnPayload:
        row = await returns.request_return(
            info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"), input.reason.value, input.note
        )
        return ReturnPayload(return_request=ReturnRequest.from_row(row))

    @strawberry.mutation(description="Approve (a ledger credit, never a card refund) or decline (with a note) a return (operator).")
    @mutation(ReturnPayload)
    async def review_return(self, info: Info, input: ReviewReturnInput) -> ReturnPayload:
        row = await returns.review_return(
            info.context.viewer, decode_id(input.return_id, "ReturnRequest", "return_id"),
            approve=input.decision == ReturnDecision.APPROVE, note=input.note,
        )
        return ReturnPayload(return_request=ReturnRequest.from_row(row))

    @strawberry.mutation(description="Flag a partner suspected of abusing returns (operator).")
    @mutation(AccountFlagPayload)
    async def flag_account(self, info: Info, input: AccountNoteInput) -> AccountFlagPayload:
        row = await returns.flag_account(info.context.viewer, decode_id(input.account_id, "Account", "account_id"), input.note)
        return AccountFlagPayload(flag=AccountFlag.from_row(row))

    @strawberry.mutation(description="Clear a partner's abuse flag (operator).")
    @mutation(AccountFlagPayload)
    async def clear_account_flag(self, info: Info, input: AccountNoteInput) -> AccountFlagPayload:
        row = await returns.clear_flag(info.context.viewer, decode_id(input.account_id, "Account", "account_id"), input.note)
        return AccountFlagPayload(flag=AccountFlag.from_row(row))

    @strawberry.mutation(description="Close your partner account (the owner): campaigns stop, the money you deposited is "
                         "refunded less the $50 fee within 30 days of the first activation; credits are not refunded.")
    @mutation(CloseAccountPayload)
    async def close_account(self, info: Info, input: CloseAccountInput) -> CloseAccountPayload:
        row = await accounts_closing.close_account(info.context.viewer, confirm=input.confirm, reason=input.reason)
        return CloseAccountPayload(closure=AccountClosure.from_row(row))

    @strawberry.mutation(description="Close a partner account for abuse of the return policy (operator): the deposited "
                         "balance is paid out, campaigns stop.")
    @mutation(CloseAccountPayload)
    async def close_account_for_abuse(self, info: Info, input: AccountNoteInput) -> CloseAccountPayload:
        row = await accounts_closing.close_for_abuse(
            info.context.viewer, decode_id(input.account_id, "Account", "account_id"), input.note
        )
        return CloseAccountPayload(closure=AccountClosure.from_row(row))

    @strawberry.mutation(description="Record a refund paid by hand (bank transfer or check) (operator).")
    @mutation(RefundPayload)
    async def settle_refund(self, info: Info, input: SettleRefundInput) -> RefundPayload:
        row = await accounts_closing.settle_refund(
            info.context.viewer, decode_id(input.refund_id, "Refund", "refund_id"), reference=input.reference,
            note=input.note,
        )
        return RefundPayload(refund=Refund.from_row(row))
