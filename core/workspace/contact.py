"""Checking a person's contact details for the workspace's own intake (the
registration page, imports, leads added by hand), with the marketplace
intake's validation (core.intake): a real phone-number library (E.164), a
real e-mail syntax check, US ZIP codes against the geodata (which also fill
in the city and state)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from leadwire.core.campaigns import US_STATES
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.intake import normalise_phone
from leadwire.integrations import geodata

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "postal_code", "city", "state")
LABELS = {
    "first_name": "First name", "last_name": "Last name", "email": "E-mail", "phone": "Phone",
    "postal_code": "ZIP code", "city": "City", "state": "State",
}
MAX_LENGTH = {"first_name": 100, "last_name": 100, "email": 254, "phone": 40, "postal_code": 10, "city": 100, "state": 20}


@dataclass
class Contact:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""  # E.164
    postal_code: str = ""
    city: str = ""
    state: str = ""


def check_contact(
    raw: Mapping[str, str | None],
    *,
    required: Iterable[str] = (),
    need_phone_or_email: bool = True,
    prefix: str = "",
) -> tuple[Contact, list[FieldError]]:
    """Clean contact fields; every problem is returned (field names with ``prefix``)."""
    errors: list[FieldError] = []
    values = {k: (raw.get(k) or "").strip() for k in CONTACT_FIELDS}
    out = Contact()
    for name in CONTACT_FIELDS:
        if len(values[name]) > MAX_LENGTH[name]:
            errors.append(FieldError(prefix + name, ErrorCode.TOO_LONG, f"{LABELS[name]} is at most {MAX_LENGTH[name]} characters."))
            values[name] = ""
    for name in required:
        if not values.get(name):
            errors.append(FieldError(prefix + name, ErrorCode.REQUIRED, f"{LABELS[name]} is required."))
    out.first_name, out.last_name, out.city = values["first_name"], values["last_name"], values["city"]
    if values["phone"]:
        try:
            out.phone = normalise_phone(values["phone"], prefix + "phone")
        except DomainError as exc:
            errors.extend(exc.errors)
    if values["email"]:
        try:
            out.email = validate_email(values["email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            errors.append(FieldError(prefix + "email", ErrorCode.INVALID, f"Not a valid e-mail address: {exc}"))
    if need_phone_or_email and not values["phone"] and not values["email"] and "phone" not in required and "email" not in required:
        errors.append(FieldError(prefix + "phone", ErrorCode.REQUIRED, "Give a phone number or an e-mail address."))
    if values["state"]:
        state = values["state"].upper()
        if state not in US_STATES:
            errors.append(FieldError(prefix + "state", ErrorCode.INVALID, f"Not a US state code: {values['state']!r}."))
        else:
            out.state = state
    if values["postal_code"]:
        code = values["postal_code"][:5]
        place = geodata.lookup(code) if code.isdigit() and len(code) == 5 else None
        if place is None:
            errors.append(FieldError(prefix + "postal_code", ErrorCode.INVALID, f"Not a known US ZIP code: {values['postal_code']!r}."))
        else:
            out.postal_code = place.zip_code
            out.city = out.city or place.city
            out.state = out.state or place.state
    return out, errors
