"""Built-in payment gateway: cards through Stripe (integrations/stripe_api.py).

Off until the operator sets a secret key in plugins.toml::

    [plugin.stripe_gateway]
    api_key = "${STRIPE_SECRET_KEY}"          # sk_live_... or a restricted rk_...
    publishable_key = "pk_live_..."           # handed to the browser for Stripe.js
    # base_url = "https://api.stripe.com"     # a proxy, or a local fake in tests
    # stripe_version = "2024-06-20"

Saving a card: Leadwire creates a Stripe customer per account and an
off-session SetupIntent; the browser confirms it with Stripe.js and the
client secret; Leadwire then reads the saved PaymentMethod (``pm_...``).
Charges are off-session PaymentIntents, refunds go against the charge's
PaymentIntent; both pass Leadwire's idempotency key to Stripe as its
``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadwire.integrations import stripe_api
from leadwire.integrations.stripe_api import (
    CardDeclined,
    ChargeStatus,
    StripeClient,
    StripeError,
    StripeInvalidRequest,
)
from leadwire.plugins.config import Setting
from leadwire.plugins.hookspecs import hookimpl
from leadwire.plugins.payments import (
    ChargeOutcome,
    ChargeRequest,
    ChargeResult,
    ChargeStatusRequest,
    PaymentGateway,
    PaymentGatewayError,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    RemoveRequest,
    SavedPaymentMethod,
    SetupFinishRequest,
    SetupRequest,
    SetupStarted,
)

_state: dict[str, Any] = {"configured": False}

# What a partner is told for Stripe's decline codes (https://docs.stripe.com/declines/codes).
DECLINE_MESSAGES = {
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "incorrect_cvc": "The card's security code is incorrect.",
    "lost_card": "The card was declined (reported lost).",
    "stolen_card": "The card was declined (reported stolen).",
    "card_velocity_exceeded": "The card's limit was reached.",
    "do_not_honor": "The card issuer declined the charge.",
    "authentication_required": "The card issuer requires the cardholder to authenticate, which an automatic charge cannot do.",
}


def _decline_message(code: str | None) -> str:
    return DECLINE_MESSAGES.get(code or "", "The card was declined" + (f" ({code})." if code else "."))


def _client(http, config: Mapping[str, Any]) -> StripeClient:
    return StripeClient(
        http, config["api_key"].reveal(), base_url=config["base_url"], stripe_version=config.get("stripe_version") or None,
        timeout=config["timeout_seconds"],
    )


def _setup_error(exc: StripeError) -> PaymentGatewayError:
    if exc.retryable:
        return PaymentGatewayError("Stripe could not be reached; try again in a moment.", code=exc.code or "", retryable=True)
    return PaymentGatewayError(f"Stripe refused the request ({exc.code or exc.type or exc.http_status}).", code=exc.code or "")


class StripeGateway(PaymentGateway):
    name = "stripe"
    label = "Card (Stripe)"
    description = "Cards saved with Stripe: add funds, auto-charge, refunds to the card."
    saves_payment_methods = True

    def public_config(self, plugin_config):
        key = plugin_config.get("publishable_key")
        return {"publishable_key": key} if key else {}

    async def start_setup(self, request: SetupRequest) -> SetupStarted:
        client = _client(request.http, request.plugin_config)
        try:
            customer = request.customer_ref
            if not customer:
                created = await client.create_customer(
                    email=request.account.email, name=request.account.name,
                    metadata={"leadwire_account": request.account.id},
                    idempotency_key=f"{request.idempotency_key}:customer",
                )
                customer = created.id
            intent = await client.create_setup_intent(
                customer=customer, metadata={"leadwire_account": request.account.id},
                idempotency_key=request.idempotency_key,
            )
        except StripeError as exc:
            raise _setup_error(exc) from None
        if not intent.client_secret:
            raise PaymentGatewayError("Stripe did not return a client secret for the card form.", retryable=True)
        return SetupStarted(customer_ref=customer, setup_ref=intent.id, client_secret=intent.client_secret,
                            public_config=self.public_config(request.plugin_config))

    async def finish_setup(self, request: SetupFinishRequest) -> SavedPaymentMethod:
        client = _client(request.http, request.plugin_config)
        try:
            intent = await client.retrieve_setup_intent(request.setup_ref)
        except StripeError as exc:
            raise _setup_error(exc) from None
        if intent.status != "succeeded" or not intent.payment_method_id:
            raise PaymentGatewayError(
                f"The card is not confirmed yet (Stripe says {intent.status}): finish the card form, then try again.",
                code=intent.status,
            )
        if intent.customer != request.customer_ref:
            raise PaymentGatewayError("This card was saved for another customer.", code="customer_mismatch")
        card = intent.card
        return SavedPaymentMethod(
            token=intent.payment_method_id, customer_ref=request.customer_ref,
            brand=card.brand if card else "", last4=card.last4 if card else "",
            exp_month=card.exp_month if card else 0, exp_year=card.exp_year if card else 0,
        )

    async def remove_payment_method(self, request: RemoveRequest) -> None:
        client = _client(request.http, request.plugin_config)
        try:
            await client.detach_payment_method(request.token, idempotency_key=f"detach:{request.token}")
        except StripeInvalidRequest as exc:
            if exc.code in ("resource_missing", "payment_method_unexpected_state"):
                return  # already gone or already detached
            raise _setup_error(exc) from None
        except StripeError as exc:
            raise _setup_error(exc) from None

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.customer_ref or not request.payment_method_token:
            return ChargeResult(ChargeOutcome.FAILED, message="No saved card to charge.")
        client = _client(request.http, request.plugin_config)
        try:
            result = await client.charge_off_session(
                amount=request.amount_minor, currency=request.currency, customer=request.customer_ref,
                payment_method=request.payment_method_token, idempotency_key=request.idempotency_key,
                description=request.description, metadata=dict(request.metadata),
            )
        except CardDeclined as exc:
            code = exc.decline_code or exc.code or "card_declined"
            return ChargeResult(ChargeOutcome.DECLINED, reference=exc.payment_intent_id or "", decline_code=code,
                                message=_decline_message(code))
        except StripeError as exc:
            if exc.retryable:
                return ChargeResult.retry(str(exc), exc.retry_after)
            return ChargeResult(ChargeOutcome.FAILED, decline_code=exc.code or "", message=str(exc))
        except ValueError as exc:  # an argument Stripe would refuse (amount, currency)
            return ChargeResult(ChargeOutcome.FAILED, message=str(exc))
        if result.status is ChargeStatus.SUCCEEDED:
            return ChargeResult.succeeded(result.payment_intent_id)
        if result.status is ChargeStatus.PROCESSING:
            return ChargeResult(ChargeOutcome.PROCESSING, reference=result.payment_intent_id)
        return ChargeResult(ChargeOutcome.REQUIRES_ACTION, reference=result.payment_intent_id,
                            decline_code=result.decline_code or "authentication_required",
                            message=_decline_message("authentication_required"))

    async def charge_status(self, request: ChargeStatusRequest) -> ChargeResult:
        client = _client(request.http, request.plugin_config)
        try:
            intent = await client.retrieve_payment_intent(request.reference)
        except StripeError as exc:
            return ChargeResult.retry(str(exc), exc.retry_after, reference=request.reference)
        if intent.status == "succeeded":
            return ChargeResult.succeeded(intent.id)
        if intent.status in ("processing", "requires_capture"):
            return ChargeResult(ChargeOutcome.PROCESSING, reference=intent.id)
        if intent.status == "requires_action":
            return ChargeResult(ChargeOutcome.REQUIRES_ACTION, reference=intent.id,
                                decline_code="authentication_required", message=_decline_message("authentication_required"))
        code = intent.decline_code or intent.status
        return ChargeResult(ChargeOutcome.DECLINED, reference=intent.id, decline_code=code, message=_decline_message(code))

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.charge_reference:
            return RefundResult(RefundOutcome.FAILED, message="No Stripe charge to refund against.")
        client = _client(request.http, request.plugin_config)
        try:
            refund = await client.refund(
                payment_intent=request.charge_reference, amount=request.amount_minor,
                idempotency_key=request.idempotency_key, reason="requested_by_customer",
                metadata={"leadwire_account": request.account.id, "reason": request.reason[:200]},
            )
        except StripeError as exc:
            if exc.retryable:
                return RefundResult(RefundOutcome.RETRY, message=str(exc), retry_after=exc.retry_after)
            return RefundResult(RefundOutcome.FAILED, message=str(exc))
        except ValueError as exc:
            return RefundResult(RefundOutcome.FAILED, message=str(exc))
        if refund.status in ("failed", "canceled"):
            return RefundResult(RefundOutcome.FAILED, reference=refund.id, message=f"Stripe says the refund {refund.status}.")
        return RefundResult(RefundOutcome.SENT, reference=refund.id)


@hookimpl
def leadwire_plugin_settings():
    return [
        Setting("api_key", secret=True, description="Stripe secret key (sk_...) or restricted key (rk_...). Cards are off until it is set."),
        Setting("publishable_key", description="Stripe publishable key (pk_...), for the card form (Stripe.js)."),
        Setting("base_url", default=stripe_api.DEFAULT_BASE_URL, description="Stripe API base URL."),
        Setting("stripe_version", description="Pin the Stripe API version (Stripe-Version header)."),
        Setting("timeout_seconds", type="float", default=20.0, description="How long to wait for Stripe."),
    ]


@hookimpl
def leadwire_startup(config):
    _state["configured"] = bool(config.get("api_key") and config["api_key"].reveal())
    if not str(config["base_url"]).startswith(("https://", "http://")):
        raise ValueError(f"base_url must be an http(s) URL, not {config['base_url']!r}")


@hookimpl
def leadwire_register_payment_gateways():
    return [StripeGateway()] if _state["configured"] else []
