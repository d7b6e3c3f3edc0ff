"""Small helpers that build realistic accounts, users and leads through the
real services (never by writing rows the services would refuse)."""

from __future__ import annotations

import itertools

from leadwire.core import identity
from leadwire.core.access import Viewer
from leadwire.core.models.identity import AccountKind, Membership
from leadwire.core.models.leads import Lead

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


async def viewer_for(m: Membership) -> Viewer:
    m = await Membership.get(id=m.id).select_related("person", "account")
    return Viewer.from_membership(m)


async def make_account(name: str | None = None, kind: AccountKind = AccountKind.PARTNER, email: str | None = None):
    n = next(_seq)
    account, owner = await identity.create_account(
        kind=kind,
        name=name or f"Partner {n}",
        owner_email=email or f"owner{n}@example.com",
        owner_name=f"Owner {n}",
        owner_password=PASSWORD,
    )
    return account, await viewer_for(owner)


async def make_user(owner: Viewer, manager: Membership | None = None, email: str | None = None) -> Membership:
    n = next(_seq)
    m, _ = await identity.create_user(
        owner,
        email=email or f"user{n}@example.com",
        name=f"User {n}",
        manager_id=manager.id if manager else None,
        password=PASSWORD,
    )
    return m


async def make_lead(account_id: int, assignee: Membership | None = None, **fields) -> Lead:
    n = next(_seq)
    return await Lead.create(
        account_id=account_id,
        assignee_id=assignee.id if assignee else None,
        first_name=fields.pop("first_name", f"Pat{n}"),
        last_name=fields.pop("last_name", "Customer"),
        phone=fields.pop("phone", f"+1313555{n:04d}"[-12:]),
        **fields,
    )
