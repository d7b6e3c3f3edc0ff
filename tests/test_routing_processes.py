"""Hundreds of leads routed at once by two OS processes against tiny balances and
caps, on PostgreSQL (row locks and conditional updates across processes) and
on a SQLite file (the embedded default with a second process)."""

import asyncio
import sys
import uuid
from pathlib import Path

from tortoise.transactions import in_transaction

from leadwire.core import campaigns, db as lwdb, industries, ledger
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.models.identity import Account
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.ledger import EntryKind
from leadwire.core.models.marketplace import CapCounter, LeadSale
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip

HERE = Path(__file__).resolve().parent
LEADS = 300
PRICE, EX_PRICE = 1000, 4000
# (balance, daily cap) per shared buyer: each can take exactly min(cap, balance // price)
SHARED_BUYERS = [(2500, None), (5000, 3), (9000, None), (100_000, 7), (0, None)]
EXCLUSIVE_BUYERS = [(12_000, None), (100_000, 5)]


async def _seed(url: str) -> dict:
    from factories import make_account
    from leadwire.core.models.identity import AccountKind

    industries.install(BUILTIN_INDUSTRIES)
    await lwdb.migrate()
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    moving = await campaigns.create_industry(operator, schema_key="moving")
    product = await campaigns.create_product(operator, industry_id=moving.id, name="Local moving")
    shared = await campaigns.create_offer(operator, product_id=product.id, name="S", price_minor=PRICE,
                                          exclusive=False, default_daily_cap=None)
    exclusive = await campaigns.create_offer(operator, product_id=product.id, name="X", price_minor=EX_PRICE,
                                             exclusive=True, default_daily_cap=None)
    expected = {}
    for offer, buyers in ((shared, SHARED_BUYERS), (exclusive, EXCLUSIVE_BUYERS)):
        for balance, cap in buyers:
            account, owner = await make_account()
            if balance:
                async with in_transaction() as conn:
                    await ledger.credit(account.id, balance, EntryKind.DEPOSIT, "seed", conn)
            c = await campaigns.activate_offer(owner, offer.id)
            await campaigns.update_campaign(owner, c.id, CampaignChanges(schedule=[], daily_cap=cap, clear_caps=() if cap else ("daily_cap",)))
            can_buy = balance // offer.price_minor
            expected[account.id] = (min(cap, can_buy) if cap else can_buy, offer.price_minor, balance, c.id, cap)
    ids = []
    for n in range(LEADS):
        lead = await Lead.create(
            account_id=operator.account_id, industry_id=moving.id, product_id=product.id, first_name="P",
            last_name=str(n), phone=f"+1313555{n:04d}", postal_code="48165", city="New Hudson", state="MI",
            data={"move_type": "local", "move_size": "studio"}, market_status=MarketStatus.RECEIVED,
        )
        ids.append(lead.id)
    return {"expected": expected, "lead_ids": ids}


async def _run(url: str) -> None:
    async with separate_database(url, create=url.startswith("postgres")):
        seeded = await _seed(url)
    ids = seeded["lead_ids"]
    halves = [ids[0::2], ids[1::2]]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "route_worker.py"), url, *map(str, half), cwd=HERE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for half in halves
    ]
    outputs = [await asyncio.wait_for(p.communicate(), 240) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err.decode()[-3000:]
    async with separate_database(url):
        for account_id, (count, price, deposit, campaign_id, cap) in seeded["expected"].items():
            account = await Account.get(id=account_id)
            sales = await LeadSale.filter(account_id=account_id).count()
            assert sales == count, (account_id, sales, count)
            assert account.balance_minor == deposit - count * price >= 0
            assert account.balance_minor == await ledger.ledger_sum(account_id)
            if cap:
                assert max(await CapCounter.filter(campaign_id=campaign_id).values_list("count", flat=True)) <= cap
        for lead_id in ids:
            sales = await LeadSale.filter(lead_id=lead_id)
            assert len(sales) <= 4
            if any(s.exclusive for s in sales):
                assert len(sales) == 1
            lead = await Lead.get(id=lead_id)
            assert lead.sale_count == len(sales)
            assert lead.market_status in (MarketStatus.SOLD, MarketStatus.UNSOLD)
        total_sold = sum(int(out.decode().strip().splitlines()[-1]) for out, _ in outputs)
        assert total_sold == await LeadSale.all().count()


async def test_two_processes_on_postgres():
    if not POSTGRES_URL:
        service_skip("multi-process routing on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    url = POSTGRES_URL.replace("{}", "route_{}").format(uuid.uuid4().hex[:12])
    try:
        await _run(url)
    finally:
        await drop_postgres_database(url)


async def test_two_processes_on_a_sqlite_file(tmp_path):
    await _run(f"sqlite://{tmp_path / 'routing.sqlite3'}?busy_timeout=20000")
