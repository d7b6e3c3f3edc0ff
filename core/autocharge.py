"""Auto-charge (seed 000: "set your account to auto-charge so that you do not
miss out on any potential customers").

- The owner sets it up: on/off, a threshold, an amount, and the card (the
  default card unless one is chosen).
- Its state lives in the database: ``idle`` (armed) -> ``due`` (a charge is
  scheduled or in flight) -> ``idle``; or ``suspended`` after
  ``LEADWIRE_AUTO_CHARGE_MAX_ATTEMPTS`` (3) failed charges in a row.
- A debit that takes the balance below the threshold (a sale, usually) flips
  ``idle`` to ``due`` with one conditional update inside the debit's own
  transaction, and writes the ``auto_charge`` job to the outbox there, with a
  dedupe key naming the ledger entry that crossed the threshold: the job
  exists if and only if the sale committed, and a crash after the commit
  cannot lose it.
- At most one charge per account at a time, across processes: the job runs
  holding the account row, and creates a payment only while none is in
  flight (``payment_id`` is set in that same transaction). The charge itself
  is a payment (core.payments): its own idempotency key, its settle job.
- A failed charge (declined, no card, authentication needed) is retried
  after ``LEADWIRE_AUTO_CHARGE_RETRY_MINUTES`` (60), then four times longer;
  the last failure suspends auto-charge and notifies the owner. A charge
  whose outcome stays unknown suspends it too, until an operator resolves
  the payment. Changing the settings turns a suspended auto-charge back on.
- A successful charge that still leaves the balance below the threshold
  schedules the next one, so a low balance never stalls.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import ledger, notifications, payments
from leadwire.core.access import Viewer, require_partner_owner
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import now
from leadwire.core.jobs import enqueue, job
from leadwire.core.models.identity import Account
from leadwire.core.models.money import AutoCharge, AutoChargeState, NotificationKind, PaymentPurpose, PaymentStatus

MAX_ATTEMPTS = int(os.environ.get("LEADWIRE_AUTO_CHARGE_MAX_ATTEMPTS", "3"))
RETRY_MINUTES = float(os.environ.get("LEADWIRE_AUTO_CHARGE_RETRY_MINUTES", "60"))
MIN_AMOUNT_MINOR = payments.MIN_CARD_PAYMENT_MINOR
MAX_AMOUNT_MINOR = payments.MAX_CARD_PAYMENT_MINOR
MAX_THRESHOLD_MINOR = 1_000_000


def retry_delay(failures: int) -> dt.timedelta:
    """After the 1st failure: RETRY_MINUTES, after the 2nd: 4x that, and so on."""
    return dt.timedelta(minutes=RETRY_MINUTES * 4 ** max(0, failures - 1))


async def sync_level(account_id: int, conn) -> None:
    """Keep ``Account.auto_charge_below_minor`` (what a debit compares the new
    balance with, core.ledger) equal to the threshold of an enabled, armed
    auto-charge, NULL otherwise. Called in every transaction that changes the
    auto-charge, which holds the account row."""
    ac = await AutoCharge.filter(account_id=account_id).using_db(conn).first()
    armed = ac is not None and ac.enabled and ac.state == AutoChargeState.IDLE
    await Account.filter(id=account_id).using_db(conn).update(auto_charge_below_minor=ac.threshold_minor if armed else None)


async def make_due(account_id: int, cause: str, conn) -> bool:
    """Make an armed auto-charge due and write its job, in the caller's
    transaction (which holds the account row). ``cause`` names what made it
    due (the ledger entry, a settings change): the job's dedupe key."""
    flipped = await AutoCharge.filter(account_id=account_id, enabled=True, state=AutoChargeState.IDLE).using_db(
        conn
    ).update(state=AutoChargeState.DUE, episode=F("episode") + 1)
    if flipped:
        await Account.filter(id=account_id).using_db(conn).update(auto_charge_below_minor=None)
        await enqueue("auto_charge", {"account_id": account_id}, dedupe_key=f"auto_charge:{account_id}:{cause}",
                      using_db=conn)
    return bool(flipped)


async def _balance(account_id: int, conn) -> int:
    return (await Account.filter(id=account_id).using_db(conn).values_list("balance_minor", flat=True))[0]


@job("auto_charge")
async def run_auto_charge(account_id: int) -> None:
    """Charge a due auto-charge's card, unless a charge is in flight already or
    it is no longer needed. Idempotent."""
    payment_id = None
    async with in_transaction() as conn:
        active = await ledger.lock_account(account_id, conn)
        ac = await AutoCharge.filter(account_id=account_id).using_db(conn).first()
        if ac is None or ac.state != AutoChargeState.DUE or ac.payment_id is not None:
            return
        idle = AutoCharge.filter(id=ac.id).using_db(conn)
        if not active or not ac.enabled or await _balance(account_id, conn) >= ac.threshold_minor:
            # Off, closed, or topped up meanwhile: nothing to charge.
            await idle.update(state=AutoChargeState.IDLE)
            await sync_level(account_id, conn)
            return
        method = await payments.chosen_method(account_id, ac.payment_method_id, conn)
        installed = payments.gateway(method.gateway) if method else None
        if method is None:
            await _failed(ac, "There is no card on file to charge.", conn)
            return
        if installed is None or not installed.gateway.saves_payment_methods:
            await _failed(ac, f"The card's payment gateway ({method.gateway}) is not available.", conn)
            return
        payment = await payments.create_payment(
            account_id=account_id, gateway_name=installed.name, purpose=PaymentPurpose.AUTO_CHARGE,
            amount_minor=ac.amount_minor, method=method, conn=conn,
            idempotency_key=f"auto_charge:{account_id}:{ac.episode}:{ac.failures + 1}",
        )
        await AutoCharge.filter(id=ac.id, state=AutoChargeState.DUE, payment_id=None).using_db(conn).update(
            payment_id=payment.id
        )
        payment_id = payment.id
    # Outside the transaction: a network call. If this process dies during
    # it, the payment's settle job charges again with the same key.
    await payments.execute(payment_id)


async def after_payment(account_id: int, payment_id: int, final: PaymentStatus, message: str, conn) -> None:
    """Called by core.payments.settle, in its transaction (holding the account
    row), when an auto-charge payment reaches a final state."""
    ac = await AutoCharge.filter(account_id=account_id, payment_id=payment_id).using_db(conn).first()
    if ac is None:
        return
    row = AutoCharge.filter(id=ac.id).using_db(conn)
    if final == PaymentStatus.SUCCEEDED:
        done = {"payment_id": None, "failures": 0, "last_error": "", "last_charged_at": now()}
        if ac.enabled and await _balance(account_id, conn) < ac.threshold_minor:
            await row.update(state=AutoChargeState.DUE, episode=F("episode") + 1, **done)
            await enqueue("auto_charge", {"account_id": account_id},
                          dedupe_key=f"auto_charge:{account_id}:after-payment:{payment_id}", using_db=conn)
        else:
            await row.update(state=AutoChargeState.IDLE, **done)
        await sync_level(account_id, conn)
    elif final == PaymentStatus.UNKNOWN:
        await row.update(state=AutoChargeState.SUSPENDED, payment_id=None, suspended_at=now(), last_error=message[:500])
        await sync_level(account_id, conn)
        await notifications.notify(
            account_id, NotificationKind.AUTO_CHARGE_SUSPENDED, "Auto-charge is paused",
            f"We could not confirm an auto-charge of {ledger.money_text(ac.amount_minor)} with the payment gateway. "
            "Our team is checking it; auto-charge stays paused until then (save your settings again to resume it).",
            conn,
        )
    else:
        await _failed(ac, message, conn)


async def _failed(ac: AutoCharge, message: str, conn) -> None:
    await _record_failure(ac, message, conn)
    await sync_level(ac.account_id, conn)


async def _record_failure(ac: AutoCharge, message: str, conn) -> None:
    failures = ac.failures + 1
    row = AutoCharge.filter(id=ac.id).using_db(conn)
    amount = ledger.money_text(ac.amount_minor)
    if not ac.enabled:
        await row.update(state=AutoChargeState.IDLE, payment_id=None, last_error=message[:500])
    elif failures >= MAX_ATTEMPTS:
        await row.update(state=AutoChargeState.SUSPENDED, payment_id=None, failures=failures,
                         last_error=message[:500], suspended_at=now())
        await notifications.notify(
            ac.account_id, NotificationKind.AUTO_CHARGE_SUSPENDED, "Auto-charge is suspended",
            f"{failures} attempts to charge {amount} failed (the last: {message}). Auto-charge is off until you update "
            "your card or your auto-charge settings; campaigns whose leads cost more than your balance miss leads.",
            conn,
        )
    else:
        when = now() + retry_delay(failures)
        await row.update(state=AutoChargeState.DUE, payment_id=None, failures=failures, last_error=message[:500])
        await enqueue("auto_charge", {"account_id": ac.account_id}, run_after=when,
                      dedupe_key=f"auto_charge:{ac.account_id}:{ac.episode}:retry:{failures}", using_db=conn)
        await notifications.notify(
            ac.account_id, NotificationKind.AUTO_CHARGE_FAILED, "An auto-charge failed",
            f"Charging {amount} failed: {message} We will try again at {when:%Y-%m-%d %H:%M} UTC "
            f"(attempt {failures + 1} of {MAX_ATTEMPTS}).",
            conn,
        )


async def update_settings(
    viewer: Viewer, *, enabled: bool, threshold_minor: int, amount_minor: int, payment_method_id: int | None = None,
) -> AutoCharge:
    """The owner sets auto-charge up (or off). Saving turns a suspended
    auto-charge back on; if the balance is already below the threshold, a
    charge is scheduled at once."""
    require_partner_owner(viewer, "set up auto-charge")
    errors = []
    if not MIN_AMOUNT_MINOR <= amount_minor <= MAX_AMOUNT_MINOR:
        errors.append(FieldError("amount_minor", ErrorCode.INVALID,
                                 f"Charge between {MIN_AMOUNT_MINOR} and {MAX_AMOUNT_MINOR} minor units at a time."))
    if not 1 <= threshold_minor <= MAX_THRESHOLD_MINOR:
        errors.append(FieldError("threshold_minor", ErrorCode.INVALID,
                                 f"The threshold must be 1 to {MAX_THRESHOLD_MINOR} minor units."))
    if errors:
        raise DomainError(*errors)
    if payment_method_id is not None:
        if await payments.chosen_method(viewer.account_id, payment_method_id) is None:
            raise not_found("payment_method_id", "card")
    elif enabled and await payments.chosen_method(viewer.account_id, None) is None:
        raise DomainError.single("payment_method_id", ErrorCode.REQUIRED, "Add a card first: auto-charge charges a card on file.")
    async with in_transaction() as conn:
        if not await ledger.lock_account(viewer.account_id, conn):
            raise DomainError.single(None, ErrorCode.ACCOUNT_CLOSED, "This account is closed.")
        ac = await AutoCharge.filter(account_id=viewer.account_id).using_db(conn).first()
        if ac is None:
            ac = await AutoCharge.create(account_id=viewer.account_id, using_db=conn)
        values = {"enabled": enabled, "threshold_minor": threshold_minor, "amount_minor": amount_minor,
                  "payment_method_id": payment_method_id}
        if enabled and ac.state == AutoChargeState.SUSPENDED:
            values.update(state=AutoChargeState.IDLE, failures=0, suspended_at=None, last_error="")
        await AutoCharge.filter(id=ac.id).using_db(conn).update(**values)
        await sync_level(viewer.account_id, conn)
        if enabled and await _balance(viewer.account_id, conn) < threshold_minor:
            await make_due(viewer.account_id, f"settings:{secrets.token_hex(8)}", conn)
    return await AutoCharge.get(id=ac.id)
