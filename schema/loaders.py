"""Per-request DataLoaders, so that no list resolver runs a query per row."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from leadwire.core.access import Viewer, visible_deliveries, visible_leads
from leadwire.core.db import JoinedOne, plain_rows
from leadwire.core.models import marketplace as m
from leadwire.core.models.delivery import Delivery, DeliveryAttempt
from leadwire.core.models.identity import Account, Membership


async def _memberships(ids: list[int]) -> list[Membership | None]:
    rows = {m.id: m for m in await Membership.filter(id__in=ids).select_related("person")}
    return [rows.get(i) for i in ids]


def _by_id(model: type[Model]):
    async def load(ids: list[int]) -> list[Model | None]:
        rows = {r.id: r for r in await model.filter(id__in=ids)}
        return [rows.get(i) for i in ids]

    return load


async def _delivery_attempts(delivery_ids: list[int]) -> list[list[DeliveryAttempt]]:
    by_delivery: dict[int, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    for a in await DeliveryAttempt.filter(delivery_id__in=delivery_ids).order_by("number"):
        by_delivery[a.delivery_id].append(a)
    return [by_delivery[i] for i in delivery_ids]


# What a page of buyer leads reads of each one's sale, joined to the page
# (core.db.plain_rows) so that the sales cost no round trip of their own.
SALE_OF_BUYER_LEAD = JoinedOne(
    model=m.LeadSale, on="buyer_lead_id", attribute="sale",
    fields=("price_minor", "currency", "exclusive", "sold_at", "campaign_id"),
)


async def _campaigns(ids) -> dict:
    """The GraphQL campaigns of these ids, each built once, in one statement."""
    from leadwire.schema.marketplace.types import Campaign

    ids = list(ids)
    if not ids:
        return {}
    conn = m.Campaign._meta.db
    mark = (lambda i: f"${i}") if conn.capabilities.dialect == "postgres" else (lambda i: "?")
    _, rows = await conn.execute_query(
        f'SELECT * FROM "campaign" WHERE "id" IN ({", ".join(mark(i) for i in range(1, len(ids) + 1))})', ids,
    )
    campaigns = (Campaign.from_row(m.Campaign._init_from_db(**dict(row))) for row in rows)
    return {campaign.id: campaign for campaign in campaigns}


async def sales_from_rows(rows: list) -> list:
    """GraphQL sales from plain sale rows (SALE_OF_BUYER_LEAD's fields; None
    stays None), their campaigns read in one statement."""
    from leadwire.schema.marketplace.types import LeadSale, Money

    campaigns = await _campaigns({row.campaign_id for row in rows if row is not None})
    return [
        None if row is None else LeadSale(
            price=Money(amount_minor=row.price_minor, currency=row.currency), exclusive=row.exclusive,
            sold_at=row.sold_at, campaign=campaigns[row.campaign_id],
        )
        for row in rows
    ]


async def sales_of_buyer_leads(lead_ids: list[int]):
    """Each buyer lead's sale as the GraphQL type, campaign included. The ids
    are the caller's visible leads (the sale of a buyer lead is its owner's)."""
    if not lead_ids:
        return []
    wanted = set(lead_ids)
    sales = m.LeadSale.filter(buyer_lead_id__in=wanted).only("buyer_lead_id", *SALE_OF_BUYER_LEAD.fields)
    rows = {row.buyer_lead_id: row for row in await plain_rows(sales)}
    return await sales_from_rows([rows.get(i) for i in lead_ids])


async def _products_by_industry(industry_ids: list[int]) -> list[list[m.Product]]:
    grouped: dict[int, list[m.Product]] = defaultdict(list)
    for p in await m.Product.filter(industry_id__in=industry_ids).order_by("name"):
        grouped[p.industry_id].append(p)
    return [grouped[i] for i in industry_ids]


def _deliveries_of_leads(viewer: Viewer):
    """A lead's deliveries as the viewer may see them: the buyer's copy's own,
    and for the operator's marketplace lead those of every sale of it."""

    async def load(lead_ids: list[int]) -> list[list[Delivery]]:
        wanted = set(lead_ids)
        grouped: dict[int, list[Delivery]] = defaultdict(list)
        rows = await visible_deliveries(viewer).filter(
            Q(buyer_lead_id__in=lead_ids) | Q(sale__lead_id__in=lead_ids)
        ).select_related("sale").order_by("-id")
        for d in rows:
            for key in {d.buyer_lead_id, d.sale.lead_id} & wanted:
                grouped[key].append(d)
        return [grouped[i] for i in lead_ids]

    return load


def _visible_leads_by_id(viewer: Viewer):
    async def load(ids: list[int]):
        rows = {r.id: r for r in await visible_leads(viewer).filter(id__in=ids)}
        return [rows.get(i) for i in ids]

    return load


class Loaders:
    """Rows by id; visibility is checked by the resolver that uses them
    (through core.access), never assumed from the loader — except loaders
    built for a viewer, which filter through core.access themselves."""

    # Built on first use: a request touches two or three of them, and building
    # all of them for every request showed in profiles.
    @cached_property
    def membership(self) -> DataLoader:
        return DataLoader(load_fn=_memberships)

    @cached_property
    def account(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(Account))

    # The catalogue is open to every signed-in user.
    @cached_property
    def industry(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(m.Industry))

    @cached_property
    def product(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(m.Product))

    @cached_property
    def offer(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(m.Offer))

    @cached_property
    def campaign(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(m.Campaign))

    @cached_property
    def products_of_industry(self) -> DataLoader:
        return DataLoader(load_fn=_products_by_industry)

    # The sale of a buyer's lead the resolver already found visible.
    @cached_property
    def sale_of_buyer_lead(self) -> DataLoader:
        return DataLoader(load_fn=sales_of_buyer_leads)

    @cached_property
    def sale(self) -> DataLoader:
        return DataLoader(load_fn=_by_id(m.LeadSale))

    # Attempts of deliveries the resolver already found visible.
    @cached_property
    def delivery_attempts(self) -> DataLoader:
        return DataLoader(load_fn=_delivery_attempts)

    def __init__(self) -> None:
        self._deliveries_of_leads: DataLoader | None = None
        self._visible_leads: DataLoader | None = None

    def visible_lead(self, viewer: Viewer) -> DataLoader:
        """Leads by id, None for one the viewer may not see."""
        if self._visible_leads is None:
            self._visible_leads = DataLoader(load_fn=_visible_leads_by_id(viewer))
        return self._visible_leads

    def deliveries_of_leads(self, viewer: Viewer) -> DataLoader:
        if self._deliveries_of_leads is None:
            self._deliveries_of_leads = DataLoader(load_fn=_deliveries_of_leads(viewer))
        return self._deliveries_of_leads
