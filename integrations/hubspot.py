"""Contacts in HubSpot CRM (API v3), through a private app's access token.

Create, and when HubSpot answers 409 "Contact already exists. Existing ID:
123" (a contact with that e-mail is there), update that contact instead. The
pair makes a retry safe: a second attempt finds the contact the first made.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from .delivery_errors import DeliveryFailed, classify_http, redact, snippet, transport_failure

__all__ = ["HubSpotConfig", "PropertyValue", "parse_existing_id", "upsert_contact"]

log = logging.getLogger(__name__)

SERVICE = "HubSpot"
CONTACTS_PATH = "/crm/v3/objects/contacts"
WRITE_SCOPE = "crm.objects.contacts.write"
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_TOKEN = re.compile(r"[!-~]+")  # visible ASCII: anything else cannot travel in a header

PropertyValue = str | int | float | bool | None


@dataclass(frozen=True, kw_only=True)
class HubSpotConfig:
    access_token: str = field(repr=False)  # a private app token (pat-...)
    base_url: str = "https://api.hubapi.com"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not _TOKEN.fullmatch(self.access_token):
            raise ValueError("access_token must be non-empty visible ASCII (a HubSpot private app token)")
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// or http://")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")


def parse_existing_id(message: str) -> str | None:
    """The contact id in HubSpot's 409 message "Contact already exists. Existing ID: 123"."""
    found = _EXISTING_ID.search(message)
    return found.group(1) if found else None


async def upsert_contact(
    http: httpx.AsyncClient, config: HubSpotConfig, properties: Mapping[str, PropertyValue]
) -> str:
    """Create the contact, or update the one with the same e-mail; returns its id.

    ``properties`` use HubSpot's internal names (email, firstname, phone,
    or custom ones the portal defined). None values are left out, so an
    update never blanks a field. Raises :class:`DeliveryFailed`: retryable for
    429 (with Retry-After), 5xx, timeouts and connection failures; permanent
    for 401/403 (token invalid or missing the crm.objects.contacts.write
    scope) and other 4xx (an unknown property, a bad value).
    """
    body = {"properties": _as_hubspot_values(properties)}
    base = config.base_url.rstrip("/")
    response, answer = await _call(http, config, "POST", f"{base}{CONTACTS_PATH}", body)
    if response.status_code == 409:
        existing_id = parse_existing_id(str(answer.get("message", ""))) if isinstance(answer, dict) else None
        if existing_id is None:
            raise DeliveryFailed(
                redact(f"{SERVICE} answered HTTP 409 without the existing contact's id: {_detail(response, answer)}",
                       (config.access_token,)),
                retryable=False, status_code=409,
            )
        response, answer = await _call(http, config, "PATCH", f"{base}{CONTACTS_PATH}/{existing_id}", body)
        if response.status_code == 404:  # merged or deleted since the 409: the next attempt creates it
            raise DeliveryFailed(
                f"{SERVICE}: contact {existing_id} vanished between create and update", retryable=True, status_code=404
            )
    _raise_for_failure(response, answer, config.access_token)
    contact_id = answer.get("id") if isinstance(answer, dict) else None
    if isinstance(contact_id, (str, int)) and not isinstance(contact_id, bool) and str(contact_id):
        return str(contact_id)
    if body["properties"].get("email"):
        # A 2xx we cannot read (a proxy's page?). With an e-mail a retry is
        # safe and tells us the id: HubSpot answers 409 and we update.
        raise DeliveryFailed(
            redact(f"{SERVICE} answered HTTP {response.status_code} without a contact id: {_detail(response, answer)}",
                   (config.access_token,)),
            retryable=True, status_code=response.status_code,
        )
    # Without an e-mail HubSpot cannot match a retry to this contact and would
    # create a duplicate: the contact exists, only its id is unknown.
    log.warning("HubSpot answered HTTP %s without a contact id", response.status_code)
    return ""


def _as_hubspot_values(properties: Mapping[str, PropertyValue]) -> dict[str, str]:
    """HubSpot takes every property value as a string; booleans as true/false."""
    values: dict[str, str] = {}
    for name, value in properties.items():
        if not isinstance(name, str) or not name:
            raise ValueError("property names must be non-empty strings")
        if value is None:
            continue
        values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return values


async def _call(
    http: httpx.AsyncClient, config: HubSpotConfig, method: str, url: str, body: dict
) -> tuple[httpx.Response, object]:
    try:
        response = await http.request(
            method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {config.access_token}", "Accept": "application/json"},
            timeout=config.timeout,
            follow_redirects=False,
        )
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        raise transport_failure(exc, service=SERVICE) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return response, answer


def _detail(response: httpx.Response, answer: object) -> str:
    """HubSpot's error JSON: {"status": "error", "message": "...", "category": "VALIDATION_ERROR", ...}."""
    if isinstance(answer, dict) and answer.get("message"):
        category = answer.get("category") or answer.get("errorType")
        return (f"{category}: " if category else "") + snippet(str(answer["message"]), 300)
    return f"unexpected body: {snippet(response.text, 100)}" if response.text.strip() else "empty body"


def _raise_for_failure(response: httpx.Response, answer: object, token: str) -> None:
    status = response.status_code
    if status in (401, 403):
        why = (
            "the access token is invalid, expired or revoked" if status == 401
            else f"the private app lacks the {WRITE_SCOPE} scope (or this portal refuses it)"
        )
        raise DeliveryFailed(
            redact(f"{SERVICE} refused the access token (HTTP {status}): {why}. {_detail(response, answer)}", (token,)),
            retryable=False, status_code=status,
        )
    failure = classify_http(response, service=SERVICE, detail=_detail(response, answer), secrets=(token,))
    if failure is not None:
        raise failure
