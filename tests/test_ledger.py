"""The ledger: balance = sum of entries >= 0 whatever happens (hypothesis),
credits spent first and never refunded, the operator's adjustment with a
reason, and the check that proves it for every account (`leadwire check`)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.transactions import in_transaction

from leadwire.core import ledger
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.identity import Account, AccountKind, AccountStatus
from leadwire.core.models.ledger import EntryKind, LedgerEntry

from factories import make_account

OPS = ("deposit", "charge", "return_credit", "refund", "adjust_up", "adjust_down")
op_strategy = st.tuples(st.sampled_from(OPS), st.integers(min_value=1, max_value=5000))


async def apply(account_id: int, op: str, amount: int) -> bool:
    """One movement of money through core.ledger; False when refused."""
    async with in_transaction() as conn:
        if op == "deposit":
            await ledger.credit(account_id, amount, EntryKind.DEPOSIT, "deposit", conn)
        elif op == "return_credit":
            await ledger.credit(account_id, amount, EntryKind.RETURN_CREDIT, "return", conn)
        elif op == "adjust_up":
            await ledger.credit(account_id, amount, EntryKind.ADJUSTMENT, "goodwill", conn)
        elif op == "charge":
            return await ledger.debit_for_sale(account_id, amount, None, conn)
        elif op == "adjust_down":
            return await ledger.debit(account_id, amount, EntryKind.ADJUSTMENT, "correction", conn) is not None
        elif op == "refund":  # part of the deposited money paid back (as at closing), never credits
            await ledger.lock_account(account_id, conn)
            now = await ledger.balances(account_id)
            part = min(amount, now.refundable_minor)
            if not part:
                return False
            await ledger.take_for_closure(account_id, refundable_minor=part, credit_minor=0, kind=EntryKind.REFUND,
                                          memo="refund", closure_id=None, conn=conn)
    return True


class Model:
    """What the rules say the balance and credits must be."""

    def __init__(self):
        self.balance = self.credit = 0

    def apply(self, op: str, amount: int) -> bool:
        if op == "deposit":
            self.balance += amount
        elif op in ("return_credit", "adjust_up"):
            self.balance += amount
            self.credit += amount
        elif op in ("charge", "adjust_down"):
            if self.balance < amount:
                return False
            self.balance -= amount
            self.credit -= min(self.credit, amount)
        elif op == "refund":
            part = min(amount, self.balance - self.credit)
            if not part:
                return False
            self.balance -= part
        return True


async def assert_invariants(account_id: int) -> ledger.Balances:
    b = await ledger.balances(account_id)
    entries = await LedgerEntry.filter(account_id=account_id).values_list("amount_minor", "credit_minor")
    assert b.balance_minor == sum(a for a, _ in entries) >= 0
    assert b.credit_minor == sum(c for _, c in entries)
    assert 0 <= b.credit_minor <= b.balance_minor
    assert (await ledger.verify([account_id])).ok
    return b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_strategy, max_size=25))
async def test_any_sequence_matches_the_rules_exactly(db, ops):
    account, _ = await make_account()
    model = Model()
    for op, amount in ops:
        assert await apply(account.id, op, amount) == model.apply(op, amount), (op, amount)
        b = await assert_invariants(account.id)
        assert (b.balance_minor, b.credit_minor) == (model.balance, model.credit)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(op_strategy, min_size=1, max_size=8), min_size=1, max_size=6))
async def test_any_interleaving_keeps_balance_the_sum_of_entries_and_never_negative(db, batches):
    """Each batch runs concurrently on one account (and a second account gets
    the same batch): whatever order they land in, nothing is lost or made up."""
    first, _ = await make_account()
    second, _ = await make_account()
    for batch in batches:
        results = await asyncio.gather(*(apply(a.id, op, amount) for a in (first, second) for op, amount in batch))
        assert all(isinstance(r, bool) for r in results)
        for account in (first, second):
            await assert_invariants(account.id)
    # Every refused movement wrote nothing: entries are exactly the accepted ones.
    for account in (first, second):
        entries = await LedgerEntry.filter(account_id=account.id).count()
        assert entries <= sum(len(b) for b in batches)


async def test_credits_are_spent_first_and_are_not_refundable(db):
    account, _ = await make_account()
    await apply(account.id, "deposit", 5000)
    await apply(account.id, "return_credit", 1000)
    assert (await ledger.balances(account.id)).refundable_minor == 5000
    await apply(account.id, "charge", 1500)  # 1000 of credits, then 500 deposited
    b = await ledger.balances(account.id)
    assert (b.balance_minor, b.credit_minor, b.refundable_minor) == (4500, 0, 4500)
    entry = await LedgerEntry.filter(account_id=account.id, kind=EntryKind.LEAD_CHARGE).first()
    assert (entry.amount_minor, entry.credit_minor) == (-1500, -1000)


async def test_a_closed_account_cannot_be_charged(db):
    account, _ = await make_account()
    await apply(account.id, "deposit", 5000)
    await Account.filter(id=account.id).update(status=AccountStatus.CLOSED)
    assert not await apply(account.id, "charge", 100)
    assert (await ledger.balances(account.id)).balance_minor == 5000


async def test_the_operators_adjustment_needs_a_reason_and_never_goes_below_zero(db):
    account, owner = await make_account()
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    entry = await ledger.adjust_balance(operator, account.id, 2500, "Goodwill: CRM outage on Nov 3")
    assert (entry.kind, entry.amount_minor, entry.credit_minor, entry.memo, entry.actor_id) == (
        EntryKind.ADJUSTMENT, 2500, 2500, "Goodwill: CRM outage on Nov 3", operator.membership_id)
    with pytest.raises(DomainError) as exc:
        await ledger.adjust_balance(operator, account.id, -3000, "Correction")
    assert [(e.field, e.code) for e in exc.value.errors] == [("amount_minor", ErrorCode.INSUFFICIENT_BALANCE)]
    with pytest.raises(DomainError) as exc:
        await ledger.adjust_balance(operator, account.id, 0, " ")
    assert {(e.field, e.code) for e in exc.value.errors} == {("amount_minor", ErrorCode.INVALID), ("reason", ErrorCode.REQUIRED)}
    with pytest.raises(DomainError) as exc:
        await ledger.adjust_balance(owner, account.id, 100, "I deserve it")
    assert exc.value.errors[0].code == ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as exc:
        await ledger.adjust_balance(operator, operator.account_id, 100, "the operator's own account")
    assert exc.value.errors[0].code == ErrorCode.NOT_FOUND
    down = await ledger.adjust_balance(operator, account.id, -1000, "Correction of the goodwill")
    assert (down.amount_minor, down.credit_minor) == (-1000, -1000)
    assert (await ledger.balances(account.id)).balance_minor == 1500
    assert await LedgerEntry.filter(account_id=account.id).count() == 2


async def test_verify_finds_a_balance_that_is_not_the_sum_of_its_entries(db):
    good, _ = await make_account()
    bad, _ = await make_account("Tampered Inc")
    for a in (good, bad):
        await apply(a.id, "deposit", 5000)
    assert (await ledger.verify()).ok
    await Account.filter(id=bad.id).update(balance_minor=9000)
    report = await ledger.verify()
    assert not report.ok and report.accounts_checked == 2
    [problem] = report.problems
    assert problem.account_id == bad.id
    assert problem.describe() == f"account {bad.id} (Tampered Inc): balance 9000 != sum of entries 5000"
    await Account.filter(id=bad.id).update(balance_minor=5000, credit_minor=6000)
    assert "credits 6000 != sum of entries' credits 0; credits 6000 outside 0..balance" in (await ledger.verify()).problems[0].describe()


def test_leadwire_check_verifies_the_ledger_of_every_account(tmp_path):
    env = {"LEADWIRE_DATABASE_URL": f"sqlite:///{tmp_path / 'lw.sqlite3'}"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "leadwire", *args], cwd=tmp_path, env={**_clean_env(), **env},
        capture_output=True, text=True, timeout=180,
    )
    assert run("demo").returncode == 0
    ok = run("check")
    assert ok.returncode == 0, ok.stderr
    assert "ledger: ok (" in ok.stdout
    with sqlite3.connect(tmp_path / "lw.sqlite3") as conn:
        account_id, name = conn.execute("SELECT id, name FROM account WHERE balance_minor > 0 LIMIT 1").fetchone()
        conn.execute("UPDATE account SET balance_minor = balance_minor + 1 WHERE id = ?", (account_id,))
    failed = run("check")
    assert failed.returncode == 1
    assert f"leadwire: check failed: ledger: account {account_id} ({name}): balance" in failed.stderr


def _clean_env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")}
