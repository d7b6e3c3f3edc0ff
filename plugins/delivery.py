"""The contract of a delivery channel plugin.

Seed 000: the dashboard is the official record of a lead delivered; as a
courtesy each sold lead is also pushed to the buyer (e-mail, text message, the
buyer's CRM). A channel plugin returns :class:`DeliveryChannel` objects from
the ``leadwire_register_delivery_channels`` hook. A channel declares

- its ``name`` (the key campaigns use in their Integration tab) and a label;
- its per-campaign ``settings`` (typed; secrets marked), which Leadwire
  validates when a partner saves a campaign, plus an optional ``check`` for
  rules types cannot say (an e-mail address, a URL);
- an async ``deliver`` that receives a :class:`DeliveryRequest` (plain
  values, never ORM rows) and returns a :class:`DeliveryResult`.

Leadwire runs ``deliver`` from a background job, at least once: the request
carries an ``idempotency_key`` that stays the same across retries of one
delivery, so a receiver can drop repeats. ``deliver`` should not raise: an
exception is recorded as a retryable failure with its type and message.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from leadwire.plugins.config import Setting

__all__ = [
    "ChannelSetting", "DeliveryChannel", "DeliveryLead", "DeliveryOutcome", "DeliveryRequest", "DeliveryResult",
    "DeliverySale", "SettingProblem",
]

# Per-campaign settings use the same declaration as plugin settings.
ChannelSetting = Setting


class DeliveryOutcome(str, Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a temporary failure: try again later
    FAILED = "failed"  # a permanent failure: trying again cannot help


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    provider_message_id: str = ""
    status_code: int | None = None  # the provider's HTTP (or SMTP) status, if any
    error: str = ""  # for the delivery log; never include a secret
    retry_after: float | None = None  # seconds, when the provider said (HTTP Retry-After)

    @classmethod
    def delivered(cls, provider_message_id: str = "", status_code: int | None = None) -> DeliveryResult:
        return cls(DeliveryOutcome.DELIVERED, provider_message_id=provider_message_id, status_code=status_code)

    @classmethod
    def retry(cls, error: str, status_code: int | None = None, retry_after: float | None = None) -> DeliveryResult:
        return cls(DeliveryOutcome.RETRY, error=error, status_code=status_code, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str, status_code: int | None = None) -> DeliveryResult:
        return cls(DeliveryOutcome.FAILED, error=error, status_code=status_code)


@dataclass(frozen=True)
class DeliveryLead:
    """The lead as the buyer owns it (the buyer's copy)."""

    id: int  # the buyer's own lead (GraphQL: the global ID of Lead:<id>)
    first_name: str
    last_name: str
    email: str
    phone: str  # E.164
    postal_code: str
    city: str
    state: str
    industry: str  # the industry's name
    industry_key: str  # its schema key, e.g. "moving"
    product: str
    data: Mapping[str, Any]  # the industry's fields, normalised
    field_labels: Mapping[str, str]  # data key -> the industry schema's label

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "first_name": self.first_name, "last_name": self.last_name, "email": self.email,
            "phone": self.phone, "postal_code": self.postal_code, "city": self.city, "state": self.state,
            "industry": self.industry, "product": self.product, "data": dict(self.data),
        }


@dataclass(frozen=True)
class DeliverySale:
    id: int  # the sale (GraphQL: LeadSale:<id>)
    sold_at: dt.datetime  # UTC
    price_minor: int
    currency: str
    exclusive: bool
    campaign_name: str
    buyer_name: str  # the buying partner's company name
    buyer_time_zone: str  # the campaign's time zone, for showing times to the buyer

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sold_at": self.sold_at.isoformat(), "price_minor": self.price_minor,
            "currency": self.currency, "exclusive": self.exclusive, "campaign": self.campaign_name,
        }


@dataclass(frozen=True)
class DeliveryRequest:
    sale: DeliverySale
    lead: DeliveryLead
    # The campaign's settings for this channel, validated; secret values are
    # leadwire.core.settings.Secret (call .reveal()).
    settings: Mapping[str, Any]
    # The channel plugin's own settings from plugins.toml (same rules).
    plugin_config: Mapping[str, Any]
    idempotency_key: str  # the same for every attempt of this delivery
    attempt: int  # 1 for the first try
    http: Any  # a shared httpx.AsyncClient; set your own timeout per request
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SettingProblem:
    field: str  # the setting's name
    message: str


class DeliveryChannel(abc.ABC):
    """Subclass and register an instance. Class attributes describe it."""

    name: str = ""
    label: str = ""
    description: str = ""
    settings: tuple[Setting, ...] = ()

    def check(self, settings: Mapping[str, Any]) -> list[SettingProblem]:
        """Rules the declared types cannot express. ``settings`` are already
        type-checked, with defaults filled and secrets still plain strings."""
        return []

    @abc.abstractmethod
    async def deliver(self, request: DeliveryRequest) -> DeliveryResult:
        """Send one lead. Return a result rather than raising."""
