"""Queries over the viewer, accounts, users, tokens and lead sources."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from leadwire.core import access, auth
from leadwire.core.models.identity import LeadSource as LeadSourceRow
from leadwire.core.models.identity import Membership
from leadwire.schema.identity.types import Account, ApiToken, LeadSource, User, Viewer
from leadwire.schema.permissions import IsOperator, IsSignedIn
from leadwire.schema.relay import Connection, paginate


async def load_viewer(info: Info) -> Viewer | None:
    v = info.context.viewer
    if v is None:
        return None
    m = await Membership.get(id=v.membership_id).select_related("person", "account")
    return Viewer(user=User.from_row(m), account=Account.from_row(m.account), _person_id=v.person_id)


@strawberry.type
class IdentityQueries:
    @strawberry.field(description="The signed-in user and account; null when not signed in.")
    async def viewer(self, info: Info) -> Viewer | None:
        return await load_viewer(info)

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Users the viewer may see: themselves and everyone below them (the owner sees all).",
    )
    async def users(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[User]:
        qs = access.visible_memberships(info.context.viewer).select_related("person")
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=User.from_row
        )

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Accounts the viewer may see: operator staff see every account, partners their own.",
    )
    async def accounts(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Account]:
        qs = access.visible_accounts(info.context.viewer)
        return await paginate(
            qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=Account.from_row
        )

    @strawberry.field(permission_classes=[IsSignedIn], description="The viewer's own personal API tokens.")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        return [ApiToken.from_row(t) for t in await auth.my_api_tokens(info.context.viewer).order_by("-id")]

    @strawberry.field(permission_classes=[IsOperator], description="Lead sources (operator only).")
    async def lead_sources(self, info: Info) -> list[LeadSource]:
        rows = await LeadSourceRow.filter(account_id=info.context.viewer.account_id).order_by("name")
        return [LeadSource.from_row(s) for s in rows]
