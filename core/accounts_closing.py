"""Closing a partner account (seed 000's cancellation policy and its right to
cancel for return abuse).

- A partner's owner may close the account at any time. The refund is the
  remaining balance of money the partner itself deposited (credits, from
  approved returns or goodwill, are not refunded), less a $50 administrative
  fee when the account is closed within 30 days of its first activation
  (the first offer activated: ``Account.first_activated_at``). Precisely: the
  fee applies when the closing happens less than 30 x 24 hours after the first
  activation; it is never more than the refund (the refund cannot go below
  zero); an account never activated pays no fee.
- The operator may close an account shown to abuse the return policy: the
  deposited balance is paid out in full (no fee), campaigns stop, the account
  closes.
- Either way, in one transaction: the account's status (the first write, so
  it holds the account row), the ledger entries (fee, refund, credits
  forfeited: the balance ends at zero), one refund per deposit it comes from
  (newest payments first, each through the gateway that took it; deposits
  without a payment record are paid back by the operator through the manual
  gateway), the campaigns disabled, auto-charge off, pending returns
  withdrawn, and the owner's notification. Sales racing the closing fail their
  balance debit (it requires an active account). Closing is refused while a
  payment is still in flight, so no deposit can land after the refund was
  computed.
- The account keeps its history: nothing is deleted (leads, sales, ledger,
  payments, refunds), and operator staff keep reading it. Its users can no
  longer sign in (core.auth refuses closed accounts).
- Refunds are sent after the commit by the ``send_refund`` job with an
  idempotency key per refund; the operator records those paid by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import http, ledger, notifications, payments, returns
from leadwire.core.access import Viewer, require_operator, require_partner_owner
from leadwire.core.errors import DomainError, ErrorCode, not_found
from leadwire.core.identity import now
from leadwire.core.jobs import RetryLater, enqueue, job
from leadwire.core.jobs.outbox import backoff
from leadwire.core.models.identity import Account, AccountKind, AccountStatus
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.marketplace import Campaign, CampaignStatus
from leadwire.core.models.money import (
    IN_FLIGHT,
    AccountClosure,
    AutoCharge,
    AutoChargeState,
    ClosureKind,
    NotificationKind,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from leadwire.plugins.payments import RefundOutcome, RefundRequest, RefundResult

log = logging.getLogger("leadwire.payments")

CANCELLATION_FEE_MINOR = 5_000  # seed 000: "$50.00 administrative fee"
FEE_PERIOD = dt.timedelta(days=30)


def cancellation_fee(first_activated_at: dt.datetime | None, at: dt.datetime, refundable_minor: int) -> int:
    if first_activated_at is None or at >= first_activated_at + FEE_PERIOD:
        return 0
    return min(CANCELLATION_FEE_MINOR, max(refundable_minor, 0))


@dataclass(frozen=True)
class ClosingQuote:
    """What closing now would do (the same arithmetic as the closing itself)."""

    balance_minor: int
    credit_minor: int  # not refunded
    refundable_minor: int
    fee_minor: int
    refund_minor: int
    first_activated_at: dt.datetime | None
    fee_until: dt.datetime | None  # closing from then on costs no fee


def _quote(account: Account, kind: ClosureKind, at: dt.datetime) -> ClosingQuote:
    refundable = account.balance_minor - account.credit_minor
    fee = cancellation_fee(account.first_activated_at, at, refundable) if kind == ClosureKind.CANCELLATION else 0
    return ClosingQuote(
        balance_minor=account.balance_minor, credit_minor=account.credit_minor, refundable_minor=refundable,
        fee_minor=fee, refund_minor=refundable - fee, first_activated_at=account.first_activated_at,
        fee_until=account.first_activated_at + FEE_PERIOD if account.first_activated_at else None,
    )


async def quote(account_id: int, *, kind: ClosureKind = ClosureKind.CANCELLATION, at: dt.datetime | None = None) -> ClosingQuote:
    return _quote(await Account.get(id=account_id), kind, at or now())


async def close_account(viewer: Viewer, *, confirm: bool, reason: str = "", at: dt.datetime | None = None) -> AccountClosure:
    """The owner closes its own partner account (a cancellation)."""
    require_partner_owner(viewer, "close the account")
    if not confirm:
        raise DomainError.single("confirm", ErrorCode.REQUIRED, "Confirm that you want to close the account: it cannot be undone.")
    return await _close(viewer.account_id, ClosureKind.CANCELLATION, viewer.membership_id, (reason or "").strip(), at or now())


async def close_for_abuse(viewer: Viewer, account_id: int, note: str, *, at: dt.datetime | None = None) -> AccountClosure:
    """The operator closes an account that abuses the return policy."""
    require_operator(viewer, "close accounts")
    note = (note or "").strip()
    if not 3 <= len(note) <= 1000:
        raise DomainError.single("note", ErrorCode.REQUIRED, "Say why the account is closed (3 to 1000 characters).")
    if not await Account.exists(id=account_id, kind=AccountKind.PARTNER):
        raise not_found("account_id", "partner account")
    return await _close(account_id, ClosureKind.ABUSE, viewer.membership_id, note, at or now())


async def _close(account_id: int, kind: ClosureKind, requested_by_id: int, note: str, at: dt.datetime) -> AccountClosure:
    async with in_transaction() as conn:
        closed = await Account.filter(id=account_id, kind=AccountKind.PARTNER, status=AccountStatus.ACTIVE).using_db(
            conn
        ).update(status=AccountStatus.CLOSED)
        if not closed:
            raise DomainError.single(None, ErrorCode.ACCOUNT_CLOSED, "This account is closed already.")
        if await Payment.filter(account_id=account_id, status__in=list(IN_FLIGHT)).using_db(conn).exists():
            raise DomainError.single(None, ErrorCode.IN_PROGRESS,
                                     "A payment is still being processed for this account: try again in a few minutes.")
        account = await Account.get(id=account_id).using_db(conn)
        q = _quote(account, kind, at)
        closure = await AccountClosure.create(
            account_id=account_id, kind=kind, requested_by_id=requested_by_id, note=note[:1000],
            balance_minor=q.balance_minor, credit_minor=q.credit_minor, refundable_minor=q.refundable_minor,
            fee_minor=q.fee_minor, refund_minor=q.refund_minor, currency=ledger.MARKET_CURRENCY, closed_at=at,
            using_db=conn,
        )
        if q.fee_minor:
            await ledger.take_for_closure(account_id, refundable_minor=q.fee_minor, credit_minor=0, kind=EntryKind.FEE,
                                          memo="Administrative fee: closed within 30 days of the first activation",
                                          closure_id=closure.id, conn=conn)
        if q.refund_minor:
            await ledger.take_for_closure(account_id, refundable_minor=q.refund_minor, credit_minor=0, kind=EntryKind.REFUND,
                                          memo="Deposited balance refunded at closing", closure_id=closure.id, conn=conn)
        if q.credit_minor:
            await ledger.take_for_closure(account_id, refundable_minor=0, credit_minor=q.credit_minor,
                                          kind=EntryKind.ADJUSTMENT, memo="Credits are not refunded: forfeited at closing",
                                          closure_id=closure.id, conn=conn)
        await _plan_refunds(account_id, closure.id, q.refund_minor, conn)
        await Campaign.filter(account_id=account_id).using_db(conn).update(status=CampaignStatus.DISABLED)
        await AutoCharge.filter(account_id=account_id).using_db(conn).update(enabled=False, state=AutoChargeState.IDLE)
        await Account.filter(id=account_id).using_db(conn).update(auto_charge_below_minor=None)
        await returns.withdraw_pending(account_id, "The account closed before the review.", conn)
        parts = [f"Refund: {ledger.money_text(q.refund_minor)} of the money you deposited"]
        if q.fee_minor:
            parts.append(f"less the {ledger.money_text(q.fee_minor)} administrative fee (closed within 30 days of the first activation)")
        if q.credit_minor:
            parts.append(f"credits of {ledger.money_text(q.credit_minor)} are not refunded")
        await notifications.notify(
            account_id, NotificationKind.ACCOUNT_CLOSED,
            "Account closed" + (" for abuse of the return policy" if kind == ClosureKind.ABUSE else ""),
            "; ".join(parts) + ". Refunds go back the way the money came and can take 7 to 10 business days.", conn,
        )
    return closure


async def _plan_refunds(account_id: int, closure_id: int, amount_minor: int, conn) -> None:
    """One refund per deposit it comes from, newest first, each through the
    payment's own gateway; what no payment record covers, through the
    operator (manual gateway). Each with its job, in the closing's transaction."""
    remaining = amount_minor
    planned: list[Refund] = []
    for payment in await Payment.filter(account_id=account_id, status=PaymentStatus.SUCCEEDED).using_db(conn).order_by("-id"):
        if remaining <= 0:
            break
        part = min(payment.amount_minor - payment.refunded_minor, remaining)
        if part <= 0:
            continue
        planned.append(await Refund.create(
            account_id=account_id, closure_id=closure_id, payment_id=payment.id, gateway=payment.gateway,
            amount_minor=part, currency=payment.currency, idempotency_key=f"refund:{closure_id}:{payment.id}", using_db=conn,
        ))
        await Payment.filter(id=payment.id).using_db(conn).update(refunded_minor=F("refunded_minor") + part)
        remaining -= part
    if remaining > 0:
        planned.append(await Refund.create(
            account_id=account_id, closure_id=closure_id, gateway=payments.MANUAL_GATEWAY, amount_minor=remaining,
            currency=ledger.MARKET_CURRENCY, idempotency_key=f"refund:{closure_id}:balance", using_db=conn,
        ))
    for refund in planned:
        await enqueue("send_refund", {"refund_id": refund.id}, dedupe_key=f"send_refund:{refund.id}",
                      max_attempts=payments.MAX_TRIES + 4, using_db=conn)


@job("send_refund")
async def send_refund(refund_id: int) -> None:
    """Send one refund through its gateway with its idempotency key. Idempotent."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None or refund.status != RefundStatus.PENDING:
        return
    installed = payments.gateway(refund.gateway)
    if installed is None:
        await _finish(refund, RefundResult(RefundOutcome.FAILED, message=f"The payment gateway {refund.gateway!r} is not "
                                           "installed: pay this refund another way and record it."))
        return
    payment = await Payment.get_or_none(id=refund.payment_id) if refund.payment_id else None
    await Refund.filter(id=refund.id).update(tries=F("tries") + 1)
    try:
        result = await asyncio.wait_for(installed.gateway.refund(RefundRequest(
            account=await payments.account_info(refund.account_id), amount_minor=refund.amount_minor,
            currency=refund.currency, charge_reference=payment.reference if payment else "",
            idempotency_key=refund.idempotency_key, reason="account closed", plugin_config=installed.plugin_config,
            http=http.client(),
        )), payments.GATEWAY_TIMEOUT_SECONDS)
        if not isinstance(result, RefundResult):
            result = RefundResult(RefundOutcome.RETRY, message=f"the gateway returned {type(result).__name__}")
    except TimeoutError:
        result = RefundResult(RefundOutcome.RETRY, message="no answer from the gateway in time")
    except Exception as exc:
        log.exception("payment gateway %s raised on a refund", refund.gateway)
        result = RefundResult(RefundOutcome.RETRY, message=f"{type(exc).__name__}: {exc}")
    tries = refund.tries + 1
    if result.outcome == RefundOutcome.RETRY and tries >= payments.MAX_TRIES:
        result = RefundResult(RefundOutcome.FAILED, message=f"No final answer after {tries} tries ({result.message}): check "
                              "the gateway before paying it another way.")
    if result.outcome == RefundOutcome.RETRY:
        await Refund.filter(id=refund.id).update(failure_message=result.message[:500])
        wait = max(backoff(tries).total_seconds(), result.retry_after or 0)
        raise RetryLater(f"refund {refund.id}: {result.message}", after=wait)
    await _finish(refund, result)


async def _finish(refund: Refund, result: RefundResult) -> None:
    status = {
        RefundOutcome.SENT: RefundStatus.SENT, RefundOutcome.AWAITING_OPERATOR: RefundStatus.AWAITING_OPERATOR,
    }.get(result.outcome, RefundStatus.FAILED)
    async with in_transaction() as conn:
        done = await Refund.filter(id=refund.id, status=RefundStatus.PENDING).using_db(conn).update(
            status=status, reference=result.reference[:255], failure_message=result.message[:500],
            finished_at=now() if status == RefundStatus.SENT else None,
        )
        if done and status == RefundStatus.SENT:
            await notifications.notify(refund.account_id, NotificationKind.REFUND_SENT,
                                       f"Refund of {ledger.money_text(refund.amount_minor)} sent",
                                       "It can take 7 to 10 business days to reach you.", conn)


async def settle_refund(viewer: Viewer, refund_id: int, *, reference: str, note: str = "") -> Refund:
    """The operator records a refund paid by hand (a bank transfer or check), for
    the manual gateway's refunds and for those a gateway refused."""
    require_operator(viewer, "record refunds")
    reference, note = (reference or "").strip(), (note or "").strip()
    if not 1 <= len(reference) <= 100:
        raise DomainError.single("reference", ErrorCode.REQUIRED, "The transfer's reference or the check's number (1 to 100 characters).")
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None:
        raise not_found("refund_id", "refund")
    async with in_transaction() as conn:
        done = await Refund.filter(
            id=refund_id, status__in=[RefundStatus.AWAITING_OPERATOR, RefundStatus.FAILED]
        ).using_db(conn).update(status=RefundStatus.PAID, reference=reference, note=note[:300],
                                settled_by_id=viewer.membership_id, finished_at=now())
        if not done:
            raise DomainError.single("refund_id", ErrorCode.INVALID,
                                     f"This refund is {refund.status.value}: only one awaiting the operator or failed is recorded by hand.")
        await notifications.notify(refund.account_id, NotificationKind.REFUND_SENT,
                                   f"Refund of {ledger.money_text(refund.amount_minor)} sent",
                                   f"Paid by bank transfer or check (reference {reference}).", conn)
    return await Refund.get(id=refund_id)
