"""Lead intake: validate a consumer's quote request, store it with its consent,
and route it at once.

Every field is checked before anything is written (the industry's schema, a
real phone-number library, a real e-mail syntax check, the ZIP against the
geodata), and every problem is reported at once, by field. Retries are safe:
an idempotency key returns the lead the first request created, and the same
key with a different request is refused. A repeat of a consumer (same phone or
e-mail in the same industry within the duplicate window) is kept as a
duplicate and not sold again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from leadwire.core import extensions, industries, routing
from leadwire.core.auth import LeadSourcePrincipal
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.identity import now
from leadwire.core.jobs import enqueue
from leadwire.core.jobs import builtin as _builtin_jobs  # noqa: F401  (registers route_lead)
from leadwire.core.models.leads import Lead, LeadOrigin, MarketStatus
from leadwire.core.models.marketplace import Product
from leadwire.integrations import geodata
from leadwire.plugins.events import LeadReceived

DUPLICATE_WINDOW = dt.timedelta(days=30)
# How long the safety-net job waits before routing a lead whose request died
# between storing and routing it (the crash tests shorten it).
ROUTE_SAFETY_DELAY = dt.timedelta(seconds=float(os.environ.get("LEADWIRE_ROUTE_SAFETY_DELAY_SECONDS", "30")))


@dataclass
class Consent:
    text: str
    given_at: dt.datetime | None = None  # defaults to the time of the request
    ip: str = ""
    user_agent: str = ""
    page_url: str = ""


@dataclass
class LeadSubmission:
    product_id: int
    first_name: str
    last_name: str
    phone: str
    postal_code: str
    consent: Consent
    email: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        body = asdict(self)
        body.pop("idempotency_key")
        body["consent"]["given_at"] = str(body["consent"]["given_at"])
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class IntakeResult:
    lead: Lead
    created: bool  # False: an idempotent retry returned the first result
    routing: routing.RoutingResult | None = None


def normalise_phone(raw: str, field_name: str = "phone") -> str:
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        raise DomainError.single(field_name, ErrorCode.INVALID, f"Not a phone number: {raw!r}.") from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError.single(field_name, ErrorCode.INVALID, f"Not a valid phone number: {raw!r}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(value: str, name: str, label: str, errors: list, *, required: bool, max_length: int) -> str:
    value = (value or "").strip()
    if required and not value:
        errors.append(FieldError(name, ErrorCode.REQUIRED, f"{label} is required."))
    elif len(value) > max_length:
        errors.append(FieldError(name, ErrorCode.TOO_LONG, f"{label} is at most {max_length} characters."))
    return value


async def _existing(source: LeadSourcePrincipal, submission: LeadSubmission) -> Lead | None:
    if not submission.idempotency_key:
        return None
    lead = await Lead.get_or_none(source_id=source.source_id, idempotency_key=submission.idempotency_key)
    if lead is not None and lead.request_hash != submission.fingerprint():
        raise DomainError.single(
            "idempotency_key",
            ErrorCode.DUPLICATE,
            "This idempotency key was already used with a different lead: use a new key for a new lead.",
        )
    return lead


async def submit_lead(
    source: LeadSourcePrincipal, submission: LeadSubmission, *, route: bool = True, at: dt.datetime | None = None
) -> IntakeResult:
    at = at or now()
    existing = await _existing(source, submission)
    if existing is not None:
        return IntakeResult(lead=existing, created=False)

    errors: list[FieldError] = []
    first = _text(submission.first_name, "first_name", "First name", errors, required=True, max_length=100)
    last = _text(submission.last_name, "last_name", "Last name", errors, required=True, max_length=100)
    phone = email = ""
    try:
        phone = normalise_phone(submission.phone or "")
    except DomainError as exc:
        errors.extend(exc.errors)
    if submission.email.strip():
        try:
            email = validate_email(submission.email.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            errors.append(FieldError("email", ErrorCode.INVALID, f"Not a valid e-mail address: {exc}"))
    place = geodata.lookup(submission.postal_code or "")
    if place is None or len((submission.postal_code or "").strip()) != 5:
        errors.append(FieldError("postal_code", ErrorCode.INVALID, f"Not a known US ZIP code: {submission.postal_code!r}."))
    consent_text = _text(submission.consent.text, "consent.text", "The consent text", errors, required=True, max_length=5000)
    _text(submission.consent.page_url, "consent.page_url", "The page URL", errors, required=False, max_length=500)
    if submission.idempotency_key is not None and not 1 <= len(submission.idempotency_key) <= 100:
        errors.append(FieldError("idempotency_key", ErrorCode.INVALID, "An idempotency key is 1 to 100 characters."))

    product = await Product.get_or_none(id=submission.product_id, active=True).select_related("industry")
    data: dict[str, Any] = {}
    if product is None or not product.industry.active:
        errors.append(FieldError("product_id", ErrorCode.NOT_FOUND, "No product with this id."))
    else:
        schema = industries.schema_for(product.industry.schema_key)
        if schema is None:
            errors.append(FieldError("product_id", ErrorCode.INVALID, "This industry's schema plugin is not installed."))
        else:
            data, problems = schema.validate(submission.data or {}, geodata.lookup)
            errors.extend(FieldError(f"data.{p.field}", ErrorCode.INVALID, p.message) for p in problems)
    if errors:
        raise DomainError(*errors)

    same_person = Q(phone=phone) | Q(email=email) if email else Q(phone=phone)
    duplicate = await Lead.filter(
        same_person,
        account_id=source.account_id,
        industry_id=product.industry_id,
        created_at__gte=at - DUPLICATE_WINDOW,
        duplicate_of_id__isnull=True,
    ).order_by("id").first()
    try:
        async with in_transaction() as conn:
            lead = await Lead.create(
                account_id=source.account_id,
                origin=LeadOrigin.MARKETPLACE,
                source_id=source.source_id,
                industry_id=product.industry_id,
                product_id=product.id,
                first_name=first,
                last_name=last,
                email=email,
                phone=phone,
                postal_code=place.zip_code,
                city=place.city,
                state=place.state,
                data=data,
                market_status=MarketStatus.DUPLICATE if duplicate else MarketStatus.RECEIVED,
                duplicate_of_id=duplicate.id if duplicate else None,
                # Received at ``at``: the duplicate window is measured on the same clock.
                created_at=at,
                idempotency_key=submission.idempotency_key,
                request_hash=submission.fingerprint(),
                consent_text=consent_text,
                consent_at=submission.consent.given_at or at,
                consent_ip=submission.consent.ip[:64],
                consent_user_agent=submission.consent.user_agent[:300],
                consent_page_url=submission.consent.page_url[:500],
                using_db=conn,
            )
            if not duplicate:
                # The safety net: if this process dies before routing below, a
                # worker routes the lead a little later (a no-op once routed).
                await enqueue("route_lead", {"lead_id": lead.id}, dedupe_key=f"route_lead:{lead.id}",
                              run_after=at + ROUTE_SAFETY_DELAY, using_db=conn)
    except IntegrityError:
        # A concurrent retry with the same key won the insert: answer as it did.
        existing = await _existing(source, submission)
        if existing is None:
            raise
        return IntakeResult(lead=existing, created=False)
    result = IntakeResult(lead=lead, created=True)
    if extensions.listening("leadwire_lead_received"):
        extensions.notify("leadwire_lead_received", LeadReceived(
            lead_id=lead.id, industry_key=product.industry.schema_key, product_id=product.id,
            source_id=source.source_id, duplicate=bool(duplicate), received_at=at,
        ))
    if route and not duplicate:
        result.routing = await routing.route_lead(lead.id, at=at)
        lead.market_status = result.routing.status
        lead.sale_count = len(result.routing.sold_to)
        if result.routing.contended:
            # The safety net routed it too (this request was slower than its delay):
            # answer what the lead's row says, as a retry with this key will.
            await lead.refresh_from_db(fields=["market_status", "sale_count"])
    return result
