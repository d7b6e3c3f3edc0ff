"""Money in: payment gateways (plugins), cards on file, adding funds, payments
the operator records, and settling every payment exactly once.

- Gateways are those plugins registered (``install``, at start-up); core
  calls one by the name stored with the card or payment, never all of them.
- Cards on file: :func:`start_card_setup` asks the gateway for a setup (a
  Stripe SetupIntent) whose client secret the browser confirms with the
  gateway's script; :func:`complete_card_setup` reads the saved method back
  and stores its token. Card numbers never reach Leadwire.
- A payment is a row written before the gateway is called, with an
  idempotency key used on every attempt of that payment, and a
  ``settle_payment`` job in the same transaction (the safety net: if the
  process dies during the call, the job asks again with the same key and
  the gateway answers with the first result instead of charging twice).
- :func:`settle` records the gateway's answer; a success marks the payment
  succeeded and writes its deposit in one transaction, conditionally on the
  payment still being in flight, so it is deposited once whatever runs twice.
- An unknown outcome (timeout, 5xx, 409) is retried with the same key, with
  backoff, up to ``LEADWIRE_PAYMENT_MAX_TRIES`` gateway calls; after that
  the payment is ``unknown`` and an operator resolves it (:func:`resolve_payment`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import http, ledger
from leadwire.core.access import Viewer, require_operator, require_partner_owner
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import now
from leadwire.core.jobs import RetryLater, enqueue, job
from leadwire.core.jobs.outbox import backoff
from leadwire.core.models.identity import Account, AccountKind, AccountStatus, Membership
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.money import (
    IN_FLIGHT,
    AutoCharge,
    CardSetup,
    CardSetupStatus,
    GatewayCustomer,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
)
from leadwire.plugins.payments import (
    AccountInfo,
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    ChargeStatusRequest,
    PaymentGateway,
    PaymentGatewayError,
    RemoveRequest,
    SetupFinishRequest,
    SetupRequest,
)

log = logging.getLogger("leadwire.payments")

GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("LEADWIRE_GATEWAY_TIMEOUT_SECONDS", "30"))
# Gateway calls for one payment before its outcome is declared unknown (an
# operator then resolves it). With the backoff (15 s doubling) that is about
# half an hour, well inside the day Stripe keeps idempotency keys.
MAX_TRIES = int(os.environ.get("LEADWIRE_PAYMENT_MAX_TRIES", "8"))
# The settle job of a payment charged inline waits this long: it only runs
# the charge when the request that made the payment died during the call.
SAFETY_NET_SECONDS = 60
MIN_CARD_PAYMENT_MINOR = 1_000  # $10.00
MAX_CARD_PAYMENT_MINOR = 1_000_000  # $10,000.00
MAX_RECORDED_PAYMENT_MINOR = 100_000_000  # $1,000,000.00
RECORDED_METHODS = {"bank_transfer": "Bank transfer", "check": "Check"}
MANUAL_GATEWAY = "manual"
_PURPOSE_MEMO = {
    PaymentPurpose.ADD_FUNDS: "Funds added",
    PaymentPurpose.AUTO_CHARGE: "Auto-charge",
    PaymentPurpose.MANUAL: "Payment received",
}


# -- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledGateway:
    gateway: PaymentGateway
    plugin: str  # the plugin that registered it
    plugin_config: Mapping[str, Any]  # that plugin's validated plugins.toml block

    @property
    def name(self) -> str:
        return self.gateway.name


_gateways: dict[str, InstalledGateway] = {}


def install(items: Iterable[InstalledGateway]) -> None:
    """Replace the registry; a bad or repeated name is a configuration error."""
    seen: dict[str, InstalledGateway] = {}
    for item in items:
        if not isinstance(item.gateway, PaymentGateway):
            raise ValueError(f"plugin {item.plugin!r} registered a payment gateway that is not a PaymentGateway")
        if not item.name or not item.name.replace("_", "").isalnum() or len(item.name) > 50:
            raise ValueError(f"plugin {item.plugin!r}: payment gateway name {item.name!r} must be 1-50 letters, digits or _")
        if item.name in seen:
            raise ValueError(
                f"plugin {item.plugin!r}: payment gateway {item.name!r} is registered already by {seen[item.name].plugin!r}"
            )
        seen[item.name] = item
    _gateways.clear()
    _gateways.update(seen)


def installed() -> list[InstalledGateway]:
    return sorted(_gateways.values(), key=lambda g: g.name)


def gateway(name: str) -> InstalledGateway | None:
    return _gateways.get(name)


def _card_gateway(name: str, field: str) -> InstalledGateway:
    g = _gateways.get(name)
    if g is None or not g.gateway.saves_payment_methods:
        known = ", ".join(x.name for x in installed() if x.gateway.saves_payment_methods) or "none is set up"
        raise DomainError.single(field, ErrorCode.INVALID, f"No card gateway {name!r} (card gateways: {known}).")
    return g


async def account_info(account_id: int) -> AccountInfo:
    account = await Account.get(id=account_id)
    owner = await Membership.filter(account_id=account_id, owner_slot=1).select_related("person").first()
    return AccountInfo(id=account.id, name=account.name, email=owner.person.email if owner else "")


async def _interactive(coro, field: str):
    """A gateway call made while a person waits (saving or removing a card)."""
    try:
        return await asyncio.wait_for(coro, GATEWAY_TIMEOUT_SECONDS)
    except PaymentGatewayError as exc:
        code = ErrorCode.GATEWAY_UNAVAILABLE if exc.retryable else ErrorCode.INVALID
        raise DomainError.single(field, code, exc.message) from None
    except TimeoutError:
        raise DomainError.single(field, ErrorCode.GATEWAY_UNAVAILABLE, "The payment gateway did not answer in time: try again.") from None
    except DomainError:
        raise
    except Exception:
        log.exception("payment gateway call failed")
        raise DomainError.single(field, ErrorCode.GATEWAY_UNAVAILABLE, "The payment gateway failed: try again.") from None


def _closed() -> DomainError:
    return DomainError.single(None, ErrorCode.ACCOUNT_CLOSED, "This account is closed.")


def new_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


# -- cards on file -----------------------------------------------------------------------


@dataclass(frozen=True)
class CardSetupStart:
    setup: CardSetup
    client_secret: str  # for the browser's gateway script; never stored
    public_config: Mapping[str, str]


async def start_card_setup(viewer: Viewer, gateway_name: str) -> CardSetupStart:
    """Step 1 of adding a card: the gateway prepares a setup the browser
    confirms with the card (Stripe.js and the client secret)."""
    require_partner_owner(viewer, "add cards")
    g = _card_gateway(gateway_name, "gateway")
    if not await Account.exists(id=viewer.account_id, status=AccountStatus.ACTIVE):
        raise _closed()
    customer = await GatewayCustomer.get_or_none(account_id=viewer.account_id, gateway=g.name)
    started = await _interactive(g.gateway.start_setup(SetupRequest(
        account=await account_info(viewer.account_id), customer_ref=customer.customer_ref if customer else None,
        idempotency_key=new_key("setup"), plugin_config=g.plugin_config, http=http.client(),
    )), "gateway")
    async with in_transaction() as conn:
        if not await ledger.lock_account(viewer.account_id, conn):
            raise _closed()
        if not await GatewayCustomer.filter(account_id=viewer.account_id, gateway=g.name).using_db(conn).exists():
            await GatewayCustomer.create(account_id=viewer.account_id, gateway=g.name, customer_ref=started.customer_ref,
                                         using_db=conn)
        setup = await CardSetup.create(
            account_id=viewer.account_id, gateway=g.name, setup_ref=started.setup_ref,
            customer_ref=started.customer_ref, created_by_id=viewer.membership_id, using_db=conn,
        )
    return CardSetupStart(setup, started.client_secret, dict(started.public_config))


async def complete_card_setup(viewer: Viewer, setup_id: int) -> PaymentMethod:
    """Step 3: once the browser confirmed the setup, save the card it made.
    Idempotent: completing twice returns the same card. The account's first
    card becomes its default."""
    require_partner_owner(viewer, "add cards")
    setup = await CardSetup.get_or_none(id=setup_id, account_id=viewer.account_id)
    if setup is None:
        raise not_found("setup_id", "card setup")
    if setup.status == CardSetupStatus.COMPLETED:
        return await PaymentMethod.get(id=setup.payment_method_id)
    g = _card_gateway(setup.gateway, "setup_id")
    saved = await _interactive(g.gateway.finish_setup(SetupFinishRequest(
        account=await account_info(viewer.account_id), customer_ref=setup.customer_ref, setup_ref=setup.setup_ref,
        plugin_config=g.plugin_config, http=http.client(),
    )), "setup_id")
    if not saved.token:
        raise DomainError.single("setup_id", ErrorCode.INVALID, "The gateway did not return a saved card.")
    async with in_transaction() as conn:
        if not await ledger.lock_account(viewer.account_id, conn):
            raise _closed()
        again = await CardSetup.get(id=setup.id).using_db(conn)
        if again.status == CardSetupStatus.COMPLETED:
            return await PaymentMethod.get(id=again.payment_method_id).using_db(conn)
        method = await PaymentMethod.filter(gateway=g.name, token=saved.token).using_db(conn).first()
        if method is not None and method.account_id != viewer.account_id:
            raise DomainError.single("setup_id", ErrorCode.INVALID, "This card is on file for another account.")
        if method is None:
            has_default = await PaymentMethod.filter(account_id=viewer.account_id, default_slot=1).using_db(conn).exists()
            method = await PaymentMethod.create(
                account_id=viewer.account_id, gateway=g.name, token=saved.token,
                customer_ref=saved.customer_ref or setup.customer_ref, brand=saved.brand[:30], last4=saved.last4[:4],
                exp_month=saved.exp_month, exp_year=saved.exp_year, default_slot=None if has_default else 1,
                created_by_id=viewer.membership_id, using_db=conn,
            )
        await CardSetup.filter(id=setup.id).using_db(conn).update(
            status=CardSetupStatus.COMPLETED, payment_method_id=method.id, completed_at=now()
        )
    return method


async def _own_method(viewer: Viewer, payment_method_id: int, conn=None) -> PaymentMethod:
    qs = PaymentMethod.filter(id=payment_method_id, account_id=viewer.account_id, removed_at__isnull=True)
    method = await (qs.using_db(conn) if conn else qs).first()
    if method is None:
        raise not_found("payment_method_id", "card")
    return method


async def remove_payment_method(viewer: Viewer, payment_method_id: int) -> None:
    """Remove a card: unusable at the gateway first, then off the account. If it
    was the default, the newest other card becomes the default."""
    require_partner_owner(viewer, "remove cards")
    method = await _own_method(viewer, payment_method_id)
    g = _gateways.get(method.gateway)
    if g is not None:
        await _interactive(g.gateway.remove_payment_method(RemoveRequest(
            account=await account_info(viewer.account_id), customer_ref=method.customer_ref, token=method.token,
            plugin_config=g.plugin_config, http=http.client(),
        )), "payment_method_id")
    async with in_transaction() as conn:
        await ledger.lock_account(viewer.account_id, conn, active_only=False)
        method = await PaymentMethod.get(id=method.id).using_db(conn)
        if method.removed_at is not None:
            return
        await PaymentMethod.filter(id=method.id).using_db(conn).update(removed_at=now(), default_slot=None)
        if method.default_slot == 1:
            newest = await PaymentMethod.filter(account_id=viewer.account_id, removed_at__isnull=True).using_db(
                conn
            ).order_by("-id").first()
            if newest is not None:
                await PaymentMethod.filter(id=newest.id).using_db(conn).update(default_slot=1)
        await AutoCharge.filter(account_id=viewer.account_id, payment_method_id=method.id).using_db(conn).update(
            payment_method_id=None
        )


async def set_default_payment_method(viewer: Viewer, payment_method_id: int) -> PaymentMethod:
    require_partner_owner(viewer, "choose the default card")
    async with in_transaction() as conn:
        await ledger.lock_account(viewer.account_id, conn, active_only=False)
        method = await _own_method(viewer, payment_method_id, conn)
        await PaymentMethod.filter(account_id=viewer.account_id, default_slot=1).using_db(conn).update(default_slot=None)
        await PaymentMethod.filter(id=method.id).using_db(conn).update(default_slot=1)
    return await PaymentMethod.get(id=method.id)


async def chosen_method(account_id: int, payment_method_id: int | None, conn=None) -> PaymentMethod | None:
    """The card to charge: the one given (if still on file), else the default."""
    qs = PaymentMethod.filter(account_id=account_id, removed_at__isnull=True)
    qs = qs.filter(id=payment_method_id) if payment_method_id else qs.filter(default_slot=1)
    return await (qs.using_db(conn) if conn else qs).first()


# -- payments ----------------------------------------------------------------------------


async def create_payment(
    *,
    account_id: int,
    gateway_name: str,
    purpose: PaymentPurpose,
    amount_minor: int,
    conn,
    method: PaymentMethod | None = None,
    idempotency_key: str | None = None,
    method_label: str = "",
    reference: str = "",
    note: str = "",
    created_by_id: int | None = None,
    settle_after_seconds: float = SAFETY_NET_SECONDS,
) -> Payment:
    """A payment row and its settle job, in the caller's transaction (which
    holds the account row)."""
    payment = await Payment.create(
        account_id=account_id, gateway=gateway_name, purpose=purpose, amount_minor=amount_minor,
        currency=ledger.MARKET_CURRENCY, payment_method_id=method.id if method else None,
        method_label=(method.label if method else method_label)[:100], idempotency_key=idempotency_key or new_key("pay"),
        reference=reference[:255], note=note[:300], created_by_id=created_by_id, using_db=conn,
    )
    await enqueue(
        "settle_payment", {"payment_id": payment.id}, dedupe_key=f"settle_payment:{payment.id}",
        run_after=now() + dt.timedelta(seconds=settle_after_seconds), max_attempts=MAX_TRIES + 4, using_db=conn,
    )
    return payment


async def execute(payment_id: int) -> tuple[Payment | None, ChargeResult | None]:
    """One gateway call for a payment in flight (a charge, or a status check of
    one processing), then :func:`settle` its answer. Safe to run twice: the
    gateway sees the same idempotency key and settling is conditional."""
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None or payment.status not in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        return payment, None
    installed_gateway = _gateways.get(payment.gateway)
    if installed_gateway is None:
        result = ChargeResult.retry(f"the payment gateway {payment.gateway!r} is not installed")
        await Payment.filter(id=payment.id).update(tries=F("tries") + 1)
    else:
        result = await _call_gateway(installed_gateway, payment)
    return await settle(payment.id, result), result


async def _call_gateway(g: InstalledGateway, payment: Payment) -> ChargeResult:
    await Payment.filter(id=payment.id).update(tries=F("tries") + 1)
    try:
        if payment.status == PaymentStatus.PROCESSING and payment.reference:
            coro = g.gateway.charge_status(ChargeStatusRequest(
                reference=payment.reference, idempotency_key=payment.idempotency_key, plugin_config=g.plugin_config,
                http=http.client(),
            ))
        else:
            method = await PaymentMethod.get_or_none(id=payment.payment_method_id) if payment.payment_method_id else None
            recorded = {label: key for key, label in RECORDED_METHODS.items()}
            coro = g.gateway.charge(ChargeRequest(
                account=await account_info(payment.account_id), amount_minor=payment.amount_minor,
                currency=payment.currency, idempotency_key=payment.idempotency_key,
                customer_ref=method.customer_ref if method else None, payment_method_token=method.token if method else None,
                description=f"{_PURPOSE_MEMO[PaymentPurpose(payment.purpose)]} (Leadwire payment {payment.id})",
                metadata={"leadwire_account": str(payment.account_id), "leadwire_payment": str(payment.id),
                          "purpose": PaymentPurpose(payment.purpose).value},
                plugin_config=g.plugin_config, http=http.client(),
                recorded_method=recorded.get(payment.method_label, "") if method is None else "",
                recorded_reference=payment.reference if method is None else "",
            ))
        result = await asyncio.wait_for(coro, GATEWAY_TIMEOUT_SECONDS)
        if not isinstance(result, ChargeResult):
            return ChargeResult.retry(f"the gateway returned {type(result).__name__}, not a ChargeResult")
        return result
    except TimeoutError:
        return ChargeResult.retry(f"no answer from the gateway within {GATEWAY_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # a plugin bug must not lose the payment: same key, later
        log.exception("payment gateway %s raised", g.name)
        return ChargeResult.retry(f"{type(exc).__name__}: {exc}")


async def settle(payment_id: int, result: ChargeResult, *, actor_id: int | None = None, note: str = "") -> Payment:
    """Record a gateway's answer for a payment in flight. Deposits a success once."""
    payment = await Payment.get(id=payment_id)
    async with in_transaction() as conn:
        await ledger.lock_account(payment.account_id, conn, active_only=False)
        payment = await Payment.get(id=payment_id).using_db(conn)  # as it is now that we hold the account
        if payment.status not in IN_FLIGHT:
            return payment
        outcome, t = result.outcome, now()
        reference = (result.reference or payment.reference)[:255]
        in_flight = Payment.filter(id=payment.id, status__in=list(IN_FLIGHT)).using_db(conn)
        final: PaymentStatus | None = None
        message = result.message
        if outcome == ChargeOutcome.SUCCEEDED:
            await in_flight.update(status=PaymentStatus.SUCCEEDED, reference=reference, settled_at=t, failure_code="",
                                   failure_message="", **({"note": note[:300]} if note else {}))
            memo = f"{_PURPOSE_MEMO[PaymentPurpose(payment.purpose)]}: {payment.method_label}".strip(": ")
            await ledger.credit(payment.account_id, payment.amount_minor, EntryKind.DEPOSIT, memo, conn,
                                payment_id=payment.id, actor_id=actor_id or payment.created_by_id)
            final = PaymentStatus.SUCCEEDED
        elif outcome == ChargeOutcome.PROCESSING:
            await in_flight.update(status=PaymentStatus.PROCESSING, reference=reference, failure_message="")
        elif outcome in (ChargeOutcome.DECLINED, ChargeOutcome.REQUIRES_ACTION, ChargeOutcome.FAILED):
            message = message or ("The card was declined." if outcome == ChargeOutcome.DECLINED else "The payment failed.")
            await in_flight.update(
                status=PaymentStatus.FAILED, reference=reference, settled_at=t,
                failure_code=(result.decline_code or outcome.value)[:100], failure_message=message[:500],
                **({"note": note[:300]} if note else {}),
            )
            final = PaymentStatus.FAILED
        elif payment.tries >= MAX_TRIES and payment.status != PaymentStatus.UNKNOWN:
            message = (f"The gateway gave no final answer after {payment.tries} tries ({result.message}): "
                       "an operator must check the payment with the gateway and resolve it.")
            await in_flight.update(status=PaymentStatus.UNKNOWN, failure_message=message[:500])
            final = PaymentStatus.UNKNOWN
        else:
            await in_flight.update(failure_message=(result.message or "")[:500])
        if final is not None and payment.purpose == PaymentPurpose.AUTO_CHARGE:
            from leadwire.core import autocharge

            await autocharge.after_payment(payment.account_id, payment.id, final, message, conn)
    return await Payment.get(id=payment_id)


@job("settle_payment")
async def settle_payment(payment_id: int) -> None:
    """Charge (or follow) a payment still in flight, with its own idempotency key;
    retried with backoff until the gateway gives a final answer."""
    payment, result = await execute(payment_id)
    if payment is not None and payment.status in (PaymentStatus.PENDING, PaymentStatus.PROCESSING):
        wait = backoff(max(1, payment.tries)).total_seconds()
        if result is not None and result.retry_after:
            wait = max(wait, result.retry_after)
        raise RetryLater(f"payment {payment.id} still {payment.status.value}: {payment.failure_message}", after=wait)


async def add_funds(
    viewer: Viewer, amount_minor: int, *, payment_method_id: int | None = None, idempotency_key: str | None = None,
) -> Payment:
    """Charge a card on file now (the default unless one is given) and deposit
    it. A retry with the same ``idempotency_key`` returns the first payment."""
    require_partner_owner(viewer, "add funds")
    errors = []
    if not MIN_CARD_PAYMENT_MINOR <= amount_minor <= MAX_CARD_PAYMENT_MINOR:
        errors.append(FieldError("amount_minor", ErrorCode.INVALID,
                                 f"Add between {MIN_CARD_PAYMENT_MINOR} and {MAX_CARD_PAYMENT_MINOR} minor units "
                                 f"(${MIN_CARD_PAYMENT_MINOR / 100:,.2f} to ${MAX_CARD_PAYMENT_MINOR / 100:,.2f}) at once."))
    client_key = (idempotency_key or "").strip()
    if idempotency_key is not None and not 1 <= len(client_key) <= 100:
        errors.append(FieldError("idempotency_key", ErrorCode.INVALID, "An idempotency key is 1 to 100 characters."))
    if errors:
        raise DomainError(*errors)
    method = await chosen_method(viewer.account_id, payment_method_id)
    if method is None:
        if payment_method_id:
            raise not_found("payment_method_id", "card")
        raise DomainError.single("payment_method_id", ErrorCode.REQUIRED, "Add a card first: there is no card on file.")
    g = _card_gateway(method.gateway, "payment_method_id")
    key = f"add_funds:{viewer.account_id}:{client_key}" if client_key else new_key("pay")

    async def replay() -> Payment | None:
        existing = await Payment.get_or_none(idempotency_key=key)
        if existing is not None and (existing.amount_minor != amount_minor or existing.payment_method_id != method.id):
            raise DomainError.single("idempotency_key", ErrorCode.DUPLICATE, "This key was used for another payment.")
        return existing

    if client_key and (existing := await replay()) is not None:
        return existing
    try:
        async with in_transaction() as conn:
            if not await ledger.lock_account(viewer.account_id, conn):
                raise _closed()
            payment = await create_payment(
                account_id=viewer.account_id, gateway_name=g.name, purpose=PaymentPurpose.ADD_FUNDS,
                amount_minor=amount_minor, method=method, idempotency_key=key, created_by_id=viewer.membership_id,
                conn=conn,
            )
    except IntegrityError:  # the same key, at the same moment, from another request
        existing = await replay()
        if existing is None:
            raise
        return existing
    payment, _ = await execute(payment.id)
    return payment


async def record_manual_payment(
    viewer: Viewer, account_id: int, amount_minor: int, *, method: str, reference: str, note: str = "",
) -> Payment:
    """The operator records money received outside Leadwire (a bank transfer or
    a check): deposited at once, through the manual gateway. The same
    reference twice for one account is refused."""
    require_operator(viewer, "record payments")
    reference, note = (reference or "").strip(), (note or "").strip()
    errors = []
    if not 1 <= amount_minor <= MAX_RECORDED_PAYMENT_MINOR:
        errors.append(FieldError("amount_minor", ErrorCode.INVALID, f"The amount must be 1 to {MAX_RECORDED_PAYMENT_MINOR} minor units."))
    if method not in RECORDED_METHODS:
        errors.append(FieldError("method", ErrorCode.INVALID, "Record a bank_transfer or a check."))
    if not reference:
        errors.append(FieldError("reference", ErrorCode.REQUIRED, "The transfer's reference or the check's number is required."))
    elif len(reference) > 100:
        errors.append(FieldError("reference", ErrorCode.TOO_LONG, "The reference is at most 100 characters."))
    if len(note) > 300:
        errors.append(FieldError("note", ErrorCode.TOO_LONG, "The note is at most 300 characters."))
    if errors:
        raise DomainError(*errors)
    if not await Account.exists(id=account_id, kind=AccountKind.PARTNER):
        raise not_found("account_id", "partner account")
    g = _gateways.get(MANUAL_GATEWAY)
    if g is None:
        raise DomainError.single(None, ErrorCode.INVALID, "The manual payment gateway is disabled in plugins.toml.")
    key = f"manual:{account_id}:{method}:{reference}"
    duplicate = DomainError.single("reference", ErrorCode.DUPLICATE, "A payment with this reference is already recorded for this account.")
    if await Payment.exists(idempotency_key=key):
        raise duplicate
    try:
        async with in_transaction() as conn:
            if not await ledger.lock_account(account_id, conn):
                raise _closed()
            payment = await create_payment(
                account_id=account_id, gateway_name=g.name, purpose=PaymentPurpose.MANUAL, amount_minor=amount_minor,
                idempotency_key=key, method_label=RECORDED_METHODS[method], reference=reference, note=note,
                created_by_id=viewer.membership_id, conn=conn,
            )
    except IntegrityError:
        raise duplicate from None
    payment, _ = await execute(payment.id)
    return payment


async def resolve_payment(viewer: Viewer, payment_id: int, *, succeeded: bool, note: str, reference: str = "") -> Payment:
    """The operator settles a payment whose outcome Leadwire could not learn
    (after checking it with the gateway): succeeded deposits it, failed does not."""
    require_operator(viewer, "resolve payments")
    note = (note or "").strip()
    payment = await Payment.get_or_none(id=payment_id)
    if payment is None:
        raise not_found("payment_id", "payment")
    if payment.status not in (PaymentStatus.UNKNOWN, PaymentStatus.PROCESSING):
        raise DomainError.single("payment_id", ErrorCode.INVALID, f"This payment is {payment.status.value}: only an unknown or processing payment is resolved by hand.")
    if len(note) < 3:
        raise DomainError.single("note", ErrorCode.REQUIRED, "Say what the gateway showed (at least 3 characters).")
    result = (ChargeResult.succeeded(reference.strip() or payment.reference) if succeeded
              else ChargeResult(ChargeOutcome.FAILED, decline_code="resolved_by_operator", message=note))
    return await settle(payment.id, result, actor_id=viewer.membership_id, note=note)
