"""Closing an account (seed 000): the refund is the money the partner deposited
(credits are not refunded), less the $50 fee within 30 days of the first
activation (29 days: fee; 31 days: none), sent back through the gateway it
came from; campaigns stop in the same transaction; closing for return abuse."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.responses import JSONResponse
from tortoise.transactions import in_transaction

from leadwire.core import accounts_closing, ledger, payments, returns, routing
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.identity import Account, AccountKind, AccountStatus
from leadwire.core.models.ledger import EntryKind, LedgerEntry
from leadwire.core.models.marketplace import Campaign, CampaignStatus, LeadSale, RoutingDecision, RoutingOutcome
from leadwire.core.models.money import (
    AccountClosure,
    ClosureKind,
    Notification,
    NotificationKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from leadwire.core.models.returns import ReturnReason, ReturnStatus

from factories import make_account, make_user, viewer_for
from market import Market
from money_env import run_due_jobs, stripe_env

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def env(db):
    async with stripe_env() as stripe:
        m = await Market().setup()
        m.stripe = stripe
        m.offer_ = await m.offer(m.local, 2000)
        _, m.staff = await make_account("Ops", kind=AccountKind.OPERATOR)
        yield m


async def partner_with_card_funds(env, amount=10_000):
    account, owner = await env.partner(balance=0)
    await env.stripe.add_card(owner)
    payment = await payments.add_funds(owner, amount)
    assert payment.status == PaymentStatus.SUCCEEDED
    return account, owner, payment


async def activated(account_id, days_ago):
    await Account.filter(id=account_id).update(first_activated_at=NOW - dt.timedelta(days=days_ago))


def entries(account_id):
    return LedgerEntry.filter(account_id=account_id).order_by("id").values_list("kind", "amount_minor", "credit_minor")


@pytest.mark.parametrize("days, fee", [(29, 5000), (31, 0)])
async def test_the_fee_is_kept_within_30_days_of_the_first_activation(env, days, fee):
    account, owner, payment = await partner_with_card_funds(env)
    campaign = await env.campaign(owner, env.offer_)
    await activated(account.id, days)
    quote = await accounts_closing.quote(account.id, at=NOW)
    assert (quote.refundable_minor, quote.fee_minor, quote.refund_minor) == (10_000, fee, 10_000 - fee)
    closure = await accounts_closing.close_account(owner, confirm=True, reason="Moving on", at=NOW)
    assert (closure.kind, closure.fee_minor, closure.refund_minor, closure.credit_minor) == (
        ClosureKind.CANCELLATION, fee, 10_000 - fee, 0)
    expected = [(EntryKind.DEPOSIT, 10_000, 0)] + ([(EntryKind.FEE, -fee, 0)] if fee else []) + [(EntryKind.REFUND, fee - 10_000, 0)]
    assert await entries(account.id) == expected
    assert (await ledger.balances(account.id)).balance_minor == 0 and (await ledger.verify()).ok
    # Campaigns stopped, account closed, history kept.
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.DISABLED
    assert (await Account.get(id=account.id)).status == AccountStatus.CLOSED
    # The refund goes back through Stripe, against the card's charge, with its own idempotency key.
    [refund] = await Refund.filter(account_id=account.id)
    assert (refund.gateway, refund.payment_id, refund.amount_minor, refund.status) == (
        "stripe", payment.id, 10_000 - fee, RefundStatus.PENDING)
    await run_due_jobs("send_refund")
    refund = await Refund.get(id=refund.id)
    assert refund.status == RefundStatus.SENT and refund.reference.startswith("re_")
    [stripe_refund] = env.stripe.fake.refunds.values()
    assert (stripe_refund["payment_intent"], stripe_refund["amount"]) == (payment.reference, 10_000 - fee)
    [seen] = [r for r in env.stripe.fake.posts if r.path == "/v1/refunds"]
    assert seen.headers["idempotency-key"] == refund.idempotency_key
    kinds = await Notification.filter(account_id=account.id).values_list("kind", flat=True)
    assert NotificationKind.ACCOUNT_CLOSED in kinds and NotificationKind.REFUND_SENT in kinds


async def test_no_fee_when_never_activated_and_never_more_than_the_refund(env):
    account, owner, _ = await partner_with_card_funds(env, 3000)
    assert (await accounts_closing.quote(account.id, at=NOW)).fee_minor == 0  # never activated an offer
    await activated(account.id, 1)
    quote = await accounts_closing.quote(account.id, at=NOW)
    assert (quote.fee_minor, quote.refund_minor) == (3000, 0)
    await accounts_closing.close_account(owner, confirm=True, at=NOW)
    assert await Refund.filter(account_id=account.id).count() == 0
    assert (await ledger.balances(account.id)).balance_minor == 0


async def test_credits_are_not_refunded_and_deposits_go_back_the_way_they_came(env):
    account, owner, card_payment = await partner_with_card_funds(env, 5000)
    check = await payments.record_manual_payment(env.staff, account.id, 3000, method="check", reference="1042")
    campaign = await env.campaign(owner, env.offer_)
    await activated(account.id, 45)
    result = await routing.route_lead((await env.lead()).id)  # a 20.00 lead
    sale = await LeadSale.get(buyer_lead_id=result.buyer_lead_ids[result.sold_to.index(campaign.id)])
    ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    await returns.review_return(env.staff, ret.id, approve=True)  # a 20.00 credit
    await ledger.adjust_balance(env.staff, account.id, 500, "Goodwill")  # 5.00 more credit
    b = await ledger.balances(account.id)
    assert (b.balance_minor, b.credit_minor, b.refundable_minor) == (8500, 2500, 6000)
    closure = await accounts_closing.close_account(owner, confirm=True, at=NOW)
    assert (closure.refund_minor, closure.credit_minor, closure.fee_minor) == (6000, 2500, 0)
    assert (await entries(account.id))[-2:] == [(EntryKind.REFUND, -6000, 0), (EntryKind.ADJUSTMENT, -2500, -2500)]
    # Newest deposit first: the check back by the operator, the rest to the card.
    refunds = {r.gateway: r for r in await Refund.filter(account_id=account.id)}
    assert (refunds["manual"].payment_id, refunds["manual"].amount_minor) == (check.id, 3000)
    assert (refunds["stripe"].payment_id, refunds["stripe"].amount_minor) == (card_payment.id, 3000)
    assert [p.refunded_minor for p in await Payment.all().order_by("id")] == [3000, 3000]
    await run_due_jobs("send_refund")
    assert (await Refund.get(id=refunds["stripe"].id)).status == RefundStatus.SENT
    manual = await Refund.get(id=refunds["manual"].id)
    assert manual.status == RefundStatus.AWAITING_OPERATOR and "bank transfer or check" in manual.failure_message
    with pytest.raises(DomainError) as exc:
        await accounts_closing.settle_refund(env.staff, manual.id, reference=" ")
    assert [(e.field, e.code) for e in exc.value.errors] == [("reference", ErrorCode.REQUIRED)]
    paid = await accounts_closing.settle_refund(env.staff, manual.id, reference="Check 5531", note="Mailed")
    assert (paid.status, paid.reference, paid.settled_by_id) == (RefundStatus.PAID, "Check 5531", env.staff.membership_id)
    with pytest.raises(DomainError):
        await accounts_closing.settle_refund(env.staff, manual.id, reference="again")
    assert (await ledger.verify()).ok


async def test_deposits_without_a_payment_record_are_paid_back_by_the_operator(env):
    account, owner = await env.partner(balance=7000)  # a deposit written straight on the ledger (demo, import)
    await accounts_closing.close_account(owner, confirm=True, at=NOW)
    [refund] = await Refund.filter(account_id=account.id)
    assert (refund.gateway, refund.payment_id, refund.amount_minor) == ("manual", None, 7000)


async def test_closing_waits_for_a_payment_in_flight_and_changes_nothing(env):
    account, owner, _ = await partner_with_card_funds(env)
    campaign = await env.campaign(owner, env.offer_)
    await activated(account.id, 45)
    card = await Payment.first()
    async with in_transaction() as conn:
        await ledger.lock_account(account.id, conn)
        await payments.create_payment(account_id=account.id, gateway_name="stripe", purpose=PaymentPurpose.ADD_FUNDS,
                                      amount_minor=2000, method=await card.payment_method, conn=conn)
    with pytest.raises(DomainError) as exc:
        await accounts_closing.close_account(owner, confirm=True, at=NOW)
    assert [(e.field, e.code) for e in exc.value.errors] == [(None, ErrorCode.IN_PROGRESS)]
    assert (await Account.get(id=account.id)).status == AccountStatus.ACTIVE
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.ACTIVE
    assert await AccountClosure.all().count() == 0 and await Refund.all().count() == 0
    await run_due_jobs("settle_payment")  # the payment lands...
    closure = await accounts_closing.close_account(owner, confirm=True, at=NOW)  # ...and is refunded too
    assert closure.refund_minor == 12_000


async def test_after_closing_nothing_is_sold_charged_or_credited(env):
    account, owner, _ = await partner_with_card_funds(env)
    campaign = await env.campaign(owner, env.offer_)
    result = await routing.route_lead((await env.lead()).id)
    sale = await LeadSale.get(buyer_lead_id=result.buyer_lead_ids[0])
    pending = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    await accounts_closing.close_account(owner, confirm=True, at=NOW)
    await pending.refresh_from_db()
    assert pending.status == ReturnStatus.WITHDRAWN
    with pytest.raises(DomainError) as exc:
        await returns.review_return(env.staff, pending.id, approve=True)
    assert "withdrawn" in str(exc.value)
    lead = await env.lead()
    await routing.route_lead(lead.id)
    assert (await RoutingDecision.get(lead_id=lead.id, campaign_id=campaign.id)).outcome == RoutingOutcome.ACCOUNT_CLOSED
    async with in_transaction() as conn:
        assert not await ledger.debit_for_sale(account.id, 1, None, conn)
    with pytest.raises(DomainError) as exc:
        await accounts_closing.close_account(owner, confirm=True, at=NOW)
    assert [e.code for e in exc.value.errors] == [ErrorCode.ACCOUNT_CLOSED]
    with pytest.raises(DomainError) as exc:
        await ledger.adjust_balance(env.staff, account.id, 100, "After closing")
    assert [e.code for e in exc.value.errors] == [ErrorCode.ACCOUNT_CLOSED]
    assert (await ledger.balances(account.id)).balance_minor == 0


async def test_only_the_owner_closes_and_must_confirm(env):
    account, owner, _ = await partner_with_card_funds(env)
    rep = await viewer_for(await make_user(owner))
    for viewer in (rep, env.staff):
        with pytest.raises(DomainError):
            await accounts_closing.close_account(viewer, confirm=True)
    with pytest.raises(DomainError) as exc:
        await accounts_closing.close_account(owner, confirm=False)
    assert [(e.field, e.code) for e in exc.value.errors] == [("confirm", ErrorCode.REQUIRED)]
    assert (await Account.get(id=account.id)).status == AccountStatus.ACTIVE


async def test_the_operator_closes_an_account_for_return_abuse_without_a_fee(env):
    account, owner, _ = await partner_with_card_funds(env)
    campaign = await env.campaign(owner, env.offer_)
    await activated(account.id, 3)
    await returns.flag_account(env.staff, account.id, "Returns 60% of its leads")
    with pytest.raises(DomainError) as exc:
        await accounts_closing.close_for_abuse(env.staff, account.id, "")
    assert [(e.field, e.code) for e in exc.value.errors] == [("note", ErrorCode.REQUIRED)]
    with pytest.raises(DomainError):
        await accounts_closing.close_for_abuse(owner, account.id, "Abuse")
    closure = await accounts_closing.close_for_abuse(env.staff, account.id, "Abuse of the return policy", at=NOW)
    assert (closure.kind, closure.fee_minor, closure.refund_minor) == (ClosureKind.ABUSE, 0, 10_000)
    assert (await Campaign.get(id=campaign.id)).status == CampaignStatus.DISABLED
    assert (await returns.active_flag(account.id)) is not None  # the record stays


async def test_a_refund_retries_with_its_key_and_a_refused_one_is_settled_by_hand(env, monkeypatch):
    account, owner, payment = await partner_with_card_funds(env)
    await accounts_closing.close_account(owner, confirm=True, at=NOW)
    env.stripe.fake.faults.append(JSONResponse({"error": {"type": "api_error", "message": "boom"}}, status_code=500))
    await run_due_jobs("send_refund")
    [refund] = await Refund.all()
    assert refund.status == RefundStatus.PENDING and refund.tries == 1
    # Meanwhile someone refunded the charge in Stripe's dashboard: Stripe refuses ours.
    env.stripe.fake.payment_intents[payment.reference]["amount_refunded"] = 10_000
    await run_due_jobs("send_refund")
    refund = await Refund.get(id=refund.id)
    assert refund.status == RefundStatus.FAILED and "charge_already_refunded" in refund.failure_message
    keys = {r.headers["idempotency-key"] for r in env.stripe.fake.posts if r.path == "/v1/refunds"}
    assert keys == {refund.idempotency_key}
    settled = await accounts_closing.settle_refund(env.staff, refund.id, reference="Refunded in the Stripe dashboard")
    assert settled.status == RefundStatus.PAID
