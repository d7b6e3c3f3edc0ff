"""Builders for marketplace tests: catalogue, funded partners, campaigns and
received leads, all through the real services."""

from __future__ import annotations

import itertools

from tortoise.transactions import in_transaction

from leadwire.core import campaigns, industries, ledger
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.ledger import EntryKind
from leadwire.integrations import geodata
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES

from factories import make_account

_phones = itertools.count(1000)


class Market:
    async def setup(self):
        industries.install(BUILTIN_INDUSTRIES)
        self.operator_account, self.operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
        self.moving = await campaigns.create_industry(self.operator, schema_key="moving")
        self.local = await campaigns.create_product(self.operator, industry_id=self.moving.id, name="Local moving")
        self.full = await campaigns.create_product(self.operator, industry_id=self.moving.id, name="Full-service moving")
        return self

    async def offer(self, product, price=2500, exclusive=False, daily_cap=None):
        return await campaigns.create_offer(
            self.operator, product_id=product.id, name=f"{'Exclusive' if exclusive else 'Shared'} {price}",
            price_minor=price, exclusive=exclusive, default_daily_cap=daily_cap,
        )

    async def partner(self, balance=100_000, name=None):
        account, owner = await make_account(name)
        if balance:
            async with in_transaction() as conn:
                await ledger.credit(account.id, balance, EntryKind.DEPOSIT, "test deposit", conn)
        return account, owner

    async def campaign(self, owner, offer, schedule=(), **changes):
        c = await campaigns.activate_offer(owner, offer.id)
        return await campaigns.update_campaign(owner, c.id, CampaignChanges(schedule=list(schedule), **changes))

    async def lead(self, product=None, zip_code="48165", to_zip="48104", **data):
        place = geodata.lookup(zip_code)
        n = next(_phones)
        return await Lead.create(
            account_id=self.operator_account.id,
            industry_id=self.moving.id,
            product_id=(product or self.local).id,
            first_name="Casey",
            last_name=f"Mover{n}",
            phone=f"+1313555{n:04d}",
            postal_code=zip_code,
            city=place.city,
            state=place.state,
            data={"from_zip": zip_code, "to_zip": to_zip, "move_date": "2026-12-15", "move_size": "2_bedrooms",
                  "move_type": "local", "move_distance_miles": 17, **data},
            market_status=MarketStatus.RECEIVED,
        )
