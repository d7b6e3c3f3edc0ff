"""Cards on file, adding funds and recorded payments, through the built-in
gateways: Stripe against a fake Stripe on a real loopback server (declines,
402 card errors, idempotent retries, timeouts, 5xx, refused connections),
and the manual gateway."""

from __future__ import annotations

import asyncio

import pytest

from leadwire.core import delivery, industries, ledger, payments
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.ledger import EntryKind, LedgerEntry
from leadwire.core.models.money import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from leadwire.plugins.manager import build_plugin_manager, install_registrations
from starlette.responses import JSONResponse
from tortoise.transactions import in_transaction

from factories import make_account, make_user, viewer_for
from fake_stripe import API_KEY
from leadwire.core.models.identity import AccountKind
from loopback import free_port
from money_env import install_gateways, run_due_jobs, stripe_env


@pytest.fixture
async def stripe(db):
    async with stripe_env() as env:
        yield env


@pytest.fixture
async def partner(db):
    account, owner = await make_account()
    return account, owner


async def deposits(account_id):
    return await LedgerEntry.filter(account_id=account_id, kind=EntryKind.DEPOSIT).values_list("amount_minor", "payment_id")


def codes(exc):
    return {(e.field, e.code) for e in exc.value.errors}


# -- cards on file -------------------------------------------------------------------------


async def test_a_card_is_saved_as_the_gateways_token_and_the_first_is_the_default(stripe, partner):
    account, owner = partner
    started = await payments.start_card_setup(owner, "stripe")
    assert started.client_secret.startswith(started.setup.setup_ref + "_secret_")
    assert started.public_config == {"publishable_key": "pk_test_51LeadwireFakePublishable"}
    await stripe.confirm_in_browser(started, "pm_card_visa")
    card = await payments.complete_card_setup(owner, started.setup.id)
    assert card.token.startswith("pm_") and card.token in stripe.fake.payment_methods
    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.default_slot) == ("visa", "4242", 12, 2034, 1)
    assert card.customer_ref in stripe.fake.customers
    # Completing again (a double click) saves nothing new.
    assert (await payments.complete_card_setup(owner, started.setup.id)).id == card.id
    second = await stripe.add_card(owner, "pm_card_mastercard")
    assert second.default_slot is None and second.customer_ref == card.customer_ref  # one customer per account
    assert len(stripe.fake.customers) == 1
    # Nothing stored looks like more than the last 4 digits; the client secret is not stored at all.
    rows = await PaymentMethod.filter(account_id=account.id).values()
    assert all(len(r["last4"]) == 4 for r in rows)
    assert started.client_secret not in str(rows)

    await payments.set_default_payment_method(owner, second.id)
    assert {c.id: c.default_slot for c in await PaymentMethod.filter(account_id=account.id)} == {card.id: None, second.id: 1}
    await payments.remove_payment_method(owner, second.id)
    assert stripe.fake.payment_methods[second.token]["customer"] is None  # detached at Stripe
    assert (await PaymentMethod.get(id=card.id)).default_slot == 1  # the other card took over
    with pytest.raises(DomainError) as exc:
        await payments.remove_payment_method(owner, second.id)
    assert codes(exc) == {("payment_method_id", ErrorCode.NOT_FOUND)}


async def test_completing_before_the_browser_confirmed_is_a_clear_error(stripe, partner):
    _, owner = partner
    started = await payments.start_card_setup(owner, "stripe")
    with pytest.raises(DomainError) as exc:
        await payments.complete_card_setup(owner, started.setup.id)
    assert codes(exc) == {("setup_id", ErrorCode.INVALID)}
    assert "not confirmed" in str(exc.value)
    assert await PaymentMethod.all().count() == 0


async def test_only_the_partner_owner_manages_cards_and_another_account_sees_none(stripe, partner):
    account, owner = partner
    card = await stripe.add_card(owner)
    rep = await viewer_for(await make_user(owner))
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    _, other_owner = await make_account()
    for viewer in (rep, operator):
        with pytest.raises(DomainError) as exc:
            await payments.start_card_setup(viewer, "stripe")
        assert exc.value.errors[0].code in (ErrorCode.OWNER_REQUIRED, ErrorCode.FORBIDDEN)
        with pytest.raises(DomainError):
            await payments.add_funds(viewer, 5000)
    for action in (payments.remove_payment_method, payments.set_default_payment_method):
        with pytest.raises(DomainError) as exc:
            await action(other_owner, card.id)
        assert codes(exc) == {("payment_method_id", ErrorCode.NOT_FOUND)}
    with pytest.raises(DomainError) as exc:
        await payments.add_funds(other_owner, 5000, payment_method_id=card.id)
    assert codes(exc) == {("payment_method_id", ErrorCode.NOT_FOUND)}
    with pytest.raises(DomainError) as exc:
        await payments.start_card_setup(owner, "paypal")
    assert codes(exc) == {("gateway", ErrorCode.INVALID)}


# -- adding funds ----------------------------------------------------------------------------


async def test_add_funds_charges_the_default_card_off_session_and_deposits_once(stripe, partner):
    account, owner = partner
    card = await stripe.add_card(owner)
    payment = await payments.add_funds(owner, 5000)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.reference.startswith("pi_")
    assert payment.payment_method_id == card.id and payment.method_label == "Visa ending 4242"
    [seen] = [r for r in stripe.fake.posts if r.path == "/v1/payment_intents"]
    assert seen.headers["idempotency-key"] == payment.idempotency_key
    assert seen.params["off_session"] == "true" and seen.params["amount"] == "5000"
    assert seen.params["metadata"]["leadwire_payment"] == str(payment.id)
    assert await deposits(account.id) == [(5000, payment.id)]
    # The safety-net job runs later and finds nothing to do.
    await run_due_jobs("settle_payment")
    assert await deposits(account.id) == [(5000, payment.id)] and len(stripe.fake.charges) == 1
    assert (await ledger.balances(account.id)).refundable_minor == 5000
    assert (await ledger.verify([account.id])).ok


@pytest.mark.parametrize("fixture, code", [
    ("pm_card_chargeDeclined", "generic_decline"),
    ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ("pm_card_authenticationRequired", "authentication_required"),
])
async def test_a_declined_card_leaves_a_failed_payment_and_no_money(stripe, partner, fixture, code):
    account, owner = partner
    await stripe.add_card(owner, fixture)
    payment = await payments.add_funds(owner, 5000)
    assert payment.status == PaymentStatus.FAILED and payment.failure_code == code
    assert payment.failure_message and "sk_test" not in payment.failure_message
    assert await deposits(account.id) == [] and (await ledger.balances(account.id)).balance_minor == 0
    await run_due_jobs("settle_payment")  # the safety net does not charge a failed payment again
    assert stripe.fake.attempts == 1


async def test_the_same_idempotency_key_returns_the_first_payment(stripe, partner):
    account, owner = partner
    await stripe.add_card(owner)
    first, again = await asyncio.gather(
        payments.add_funds(owner, 5000, idempotency_key="topup-1"), payments.add_funds(owner, 5000, idempotency_key="topup-1")
    )
    assert first.id == again.id and len(stripe.fake.charges) == 1 and len(await deposits(account.id)) == 1
    with pytest.raises(DomainError) as exc:
        await payments.add_funds(owner, 7000, idempotency_key="topup-1")
    assert codes(exc) == {("idempotency_key", ErrorCode.DUPLICATE)}


async def test_bad_amounts_and_no_card_are_refused_with_nothing_written(stripe, partner):
    account, owner = partner
    with pytest.raises(DomainError) as exc:
        await payments.add_funds(owner, 5000)
    assert codes(exc) == {("payment_method_id", ErrorCode.REQUIRED)}
    await stripe.add_card(owner)
    for amount in (0, -100, 999, 1_000_001):
        with pytest.raises(DomainError) as exc:
            await payments.add_funds(owner, amount)
        assert codes(exc) == {("amount_minor", ErrorCode.INVALID)}
    assert await Payment.all().count() == 0 and stripe.fake.attempts == 0


async def test_a_5xx_leaves_the_payment_pending_and_the_job_retries_with_the_same_key(stripe, partner):
    account, owner = partner
    await stripe.add_card(owner)
    stripe.fake.faults.append(JSONResponse({"error": {"type": "api_error", "message": "boom"}}, status_code=500))
    payment = await payments.add_funds(owner, 5000)
    assert payment.status == PaymentStatus.PENDING and "500" in payment.failure_message
    assert await deposits(account.id) == []
    await run_due_jobs("settle_payment")
    payment = await Payment.get(id=payment.id)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.tries == 2
    keys = [r.headers["idempotency-key"] for r in stripe.fake.posts if r.path == "/v1/payment_intents"]
    assert keys == [payment.idempotency_key] * 2
    assert len(stripe.fake.charges) == 1 and await deposits(account.id) == [(5000, payment.id)]


async def test_a_timeout_after_stripe_charged_is_settled_by_a_replay_not_a_second_charge(db, partner):
    account, owner = partner
    async with stripe_env(timeout_seconds=0.3) as stripe:
        await stripe.add_card(owner)
        stripe.fake.hold = asyncio.Event()  # Stripe charges, then answers too late
        payment = await payments.add_funds(owner, 5000)
        assert payment.status == PaymentStatus.PENDING and len(stripe.fake.charges) == 1
        # Retried while the first request is still running at Stripe: 409, still pending.
        await run_due_jobs("settle_payment")
        assert (await Payment.get(id=payment.id)).status == PaymentStatus.PENDING
        stripe.fake.hold.set()
        await asyncio.wait_for(stripe.fake.finished.wait(), 5)
        await run_due_jobs("settle_payment")
        payment = await Payment.get(id=payment.id)
        assert payment.status == PaymentStatus.SUCCEEDED
        assert len(stripe.fake.charges) == 1 and stripe.fake.attempts == 1
        assert await deposits(account.id) == [(5000, payment.id)]


async def test_an_unreachable_gateway_ends_unknown_and_the_operator_resolves_it(db, partner, monkeypatch):
    account, owner = partner
    async with stripe_env() as stripe:
        card = await stripe.add_card(owner)
    install_gateways(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        monkeypatch.setattr(payments, "MAX_TRIES", 3)
        payment = await payments.add_funds(owner, 5000, payment_method_id=card.id)
        assert payment.status == PaymentStatus.PENDING and "ConnectError" in payment.failure_message
        await run_due_jobs("settle_payment")
        await run_due_jobs("settle_payment")
        payment = await Payment.get(id=payment.id)
        assert payment.status == PaymentStatus.UNKNOWN and payment.tries == 3
        assert await run_due_jobs("settle_payment") == []  # no more tries
        _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
        with pytest.raises(DomainError) as exc:
            await payments.resolve_payment(operator, payment.id, succeeded=True, note="")
        assert codes(exc) == {("note", ErrorCode.REQUIRED)}
        with pytest.raises(DomainError):
            await payments.resolve_payment(owner, payment.id, succeeded=True, note="I paid!")
        resolved = await payments.resolve_payment(operator, payment.id, succeeded=True, note="Seen in the Stripe dashboard",
                                                  reference="pi_dashboard")
        assert resolved.status == PaymentStatus.SUCCEEDED and resolved.reference == "pi_dashboard"
        assert await deposits(account.id) == [(5000, payment.id)]
        with pytest.raises(DomainError) as exc:
            await payments.resolve_payment(operator, payment.id, succeeded=False, note="again")
        assert codes(exc) == {("payment_id", ErrorCode.INVALID)}
    finally:
        payments.install([])


async def test_a_payment_whose_request_died_before_the_call_is_charged_by_its_job(stripe, partner):
    account, owner = partner
    card = await stripe.add_card(owner)
    async with in_transaction() as conn:
        await ledger.lock_account(account.id, conn)
        payment = await payments.create_payment(account_id=account.id, gateway_name="stripe",
                                                purpose=PaymentPurpose.ADD_FUNDS, amount_minor=2500, method=card, conn=conn)
    # ... the process died here; later, the job:
    await run_due_jobs("settle_payment")
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.SUCCEEDED
    assert await deposits(account.id) == [(2500, payment.id)]


async def test_a_processing_charge_is_followed_until_stripe_settles_it(stripe, partner):
    account, owner = partner
    await stripe.add_card(owner)
    async with in_transaction() as conn:  # pm_fake_processing is a test card of the fake, charged directly
        await ledger.lock_account(account.id, conn)
        method = await PaymentMethod.create(account_id=account.id, gateway="stripe", token="pm_fake_processing",
                                            customer_ref=next(iter(stripe.fake.customers)), using_db=conn)
        payment = await payments.create_payment(account_id=account.id, gateway_name="stripe", purpose=PaymentPurpose.ADD_FUNDS,
                                                amount_minor=3000, method=method, conn=conn)
    payment, _ = await payments.execute(payment.id)
    assert payment.status == PaymentStatus.PROCESSING and await deposits(account.id) == []
    await run_due_jobs("settle_payment")  # asks Stripe: still processing
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.PROCESSING
    stripe.fake.settle_processing(payment.reference)
    await run_due_jobs("settle_payment")
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.SUCCEEDED
    assert await deposits(account.id) == [(3000, payment.id)] and stripe.fake.attempts == 1


# -- the manual gateway ----------------------------------------------------------------------


async def test_the_operator_records_a_bank_transfer_and_a_check(stripe, partner):
    account, owner = partner
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    wire = await payments.record_manual_payment(operator, account.id, 250_000, method="bank_transfer", reference="WIRE-881",
                                                note="Q4 prepayment")
    assert wire.status == PaymentStatus.SUCCEEDED and wire.gateway == "manual" and wire.reference == "bank_transfer:WIRE-881"
    check = await payments.record_manual_payment(operator, account.id, 10_000, method="check", reference="1042")
    assert await deposits(account.id) == [(250_000, wire.id), (10_000, check.id)]
    entry = await LedgerEntry.get(payment_id=wire.id)
    assert entry.memo == "Payment received: Bank transfer" and entry.actor_id == operator.membership_id
    with pytest.raises(DomainError) as exc:
        await payments.record_manual_payment(operator, account.id, 250_000, method="bank_transfer", reference="WIRE-881")
    assert codes(exc) == {("reference", ErrorCode.DUPLICATE)}
    with pytest.raises(DomainError) as exc:
        await payments.record_manual_payment(operator, account.id, 0, method="cash", reference=" ", note="x" * 301)
    assert codes(exc) == {("amount_minor", ErrorCode.INVALID), ("method", ErrorCode.INVALID),
                          ("reference", ErrorCode.REQUIRED), ("note", ErrorCode.TOO_LONG)}
    with pytest.raises(DomainError):
        await payments.record_manual_payment(owner, account.id, 100, method="check", reference="1")
    assert await Payment.all().count() == 2 and (await ledger.verify()).ok


# -- registration ----------------------------------------------------------------------------


async def test_gateways_come_from_plugins_toml_and_stripe_needs_a_key(tmp_path, db):
    toml = tmp_path / "plugins.toml"
    toml.write_text('[plugin.stripe_gateway]\napi_key = "${STRIPE_KEY}"\nbase_url = "http://127.0.0.1:9"\n')
    try:
        install_registrations(build_plugin_manager(toml, {"STRIPE_KEY": API_KEY}, load_entry_points=False))
        assert [g.name for g in payments.installed()] == ["manual", "stripe"]
        stripe_gw = payments.gateway("stripe")
        assert stripe_gw.plugin == "stripe_gateway" and stripe_gw.plugin_config["base_url"] == "http://127.0.0.1:9"
        assert API_KEY not in repr(stripe_gw.plugin_config)
        toml.write_text("")
        install_registrations(build_plugin_manager(toml, {}, load_entry_points=False))
        assert [g.name for g in payments.installed()] == ["manual"]
    finally:
        payments.install([])
        delivery.install([])
        industries.install([])


def test_the_documented_example_gateway_is_a_valid_plugin(tmp_path):
    """docs/plugins.md's payment gateway example registers through the real plugin manager."""
    import re
    import sys
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    [snippet] = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "class AcmePay(PaymentGateway)" in b]
    (tmp_path / "acme_pay_doc.py").write_text(snippet)
    sys.path.insert(0, str(tmp_path))
    try:
        import acme_pay_doc
        import pluggy

        from leadwire.plugins import hookspecs

        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(acme_pay_doc, name="acme_pay")
        pm.check_pending()
        [[gateway]] = pm.hook.leadwire_register_payment_gateways()
        payments.install([payments.InstalledGateway(gateway, "acme_pay", {"site_key": "k"})])
        assert payments.gateway("acme_pay").gateway.saves_payment_methods
        assert gateway.public_config({"site_key": "k"}) == {"site_key": "k"}
    finally:
        payments.install([])
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acme_pay_doc", None)
