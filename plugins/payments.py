"""The contract of a payment gateway plugin.

Seed 000: partners fund a prepaid balance with cards on file, add funds
manually or let Leadwire auto-charge a card; when an account closes, the
money the partner deposited goes back through the gateway it came from. A
gateway plugin returns :class:`PaymentGateway` objects from the
``leadwire_register_payment_gateways`` hook. Leadwire picks a gateway **by its
name** for each operation (the one a card or a payment belongs to), never by
asking every gateway.

A gateway does what it can of:

- saving a payment method for later off-session charges
  (:meth:`PaymentGateway.start_setup` gives the browser what it needs to
  collect the card with the gateway's own script, e.g. a Stripe SetupIntent's
  client secret; :meth:`PaymentGateway.finish_setup` returns the saved
  method's token). Card numbers never reach Leadwire: only tokens and what may
  be shown (brand, last 4, expiry);
- :meth:`PaymentGateway.charge`: take an amount from a saved method without
  the cardholder present, or (``operator_recorded`` gateways) confirm a
  payment the operator received by bank transfer or check;
- :meth:`PaymentGateway.refund`: send money back against an earlier charge.

Every charge and refund carries an ``idempotency_key`` that stays the same
on every attempt of that one payment or refund: pass it to the gateway, so a
retry after a timeout can never charge or refund twice. Methods return
results; an exception from ``charge``/``refund`` is treated as "outcome
unknown, try again with the same key".
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "AccountInfo", "ChargeOutcome", "ChargeRequest", "ChargeResult", "ChargeStatusRequest", "PaymentGateway",
    "PaymentGatewayError", "RefundOutcome", "RefundRequest", "RefundResult", "RemoveRequest", "SavedPaymentMethod",
    "SetupFinishRequest", "SetupRequest", "SetupStarted",
]


class PaymentGatewayError(Exception):
    """An interactive step (saving or removing a card) could not be done.
    ``message`` is shown to the partner: never put a secret in it.
    ``retryable``: trying again later may work (the gateway is unreachable)."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False):
        super().__init__(message)
        self.message, self.code, self.retryable = message, code, retryable


@dataclass(frozen=True)
class AccountInfo:
    """The partner account, as a gateway may need it (e.g. to create its customer)."""

    id: int
    name: str
    email: str  # the owner's e-mail


@dataclass(frozen=True)
class SetupRequest:
    account: AccountInfo
    customer_ref: str | None  # the gateway's customer for this account, None the first time
    idempotency_key: str
    plugin_config: Mapping[str, Any]
    http: Any  # a shared httpx.AsyncClient


@dataclass(frozen=True)
class SetupStarted:
    customer_ref: str  # Leadwire stores it and passes it back from now on
    setup_ref: str  # the gateway's id of this setup (a SetupIntent: seti_...)
    client_secret: str  # for the browser's gateway script only; Leadwire never stores it
    public_config: Mapping[str, str] = field(default_factory=dict)  # e.g. {"publishable_key": "pk_..."}


@dataclass(frozen=True)
class SetupFinishRequest:
    account: AccountInfo
    customer_ref: str
    setup_ref: str
    plugin_config: Mapping[str, Any]
    http: Any


@dataclass(frozen=True)
class SavedPaymentMethod:
    token: str  # the gateway's id of the saved method (pm_...): what Leadwire charges later
    customer_ref: str
    brand: str = ""
    last4: str = ""
    exp_month: int = 0
    exp_year: int = 0


@dataclass(frozen=True)
class RemoveRequest:
    account: AccountInfo
    customer_ref: str
    token: str
    plugin_config: Mapping[str, Any]
    http: Any


class ChargeOutcome(str, Enum):
    SUCCEEDED = "succeeded"  # the money is taken: Leadwire deposits it
    PROCESSING = "processing"  # accepted, final answer later: Leadwire asks again (charge_status)
    DECLINED = "declined"  # the card was declined (decline_code says why)
    REQUIRES_ACTION = "requires_action"  # the cardholder must authenticate: impossible off-session
    FAILED = "failed"  # refused for another reason that retrying cannot fix (bad request, no such card)
    RETRY = "retry"  # unknown outcome (timeout, 5xx, 409): Leadwire retries with the same key


@dataclass(frozen=True)
class ChargeRequest:
    account: AccountInfo
    amount_minor: int
    currency: str  # ISO 4217, upper case
    idempotency_key: str  # the same on every attempt of this payment
    customer_ref: str | None
    payment_method_token: str | None  # None for operator-recorded payments
    description: str
    metadata: Mapping[str, str]
    plugin_config: Mapping[str, Any]
    http: Any
    # Operator-recorded gateways: how the money came ("bank_transfer", "check")
    # and the operator's reference (transfer id, check number).
    recorded_method: str = ""
    recorded_reference: str = ""


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    reference: str = ""  # the gateway's id of the charge (pi_...): refunds go against it
    decline_code: str = ""
    message: str = ""  # for the partner and the log; never a secret
    retry_after: float | None = None  # seconds, when the gateway said

    @classmethod
    def succeeded(cls, reference: str) -> ChargeResult:
        return cls(ChargeOutcome.SUCCEEDED, reference=reference)

    @classmethod
    def retry(cls, message: str, retry_after: float | None = None, reference: str = "") -> ChargeResult:
        return cls(ChargeOutcome.RETRY, reference=reference, message=message, retry_after=retry_after)


@dataclass(frozen=True)
class ChargeStatusRequest:
    reference: str  # from a PROCESSING result
    idempotency_key: str
    plugin_config: Mapping[str, Any]
    http: Any


class RefundOutcome(str, Enum):
    SENT = "sent"  # the gateway accepted the refund
    AWAITING_OPERATOR = "awaiting_operator"  # operator-recorded gateways: the operator sends it, then records it
    FAILED = "failed"  # refused (e.g. the charge is too old): the operator pays another way
    RETRY = "retry"  # unknown outcome: Leadwire retries with the same key


@dataclass(frozen=True)
class RefundRequest:
    account: AccountInfo
    amount_minor: int  # at most what is left unrefunded of the charge
    currency: str
    charge_reference: str  # the ChargeResult.reference of the payment being refunded ("" if none)
    idempotency_key: str
    reason: str  # for the record, e.g. "account closed"
    plugin_config: Mapping[str, Any]
    http: Any


@dataclass(frozen=True)
class RefundResult:
    outcome: RefundOutcome
    reference: str = ""
    message: str = ""
    retry_after: float | None = None


class PaymentGateway(abc.ABC):
    """Subclass and register an instance. Class attributes describe it."""

    name: str = ""  # the id Leadwire stores with every card, payment and refund
    label: str = ""
    description: str = ""
    saves_payment_methods: bool = False  # cards on file, add funds and auto-charge
    operator_recorded: bool = False  # payments the operator records (bank transfers, checks)

    def public_config(self, plugin_config: Mapping[str, Any]) -> Mapping[str, str]:
        """What a browser needs to use the gateway's own script (never a secret)."""
        return {}

    async def start_setup(self, request: SetupRequest) -> SetupStarted:
        raise PaymentGatewayError(f"{self.label or self.name} cannot save payment methods.")

    async def finish_setup(self, request: SetupFinishRequest) -> SavedPaymentMethod:
        raise PaymentGatewayError(f"{self.label or self.name} cannot save payment methods.")

    async def remove_payment_method(self, request: RemoveRequest) -> None:
        """Make the saved method unusable at the gateway (a method already gone is fine)."""

    @abc.abstractmethod
    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Take (or, operator-recorded, confirm) one payment. Return, don't raise."""

    async def charge_status(self, request: ChargeStatusRequest) -> ChargeResult:
        """The current outcome of a PROCESSING charge."""
        return ChargeResult.retry("this gateway cannot report a charge's status")

    @abc.abstractmethod
    async def refund(self, request: RefundRequest) -> RefundResult:
        """Send money back against an earlier charge. Return, don't raise."""
