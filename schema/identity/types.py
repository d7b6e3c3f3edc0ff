"""GraphQL types for accounts, users, tokens and lead sources."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import access
from leadwire.core.models.identity import Account as AccountRow
from leadwire.core.models.identity import AccountKind as CoreAccountKind
from leadwire.core.models.identity import AccountStatus as CoreAccountStatus
from leadwire.core.models.identity import ApiToken as ApiTokenRow
from leadwire.core.models.identity import LeadSource as LeadSourceRow
from leadwire.core.models.identity import LeadSourceKey as LeadSourceKeyRow
from leadwire.core.models.identity import Membership

from leadwire.core.ledger import MARKET_CURRENCY
from leadwire.schema.marketplace.types import Money
from leadwire.schema.relay import Connection

if TYPE_CHECKING:
    from leadwire.schema.leads.types import Lead
    from leadwire.schema.money.types import AccountMoney

AccountKind = strawberry.enum(CoreAccountKind, name="AccountKind")
AccountStatus = strawberry.enum(CoreAccountStatus, name="AccountStatus")


@strawberry.type(description="A partner company (buyer) or the marketplace operator.")
class Account(relay.Node):
    id: relay.NodeID[int]
    kind: AccountKind
    name: str
    currency: str = strawberry.field(description="ISO 4217 code; set by the owner.")
    status: AccountStatus
    created_at: datetime
    phone: str
    website: str
    address: str
    approved: bool = strawberry.field(description="Partners: whether the marketplace has approved the account.")
    _balance_minor: strawberry.Private[int]
    _manager_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, a: AccountRow) -> Account:
        return cls(
            id=a.id, kind=a.kind, name=a.name, currency=a.currency, status=a.status, created_at=a.created_at,
            phone=a.phone, website=a.website, address=a.address, approved=a.approved_at is not None,
            _balance_minor=a.balance_minor, _manager_id=a.account_manager_id,
        )

    @strawberry.field(description="The prepaid balance (marketplace currency).")
    def balance(self) -> Money:
        return Money(amount_minor=self._balance_minor, currency=MARKET_CURRENCY)

    @strawberry.field(description="The partner's money: ledger, cards, payments, auto-charge, returns, closing. "
                      "Its owner and operator staff only (null for other users and for the operator's account).")
    async def money(self, info: Info) -> Annotated["AccountMoney", strawberry.lazy("leadwire.schema.money.types")] | None:
        from leadwire.schema.money.types import AccountMoney

        if self.kind != CoreAccountKind.PARTNER or not access.can_see_money(info.context.viewer, self.id):
            return None
        return AccountMoney(_account_id=self.id)

    @strawberry.field(description="The marketplace staff member who looks after this partner.")
    async def account_manager(self, info: Info) -> AccountManagerContact | None:
        if self._manager_id is None:
            return None
        m = await info.context.loaders.membership.load(self._manager_id)
        return AccountManagerContact(name=m.person.name, email=m.person.email) if m else None


@strawberry.type(description="How to reach a partner's account manager.")
class AccountManagerContact:
    name: str
    email: str


@strawberry.type(description="A person's user in one account, with their place in the manager tree.")
class User(relay.Node):
    id: relay.NodeID[int]
    name: str
    email: str
    time_zone: str = strawberry.field(description="IANA time zone the user's dates are shown in.")
    is_owner: bool
    barred: bool
    created_at: datetime
    _manager_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, m: Membership) -> User:
        """``m`` with ``person`` fetched."""
        return cls(
            id=m.id,
            name=m.person.name,
            email=m.person.email,
            time_zone=m.person.time_zone,
            is_owner=m.is_owner,
            barred=m.is_barred,
            created_at=m.created_at,
            _manager_id=m.manager_id,
        )

    @strawberry.field(description="Their manager, when the viewer may see them (never someone above the viewer).")
    async def manager(self, info: Info) -> User | None:
        if self._manager_id is None:
            return None
        m = await info.context.loaders.membership.load(self._manager_id)
        viewer = info.context.viewer
        if m is None or not access.can_see_membership_path(viewer, m.tree_path, m.account_id):
            return None
        return User.from_row(m)

    @strawberry.field(description="Leads assigned to this user that the viewer may see.")
    async def leads(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated["Lead", strawberry.lazy("leadwire.schema.leads.types")]]:
        from leadwire.schema.leads.queries import lead_connection

        return await lead_connection(info, first=first, after=after, assignee_id=self.id)


@strawberry.type(description="A personal API token. Its secret value is shown once, when created.")
class ApiToken(relay.Node):
    id: relay.NodeID[int]
    name: str
    prefix: str = strawberry.field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, t: ApiTokenRow) -> ApiToken:
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked_at=t.revoked_at,
            last_used_at=t.last_used_at,
        )


@strawberry.type(description="An API key a lead source posts leads with. Shown once, when created.")
class LeadSourceKey(relay.Node):
    id: relay.NodeID[int]
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, k: LeadSourceKeyRow) -> LeadSourceKey:
        return cls(id=k.id, prefix=k.prefix, created_at=k.created_at, revoked_at=k.revoked_at, last_used_at=k.last_used_at)


@strawberry.type(description="A seller of leads to the marketplace (operator only).")
class LeadSource(relay.Node):
    id: relay.NodeID[int]
    name: str
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def from_row(cls, s: LeadSourceRow) -> LeadSource:
        return cls(id=s.id, name=s.name, created_at=s.created_at, disabled_at=s.disabled_at)

    @strawberry.field
    async def keys(self) -> list[LeadSourceKey]:
        return [LeadSourceKey.from_row(k) for k in await LeadSourceKeyRow.filter(source_id=self.id).order_by("-id")]


@strawberry.type(description="An account the signed-in person can switch to.")
class AccountChoice:
    account: Account
    is_current: bool


@strawberry.type(description="Who is signed in, in which account.")
class Viewer:
    user: User
    account: Account
    _person_id: strawberry.Private[int]

    @strawberry.field(description="Every account this person belongs to (for the account switcher).")
    async def accounts(self, info: Info) -> list[AccountChoice]:
        from leadwire.core.identity import memberships_of

        return [
            AccountChoice(account=Account.from_row(m.account), is_current=m.account_id == self.account.id)
            for m in await memberships_of(self._person_id)
        ]
