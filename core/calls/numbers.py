"""Tracking numbers (operator): a phone number attached to an industry's
product, and optionally a lead source, answered by one telephony provider."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from leadwire.core.access import Viewer, require_operator, visible_tracking_numbers
from leadwire.core.calls import providers
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.models.calls import TrackingNumber
from leadwire.core.models.identity import LeadSource
from leadwire.core.models.marketplace import Product

MAX_MESSAGE = 500


@dataclass
class TrackingNumberChanges:
    """Fields left as None are not changed."""

    name: str | None = None
    product_id: int | None = None
    source_id: int | None = None
    clear_source: bool = False
    ask_zip: bool | None = None
    fallback_message: str | None = None
    active: bool | None = None


async def _check(viewer: Viewer, changes: TrackingNumberChanges, errors: list[FieldError]) -> dict:
    values: dict = {}
    if changes.name is not None:
        if len(changes.name.strip()) > 100:
            errors.append(FieldError("name", ErrorCode.TOO_LONG, "The name is at most 100 characters."))
        values["name"] = changes.name.strip()
    if changes.product_id is not None:
        product = await Product.get_or_none(id=changes.product_id)
        if product is None:
            errors.append(FieldError("product_id", ErrorCode.NOT_FOUND, "No product with this id."))
        else:
            values.update(product_id=product.id, industry_id=product.industry_id)
    if changes.clear_source:
        values["source_id"] = None
    elif changes.source_id is not None:
        if not await LeadSource.exists(id=changes.source_id, account_id=viewer.account_id):
            errors.append(FieldError("source_id", ErrorCode.NOT_FOUND, "No lead source with this id."))
        values["source_id"] = changes.source_id
    if changes.ask_zip is not None:
        values["ask_zip"] = changes.ask_zip
    if changes.fallback_message is not None:
        if len(changes.fallback_message.strip()) > MAX_MESSAGE:
            errors.append(FieldError("fallback_message", ErrorCode.TOO_LONG, f"At most {MAX_MESSAGE} characters."))
        values["fallback_message"] = changes.fallback_message.strip()
    if changes.active is not None:
        values["active"] = changes.active
    return values


async def create_tracking_number(viewer: Viewer, *, number: str, provider: str, changes: TrackingNumberChanges) -> TrackingNumber:
    require_operator(viewer, "manage tracking numbers")
    from leadwire.core.intake import normalise_phone

    errors: list[FieldError] = []
    try:
        number = normalise_phone(number, "number")
    except DomainError as exc:
        errors.extend(exc.errors)
    if providers.provider(provider) is None:
        known = ", ".join(p.name for p in providers.installed()) or "none installed"
        errors.append(FieldError("provider", ErrorCode.INVALID, f"No telephony provider {provider!r} ({known})."))
    if changes.product_id is None:
        errors.append(FieldError("product_id", ErrorCode.REQUIRED, "Choose the product its calls are leads for."))
    values = await _check(viewer, changes, errors)
    if not errors and await TrackingNumber.exists(number=number):
        errors.append(FieldError("number", ErrorCode.DUPLICATE, "This number is a tracking number already."))
    if errors:
        raise DomainError(*errors)
    try:
        return await TrackingNumber.create(account_id=viewer.account_id, number=number, provider=provider, **values)
    except IntegrityError:
        raise DomainError.single("number", ErrorCode.DUPLICATE, "This number is a tracking number already.") from None


async def update_tracking_number(viewer: Viewer, tracking_number_id: int, changes: TrackingNumberChanges) -> TrackingNumber:
    require_operator(viewer, "manage tracking numbers")
    row = await visible_tracking_numbers(viewer).get_or_none(id=tracking_number_id)
    if row is None:
        raise not_found("tracking_number_id", "tracking number")
    errors: list[FieldError] = []
    values = await _check(viewer, changes, errors)
    if errors:
        raise DomainError(*errors)
    if values:
        await TrackingNumber.filter(id=row.id).update(**values)
    return await TrackingNumber.get(id=row.id)
