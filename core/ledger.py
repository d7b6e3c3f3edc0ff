"""Money: the one home of the balance rules.

- A partner's balance changes only here, always in the same transaction as the
  ledger entry that explains it: the balance is the sum of the account's
  entries, and :func:`verify` (``leadwire check``, the operators' GraphQL
  ``ledgerCheck``) proves it for every account.
- The balance never goes below zero: every debit is a conditional update
  (``balance >= amount``) that the database checks, so it holds across any
  number of processes on PostgreSQL and SQLite alike.
- The balance has two parts: **credits** (approved returns, the operator's
  goodwill adjustments), which are never refunded, and the rest, money the
  partner deposited, which is refunded when the account closes (seed 000).
  Spending (a lead, a negative adjustment) uses credits first, so a partner
  never loses refundable money while holding credits. Each entry records the
  part of its amount that moved the credits (``credit_minor``), so the credit
  balance is also a sum of entries, and ``0 <= credits <= balance`` always.
- Lock order: every money transaction writes the account row first (the
  debit itself, or :func:`lock_account`), then the rows that depend on it
  (auto-charge, payments, returns). One account's money transactions
  therefore run one at a time, and never deadlock one another.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import F
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from leadwire.core.access import Viewer, require_operator
from leadwire.core.db import Statement
from leadwire.core.identity import now
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.models.identity import Account, AccountKind, AccountStatus
from leadwire.core.models.ledger import EntryKind, LedgerEntry

MARKET_CURRENCY = "USD"
MAX_ADJUSTMENT_MINOR = 100_000_000  # $1,000,000 at once

# What spending needs to read back once it holds the account row, when the
# one-statement path did not apply.
_AFTER_SPEND = ("balance_minor", "credit_minor", "auto_charge_below_minor")


async def lock_account(account_id: int, conn, *, active_only: bool = True) -> bool:
    """Write the account row (a no-op change) so that this transaction holds it:
    the first step of every money transaction. False when the account does
    not exist, or is closed and ``active_only``."""
    qs = Account.filter(id=account_id)
    if active_only:
        qs = qs.filter(status=AccountStatus.ACTIVE)
    return bool(await qs.using_db(conn).update(status=F("status")))


# The usual debit in one statement: an active account with no credits whose
# balance stays at or above its auto-charge level (or has none).
_DEBIT_SIMPLE = Statement(
    'UPDATE "account" SET "balance_minor" = "balance_minor" - $2 WHERE "id" = $1 AND "balance_minor" >= $2 '
    'AND "status" = $3 AND "credit_minor" = 0 '
    'AND ("auto_charge_below_minor" IS NULL OR "auto_charge_below_minor" <= "balance_minor" - $2)'
)


_RECORD_DEBIT = Statement(
    'INSERT INTO "ledger_entry" ("account_id", "kind", "amount_minor", "credit_minor", "currency", "sale_id", '
    '"actor_id", "memo", "created_at") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING "id"'
)


async def _spend(
    account_id: int, amount_minor: int, kind: EntryKind, conn, *, memo: str = "",
    sale_id: int | None = None, actor_id: int | None = None,
) -> int | None:
    """Take ``amount_minor`` from an active account's balance, credits first;
    the ledger entry's id. None (and nothing written) when the balance does
    not cover it.

    The usual case is one statement: an account with no credits whose balance
    stays at or above its auto-charge level (or has none). Otherwise the
    debit, then a read of the row this transaction now holds, then the
    credits' part and, when the balance crosses the level, the auto-charge."""
    row = None
    if await _DEBIT_SIMPLE.rows_changed(conn, account_id, amount_minor, AccountStatus.ACTIVE.value):
        from_credit = 0
    elif await Account.filter(
        id=account_id, balance_minor__gte=amount_minor, status=AccountStatus.ACTIVE
    ).using_db(conn).update(balance_minor=F("balance_minor") - amount_minor):
        # The row is ours until commit: what we read now is what we wrote.
        row = (await Account.filter(id=account_id).using_db(conn).values(*_AFTER_SPEND))[0]
        from_credit = min(row["credit_minor"], amount_minor)
        if from_credit:
            await Account.filter(id=account_id).using_db(conn).update(credit_minor=F("credit_minor") - from_credit)
    else:
        return None
    [entry] = await _RECORD_DEBIT.returning(
        conn, account_id, kind.value, -amount_minor, -from_credit, MARKET_CURRENCY, sale_id, actor_id, memo[:300],
        now(),
    )
    if row is not None and row["auto_charge_below_minor"] is not None and row["balance_minor"] < row["auto_charge_below_minor"]:
        from leadwire.core import autocharge

        await autocharge.make_due(account_id, f"entry:{entry['id']}", conn)
    return entry["id"]


async def debit_for_sale(account_id: int, amount_minor: int, sale_id: int, conn) -> bool:
    """Charge a sale to an active account. False (and nothing written) when the
    balance does not cover it. Call inside the sale's transaction: when the
    sale takes the balance below the account's auto-charge threshold, the
    auto-charge job is written to the outbox in this same transaction."""
    return await _spend(account_id, amount_minor, EntryKind.LEAD_CHARGE, conn, sale_id=sale_id) is not None


async def debit(
    account_id: int, amount_minor: int, kind: EntryKind, memo: str, conn, *, actor_id: int | None = None,
) -> LedgerEntry | None:
    """Take money from an active account's balance (credits first). None when it
    does not cover the amount."""
    if amount_minor <= 0:
        raise DomainError.single("amount_minor", ErrorCode.INVALID, "The amount must be positive.")
    entry_id = await _spend(account_id, amount_minor, kind, conn, memo=memo, actor_id=actor_id)
    return None if entry_id is None else await LedgerEntry.get(id=entry_id).using_db(conn)


_REFUNDABLE_BY_KIND = {EntryKind.DEPOSIT: True, EntryKind.RETURN_CREDIT: False, EntryKind.ADJUSTMENT: False}


async def credit(
    account_id: int,
    amount_minor: int,
    kind: EntryKind,
    memo: str,
    conn,
    *,
    payment_id: int | None = None,
    return_request_id: int | None = None,
    actor_id: int | None = None,
) -> LedgerEntry:
    """Add money: a deposit (refundable), a return credit or a positive
    adjustment (credits, never refunded)."""
    if amount_minor <= 0:
        raise DomainError.single("amount_minor", ErrorCode.INVALID, "The amount must be positive.")
    if kind not in _REFUNDABLE_BY_KIND:
        raise ValueError(f"{kind} is not a kind of credit")
    credit_part = 0 if _REFUNDABLE_BY_KIND[kind] else amount_minor
    await Account.filter(id=account_id).using_db(conn).update(
        balance_minor=F("balance_minor") + amount_minor, credit_minor=F("credit_minor") + credit_part
    )
    return await LedgerEntry.create(
        account_id=account_id, kind=kind, amount_minor=amount_minor, credit_minor=credit_part,
        currency=MARKET_CURRENCY, payment_id=payment_id, return_request_id=return_request_id, actor_id=actor_id,
        memo=memo[:300], using_db=conn,
    )


async def take_for_closure(
    account_id: int, *, refundable_minor: int, credit_minor: int, kind: EntryKind, memo: str, closure_id: int, conn,
) -> LedgerEntry:
    """Move money out of a closing account: ``refundable_minor`` of deposited
    money and ``credit_minor`` of credits (core.accounts_closing, which holds
    the account row and computed both from it). The update is conditional on
    both parts being there, so a mistake raises instead of going negative."""
    total = refundable_minor + credit_minor
    done = await Account.filter(
        id=account_id, balance_minor__gte=F("credit_minor") + refundable_minor, credit_minor__gte=credit_minor,
    ).using_db(conn).update(balance_minor=F("balance_minor") - total, credit_minor=F("credit_minor") - credit_minor)
    if not done:
        raise RuntimeError(f"account {account_id}: the balance does not hold {refundable_minor} + {credit_minor} credits")
    return await LedgerEntry.create(
        account_id=account_id, kind=kind, amount_minor=-total, credit_minor=-credit_minor, currency=MARKET_CURRENCY,
        closure_id=closure_id, memo=memo[:300], using_db=conn,
    )


# -- the operator's manual adjustment ------------------------------------------------------


async def adjust_balance(viewer: Viewer, account_id: int, amount_minor: int, reason: str) -> LedgerEntry:
    """Add (a credit: goodwill, a correction in the partner's favour) or take
    money, with the reason recorded on the entry. Taking uses credits first and
    never takes the balance below zero."""
    require_operator(viewer, "adjust balances")
    errors = []
    reason = (reason or "").strip()
    if len(reason) < 3:
        errors.append(FieldError("reason", ErrorCode.REQUIRED, "Say why (at least 3 characters): it is kept on the ledger."))
    elif len(reason) > 300:
        errors.append(FieldError("reason", ErrorCode.TOO_LONG, "The reason is at most 300 characters."))
    if amount_minor == 0 or abs(amount_minor) > MAX_ADJUSTMENT_MINOR:
        errors.append(FieldError("amount_minor", ErrorCode.INVALID,
                                 f"The amount must be non-zero and at most {MAX_ADJUSTMENT_MINOR} minor units either way."))
    if errors:
        raise DomainError(*errors)
    account = await Account.get_or_none(id=account_id, kind=AccountKind.PARTNER)
    if account is None:
        raise not_found("account_id", "partner account")
    async with in_transaction() as conn:
        if not await lock_account(account_id, conn):
            raise DomainError.single("account_id", ErrorCode.ACCOUNT_CLOSED, "This account is closed: its balance is final.")
        if amount_minor > 0:
            return await credit(account_id, amount_minor, EntryKind.ADJUSTMENT, reason, conn, actor_id=viewer.membership_id)
        entry = await debit(account_id, -amount_minor, EntryKind.ADJUSTMENT, reason, conn, actor_id=viewer.membership_id)
        if entry is None:
            raise DomainError.single(
                "amount_minor", ErrorCode.INSUFFICIENT_BALANCE,
                f"The balance is {account.balance_minor if account else 0} minor units: it cannot go below zero.",
            )
        return entry


def money_text(amount_minor: int, currency: str = MARKET_CURRENCY) -> str:
    """``2500`` -> ``"$25.00"`` (USD), ``"25.00 EUR"`` otherwise: for messages to people."""
    sign = "-" if amount_minor < 0 else ""
    major = f"{abs(amount_minor) / 100:,.2f}"
    return f"{sign}${major}" if currency == "USD" else f"{sign}{major} {currency}"


# -- reading and verifying -----------------------------------------------------------------


@dataclass(frozen=True)
class Balances:
    balance_minor: int
    credit_minor: int

    @property
    def refundable_minor(self) -> int:
        """Money the partner deposited and has not spent: what closing refunds."""
        return self.balance_minor - self.credit_minor


async def balances(account_id: int) -> Balances:
    row = await Account.get(id=account_id).values("balance_minor", "credit_minor")
    return Balances(row["balance_minor"], row["credit_minor"])


async def ledger_sum(account_id: int) -> int:
    row = await LedgerEntry.filter(account_id=account_id).annotate(total=Sum("amount_minor")).first().values("total")
    return int(row["total"] or 0) if row else 0


@dataclass(frozen=True)
class LedgerProblem:
    account_id: int
    account_name: str
    balance_minor: int
    ledger_sum_minor: int
    credit_minor: int
    credit_sum_minor: int

    def describe(self) -> str:
        parts = []
        if self.balance_minor != self.ledger_sum_minor:
            parts.append(f"balance {self.balance_minor} != sum of entries {self.ledger_sum_minor}")
        if self.credit_minor != self.credit_sum_minor:
            parts.append(f"credits {self.credit_minor} != sum of entries' credits {self.credit_sum_minor}")
        if self.balance_minor < 0:
            parts.append(f"balance {self.balance_minor} below zero")
        if not 0 <= self.credit_minor <= max(self.balance_minor, 0):
            parts.append(f"credits {self.credit_minor} outside 0..balance")
        return f"account {self.account_id} ({self.account_name}): " + "; ".join(parts)


@dataclass(frozen=True)
class LedgerReport:
    accounts_checked: int
    problems: list[LedgerProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(account_ids: list[int] | None = None) -> LedgerReport:
    """Check every account (or those given): balance = sum of its entries,
    credits = sum of the entries' credit parts, 0 <= credits <= balance. One
    query, so it reads one consistent snapshot even while money moves."""
    qs = Account.all()
    if account_ids is not None:
        qs = qs.filter(id__in=account_ids)
    rows = await qs.annotate(
        total=Sum("ledger_entries__amount_minor"), credits=Sum("ledger_entries__credit_minor")
    ).group_by("id", "name", "balance_minor", "credit_minor").values("id", "name", "balance_minor", "credit_minor", "total", "credits")
    problems = []
    for r in rows:
        total, credits = int(r["total"] or 0), int(r["credits"] or 0)
        balance, credit_part = r["balance_minor"], r["credit_minor"]
        if balance != total or credit_part != credits or balance < 0 or not 0 <= credit_part <= max(balance, 0):
            problems.append(LedgerProblem(r["id"], r["name"], balance, total, credit_part, credits))
    return LedgerReport(len(rows), sorted(problems, key=lambda p: p.account_id))
