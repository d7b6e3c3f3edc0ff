"""A small client for Stripe's REST API (https://docs.stripe.com/api) over a
shared ``httpx.AsyncClient``: customers, SetupIntents to save a card for
off-session use, payment methods (for display and detaching), off-session
charges (PaymentIntents) and refunds.

Knows nothing of Leadwire: a payment-gateway plugin wraps it. Card numbers
never pass through here, only Stripe's ids and tokens (``cus_...``,
``pm_...``, a SetupIntent's client secret that the frontend confirms with
Stripe.js).

Protocol, as Stripe specifies it:

- requests are form-encoded with bracket notation for nested parameters
  (``metadata[account_id]=7``, ``payment_method_types[]=card``), see
  :func:`encode_form`;
- ``Authorization: Bearer sk_...``, an optional ``Stripe-Version`` header, and
  an ``Idempotency-Key`` header on every POST. Stripe stores the first response
  for a key (for at least 24 hours) and replays it for a retry with the same
  key and the same parameters, so a retry cannot charge or refund twice;
- errors are ``{"error": {"type", "code", "decline_code", "message", "param",
  "payment_intent": {...}}}``, mapped here to the typed exceptions below. Each
  has ``retryable``; Stripe's ``Stripe-Should-Retry`` response header, when
  present, decides it.

No request is retried here: the caller (a job with backoff) retries the
exceptions whose ``retryable`` is true, *with the same idempotency key*, and
waits at least ``retry_after`` seconds when it is set.

Secrets: exception messages and reprs never contain the API key or a client
secret (the message is scrubbed of anything that looks like a Stripe secret,
and transport exceptions, whose request holds the Authorization header, are
not chained).
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "Card",
    "CardDeclined",
    "ChargeResult",
    "ChargeStatus",
    "Customer",
    "PaymentIntent",
    "PaymentMethod",
    "Refund",
    "SetupIntent",
    "StripeAuthError",
    "StripeClient",
    "StripeConflict",
    "StripeError",
    "StripeIdempotencyError",
    "StripeInvalidRequest",
    "StripeMalformedResponse",
    "StripeRateLimited",
    "StripeUnavailable",
    "encode_form",
]

DEFAULT_BASE_URL = "https://api.stripe.com"
MAX_IDEMPOTENCY_KEY_LENGTH = 255  # Stripe's limit

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

_SECRET_PATTERNS = (
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9_]+"),  # secret / restricted API keys
    re.compile(r"\bwhsec_[A-Za-z0-9]+"),  # webhook signing secrets
    re.compile(r"_secret_[A-Za-z0-9]+"),  # client secrets (seti_..._secret_..., pi_..._secret_...)
)


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


class StripeError(Exception):
    """Base of every error this client raises.

    Attributes (all may be ``None`` except ``retryable``):
    ``http_status``, ``type`` (Stripe's error type), ``code``, ``param``,
    ``request_id`` (Stripe's ``Request-Id``, quote it to Stripe support),
    ``idempotency_key`` (of the POST that failed: retry with it),
    ``retry_after`` (seconds, from ``Retry-After``) and ``retryable``.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable


class CardDeclined(StripeError):
    """402 ``card_error``: the card was declined (``code`` is e.g.
    ``card_declined``, ``expired_card``, ``incorrect_cvc``; ``decline_code``
    the issuer's reason, e.g. ``generic_decline``, ``insufficient_funds``).
    ``payment_intent_id`` is the failed PaymentIntent when Stripe created one.
    Not retryable with the same key (Stripe replays the decline)."""

    def __init__(
        self,
        message: str,
        *,
        decline_code: str | None = None,
        payment_intent_id: str | None = None,
        payment_method_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.decline_code = decline_code
        self.payment_intent_id = payment_intent_id
        self.payment_method_id = payment_method_id


class StripeInvalidRequest(StripeError):
    """400/404 ``invalid_request_error``: bad or unknown parameter (``param``
    names it), unknown object (``code`` ``resource_missing``). Not retryable."""


class StripeAuthError(StripeError):
    """401 (bad API key) or 403 (a restricted key lacking the permission). Not
    retryable."""


class StripeRateLimited(StripeError):
    """429: too many requests. Retryable, after ``retry_after`` when set."""

    default_retryable = True


class StripeIdempotencyError(StripeError):
    """400 ``idempotency_error``: the idempotency key was already used with
    other parameters (or another endpoint). A bug in the caller; not
    retryable."""


class StripeConflict(StripeError):
    """409: another request with the same idempotency key is still in flight
    at Stripe (e.g. a retry sent while the timed-out first attempt is still
    being processed). Retryable with the same key: once the first request
    finishes, Stripe replays its response."""

    default_retryable = True


class StripeUnavailable(StripeError):
    """Stripe could not be reached or failed: connection refused or reset,
    timeout, 5xx. Retryable.

    The outcome is UNKNOWN: after a timeout or a dropped connection the
    request may have been carried out (a charge made, a refund issued). The
    caller must retry with the SAME idempotency key (``idempotency_key``
    here), never a new one: Stripe then replays the first result instead of
    charging twice, or answers 409 (:class:`StripeConflict`) while the first
    attempt is still running."""

    default_retryable = True


class StripeMalformedResponse(StripeUnavailable):
    """The response was not Stripe's JSON (a proxy's HTML page, a truncated
    body) or lacked expected fields. Retryable with the same idempotency key,
    and the outcome is unknown, as for :class:`StripeUnavailable`."""


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """What can be shown of a saved card."""

    brand: str  # "visa", "mastercard", "amex"...
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class Customer:
    id: str
    email: str | None
    name: str | None


@dataclass(frozen=True)
class SetupIntent:
    """``status`` is Stripe's (``requires_payment_method``, ``requires_action``,
    ``processing``, ``succeeded``, ``canceled``...). Once it has succeeded,
    ``payment_method_id`` is the saved card (``card`` its details)."""

    id: str
    status: str
    customer: str | None
    payment_method_id: str | None
    card: Card | None
    client_secret: str | None = field(default=None, repr=False)  # for Stripe.js only; never log it


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    type: str
    customer: str | None  # None once detached
    card: Card | None


class ChargeStatus(str, enum.Enum):
    SUCCEEDED = "succeeded"  # the money is captured
    REQUIRES_ACTION = "requires_action"  # the cardholder must authenticate (3-D Secure), on-session
    PROCESSING = "processing"  # final result later (webhook / retrieve the PaymentIntent)


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of :meth:`StripeClient.charge_off_session` that is not a
    decline. For ``REQUIRES_ACTION``, ``decline_code`` is
    ``authentication_required`` when Stripe refused the off-session attempt
    for lack of authentication: bring the customer back on-session and let
    Stripe.js confirm the PaymentIntent with ``client_secret``.
    ``replayed`` is true when Stripe answered from its idempotency store (this
    key was already used: no new charge was made)."""

    status: ChargeStatus
    payment_intent_id: str
    amount: int
    currency: str
    decline_code: str | None = None
    replayed: bool = False
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PaymentIntent:
    """A PaymentIntent as :meth:`StripeClient.retrieve_payment_intent` reads it,
    to follow a charge that was left ``processing``. ``status`` is Stripe's
    (``succeeded``, ``processing``, ``requires_payment_method`` after a
    failure, ``requires_action``, ``canceled``...); after a failure,
    ``decline_code`` and ``failure_message`` come from its last payment error."""

    id: str
    status: str
    amount: int
    currency: str
    decline_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class Refund:
    """``status``: ``pending``, ``succeeded``, ``failed``, ``canceled`` or
    ``requires_action``."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent_id: str | None
    replayed: bool = False


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (int, str)):
        return str(value)
    raise TypeError(f"cannot form-encode a {type(value).__name__} for Stripe")


def _pairs(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _pairs(f"{prefix}[{key}]", item, out)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                _pairs(f"{prefix}[{index}]", item, out)  # lists of objects need indices
            else:
                _pairs(f"{prefix}[]", item, out)
    else:
        out.append((prefix, _scalar(value)))


def form_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Stripe's bracket notation as ordered (name, value) pairs; ``None``
    values are left out, booleans are ``true``/``false``."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        _pairs(str(key), value, out)
    return out


def encode_form(params: Mapping[str, Any]) -> str:
    """``{"metadata": {"account_id": 7}, "payment_method_types": ["card"]}``
    -> ``metadata%5Baccount_id%5D=7&payment_method_types%5B%5D=card``."""
    return urlencode(form_pairs(params))


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _should_retry(headers: httpx.Headers) -> bool | None:
    value = headers.get("stripe-should-retry")
    if value is None:
        return None
    value = value.strip().lower()
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def _require_id(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty Stripe id")
    return value


def _card(obj: Any) -> Card | None:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("card"), Mapping):
        return None
    card = obj["card"]
    return Card(
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or ""),
        exp_month=int(card.get("exp_month") or 0),
        exp_year=int(card.get("exp_year") or 0),
    )


class StripeClient:
    """Stripe's REST API through the caller's ``httpx.AsyncClient`` (shared,
    opened and closed by the caller).

    ``api_key`` is a secret (``sk_...``) or restricted (``rk_...``) key.
    ``base_url`` defaults to Stripe's. ``stripe_version`` pins the API
    version (``Stripe-Version`` header); without it the account's default
    applies. ``timeout`` (seconds or an ``httpx.Timeout``) overrides the
    shared client's for these requests.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        stripe_version: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        if not api_key or not isinstance(api_key, str):
            raise ValueError("a Stripe API key is required")
        self._http = http
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.stripe_version = stripe_version
        self._timeout = timeout

    def __repr__(self) -> str:  # never the key
        return f"StripeClient(base_url={self.base_url!r}, stripe_version={self.stripe_version!r})"

    # -- customers ---------------------------------------------------------

    async def create_customer(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        metadata: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> Customer:
        """``POST /v1/customers``. Without ``idempotency_key`` a random one is
        used (and reported on the exception, to retry with)."""
        answer = await self._post(
            "/v1/customers", {"email": email, "name": name, "metadata": metadata}, idempotency_key
        )
        return self._parse(
            answer.body,
            lambda b: Customer(id=b["id"], email=b.get("email"), name=b.get("name")),
            idempotency_key=answer.idempotency_key,
        )

    # -- saving a card -----------------------------------------------------

    async def create_setup_intent(
        self,
        *,
        customer: str,
        metadata: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> SetupIntent:
        """``POST /v1/setup_intents`` for a card to be charged later
        off-session. Hand ``client_secret`` to the frontend, which collects
        the card and confirms it with Stripe.js; then
        :meth:`retrieve_setup_intent` tells the saved payment method."""
        params = {
            "customer": _require_id("customer", customer),
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        answer = await self._post("/v1/setup_intents", params, idempotency_key)
        return self._parse(answer.body, self._setup_intent, idempotency_key=answer.idempotency_key)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntent:
        """``GET /v1/setup_intents/{id}``, the payment method expanded so the
        card's brand, last4 and expiry come back with it."""
        path = f"/v1/setup_intents/{quote(_require_id('setup_intent_id', setup_intent_id), safe='')}"
        body = await self._get(path, [("expand[]", "payment_method")])
        return self._parse(body, self._setup_intent)

    async def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethod:
        """``GET /v1/payment_methods/{id}``."""
        path = f"/v1/payment_methods/{quote(_require_id('payment_method_id', payment_method_id), safe='')}"
        return self._parse(await self._get(path), self._payment_method)

    async def detach_payment_method(
        self, payment_method_id: str, *, idempotency_key: str | None = None
    ) -> PaymentMethod:
        """``POST /v1/payment_methods/{id}/detach``: the card can no longer be
        charged (``customer`` is ``None`` in the result)."""
        pm = quote(_require_id("payment_method_id", payment_method_id), safe="")
        answer = await self._post(f"/v1/payment_methods/{pm}/detach", {}, idempotency_key)
        return self._parse(answer.body, self._payment_method, idempotency_key=answer.idempotency_key)

    # -- money -------------------------------------------------------------

    async def charge_off_session(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        payment_method: str,
        idempotency_key: str,
        description: str | None = None,
        metadata: Mapping[str, str | int] | None = None,
    ) -> ChargeResult:
        """Charge a saved card without the customer present: ``POST
        /v1/payment_intents`` with ``off_session=true&confirm=true``.

        ``amount`` is in the currency's minor unit (cents), ``currency`` an
        ISO code (sent lower-case). ``idempotency_key`` is required and must
        be stable for this charge (e.g. derived from the caller's payment
        row): every retry of this charge uses the same key.

        Returns a :class:`ChargeResult` (succeeded, requires_action,
        processing). Raises :class:`CardDeclined` for a decline, and on an
        unknown outcome :class:`StripeUnavailable` / :class:`StripeConflict`:
        retry with the same key.
        """
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("amount must be a positive integer in the currency's minor unit")
        currency = self._currency(currency)
        key = self._key(idempotency_key, required=True)
        params = {
            "amount": amount,
            "currency": currency,
            "customer": _require_id("customer", customer),
            "payment_method": _require_id("payment_method", payment_method),
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": metadata,
        }
        answer = await self._post("/v1/payment_intents", params, key, authentication_may_be_required=True)
        if answer.authentication_required:
            intent = answer.body
            return self._parse(
                intent,
                lambda b: ChargeResult(
                    status=ChargeStatus.REQUIRES_ACTION,
                    payment_intent_id=b["id"],
                    amount=int(b.get("amount") or amount),
                    currency=str(b.get("currency") or currency),
                    decline_code="authentication_required",
                    replayed=answer.replayed,
                    client_secret=b.get("client_secret"),
                ),
                idempotency_key=key,
            )
        body, replayed = answer.body, answer.replayed

        def parse(b: Mapping[str, Any]) -> ChargeResult:
            status = b["status"]
            try:
                charge_status = ChargeStatus(status)
            except ValueError:
                raise StripeError(
                    f"Stripe returned PaymentIntent {b['id']} in unexpected status {status!r}",
                    http_status=200,
                    idempotency_key=key,
                ) from None
            return ChargeResult(
                status=charge_status,
                payment_intent_id=b["id"],
                amount=int(b["amount"]),
                currency=str(b["currency"]),
                replayed=replayed,
                client_secret=b.get("client_secret"),
            )

        return self._parse(body, parse, idempotency_key=key)

    async def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        """``GET /v1/payment_intents/{id}``: where a charge stands now."""
        path = f"/v1/payment_intents/{quote(_require_id('payment_intent_id', payment_intent_id), safe='')}"

        def parse(b: Mapping[str, Any]) -> PaymentIntent:
            error = b.get("last_payment_error") if isinstance(b.get("last_payment_error"), Mapping) else {}
            return PaymentIntent(
                id=b["id"],
                status=str(b["status"]),
                amount=int(b["amount"]),
                currency=str(b["currency"]),
                decline_code=error.get("decline_code") or error.get("code"),
                failure_message=_scrub(str(error["message"]), self._api_key) if error.get("message") else None,
            )

        return self._parse(await self._get(path), parse)

    async def refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        idempotency_key: str,
        reason: str | None = None,
        metadata: Mapping[str, str | int] | None = None,
    ) -> Refund:
        """``POST /v1/refunds`` of ``amount`` (minor units, at most what is
        left unrefunded) of a succeeded PaymentIntent. ``reason``: Stripe's
        ``duplicate``, ``fraudulent`` or ``requested_by_customer``.
        ``idempotency_key`` is required and stable, as for charges."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("amount must be a positive integer in the currency's minor unit")
        key = self._key(idempotency_key, required=True)
        params = {
            "payment_intent": _require_id("payment_intent", payment_intent),
            "amount": amount,
            "reason": reason,
            "metadata": metadata,
        }
        answer = await self._post("/v1/refunds", params, key)
        body, replayed = answer.body, answer.replayed
        return self._parse(
            body,
            lambda b: Refund(
                id=b["id"],
                status=str(b["status"]),
                amount=int(b["amount"]),
                currency=str(b["currency"]),
                payment_intent_id=b.get("payment_intent"),
                replayed=replayed,
            ),
            idempotency_key=key,
        )

    # -- parsing -----------------------------------------------------------

    @staticmethod
    def _setup_intent(b: Mapping[str, Any]) -> SetupIntent:
        pm = b.get("payment_method")
        pm_id = pm.get("id") if isinstance(pm, Mapping) else pm
        return SetupIntent(
            id=b["id"],
            status=str(b["status"]),
            customer=b.get("customer") if not isinstance(b.get("customer"), Mapping) else b["customer"].get("id"),
            payment_method_id=pm_id,
            card=_card(pm),
            client_secret=b.get("client_secret"),
        )

    @staticmethod
    def _payment_method(b: Mapping[str, Any]) -> PaymentMethod:
        customer = b.get("customer")
        return PaymentMethod(
            id=b["id"],
            type=str(b["type"]),
            customer=customer.get("id") if isinstance(customer, Mapping) else customer,
            card=_card(b),
        )

    def _parse(self, body: Any, build, *, idempotency_key: str | None = None):
        try:
            return build(body)
        except StripeError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            failure = StripeMalformedResponse(
                f"Stripe's response lacked an expected field ({type(exc).__name__}: {_scrub(str(exc), self._api_key)})",
                http_status=200,
                idempotency_key=idempotency_key,
            )
        raise failure

    # -- transport ---------------------------------------------------------

    @staticmethod
    def _currency(currency: str) -> str:
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise ValueError("currency must be a three-letter ISO code")
        return currency.lower()

    @staticmethod
    def _key(idempotency_key: str | None, *, required: bool = False) -> str:
        if idempotency_key is None:
            if required:
                raise ValueError("an idempotency key is required")
            return str(uuid.uuid4())
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ValueError("the idempotency key must be a non-empty string")
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ValueError(f"the idempotency key must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        return idempotency_key

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if self.stripe_version:
            headers["Stripe-Version"] = self.stripe_version
        return headers

    async def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        answer = await self._send("GET", path, params=params)
        return answer.body

    async def _post(
        self,
        path: str,
        params: Mapping[str, Any],
        idempotency_key: str | None,
        *,
        authentication_may_be_required: bool = False,
    ) -> _Answer:
        return await self._send(
            "POST",
            path,
            form=encode_form(params),
            idempotency_key=self._key(idempotency_key),
            authentication_may_be_required=authentication_may_be_required,
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        form: str | None = None,
        idempotency_key: str | None = None,
        authentication_may_be_required: bool = False,
    ) -> _Answer:
        headers = self._headers()
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = form.encode("ascii")
        timeout = httpx.USE_CLIENT_DEFAULT if self._timeout is None else self._timeout
        what = f"{method} {path}"

        # Transport errors are turned into ours outside the except block: the
        # httpx exception holds the request, Authorization header included, and
        # must not ride along as __context__.
        failure: StripeError | None = None
        response: httpx.Response | None = None
        try:
            response = await self._http.request(
                method, self.base_url + path, params=params, content=content, headers=headers, timeout=timeout
            )
        except httpx.TimeoutException as exc:
            failure = StripeUnavailable(
                f"{what}: timed out ({type(exc).__name__}); it may or may not have been carried out:"
                " retry with the same idempotency key",
                idempotency_key=idempotency_key,
            )
        except httpx.TransportError as exc:
            failure = StripeUnavailable(
                f"{what}: {type(exc).__name__}: {_scrub(str(exc), self._api_key)}",
                idempotency_key=idempotency_key,
            )
        if failure is not None:
            raise failure
        assert response is not None
        return self._handle(what, response, idempotency_key, authentication_may_be_required)

    def _handle(
        self, what: str, response: httpx.Response, idempotency_key: str | None, authentication_may_be_required: bool
    ) -> _Answer:
        status = response.status_code
        request_id = response.headers.get("request-id")
        replayed = response.headers.get("idempotent-replayed", "").strip().lower() == "true"
        common: dict[str, Any] = {
            "http_status": status,
            "request_id": request_id,
            "idempotency_key": idempotency_key,
            "retry_after": _retry_after(response.headers.get("retry-after")),
            "retryable": _should_retry(response.headers),  # None: the exception class decides
        }

        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            content_type = response.headers.get("content-type", "no content type").split(";")[0]
            if status >= 500:
                raise StripeUnavailable(f"{what}: HTTP {status} ({content_type}, not Stripe's JSON)", **common)
            raise StripeMalformedResponse(f"{what}: HTTP {status} with a body that is not Stripe's JSON ({content_type})", **common)

        if 200 <= status < 300:
            return _Answer(body, replayed, idempotency_key)

        error = body.get("error") if isinstance(body.get("error"), dict) else {}

        def text(name: str) -> str | None:
            value = error.get(name)
            return value if isinstance(value, str) and value else None

        etype, code, param, decline_code = text("type"), text("code"), text("param"), text("decline_code")
        intent = error.get("payment_intent") if isinstance(error.get("payment_intent"), dict) else None
        if (
            authentication_may_be_required
            and status == 402
            and "authentication_required" in (code, decline_code)
            and intent is not None
        ):
            # Off-session attempt refused for lack of 3-D Secure: not a decline,
            # the customer can authenticate this PaymentIntent on-session.
            return _Answer(intent, replayed, idempotency_key, authentication_required=True)

        details = "/".join(x for x in (etype, code, decline_code) if x)
        message = f"{what}: HTTP {status}" + (f" {details}" if details else "")
        if text("message"):
            message += f": {text('message')}"
        message = _scrub(message, self._api_key)
        if request_id:
            message += f" [{_scrub(request_id, self._api_key)}]"
        kwargs = {**common, "type": etype, "code": code, "param": param}

        if status == 409:
            raise StripeConflict(message, **kwargs)
        if status == 429:
            raise StripeRateLimited(message, **kwargs)
        if status >= 500:
            raise StripeUnavailable(message, **kwargs)
        if status in (401, 403):
            raise StripeAuthError(message, **kwargs)
        if etype == "card_error" or status == 402:
            pm = error.get("payment_method")
            raise CardDeclined(
                message,
                decline_code=decline_code,
                payment_intent_id=intent.get("id") if intent else None,
                payment_method_id=pm.get("id") if isinstance(pm, dict) else None,
                **kwargs,
            )
        if etype == "idempotency_error":
            raise StripeIdempotencyError(message, **kwargs)
        if etype == "invalid_request_error" or status in (400, 404):
            raise StripeInvalidRequest(message, **kwargs)
        raise StripeError(message, **kwargs)


@dataclass(frozen=True)
class _Answer:
    body: Any
    replayed: bool
    idempotency_key: str | None
    authentication_required: bool = False
