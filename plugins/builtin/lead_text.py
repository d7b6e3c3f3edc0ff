"""How the built-in channels show a sold lead: plain text, HTML and a short
line for text messages, from the plain values of the delivery contract. Shared
by the built-in channel plugins; a third-party channel may use it too."""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

from leadwire.integrations.delivery_errors import DeliveryFailed
from leadwire.plugins.delivery import DeliveryLead, DeliveryRequest, DeliveryResult, DeliverySale


def money(minor: int, currency: str) -> str:
    return f"{minor / 100:,.2f} {currency}"


def local_time(sale: DeliverySale) -> str:
    try:
        zone = ZoneInfo(sale.buyer_time_zone)
    except (KeyError, ValueError):
        zone = dt.timezone.utc
    return sale.sold_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def detail_rows(lead: DeliveryLead) -> list[tuple[str, str]]:
    """(label, value) for the lead's own and industry fields, empty ones left out."""
    rows = [
        ("Name", f"{lead.first_name} {lead.last_name}".strip()),
        ("Phone", lead.phone),
        ("E-mail", lead.email),
        ("Location", f"{lead.city}, {lead.state} {lead.postal_code}".strip(", ")),
        ("Product", f"{lead.industry} / {lead.product}" if lead.industry else lead.product),
    ]
    rows += [(lead.field_labels.get(k, k.replace("_", " ").capitalize()), _value(v)) for k, v in lead.data.items()]
    return [(label, value) for label, value in rows if value not in ("", "None")]


def subject(request: DeliveryRequest) -> str:
    lead = request.lead
    return f"New lead: {lead.first_name} {lead.last_name} ({lead.product}, {lead.city} {lead.state})"


def text_body(request: DeliveryRequest) -> str:
    sale = request.sale
    width = max(len(label) for label, _ in detail_rows(request.lead))
    lines = [subject(request), ""]
    lines += [f"{label.ljust(width)}  {value}" for label, value in detail_rows(request.lead)]
    lines += [
        "",
        f"Bought {local_time(sale)} by campaign {sale.campaign_name!r} for {money(sale.price_minor, sale.currency)}"
        + (" (exclusive)." if sale.exclusive else "."),
        f"Lead #{request.lead.id}: your Leadwire dashboard is the record of this lead.",
    ]
    return "\n".join(lines) + "\n"


def html_body(request: DeliveryRequest) -> str:
    sale = request.sale
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{html.escape(label)}</th>'
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in detail_rows(request.lead)
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{html.escape(subject(request))}</h2><table>{rows}</table>"
        f"<p>Bought {html.escape(local_time(sale))} by campaign <b>{html.escape(sale.campaign_name)}</b> for "
        f"{html.escape(money(sale.price_minor, sale.currency))}{' (exclusive)' if sale.exclusive else ''}.</p>"
        f"<p style=\"color:#666\">Lead #{request.lead.id}: your Leadwire dashboard is the record of this lead.</p>"
        "</body></html>"
    )


def sms_text(request: DeliveryRequest) -> str:
    lead = request.lead
    extras = ", ".join(_value(v) for v in list(lead.data.values())[:3])
    return (
        f"New {lead.product} lead: {lead.first_name} {lead.last_name} {lead.phone}, {lead.city} {lead.state}"
        + (f" ({extras})" if extras else "") + f". Lead #{lead.id} in Leadwire."
    )


def from_failure(failure: DeliveryFailed) -> DeliveryResult:
    """An integration client's failure as the delivery contract's result."""
    if failure.retryable:
        return DeliveryResult.retry(failure.message, failure.status_code, failure.retry_after)
    return DeliveryResult.failed(failure.message, failure.status_code)


def is_loopback_url(hostname: str | None) -> bool:
    return hostname in ("127.0.0.1", "localhost", "::1")
