"""Delivering sold leads to their buyers through the campaign's channels.

- The channels in force are those plugins registered (``install``, at
  start-up); core never imports a particular channel.
- A campaign's Integration tab stores ``{channel name: settings}``; the
  settings are checked against the channel's declaration when saved
  (:func:`check_campaign_channels`), secrets are never read back
  (:func:`public_channels`).
- Routing calls :func:`schedule_deliveries` inside the sale's transaction: a
  delivery row and its outbox job commit with the sale or not at all.
- The ``deliver`` job runs one attempt: it logs the attempt before calling
  the channel (so an attempt cut short by a dead worker still shows, as
  interrupted), then records the outcome. Temporary failures are retried with
  exponential backoff and jitter (at least the provider's Retry-After) until
  ``max_attempts``, then the delivery has failed; permanent failures stop at
  once. Every attempt of one delivery carries the same idempotency key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import secrets as pysecrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from leadwire.core import http, industries
from leadwire.core.access import Viewer, visible_deliveries
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import now
from leadwire.core.jobs import RetryLater, enqueue, job
from leadwire.core.jobs.outbox import backoff
from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from leadwire.core.settings import Secret
from leadwire.plugins.config import Setting
from leadwire.plugins.delivery import (
    DeliveryChannel,
    DeliveryLead,
    DeliveryOutcome,
    DeliveryRequest,
    DeliveryResult,
    DeliverySale,
)

log = logging.getLogger("leadwire.delivery")

MAX_ATTEMPTS = int(os.environ.get("LEADWIRE_DELIVERY_MAX_ATTEMPTS", "8"))
# A channel that has not answered by then is cut off and retried later, so a
# hanging receiver cannot hold a worker thread.
ATTEMPT_TIMEOUT_SECONDS = float(os.environ.get("LEADWIRE_DELIVERY_TIMEOUT_SECONDS", "30"))
# What the API shows for a secret setting that is set; sending it back unchanged keeps the stored value.
SECRET_MASK = "********"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True)
class InstalledChannel:
    channel: DeliveryChannel
    plugin: str  # the plugin that registered it
    plugin_config: Mapping[str, Any]  # that plugin's validated plugins.toml block

    @property
    def name(self) -> str:
        return self.channel.name


_channels: dict[str, InstalledChannel] = {}


def install(items: Iterable[InstalledChannel]) -> None:
    """Replace the registry; a bad or repeated name is a configuration error."""
    seen: dict[str, InstalledChannel] = {}
    for item in items:
        if not isinstance(item.channel, DeliveryChannel):
            raise ValueError(f"plugin {item.plugin!r} registered a delivery channel that is not a DeliveryChannel")
        if not _NAME.match(item.name or ""):
            raise ValueError(f"plugin {item.plugin!r}: delivery channel name {item.name!r} must match {_NAME.pattern}")
        if item.name in seen:
            raise ValueError(
                f"plugin {item.plugin!r}: delivery channel {item.name!r} is registered already by {seen[item.name].plugin!r}"
            )
        seen[item.name] = item
    _channels.clear()
    _channels.update(seen)


def installed() -> list[InstalledChannel]:
    return sorted(_channels.values(), key=lambda c: c.name)


def channel(name: str) -> InstalledChannel | None:
    return _channels.get(name)


# -- campaign settings -----------------------------------------------------------


def _check_settings(installed_channel: InstalledChannel, raw: Any, stored: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """Type-check one channel's settings; a masked secret keeps its stored value."""
    ch = installed_channel.channel
    prefix = f"channels.{ch.name}"
    if not isinstance(raw, Mapping):
        return {}, [FieldError(prefix, ErrorCode.INVALID, f"The {ch.label or ch.name} settings must be an object.")]
    declared = {s.name: s for s in ch.settings}
    errors: list[FieldError] = []
    for key in raw:
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            errors.append(FieldError(f"{prefix}.{key}", ErrorCode.INVALID, f"Not a setting of this channel (it has: {known})."))
    clean: dict[str, Any] = {}
    for s in ch.settings:
        value = raw.get(s.name)
        if s.secret and value == SECRET_MASK:
            value = stored.get(s.name)
        if value is None or value == "":
            if s.required:
                errors.append(FieldError(f"{prefix}.{s.name}", ErrorCode.REQUIRED, f"{_label(s)} is required."))
            elif s.default is not None:
                clean[s.name] = s.default
            continue
        if not s.accepts(value):
            errors.append(FieldError(f"{prefix}.{s.name}", ErrorCode.INVALID, f"{_label(s)} must be a {s.type}."))
            continue
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            problem = http.url_problem(value)  # the SSRF guard (checked again at connect time)
            if problem:
                errors.append(FieldError(f"{prefix}.{s.name}", ErrorCode.INVALID, f"{_label(s)}: {problem}."))
                continue
        clean[s.name] = value
    if not errors:
        for problem in ch.check(dict(clean)):
            errors.append(FieldError(f"{prefix}.{problem.field}", ErrorCode.INVALID, problem.message))
    return clean, errors


def _label(s: Setting) -> str:
    return s.description.split(".")[0] if s.description else s.name


def check_campaign_channels(raw: Any, stored: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Integration tab as it will be stored, or a DomainError naming each bad field."""
    if not isinstance(raw, Mapping):
        raise DomainError.single("channels", ErrorCode.INVALID, "Channels must be an object: {channel name: settings}.")
    errors: list[FieldError] = []
    out: dict[str, dict[str, Any]] = {}
    for name, settings in raw.items():
        installed_channel = _channels.get(name)
        if installed_channel is None:
            known = ", ".join(sorted(_channels)) or "none"
            errors.append(FieldError(f"channels.{name}", ErrorCode.INVALID, f"No delivery channel {name!r} (installed: {known})."))
            continue
        clean, problems = _check_settings(installed_channel, settings, stored.get(name) or {})
        errors.extend(problems)
        out[name] = clean
    if errors:
        raise DomainError(*errors)
    return out


def public_channels(stored: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The Integration tab as the API shows it: secrets that are set read as SECRET_MASK."""
    out = {}
    for name, settings in (stored or {}).items():
        installed_channel = _channels.get(name)
        secret_names = {s.name for s in installed_channel.channel.settings if s.secret} if installed_channel else set()
        out[name] = {
            k: (SECRET_MASK if k in secret_names and v not in (None, "") else v) for k, v in (settings or {}).items()
        }
        if installed_channel is None:  # a channel whose plugin is gone: show no values at all
            out[name] = {k: SECRET_MASK for k in settings or {}}
    return out


# -- scheduling (inside the sale's transaction) ---------------------------------------


def new_idempotency_key() -> str:
    return "dlv_" + pysecrets.token_hex(16)


async def schedule_deliveries(
    *, sale_id: int, account_id: int, buyer_lead_id: int, channel_names: Iterable[str], conn
) -> None:
    """One delivery per channel of the campaign, and its job, in the caller's transaction."""
    for name in channel_names:
        delivery = await Delivery.create(
            sale_id=sale_id, account_id=account_id, buyer_lead_id=buyer_lead_id, channel=name,
            idempotency_key=new_idempotency_key(), max_attempts=MAX_ATTEMPTS, using_db=conn,
        )
        await _enqueue(delivery, conn)


async def _enqueue(delivery: Delivery, conn) -> None:
    # The outbox may run the job a few more times than the delivery's own
    # attempts (a worker that died mid-attempt); the delivery decides when to stop.
    await enqueue("deliver", {"delivery_id": delivery.id}, max_attempts=delivery.max_attempts + 4, using_db=conn)


# -- reading and re-sending ----------------------------------------------------------


async def resend(viewer: Viewer, delivery_id: int) -> Delivery:
    """Send a finished delivery again, as a new delivery with a new key (the
    buyer wants the lead to arrive again, so the receiver must not drop it)."""
    previous = await visible_deliveries(viewer).get_or_none(id=delivery_id)
    if previous is None:
        raise not_found("delivery_id", "delivery")
    if previous.status == DeliveryStatus.PENDING:
        raise DomainError.single("delivery_id", ErrorCode.INVALID, "This delivery is still being attempted; wait for it to finish.")
    async with in_transaction() as conn:
        last = await Delivery.filter(sale_id=previous.sale_id, channel=previous.channel).using_db(conn).order_by(
            "-generation"
        ).first()
        delivery = await Delivery.create(
            sale_id=previous.sale_id, account_id=previous.account_id, buyer_lead_id=previous.buyer_lead_id,
            channel=previous.channel, generation=last.generation + 1, idempotency_key=new_idempotency_key(),
            max_attempts=MAX_ATTEMPTS, requested_by_id=viewer.membership_id, using_db=conn,
        )
        await _enqueue(delivery, conn)
    return delivery


# -- the job -----------------------------------------------------------------------------


def _secret_values(mapping: Mapping[str, Any], secret_names: set[str], plugin_config: Mapping[str, Any]) -> list[str]:
    """Every secret string to keep out of the log: Secret values, and the
    strings inside secret settings that are lists or objects (e.g. headers)."""
    values = [v.reveal() for v in (*mapping.values(), *plugin_config.values()) if isinstance(v, Secret)]
    for name in secret_names:
        value = mapping.get(name)
        if isinstance(value, dict):
            values += [str(v) for v in value.values()]
        elif isinstance(value, list):
            values += [str(v) for v in value]
    return [v for v in values if len(v) >= 4]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def scrub(text: str, secret_values: Iterable[str], limit: int = 2000) -> str:
    """Text from a channel, fit for the log: every secret value replaced
    (providers echo credentials back) and control characters dropped (a
    receiver's garbage answer must not break the write: PostgreSQL refuses NUL)."""
    for value in secret_values:
        text = text.replace(value, "***")
    return _CONTROL.sub("", text)[:limit]


async def _request_for(delivery: Delivery, sale, installed_channel: InstalledChannel, settings: dict) -> DeliveryRequest:
    """``sale`` with its campaign and account fetched."""
    from leadwire.core.models.leads import Lead

    lead = await Lead.get(id=delivery.buyer_lead_id).select_related("industry", "product")
    schema = industries.schema_for(lead.industry.schema_key) if lead.industry else None
    labels = {f.name: f.label for f in schema.fields} if schema else {}
    return DeliveryRequest(
        sale=DeliverySale(
            id=sale.id, sold_at=sale.sold_at, price_minor=sale.price_minor, currency=sale.currency,
            exclusive=sale.exclusive, campaign_name=sale.campaign.name, buyer_name=sale.account.name,
            buyer_time_zone=sale.campaign.time_zone,
        ),
        lead=DeliveryLead(
            id=lead.id, first_name=lead.first_name, last_name=lead.last_name, email=lead.email, phone=lead.phone,
            postal_code=lead.postal_code, city=lead.city, state=lead.state,
            industry=lead.industry.name if lead.industry else "", industry_key=lead.industry.schema_key if lead.industry else "",
            product=lead.product.name if lead.product else "", data=dict(lead.data or {}), field_labels=labels,
        ),
        settings=settings,
        plugin_config=installed_channel.plugin_config,
        idempotency_key=delivery.idempotency_key,
        attempt=delivery.attempts + 1,
        http=http.client(),
    )


async def _finish(delivery: Delivery, outcome: DeliveryStatus, error: str = "") -> None:
    await Delivery.filter(id=delivery.id, status=DeliveryStatus.PENDING).update(
        status=outcome, finished_at=now(), next_attempt_at=None, last_error=error
    )


@job("deliver")
async def deliver(delivery_id: int) -> None:
    """One attempt of one delivery. Idempotent: a finished delivery is left alone."""
    from leadwire.core.models.marketplace import LeadSale

    delivery = await Delivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    if delivery.attempts:
        # An attempt still "in progress" here was cut short (its worker died).
        await DeliveryAttempt.filter(delivery_id=delivery.id, outcome=AttemptOutcome.IN_PROGRESS).update(
            outcome=AttemptOutcome.INTERRUPTED, error="the worker stopped during this attempt"
        )
    installed_channel = _channels.get(delivery.channel)
    # The campaign's settings as they are now (a partner may have fixed a wrong URL since the sale).
    sale = await LeadSale.get(id=delivery.sale_id).select_related("campaign", "account")
    stored = sale.campaign.channels or {}
    if installed_channel is None:
        await _finish(delivery, DeliveryStatus.FAILED, f"No delivery channel {delivery.channel!r} is installed.")
        return
    if delivery.channel not in stored:
        await _finish(delivery, DeliveryStatus.FAILED, "The campaign no longer uses this channel.")
        return
    clean, problems = _check_settings(installed_channel, stored[delivery.channel], stored[delivery.channel])
    if problems:
        await _finish(delivery, DeliveryStatus.FAILED, "The campaign's settings for this channel are no longer valid: "
                      + "; ".join(f"{p.field}: {p.message}" for p in problems))
        return
    secret_names = {s.name for s in installed_channel.channel.settings if s.secret}
    settings = {k: Secret(v) if k in secret_names and isinstance(v, str) else v for k, v in clean.items()}
    hidden = _secret_values(settings, secret_names, installed_channel.plugin_config)

    request = await _request_for(delivery, sale, installed_channel, settings)
    number = delivery.attempts + 1
    started = now()
    # The attempt's row and the count together: a database lost between the two
    # left a row the count did not know, and every later attempt collided with
    # it (same number) until the delivery died (found by the crash tests).
    async with in_transaction() as conn:
        attempt = await DeliveryAttempt.create(delivery_id=delivery.id, number=number, started_at=started, using_db=conn)
        await Delivery.filter(id=delivery.id).using_db(conn).update(attempts=number)
    t0 = time.perf_counter()
    try:
        result = await asyncio.wait_for(installed_channel.channel.deliver(request), ATTEMPT_TIMEOUT_SECONDS)
        if not isinstance(result, DeliveryResult):
            result = DeliveryResult.retry(f"the channel returned {type(result).__name__}, not a DeliveryResult")
    except TimeoutError:
        result = DeliveryResult.retry(f"no answer within {ATTEMPT_TIMEOUT_SECONDS:g} s")
    except Exception as exc:  # a plugin bug must not lose the delivery: log it and retry
        log.exception("delivery channel %s raised", delivery.channel)
        result = DeliveryResult.retry(f"{type(exc).__name__}: {exc}")
    latency_ms = round((time.perf_counter() - t0) * 1000)
    error = scrub(result.error, hidden)
    provider_message_id = scrub(result.provider_message_id, hidden, 200)
    outcome = {
        DeliveryOutcome.DELIVERED: AttemptOutcome.DELIVERED,
        DeliveryOutcome.FAILED: AttemptOutcome.FAILED,
    }.get(result.outcome, AttemptOutcome.RETRY)
    gave_up = outcome == AttemptOutcome.RETRY and number >= delivery.max_attempts
    async with in_transaction() as conn:
        await DeliveryAttempt.filter(id=attempt.id).using_db(conn).update(
            outcome=outcome, latency_ms=latency_ms, status_code=result.status_code,
            provider_message_id=provider_message_id, error=error,
        )
        if outcome == AttemptOutcome.DELIVERED:
            await Delivery.filter(id=delivery.id).using_db(conn).update(
                status=DeliveryStatus.DELIVERED, finished_at=now(), next_attempt_at=None, last_error="",
                provider_message_id=provider_message_id,
            )
        elif outcome == AttemptOutcome.FAILED or gave_up:
            final = error if outcome == AttemptOutcome.FAILED else f"gave up after {number} attempts: {error}"
            await Delivery.filter(id=delivery.id).using_db(conn).update(
                status=DeliveryStatus.FAILED, finished_at=now(), next_attempt_at=None, last_error=final
            )
        else:
            wait = backoff(number).total_seconds()
            if result.retry_after is not None:
                wait = max(wait, result.retry_after)
            await Delivery.filter(id=delivery.id).using_db(conn).update(
                last_error=error, next_attempt_at=now() + dt.timedelta(seconds=wait)
            )
    if outcome == AttemptOutcome.RETRY and not gave_up:
        raise RetryLater(f"delivery {delivery.id} via {delivery.channel}: {error}", after=wait)
