"""GraphQL types of deliveries: the courtesy copies of a sold lead and each attempt."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import delivery as core_delivery
from leadwire.core.models import delivery as d

if TYPE_CHECKING:
    from leadwire.schema.leads.types import Lead

DeliveryStatus = strawberry.enum(d.DeliveryStatus, name="DeliveryStatus")
AttemptOutcome = strawberry.enum(d.AttemptOutcome, name="DeliveryAttemptOutcome")


@strawberry.type(description="One try of a delivery, as the delivery log shows it.")
class DeliveryAttempt:
    number: int
    started_at: datetime
    latency_ms: int | None
    outcome: AttemptOutcome
    status_code: int | None = strawberry.field(description="The provider's HTTP or SMTP status, when there was one.")
    provider_message_id: str
    error: str = strawberry.field(description="What went wrong, secrets removed.")

    @classmethod
    def from_row(cls, r: d.DeliveryAttempt) -> DeliveryAttempt:
        return cls(
            number=r.number, started_at=r.started_at, latency_ms=r.latency_ms, outcome=r.outcome,
            status_code=r.status_code, provider_message_id=r.provider_message_id, error=r.error,
        )


@strawberry.type(description="A sold lead pushed to its buyer through one channel (a courtesy: the sale is the record).")
class Delivery(relay.Node):
    id: relay.NodeID[int]
    channel: str
    status: DeliveryStatus
    attempts: int = strawberry.field(description="Attempts made so far.")
    max_attempts: int
    next_attempt_at: datetime | None
    provider_message_id: str
    last_error: str
    idempotency_key: str = strawberry.field(description="The same on every attempt: receivers drop repeats by it.")
    resend: bool = strawberry.field(description="True when a user asked for this delivery again.")
    created_at: datetime
    finished_at: datetime | None
    _buyer_lead_id: strawberry.Private[int]
    _sale_id: strawberry.Private[int]
    _account_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: d.Delivery) -> Delivery:
        return cls(
            id=r.id, channel=r.channel, status=r.status, attempts=r.attempts, max_attempts=r.max_attempts,
            next_attempt_at=r.next_attempt_at if r.status == d.DeliveryStatus.PENDING else None,
            provider_message_id=r.provider_message_id, last_error=r.last_error, idempotency_key=r.idempotency_key,
            resend=r.generation > 1, created_at=r.created_at, finished_at=r.finished_at, _buyer_lead_id=r.buyer_lead_id,
            _sale_id=r.sale_id, _account_id=r.account_id,
        )

    @strawberry.field(description="The channel's label, e.g. E-mail.")
    def channel_label(self) -> str:
        installed = core_delivery.channel(self.channel)
        return (installed.channel.label or installed.name) if installed else self.channel

    @strawberry.field(description="The lead delivered: the buyer's own copy; for operator staff, the marketplace lead.")
    async def lead(self, info: Info) -> Annotated["Lead", strawberry.lazy("leadwire.schema.leads.types")] | None:
        from leadwire.schema.leads.types import Lead

        viewer = info.context.viewer
        lead_id = self._buyer_lead_id
        if viewer.is_operator:
            lead_id = (await info.context.loaders.sale.load(self._sale_id)).lead_id
        row = await info.context.loaders.visible_lead(viewer).load(lead_id)
        return Lead.from_row(row) if row else None

    @strawberry.field(description="The buying partner's company name.")
    async def partner_name(self, info: Info) -> str:
        account = await info.context.loaders.account.load(self._account_id)
        return account.name if account else ""

    @strawberry.field(description="Every attempt, oldest first.")
    async def attempt_log(self, info: Info) -> list[DeliveryAttempt]:
        return [DeliveryAttempt.from_row(a) for a in await info.context.loaders.delivery_attempts.load(self.id)]


@strawberry.type(description="One setting a campaign gives a delivery channel (its Integration tab builds a form from these).")
class ChannelSetting:
    name: str
    type: str = strawberry.field(description="str, int, bool, float, list or dict.")
    required: bool
    secret: bool = strawberry.field(description="Write-only: read back as ********; send ******** to keep it.")
    description: str
    default: strawberry.scalars.JSON | None


@strawberry.type(description="A delivery channel a plugin provides.")
class DeliveryChannel:
    name: str
    label: str
    description: str
    plugin: str
    settings: list[ChannelSetting]

    @classmethod
    def from_installed(cls, c: core_delivery.InstalledChannel) -> DeliveryChannel:
        return cls(
            name=c.name, label=c.channel.label or c.name, description=c.channel.description, plugin=c.plugin,
            settings=[
                ChannelSetting(name=s.name, type=s.type, required=s.required, secret=s.secret, description=s.description,
                               default=None if s.secret else s.default)
                for s in c.channel.settings
            ],
        )
