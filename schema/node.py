"""``node(id:)`` and ``nodes(ids:)``: the classic IDOR door, so every type's
lookup goes through core.access, and "does not exist", "not yours" and
"malformed" all answer null."""

from __future__ import annotations

from typing import Awaitable, Callable

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import access
from leadwire.core.access import Viewer
from leadwire.core.models.identity import ApiToken as ApiTokenRow
from leadwire.core.models.identity import LeadSource as LeadSourceRow
from leadwire.core.models.identity import LeadSourceKey as LeadSourceKeyRow
from leadwire.schema.identity.types import Account, ApiToken, LeadSource, LeadSourceKey, User
from leadwire.core.campaigns import visible_campaigns
from leadwire.core.models import marketplace as m
from leadwire.core.models import ledger as ledger_models
from leadwire.core.models import money as money_models
from leadwire.schema.delivery.types import Delivery
from leadwire.schema.leads.types import Lead
from leadwire.schema.marketplace.types import Campaign, Industry, Offer, Product
from leadwire.schema.money import types as money_types
from leadwire.schema.relay import parse_global_id, pk_of

MAX_NODES = 100


async def _lead(v: Viewer, pk: int):
    row = await access.visible_lead(v, pk)
    return Lead.from_row(row) if row else None


async def _user(v: Viewer, pk: int):
    row = await access.visible_memberships(v).select_related("person").get_or_none(id=pk)
    return User.from_row(row) if row else None


async def _account(v: Viewer, pk: int):
    row = await access.visible_accounts(v).get_or_none(id=pk)
    return Account.from_row(row) if row else None


async def _api_token(v: Viewer, pk: int):
    row = await ApiTokenRow.get_or_none(id=pk, membership_id=v.membership_id)
    return ApiToken.from_row(row) if row else None


async def _lead_source(v: Viewer, pk: int):
    if not v.is_operator:
        return None
    row = await LeadSourceRow.get_or_none(id=pk, account_id=v.account_id)
    return LeadSource.from_row(row) if row else None


async def _lead_source_key(v: Viewer, pk: int):
    if not v.is_operator:
        return None
    row = await LeadSourceKeyRow.get_or_none(id=pk, source__account_id=v.account_id)
    return LeadSourceKey.from_row(row) if row else None


def _catalogue(model, node_type):
    async def resolve(v: Viewer, pk: int):
        row = await model.get_or_none(id=pk)  # the catalogue is open to every signed-in user
        return node_type.from_row(row) if row else None

    return resolve


async def _campaign(v: Viewer, pk: int):
    row = await visible_campaigns(v).get_or_none(id=pk)
    return Campaign.from_row(row) if row else None


RESOLVERS: dict[str, Callable[[Viewer, int], Awaitable[object | None]]] = {
    "Lead": _lead,
    "User": _user,
    "Account": _account,
    "ApiToken": _api_token,
    "LeadSource": _lead_source,
    "LeadSourceKey": _lead_source_key,
    "Campaign": _campaign,
}


async def _delivery(v: Viewer, pk: int):
    row = await access.visible_deliveries(v).get_or_none(id=pk)
    return Delivery.from_row(row) if row else None


RESOLVERS["Delivery"] = _delivery


async def _tracking_number(v: Viewer, pk: int):
    from leadwire.schema.calls.types import TrackingNumber

    row = await access.visible_tracking_numbers(v).get_or_none(id=pk)
    return TrackingNumber.from_row(row) if row else None


RESOLVERS["TrackingNumber"] = _tracking_number


def _money(model, node_type):
    """An account's money: its owner and operator staff (core.access.visible_money)."""

    async def resolve(v: Viewer, pk: int):
        row = await access.visible_money(v, model).get_or_none(id=pk)
        return node_type.from_row(row) if row else None

    return resolve


RESOLVERS.update(
    LedgerEntry=_money(ledger_models.LedgerEntry, money_types.LedgerEntry),
    PaymentMethod=_money(money_models.PaymentMethod, money_types.PaymentMethod),
    Payment=_money(money_models.Payment, money_types.Payment),
    Refund=_money(money_models.Refund, money_types.Refund),
    Notification=_money(money_models.Notification, money_types.Notification),
)


async def _return_request(v: Viewer, pk: int):
    row = await access.visible_returns(v).get_or_none(id=pk)
    return money_types.ReturnRequest.from_row(row) if row else None


RESOLVERS["ReturnRequest"] = _return_request
RESOLVERS.update(
    Industry=_catalogue(m.Industry, Industry), Product=_catalogue(m.Product, Product), Offer=_catalogue(m.Offer, Offer)
)


def _workspace_resolvers() -> dict:
    from leadwire.schema.workspace.queries import RESOLVERS as WORKSPACE

    return WORKSPACE


RESOLVERS.update(_workspace_resolvers())


async def resolve_global_id(viewer: Viewer | None, raw: str) -> object | None:
    if viewer is None:
        return None
    gid = parse_global_id(raw)
    if gid is None or gid.type_name not in RESOLVERS:
        return None
    pk = pk_of(gid)
    if pk is None:
        return None
    return await RESOLVERS[gid.type_name](viewer, pk)


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by its global ID; null if it does not exist or you may not see it.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        return await resolve_global_id(info.context.viewer, id)

    @strawberry.field(description=f"Several objects by global ID (at most {MAX_NODES}), null for each one you may not see.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        from graphql import GraphQLError

        if len(ids) > MAX_NODES:
            raise GraphQLError(f"At most {MAX_NODES} ids per call, got {len(ids)}.", extensions={"code": "BAD_USER_INPUT"})
        return [await resolve_global_id(info.context.viewer, i) for i in ids]
