"""Money across two OS processes on PostgreSQL (and a SQLite file): sales
against tiny balances while other money moves on the same accounts, and
auto-charge at most once at a time per account."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import defaultdict
from pathlib import Path

from tortoise.transactions import in_transaction

from leadwire.core import autocharge, campaigns, db as lwdb, industries, ledger
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.ledger import EntryKind, LedgerEntry
from leadwire.core.models.marketplace import LeadSale
from leadwire.core.models.money import AutoCharge, Payment, PaymentStatus
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip
from fake_stripe import API_KEY, PUBLISHABLE_KEY, FakeStripe
from loopback import serve_asgi
from money_env import StripeEnv, install_gateways

HERE = Path(__file__).resolve().parent
PRICE = 1000
# (deposited, credits) per partner: each can pay for 0 to 3 leads before the other process adds money.
PARTNERS = [(2500, 0), (1000, 1500), (0, 0), (3000, 0), (500, 700)]
LEADS = 200


async def _catalogue(price: int):
    from factories import make_account

    industries.install(BUILTIN_INDUSTRIES)
    await lwdb.migrate()
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    moving = await campaigns.create_industry(operator, schema_key="moving")
    product = await campaigns.create_product(operator, industry_id=moving.id, name="Local moving")
    offer = await campaigns.create_offer(operator, product_id=product.id, name="S", price_minor=price, exclusive=False,
                                         default_daily_cap=None)
    return operator, moving, product, offer


async def _partner(offer, deposit: int = 0, credit: int = 0):
    from factories import make_account

    account, owner = await make_account()
    async with in_transaction() as conn:
        if deposit:
            await ledger.credit(account.id, deposit, EntryKind.DEPOSIT, "seed", conn)
        if credit:
            await ledger.credit(account.id, credit, EntryKind.RETURN_CREDIT, "seed", conn)
    c = await campaigns.activate_offer(owner, offer.id)
    await campaigns.update_campaign(owner, c.id, CampaignChanges(schedule=[], clear_caps=("daily_cap",)))
    return account, owner


async def _leads(operator, moving, product, n: int) -> list[int]:
    ids = []
    for i in range(n):
        lead = await Lead.create(
            account_id=operator.account_id, industry_id=moving.id, product_id=product.id, first_name="P",
            last_name=str(i), phone=f"+1313555{i:04d}", postal_code="48165", city="New Hudson", state="MI",
            data={"move_type": "local", "move_size": "studio"}, market_status=MarketStatus.RECEIVED,
        )
        ids.append(lead.id)
    return ids


async def _workers(*argvs) -> list[dict]:
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, str(HERE / "money_worker.py"), *argv, cwd=HERE,
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        for argv in argvs
    ]
    outputs = [await asyncio.wait_for(p.communicate(), 300) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err.decode()[-3000:]
    return [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]


async def _assert_ledger_holds(account_ids) -> None:
    report = await ledger.verify(account_ids)
    assert report.ok, [p.describe() for p in report.problems]
    for account_id in account_ids:
        b = await ledger.balances(account_id)
        assert 0 <= b.credit_minor <= b.balance_minor


# -- sales against tiny balances, with money moving meanwhile -------------------------------------


async def _sales_run(url: str) -> None:
    async with separate_database(url, create=url.startswith("postgres")):
        operator, moving, product, offer = await _catalogue(PRICE)
        accounts = [(await _partner(offer, d, c))[0] for d, c in PARTNERS]
        lead_ids = await _leads(operator, moving, product, LEADS)
    account_ids = [a.id for a in accounts]
    results = await _workers(
        ("sales", url, "1", json.dumps(account_ids), json.dumps(lead_ids[0::2])),
        ("sales", url, "2", json.dumps(account_ids), json.dumps(lead_ids[1::2])),
    )
    async with separate_database(url):
        await _assert_ledger_holds(account_ids)
        assert sum(r["sold"] for r in results) == await LeadSale.all().count() > 0
        for account, (deposit, credit) in zip(accounts, PARTNERS):
            sales = await LeadSale.filter(account_id=account.id).count()
            moved = sum(r["moved"].get(str(account.id), 0) for r in results)
            b = await ledger.balances(account.id)
            assert b.balance_minor == deposit + credit + moved - sales * PRICE >= 0
            charges = await LedgerEntry.filter(account_id=account.id, kind=EntryKind.LEAD_CHARGE).values_list("sale_id", "amount_minor")
            assert len(charges) == sales == len({s for s, _ in charges}) and all(a == -PRICE for _, a in charges)
        for lead_id in lead_ids:
            lead = await Lead.get(id=lead_id)
            assert lead.sale_count == await LeadSale.filter(lead_id=lead_id).count() <= 4


async def test_sales_and_money_moves_from_two_processes_on_postgres():
    if not POSTGRES_URL:
        service_skip("multi-process money on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    url = POSTGRES_URL.replace("{}", "money_{}").format(uuid.uuid4().hex[:12])
    try:
        await _sales_run(url)
    finally:
        await drop_postgres_database(url)


async def test_sales_and_money_moves_from_two_processes_on_a_sqlite_file(tmp_path):
    await _sales_run(f"sqlite://{tmp_path / 'money.sqlite3'}?busy_timeout=20000")


# -- auto-charge: at most one charge at a time per account, across processes ------------------------


class CountingStripe(FakeStripe):
    """Charges slowly, and records how many charges of one customer overlap."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)

    async def create_payment_intent(self, params, *, presented):
        customer = params.get("customer", "")
        self.in_flight[customer] += 1
        self.max_in_flight[customer] = max(self.max_in_flight[customer], self.in_flight[customer])
        try:
            await asyncio.sleep(0.15)
            return await super().create_payment_intent(params, presented=presented)
        finally:
            self.in_flight[customer] -= 1


async def test_auto_charge_runs_at_most_once_at_a_time_across_two_processes_on_postgres(tmp_path):
    if not POSTGRES_URL:
        service_skip("multi-process auto-charge on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    url = POSTGRES_URL.replace("{}", "autocharge_{}").format(uuid.uuid4().hex[:12])
    fake = CountingStripe()
    try:
        async with serve_asgi(fake.app) as address:
            base_url = f"http://{address}"
            async with separate_database(url, create=True):
                install_gateways(base_url)
                operator, moving, product, offer = await _catalogue(1500)
                account, owner = await _partner(offer, deposit=3000)
                await StripeEnv(fake, address).add_card(owner)
                await autocharge.update_settings(owner, enabled=True, threshold_minor=2000, amount_minor=5000)
                lead_ids = await _leads(operator, moving, product, 60)
            toml = tmp_path / "plugins.toml"
            toml.write_text(f'[plugin.stripe_gateway]\napi_key = "{API_KEY}"\npublishable_key = "{PUBLISHABLE_KEY}"\n'
                            f'base_url = "{base_url}"\n')
            results = await _workers(
                ("autocharge", url, str(toml), str(account.id), json.dumps(lead_ids[0::2])),
                ("autocharge", url, str(toml), str(account.id), json.dumps(lead_ids[1::2])),
            )
        async with separate_database(url):
            [customer] = fake.customers
            assert fake.max_in_flight[customer] == 1, fake.max_in_flight
            payments_ = await Payment.filter(account_id=account.id).order_by("created_at")
            assert payments_ and all(p.status == PaymentStatus.SUCCEEDED for p in payments_)
            assert len(fake.charges) == len(payments_) == len({p.idempotency_key for p in payments_})
            # One at a time in the database too: each charge began after the previous one settled.
            for previous, current in zip(payments_, payments_[1:]):
                assert current.created_at >= previous.settled_at
            sales = await LeadSale.filter(account_id=account.id).count()
            assert sales == sum(r["sold"] for r in results) > len(payments_) >= 3
            b = await ledger.balances(account.id)
            assert b.balance_minor == 3000 + 5000 * len(payments_) - 1500 * sales >= 0
            await _assert_ledger_holds([account.id])
            ac = await AutoCharge.get(account_id=account.id)
            assert ac.payment_id is None and ac.failures == 0
    finally:
        from leadwire.core import payments

        payments.install([])
        await drop_postgres_database(url)


# -- a return credited once, a payment deposited once, an account closed once ---------------------


async def test_reviews_settlements_and_closings_race_from_two_processes_on_postgres(tmp_path):
    if not POSTGRES_URL:
        service_skip("multi-process money races on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    from leadwire.core import payments, returns, routing
    from leadwire.core.models.money import AccountClosure, PaymentPurpose, Refund
    from leadwire.core.models.returns import ReturnReason, ReturnStatus

    url = POSTGRES_URL.replace("{}", "races_{}").format(uuid.uuid4().hex[:12])
    try:
        async with separate_database(url, create=True):
            operator, moving, product, offer = await _catalogue(PRICE)
            install_gateways("http://127.0.0.1:9")  # the manual gateway is all this test uses
            buyer, buyer_owner = await _partner(offer, deposit=5000)
            [lead_id] = await _leads(operator, moving, product, 1)
            result = await routing.route_lead(lead_id)
            ret = await returns.request_return(buyer_owner, result.buyer_lead_ids[0], ReturnReason.NO_WORKING_PHONE)
            async with in_transaction() as conn:  # a bank transfer recorded, not yet settled
                await ledger.lock_account(buyer.id, conn)
                payment = await payments.create_payment(
                    account_id=buyer.id, gateway_name="manual", purpose=PaymentPurpose.MANUAL, amount_minor=7000,
                    method_label="Bank transfer", reference="WIRE-1", conn=conn,
                )
            closing, closing_owner = await _partner(offer, deposit=9000, credit=1000)
            payments.install([])
        spec = {"plugins_toml": str(tmp_path / "none.toml"), "operator": operator.membership_id,
                "owner": closing_owner.membership_id, "return_id": ret.id, "payment_id": payment.id}
        results = await _workers(("races", url, json.dumps(spec)), ("races", url, json.dumps(spec)))
        async with separate_database(url):
            assert sum(r["approved"] for r in results) == 1
            assert sum(r["closed"] for r in results) == 1
            assert (await returns.ReturnRequest.get(id=ret.id)).status == ReturnStatus.APPROVED
            assert await LedgerEntry.filter(return_request_id=ret.id).count() == 1
            assert await LedgerEntry.filter(payment_id=payment.id).count() == 1
            assert (await Payment.get(id=payment.id)).status == PaymentStatus.SUCCEEDED
            assert await AccountClosure.filter(account_id=closing.id).count() == 1
            assert sum(r.amount_minor for r in await Refund.filter(account_id=closing.id)) == 9000 - 5000  # the fee: just activated
            await _assert_ledger_holds([buyer.id, closing.id])
            assert (await ledger.balances(closing.id)).balance_minor == 0
            assert (await ledger.balances(buyer.id)).balance_minor == 5000 - PRICE + PRICE + 7000
    finally:
        await drop_postgres_database(url)
