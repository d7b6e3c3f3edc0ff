"""Auto-charge: a sale that takes the balance below the threshold writes the
charge job in the sale's own transaction; one charge at a time per account;
failed charges retried a bounded number of times, then suspended and the
owner notified; routing skips a partner who cannot pay with reason "balance"."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from tortoise.transactions import in_transaction

from leadwire.core import autocharge, ledger, routing
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.jobs.models import OutboxJob
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.marketplace import RoutingDecision, RoutingOutcome
from leadwire.core.models.money import AutoCharge, AutoChargeState, Notification, NotificationKind, Payment, PaymentStatus

from factories import make_user, viewer_for
from market import Market
from money_env import run_due_jobs, stripe_env

PRICE = 1500


@pytest.fixture
async def env(db):
    async with stripe_env() as stripe:
        market = await Market().setup()
        market.stripe = stripe
        market.offer_ = await market.offer(market.local, PRICE)
        yield market
        await assert_levels_match()


async def assert_levels_match():
    """The level a debit compares the balance with (on the account row) is the
    threshold of an enabled, armed auto-charge, and nothing otherwise."""
    from leadwire.core.models.identity import Account

    armed = {a.account_id: a.threshold_minor for a in await AutoCharge.filter(enabled=True, state=AutoChargeState.IDLE)}
    for account_id, level in await Account.all().values_list("id", "auto_charge_below_minor"):
        assert level == armed.get(account_id), (account_id, level, armed.get(account_id))


async def buyer(env, balance=3000, card="pm_card_visa", threshold=2000, amount=5000, enabled=True):
    account, owner = await env.partner(balance=balance)
    if card:
        await env.stripe.add_card(owner, card)
    if enabled:
        await autocharge.update_settings(owner, enabled=True, threshold_minor=threshold, amount_minor=amount)
    campaign = await env.campaign(owner, env.offer_)
    return account, owner, campaign


async def state(account):
    return await AutoCharge.get(account_id=account.id)


async def balance(account):
    return (await ledger.balances(account.id)).balance_minor


async def sell(env):
    return await routing.route_lead((await env.lead()).id)


async def test_a_sale_below_the_threshold_schedules_one_charge_in_its_own_transaction(env):
    account, owner, campaign = await buyer(env)
    assert (await state(account)).state == AutoChargeState.IDLE
    result = await sell(env)
    assert result.sold_to == [campaign.id] and await balance(account) == 1500
    [job] = await OutboxJob.filter(name="auto_charge")
    charge_entry = await account.ledger_entries.filter(kind=EntryKind.LEAD_CHARGE).first()
    assert job.dedupe_key == f"auto_charge:{account.id}:entry:{charge_entry.id}" and job.payload == {"account_id": account.id}
    assert (await state(account)).state == AutoChargeState.DUE
    await run_due_jobs("auto_charge")
    [payment] = await Payment.all()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_minor == 5000
    assert await balance(account) == 6500
    ac = await state(account)
    assert (ac.state, ac.payment_id, ac.failures) == (AutoChargeState.IDLE, None, 0) and ac.last_charged_at
    # Above the threshold again: the next sale does not charge.
    await sell(env)
    assert await OutboxJob.filter(name="auto_charge").count() == 1
    assert (await ledger.verify([account.id])).ok


async def test_a_rolled_back_debit_leaves_no_job(env):
    account, _, _ = await buyer(env, balance=2500)
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            assert await ledger.debit(account.id, 1000, EntryKind.ADJUSTMENT, "test", conn)
            raise RuntimeError("the sale failed after the debit")
    assert await OutboxJob.filter(name="auto_charge").count() == 0
    assert (await state(account)).state == AutoChargeState.IDLE and await balance(account) == 2500


async def test_failed_charges_are_retried_then_suspended_and_the_owner_notified(env):
    account, owner, _ = await buyer(env, card="pm_card_chargeDeclinedInsufficientFunds")
    await sell(env)
    await run_due_jobs("auto_charge")
    ac = await state(account)
    assert (ac.state, ac.failures) == (AutoChargeState.DUE, 1) and "insufficient funds" in ac.last_error
    retry = await OutboxJob.filter(name="auto_charge", status="pending").first()
    wait = retry.run_after - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=59) < wait <= dt.timedelta(minutes=60)
    [note] = await Notification.filter(account_id=account.id)
    assert note.kind == NotificationKind.AUTO_CHARGE_FAILED and "attempt 2 of 3" in note.body
    await run_due_jobs("auto_charge")
    retry = await OutboxJob.filter(name="auto_charge", status="pending").first()
    assert dt.timedelta(minutes=239) < retry.run_after - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=240)
    await run_due_jobs("auto_charge")
    ac = await state(account)
    assert (ac.state, ac.failures, ac.payment_id) == (AutoChargeState.SUSPENDED, 3, None) and ac.suspended_at
    assert await Payment.filter(status=PaymentStatus.FAILED).count() == 3 and await balance(account) == 1500
    # Three different payments, three different idempotency keys (a decline is replayed under its key).
    assert len({p.idempotency_key for p in await Payment.all()}) == 3
    kinds = await Notification.filter(account_id=account.id).order_by("id").values_list("kind", flat=True)
    assert kinds == [NotificationKind.AUTO_CHARGE_FAILED] * 2 + [NotificationKind.AUTO_CHARGE_SUSPENDED]
    assert await run_due_jobs("auto_charge") == []
    # Suspended: further sales do not charge.
    await sell(env)
    assert await OutboxJob.filter(name="auto_charge", status="pending").count() == 0
    # The owner adds a good card and saves the settings: back on, and charged at once (balance below threshold).
    card = await env.stripe.add_card(owner, "pm_card_visa")
    await autocharge.update_settings(owner, enabled=True, threshold_minor=2000, amount_minor=5000, payment_method_id=card.id)
    assert (await state(account)).state == AutoChargeState.DUE
    await run_due_jobs("auto_charge")
    assert (await state(account)).state == AutoChargeState.IDLE and await balance(account) == 5000


async def test_at_most_one_charge_at_a_time_per_account(env):
    account, _, _ = await buyer(env)
    await sell(env)
    env.stripe.fake.hold = asyncio.Event()  # the charge takes a while
    [job] = await OutboxJob.filter(name="auto_charge")
    runs = [asyncio.create_task(autocharge.run_auto_charge(account.id)) for _ in range(8)]
    await asyncio.wait_for(env.stripe.fake.held.wait(), 5)
    # A sale meanwhile (balance still below the threshold) does not schedule another.
    await sell(env)
    assert await Payment.all().count() == 1 and (await state(account)).payment_id is not None
    env.stripe.fake.hold.set()
    await asyncio.gather(*runs)
    assert len(env.stripe.fake.charges) == 1 and await Payment.all().count() == 1
    assert await OutboxJob.filter(name="auto_charge").count() == 1


async def test_a_charge_that_leaves_the_balance_below_the_threshold_schedules_the_next(env):
    account, _, _ = await buyer(env, balance=1600, threshold=5000, amount=2000)
    await sell(env)  # 100 left
    await run_due_jobs("auto_charge", rounds=5)
    assert [p.amount_minor for p in await Payment.all()] == [2000, 2000, 2000]  # 2100, 4100, 6100
    assert await balance(account) == 6100 and (await state(account)).state == AutoChargeState.IDLE


async def test_no_card_on_file_counts_as_a_failed_charge(env):
    from leadwire.core import payments
    from leadwire.core.models.money import PaymentMethod

    account, owner, _ = await buyer(env)
    card = await PaymentMethod.get(account_id=account.id)
    await payments.remove_payment_method(owner, card.id)
    await sell(env)
    await run_due_jobs("auto_charge")
    ac = await state(account)
    assert ac.failures == 1 and ac.last_error == "There is no card on file to charge." and await Payment.all().count() == 0


async def test_an_unknown_outcome_suspends_auto_charge_until_the_payment_is_resolved(env, monkeypatch):
    from starlette.responses import JSONResponse

    from leadwire.core import payments

    monkeypatch.setattr(payments, "MAX_TRIES", 2)
    account, _, _ = await buyer(env)
    await sell(env)
    for _ in range(2):
        env.stripe.fake.faults.append(JSONResponse({"error": {"type": "api_error", "message": "down"}}, status_code=503))
    await run_due_jobs("auto_charge")
    await run_due_jobs("settle_payment")
    [payment] = await Payment.all()
    assert payment.status == PaymentStatus.UNKNOWN
    ac = await state(account)
    assert ac.state == AutoChargeState.SUSPENDED and ac.payment_id is None
    assert await Notification.filter(account_id=account.id, kind=NotificationKind.AUTO_CHARGE_SUSPENDED).exists()


async def test_routing_skips_a_partner_who_cannot_pay_with_reason_balance(env):
    account, _, campaign = await buyer(env, balance=1000, card=None, enabled=False)
    lead = await env.lead()
    result = await routing.route_lead(lead.id)
    assert result.sold_to == []
    decision = await RoutingDecision.get(lead_id=lead.id, campaign_id=campaign.id)
    assert decision.outcome == RoutingOutcome.BALANCE


async def test_settings_are_checked_and_only_the_owner_sets_them(env):
    account, owner = await env.partner()
    with pytest.raises(DomainError) as exc:
        await autocharge.update_settings(owner, enabled=True, threshold_minor=2000, amount_minor=5000)
    assert [(e.field, e.code) for e in exc.value.errors] == [("payment_method_id", ErrorCode.REQUIRED)]
    with pytest.raises(DomainError) as exc:
        await autocharge.update_settings(owner, enabled=True, threshold_minor=0, amount_minor=10)
    assert {(e.field, e.code) for e in exc.value.errors} == {("threshold_minor", ErrorCode.INVALID), ("amount_minor", ErrorCode.INVALID)}
    rep = await viewer_for(await make_user(owner))
    with pytest.raises(DomainError) as exc:
        await autocharge.update_settings(rep, enabled=False, threshold_minor=2000, amount_minor=5000)
    assert exc.value.errors[0].code == ErrorCode.OWNER_REQUIRED
    assert await AutoCharge.all().count() == 0


async def test_a_sale_that_stays_above_the_threshold_is_one_statement(env, caplog):
    """The sale path's money part stays as cheap as it was: one conditional
    update and the entry, unless the account holds credits or crosses its
    auto-charge threshold."""
    import logging

    account, _, _ = await buyer(env, balance=10_000)
    statements = []

    async def debit(amount):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            async with in_transaction() as conn:
                assert await ledger.debit_for_sale(account.id, amount, None, conn)
        statements.append([r.getMessage().split()[0].upper() for r in caplog.records
                           if r.name == "tortoise.db_client" and r.getMessage().split()[0].upper() in ("UPDATE", "SELECT", "INSERT")])

    await debit(1500)  # 8500 left, above 2000: one update, one insert
    await debit(7000)  # 1500 left: crosses the threshold, so the row is read and the auto-charge made due
    assert statements[0] == ["UPDATE", "INSERT"]
    assert statements[1][:3] == ["UPDATE", "UPDATE", "SELECT"] and "INSERT" in statements[1]
    assert (await state(account)).state == AutoChargeState.DUE
    assert await OutboxJob.filter(name="auto_charge").count() == 1
