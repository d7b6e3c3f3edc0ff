"""Built-in payment gateway: money the operator receives or sends outside
Leadwire (bank transfers, checks), recorded by the operator.

A "charge" is the operator recording a payment received (with the transfer's
or check's reference); a "refund" is a payout the operator must make by bank
transfer or check and then record as paid. Always on; nothing to configure.
"""

from __future__ import annotations

from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    PaymentGateway,
    RefundOutcome,
    RefundRequest,
    RefundResult,
)

METHODS = {"bank_transfer": "Bank transfer", "check": "Check"}


class ManualGateway(PaymentGateway):
    name = "manual"
    label = "Bank transfer or check"
    description = "Payments the operator receives by bank transfer or check and records; payouts the operator sends."
    operator_recorded = True

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.recorded_method not in METHODS:
            return ChargeResult(ChargeOutcome.FAILED, message=f"Record a bank transfer or a check, not {request.recorded_method!r}.")
        if not request.recorded_reference.strip():
            return ChargeResult(ChargeOutcome.FAILED, message="A payment recorded by hand needs its reference.")
        return ChargeResult.succeeded(f"{request.recorded_method}:{request.recorded_reference.strip()}")

    async def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(
            RefundOutcome.AWAITING_OPERATOR,
            message="Send this amount back by bank transfer or check, then record it as paid.",
        )


@hookimpl
def leadwire_register_payment_gateways():
    return [ManualGateway()]
