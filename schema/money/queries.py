"""Money queries: gateways, payments, notifications and the ledger check.
An account's own money is under ``Account.money``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from strawberry import relay

from leadwire.core import access, ledger, notifications, payments
from leadwire.core import returns as core_returns
from leadwire.core.errors import DomainError
from leadwire.core.models import money as mm
from leadwire.schema.money.types import (
    LedgerCheck,
    Notification,
    Payment,
    PaymentGatewayInfo,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnEligibility,
    ReturnRequest,
    ReturnStatus,
)
from leadwire.schema.permissions import IsOperator, IsSignedIn
from leadwire.schema.relay import Connection, decode_id, paginate


@strawberry.type
class MoneyQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="The payment gateways installed (cards, bank transfers...).")
    def payment_gateways(self) -> list[PaymentGatewayInfo]:
        return [PaymentGatewayInfo.from_installed(g) for g in payments.installed()]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Payments, newest first: the owner's own account's; operator staff: every account's (e.g. "
        "status: UNKNOWN, the payments waiting for someone to check them with the gateway).",
    )
    async def payments(
        self, info: Info, status: PaymentStatus | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Payment]:
        qs = access.visible_money(info.context.viewer, mm.Payment)
        if status is not None:
            qs = qs.filter(status=status.value)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=Payment.from_row)

    @strawberry.field(permission_classes=[IsSignedIn], description="Messages about the account's money (its owner), newest first.")
    async def notifications(
        self, info: Info, unread_only: bool = False, first: int | None = None, after: str | None = None
    ) -> Connection[Notification]:
        qs = notifications.visible_notifications(info.context.viewer).filter(account_id=info.context.viewer.account_id)
        if unread_only:
            qs = qs.filter(read_at__isnull=True)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=Notification.from_row)

    @strawberry.field(
        permission_classes=[IsOperator],
        description="Check every account: its balance is the sum of its ledger entries, never below zero, and its "
        "credits are the sum of its entries' credit parts (operator staff).",
    )
    async def ledger_check(self) -> LedgerCheck:
        return LedgerCheck.from_report(await ledger.verify())

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Returns, newest first: a partner's users see the returns of the leads they see; operator staff "
        "see every return (overdue: true lists those still pending past their 10-day due date).",
    )
    async def returns(
        self, info: Info, status: ReturnStatus | None = None, overdue: bool = False,
        account_id: relay.GlobalID | None = None, lead_id: relay.GlobalID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[ReturnRequest]:
        qs = access.visible_returns(info.context.viewer)
        if status is not None:
            qs = qs.filter(status=status.value)
        if overdue:
            qs = core_returns.overdue(qs)
        try:
            if account_id is not None:
                qs = qs.filter(account_id=decode_id(account_id, "Account", "account_id"))
            if lead_id is not None:
                qs = qs.filter(buyer_lead_id=decode_id(lead_id, "Lead", "lead_id"))
        except DomainError:
            qs = qs.filter(id__in=[])
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=ReturnRequest.from_row)

    @strawberry.field(permission_classes=[IsSignedIn], description="Whether a bought lead can be returned now, and until when; "
                      "null when the viewer may not return it.")
    async def return_eligibility(self, info: Info, lead_id: relay.GlobalID) -> ReturnEligibility | None:
        try:
            e = await core_returns.eligibility(info.context.viewer, decode_id(lead_id, "Lead", "lead_id"))
        except DomainError:
            return None
        return ReturnEligibility(
            returnable=e.returnable, delivered_at=e.window.delivered_at, closes_at=e.window.closes_at,
            time_zone=e.window.time_zone, why_not=e.why_not,
            return_request=ReturnRequest.from_row(e.existing) if e.existing else None,
        )

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Refunds of closed accounts, newest first: the owner's own; operator staff: every one (status: "
        "AWAITING_OPERATOR and FAILED are those to pay by hand and record).",
    )
    async def refunds(
        self, info: Info, status: RefundStatus | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Refund]:
        qs = access.visible_money(info.context.viewer, mm.Refund)
        if status is not None:
            qs = qs.filter(status=status.value)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=Refund.from_row)
