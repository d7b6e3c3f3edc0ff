"""The account's registration page (seed 003): a hosted web form at
``/r/<slug>``, customisable (fields, texts, colours, logo), sending the
visitor on to a page of the account's choosing, and the same intake as an
API (``registrationForm`` / ``submitRegistration``) to embed in the
account's own pages. Its leads enter the account's pipeline and assignment
rules at once.

Protection, all of it in the database so it holds across processes:
- a honeypot field (``website``): a bot that fills it is answered as if all
  went well, and nothing is stored;
- rate limiting per client IP and page: a fixed-window counter counted with
  a conditional update (``count < limit``), ``rate_limit_per_hour``;
- a one-time submit token: signed (HMAC with the server's secret key) when
  the form is served, so serving a form writes nothing; on submit its nonce
  is inserted, unique, in the same transaction as the lead. A double submit
  (a double click, a retry, two processes at once) finds the first one's
  lead instead of making a second.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import random
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core.access import Viewer, require_owner
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.identity import now
from leadwire.core.models.identity import Account
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.marketplace import Product
from leadwire.core.models.workspace import RateCounter, RegistrationPage, RegistrationSubmission
from leadwire.core.workspace import assignment, entry
from leadwire.core.workspace.contact import CONTACT_FIELDS, LABELS, check_contact
from leadwire.core.workspace.setup import ensure_workspace

HONEYPOT = "website"
TOKEN_FIELD = "submit_token"
TOKEN_MAX_AGE = dt.timedelta(hours=24)
RATE_WINDOW = dt.timedelta(hours=1)
FIELD_NAMES = (*CONTACT_FIELDS, "message")
MAX_FIELDS = 30
MAX_MESSAGE = 5000
MAX_CUSTOM = 1000
_DATA_FIELD = re.compile(r"^data\.[a-z][a-z0-9_]{0,59}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_FIELDS = [
    {"name": "first_name", "label": "First name", "required": True},
    {"name": "last_name", "label": "Last name", "required": False},
    {"name": "email", "label": "E-mail", "required": True},
    {"name": "phone", "label": "Phone", "required": False},
    {"name": "postal_code", "label": "ZIP code", "required": False},
    {"name": "message", "label": "How can we help?", "required": False},
]


def _new_slug() -> str:
    return secrets.token_urlsafe(12)


async def page_for(viewer: Viewer) -> RegistrationPage:
    """The account's page (the owner's set-up), created with defaults on first use."""
    require_owner(viewer, "set up the registration page")
    page = await RegistrationPage.get_or_none(account_id=viewer.account_id)
    if page is not None:
        return page
    account = await Account.get(id=viewer.account_id)
    try:
        return await RegistrationPage.create(
            account_id=account.id, slug=_new_slug(), title=f"Contact {account.name}"[:200],
            intro="Tell us what you need and we will get back to you shortly.",
            thank_you_text="Thank you! We will be in touch soon.",
            consent_text=f"I agree that {account.name} may contact me about my enquiry.",
            form_fields=DEFAULT_FIELDS, submit_label="Send",
        )
    except IntegrityError:  # created concurrently
        return await RegistrationPage.get(account_id=viewer.account_id)


@dataclass
class PageChanges:
    """Fields left None are not changed."""

    enabled: bool | None = None
    title: str | None = None
    intro: str | None = None
    submit_label: str | None = None
    thank_you_text: str | None = None
    consent_text: str | None = None
    fields: list[dict[str, Any]] | None = None
    primary_color: str | None = None
    background_color: str | None = None
    text_color: str | None = None
    logo_url: str | None = None
    redirect_url: str | None = None
    product_id: int | None = None
    clear_product: bool = False
    rate_limit_per_hour: int | None = None
    new_slug: bool = False


def _url(value: str, field: str, *, https_only: bool) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    schemes = ("https",) if https_only else ("https", "http")
    if parts.scheme not in schemes or not parts.netloc or len(value) > 500 or any(c in value for c in "\"'<> "):
        need = "an https:// URL" if https_only else "an http(s):// URL"
        raise DomainError.single(field, ErrorCode.INVALID, f"Give {need} of at most 500 characters.")
    return value


def _form_fields(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors: list[FieldError] = []
    out: list[dict[str, Any]] = []
    if not raw:
        raise DomainError.single("fields", ErrorCode.REQUIRED, "A form needs fields.")
    if len(raw) > MAX_FIELDS:
        raise DomainError.single("fields", ErrorCode.TOO_LONG, f"At most {MAX_FIELDS} fields.")
    for i, f in enumerate(raw):
        name = str(f.get("name") or "").strip()
        label = str(f.get("label") or "").strip() or LABELS.get(name, "")
        if name not in FIELD_NAMES and not _DATA_FIELD.match(name):
            errors.append(FieldError(f"fields.{i}.name", ErrorCode.INVALID,
                                     f"{name!r} is not a form field: {', '.join(FIELD_NAMES)} or data.<your_key>."))
            continue
        if any(o["name"] == name for o in out):
            errors.append(FieldError(f"fields.{i}.name", ErrorCode.DUPLICATE, f"The field {name} is listed twice."))
            continue
        if not label:
            errors.append(FieldError(f"fields.{i}.label", ErrorCode.REQUIRED, "A field needs a label."))
            continue
        if len(label) > 100:
            errors.append(FieldError(f"fields.{i}.label", ErrorCode.TOO_LONG, "A label is at most 100 characters."))
            continue
        out.append({"name": name, "label": label, "required": bool(f.get("required"))})
    if not errors and not {"email", "phone"} & {f["name"] for f in out}:
        errors.append(FieldError("fields", ErrorCode.REQUIRED, "A form asks for an e-mail address or a phone number."))
    if errors:
        raise DomainError(*errors)
    return out


def _text(value: str, field: str, label: str, max_length: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise DomainError.single(field, ErrorCode.REQUIRED, f"{label} is required.")
    if len(value) > max_length:
        raise DomainError.single(field, ErrorCode.TOO_LONG, f"{label} is at most {max_length} characters.")
    return value


async def update_page(viewer: Viewer, c: PageChanges) -> RegistrationPage:
    """Customise the page; everything is checked before anything changes."""
    page = await page_for(viewer)
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}

    def run(key: str, check) -> None:
        try:
            changes[key] = check()
        except DomainError as exc:
            errors.extend(exc.errors)

    if c.enabled is not None:
        changes["enabled"] = c.enabled
    if c.title is not None:
        run("title", lambda: _text(c.title, "title", "The title", 200, required=True))
    if c.intro is not None:
        run("intro", lambda: _text(c.intro, "intro", "The introduction", 5000))
    if c.submit_label is not None:
        run("submit_label", lambda: _text(c.submit_label, "submit_label", "The button's label", 60, required=True))
    if c.thank_you_text is not None:
        run("thank_you_text", lambda: _text(c.thank_you_text, "thank_you_text", "The thank-you text", 5000))
    if c.consent_text is not None:
        run("consent_text", lambda: _text(c.consent_text, "consent_text", "The consent text", 5000))
    if c.fields is not None:
        run("form_fields", lambda: _form_fields(c.fields))
    for key, value in (("primary_color", c.primary_color), ("background_color", c.background_color),
                       ("text_color", c.text_color)):
        if value is not None:
            if _COLOR.match(value.strip()):
                changes[key] = value.strip().lower()
            else:
                errors.append(FieldError(f"colors.{key.removesuffix('_color')}", ErrorCode.INVALID,
                                         "A colour is #rrggbb, e.g. #1f6feb."))
    if c.logo_url is not None:
        run("logo_url", lambda: _url(c.logo_url, "logo_url", https_only=True))
    if c.redirect_url is not None:
        run("redirect_url", lambda: _url(c.redirect_url, "redirect_url", https_only=False))
    if c.rate_limit_per_hour is not None:
        if 1 <= c.rate_limit_per_hour <= 10_000:
            changes["rate_limit_per_hour"] = c.rate_limit_per_hour
        else:
            errors.append(FieldError("rate_limit_per_hour", ErrorCode.INVALID, "From 1 to 10,000 submissions per hour."))
    if c.product_id is not None:
        if await Product.exists(id=c.product_id):
            changes["product_id"] = c.product_id
        else:
            errors.append(FieldError("product_id", ErrorCode.NOT_FOUND, "No product with this id."))
    elif c.clear_product:
        changes["product_id"] = None
    if errors:
        raise DomainError(*errors)
    if c.new_slug:
        changes["slug"] = _new_slug()  # the old URL stops working
    if changes:
        await RegistrationPage.filter(id=page.id).update(**changes, updated_at=now())
    return await RegistrationPage.get(id=page.id)


# -- the public side -------------------------------------------------------------------


def _sign(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), f"leadwire-registration:{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def issue_token(page: RegistrationPage, secret: str, at: dt.datetime | None = None) -> str:
    """A one-time submit token for one showing of the form (nothing is written)."""
    body = f"{page.id}.{int((at or now()).timestamp())}.{secrets.token_urlsafe(12)}"
    return f"{body}.{_sign(secret, body)}"


def _nonce(page: RegistrationPage, token: str, secret: str, at: dt.datetime) -> str:
    expired = DomainError.single(TOKEN_FIELD, ErrorCode.INVALID, "This form has expired: reload the page and send it again.")
    try:
        page_id, issued, nonce, signature = (token or "").split(".")
        issued_at = dt.datetime.fromtimestamp(int(issued), dt.timezone.utc)
    except ValueError:
        raise expired from None
    body = f"{page_id}.{issued}.{nonce}"
    if not hmac.compare_digest(signature, _sign(secret, body)) or page_id != str(page.id):
        raise expired
    if not (at - TOKEN_MAX_AGE <= issued_at <= at + dt.timedelta(minutes=5)):
        raise expired
    return hashlib.sha256(body.encode()).hexdigest()


async def public_page(slug: str) -> RegistrationPage | None:
    if not slug or len(slug) > 40:
        return None
    return await RegistrationPage.get_or_none(slug=slug, enabled=True)


async def hit_rate_limit(key: str, limit: int, at: dt.datetime, window: dt.timedelta = RATE_WINDOW) -> bool:
    """Count one hit; False when the key is over its limit in the current window."""
    seconds = int(window.total_seconds())
    start = dt.datetime.fromtimestamp(int(at.timestamp()) // seconds * seconds, dt.timezone.utc)
    await RateCounter.bulk_create([RateCounter(key=key, window_start=start, count=0)], ignore_conflicts=True)
    counted = await RateCounter.filter(key=key, window_start=start, count__lt=limit).update(count=F("count") + 1)
    if random.random() < 0.01:  # housekeeping, now and then
        await RateCounter.filter(window_start__lt=at - dt.timedelta(days=2)).delete()
        await RegistrationSubmission.filter(created_at__lt=at - TOKEN_MAX_AGE - dt.timedelta(days=1)).delete()
    return bool(counted)


@dataclass
class Submitted:
    page: RegistrationPage
    lead_id: int | None  # None: the honeypot caught it (nothing stored)
    created: bool  # False: a repeat of a submit already received


async def submit(
    slug: str,
    values: dict[str, str],
    *,
    token: str,
    ip: str,
    user_agent: str = "",
    page_url: str = "",
    honeypot: str = "",
    secret: str,
    at: dt.datetime | None = None,
) -> Submitted:
    """Take a visitor's submission of a registration form."""
    at = at or now()
    page = await public_page(slug)
    if page is None:
        raise DomainError.single("slug", ErrorCode.NOT_FOUND, "No registration form here.")
    if not await hit_rate_limit(f"registration:{page.id}:{ip}", page.rate_limit_per_hour, at):
        raise DomainError.single(None, ErrorCode.RATE_LIMITED,
                                 "Too many submissions from your network: please try again later.")
    if honeypot.strip():
        return Submitted(page, None, created=False)
    nonce = _nonce(page, token, secret, at)
    earlier = await RegistrationSubmission.get_or_none(nonce=nonce)
    if earlier is not None:
        return Submitted(page, earlier.lead_id, created=False)
    lead = _check(page, values, at, ip=ip, user_agent=user_agent, page_url=page_url)
    await attach_industry(lead)
    await ensure_workspace(page.account_id)
    try:
        async with in_transaction() as conn:
            # First the nonce: a concurrent double submit waits here, then fails.
            submission = await RegistrationSubmission.create(page_id=page.id, nonce=nonce, using_db=conn)
            await entry.place(page.account_id, [lead], conn, at)
            await lead.save(using_db=conn)
            await RegistrationSubmission.filter(id=submission.id).using_db(conn).update(lead_id=lead.id)
    except IntegrityError:
        earlier = await RegistrationSubmission.get_or_none(nonce=nonce)
        if earlier is None:
            raise
        return Submitted(page, earlier.lead_id, created=False)
    assignment.publish_assigned(page.account_id, [lead.id])
    return Submitted(page, lead.id, created=True)


def _check(page: RegistrationPage, values: dict[str, str], at: dt.datetime, **consent: str) -> Lead:
    fields = {f["name"]: f for f in page.form_fields}
    raw = {k: (values.get(k) or "") for k in CONTACT_FIELDS if k in fields}
    required = [k for k in CONTACT_FIELDS if k in fields and fields[k]["required"]]
    contact, errors = check_contact(raw, required=required)
    data: dict[str, str] = {}
    for name, f in fields.items():
        if name in CONTACT_FIELDS:
            continue
        value = (values.get(name) or "").strip()
        limit = MAX_MESSAGE if name == "message" else MAX_CUSTOM
        if f["required"] and not value:
            errors.append(FieldError(name, ErrorCode.REQUIRED, f"{f['label']} is required."))
        elif len(value) > limit:
            errors.append(FieldError(name, ErrorCode.TOO_LONG, f"{f['label']} is at most {limit} characters."))
        elif value:
            data[name.removeprefix("data.")] = value
    if errors:
        raise DomainError(*errors)
    product = page.product_id
    return Lead(
        account_id=page.account_id, origin=LeadOrigin.REGISTRATION, product_id=product, data=data,
        consent_text=page.consent_text, consent_at=at, consent_ip=consent["ip"][:64],
        consent_user_agent=consent["user_agent"][:300], consent_page_url=consent["page_url"][:500],
        **vars(contact),
    )


async def attach_industry(lead: Lead) -> None:
    if lead.product_id and lead.industry_id is None:
        lead.industry_id = await Product.filter(id=lead.product_id).values_list("industry_id", flat=True).first()
