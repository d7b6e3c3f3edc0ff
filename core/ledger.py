"""Money: the one home of the balance rules.

A partner's balance changes only here, always in the same transaction as the
ledger entry that explains it, and never below zero: the debit is a
conditional update (``balance >= amount``) that the database checks, so it
holds across any number of processes on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.functions import Sum

from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.identity import Account, AccountStatus
from leadwire.core.models.ledger import EntryKind, LedgerEntry

MARKET_CURRENCY = "USD"


async def debit_for_sale(account_id: int, amount_minor: int, sale_id: int, conn) -> bool:
    """Charge a sale to an active account. False (and nothing written) when the
    balance does not cover it. Call inside the sale's transaction."""
    paid = await Account.filter(
        id=account_id, balance_minor__gte=amount_minor, status=AccountStatus.ACTIVE
    ).using_db(conn).update(balance_minor=F("balance_minor") - amount_minor)
    if not paid:
        return False
    await LedgerEntry.create(
        account_id=account_id,
        kind=EntryKind.LEAD_CHARGE,
        amount_minor=-amount_minor,
        currency=MARKET_CURRENCY,
        sale_id=sale_id,
        using_db=conn,
    )
    return True


async def credit(account_id: int, amount_minor: int, kind: EntryKind, memo: str, conn) -> None:
    """Add money (a deposit, a return credit, a positive adjustment)."""
    if amount_minor <= 0:
        raise DomainError.single("amount_minor", ErrorCode.INVALID, "The amount must be positive.")
    await Account.filter(id=account_id).using_db(conn).update(balance_minor=F("balance_minor") + amount_minor)
    await LedgerEntry.create(
        account_id=account_id, kind=kind, amount_minor=amount_minor, currency=MARKET_CURRENCY, memo=memo[:300],
        using_db=conn,
    )


async def ledger_sum(account_id: int) -> int:
    row = await LedgerEntry.filter(account_id=account_id).annotate(total=Sum("amount_minor")).first().values("total")
    return int(row["total"] or 0) if row else 0
