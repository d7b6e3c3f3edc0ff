"""The hot paths' plain database access (core/db.py): rows read without models
give every attribute the ORM gives, and statements written once run on both
databases. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from leadwire.core import db as lwdb
from leadwire.core.identity import now
from leadwire.core.models.identity import Account, AccountStatus
from leadwire.core.models.leads import Lead, LeadOutcome, MarketStatus

from factories import make_account


def _attributes(row, model) -> dict:
    names = list(model._meta.fields_db_projection) + [f"{n}_id" for n in model._meta.fk_fields]
    return {n: getattr(row, n) for n in names}


async def test_plain_rows_read_as_the_orm_reads(db):
    account, owner = await make_account("Plain Co")
    created = []
    for i in range(5):
        created.append(await Lead.create(
            account_id=account.id, first_name=f"P{i}", data={"n": i, "nested": {"ok": True}, "list": [1, "2"]},
            market_status=MarketStatus.SOLD if i % 2 else None, outcome=LeadOutcome.LOST if i == 3 else None,
            closed_at=now() - dt.timedelta(days=i) if i == 3 else None, sold_exclusively=bool(i % 2), value_minor=i,
        ))
    qs = Lead.filter(account_id=account.id).order_by("-id")
    models, plain = await qs, await lwdb.plain_rows(Lead.filter(account_id=account.id).order_by("-id"))
    assert len(plain) == 5 and [type(r) for r in plain] == [lwdb.PlainRow] * 5
    for m, p in zip(models, plain):
        mine, orm = _attributes(p, Lead), _attributes(m, Lead)
        assert mine == orm
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in orm.items()}
    assert plain[1].closed_at.tzinfo is not None and plain[1].outcome == LeadOutcome.LOST
    assert plain[0].data == {"n": 4, "nested": {"ok": True}, "list": [1, "2"]}


async def test_a_narrowed_page_reads_its_fields_as_the_orm_does_and_feeds_the_lead_type(db):
    """A lead page reads only Lead.ROW_FIELDS: those attributes as the ORM
    gives them, no others, and they are all the GraphQL type reads."""
    from leadwire.schema.leads.types import Lead as LeadType

    account, owner = await make_account("Narrow Co")
    for i in range(3):
        await Lead.create(account_id=account.id, first_name=f"N{i}", data={"n": i}, consent_text="long consent")
    orm = await Lead.filter(account_id=account.id).order_by("-id")
    plain = await lwdb.plain_rows(Lead.filter(account_id=account.id).order_by("-id").only(*LeadType.ROW_FIELDS))
    for m, p in zip(orm, plain, strict=True):
        assert set(vars(p)) == set(LeadType.ROW_FIELDS)
        assert vars(p) == {n: getattr(m, n) for n in LeadType.ROW_FIELDS}
        assert LeadType.from_row(p) == LeadType.from_row(m)  # from_row reads nothing else


async def test_plain_rows_leave_related_reads_to_the_orm(db):
    account, owner = await make_account("Related Co")
    await Lead.create(account_id=account.id, first_name="R")
    [row] = await lwdb.plain_rows(Lead.filter(account_id=account.id).select_related("account"))
    assert isinstance(row, Lead) and row.account.name == "Related Co"


async def test_a_joined_row_reads_as_the_orm_reads_it(db):
    """A page of buyer leads read with each one's sale in the same statement
    (SALE_OF_BUYER_LEAD on the lead list): every sale attribute as the ORM
    gives it, None for a lead with no sale, and the page itself unchanged,
    also when the queryset joins a table of its own (a rep's visible leads)."""
    from leadwire.core.access import visible_leads
    from leadwire.core.models.marketplace import Campaign, Industry, LeadSale, Offer, Product
    from leadwire.schema.loaders import SALE_OF_BUYER_LEAD

    from factories import make_lead, make_user, viewer_for

    account, owner = await make_account("Joined Co")
    rep = await make_user(owner)
    industry = await Industry.create(schema_key="moving", name="Moving")
    product = await Product.create(industry=industry, name="Local moving")
    offer = await Offer.create(product=product, name="Shared", price_minor=2500)
    campaign = await Campaign.create(account=account, offer=offer, product=product, name="Joined campaign")
    leads = [await make_lead(account.id, assignee=rep if i % 3 else None, first_name=f"J{i}") for i in range(6)]
    for i, lead in enumerate(leads):
        if i != 2:  # one lead (assigned to the rep) was never sold: imported, say
            # lead_id (the marketplace's original) differs from buyer_lead_id (the buyer's copy): the join is on the copy
            await LeadSale.create(lead_id=leads[(i + 1) % 6].id, buyer_lead_id=lead.id, campaign_id=campaign.id,
                                  account_id=account.id, price_minor=1000 + i, currency="USD", exclusive=bool(i % 2),
                                  campaign_revision=1)
    sales = {s.buyer_lead_id: s for s in await LeadSale.all()}
    for viewer in (owner, await viewer_for(rep)):
        def page():
            return visible_leads(viewer).order_by("-id")

        orm, plain = await page(), await lwdb.plain_rows(page(), joined=SALE_OF_BUYER_LEAD)
        assert [r.id for r in plain] == [m.id for m in orm] and len(plain) == (6 if viewer.is_owner else 4)
        for m, p in zip(orm, plain):
            assert _attributes(p, Lead) == _attributes(m, Lead)
            sale = sales.get(m.id)
            if sale is None:
                assert p.sale is None
                continue
            mine = {n: getattr(p.sale, n) for n in SALE_OF_BUYER_LEAD.fields}
            theirs = {n: getattr(sale, n) for n in SALE_OF_BUYER_LEAD.fields}
            assert mine == theirs
            assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}


async def test_a_statement_runs_on_either_database(db):
    account, _ = await make_account("Statement Co")
    await Account.filter(id=account.id).update(balance_minor=1000)
    take = lwdb.Statement(
        'UPDATE "account" SET "balance_minor" = "balance_minor" - $2 WHERE "id" = $1 AND "balance_minor" >= $2 '
        'AND "status" = $3'
    )
    conn = Account._meta.db
    assert "?2" in take.sqlite and "$2" not in take.sqlite and take.postgres.count("$2") == 2
    assert await take.rows_changed(conn, account.id, 600, AccountStatus.ACTIVE.value) == 1
    assert await take.rows_changed(conn, account.id, 600, AccountStatus.ACTIVE.value) == 0  # 400 left: refused
    assert (await Account.get(id=account.id)).balance_minor == 400
    read = lwdb.Statement('SELECT "balance_minor" FROM "account" WHERE "id" = $1')
    assert await read.returning(conn, account.id) == [{"balance_minor": 400}]
