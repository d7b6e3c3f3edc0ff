"""Money queries: gateways, payments, notifications and the ledger check.
An account's own money is under ``Account.money``."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from leadwire.core import access, ledger, notifications, payments
from leadwire.core.models import money as mm
from leadwire.schema.money.types import (
    LedgerCheck,
    Notification,
    Payment,
    PaymentGatewayInfo,
    PaymentStatus,
)
from leadwire.schema.permissions import IsOperator, IsSignedIn
from leadwire.schema.relay import Connection, paginate


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
