"""Accounts, users, the manager tree, ownership and barring (seed 003).

Rules that live here and nowhere else:
- each account has exactly one owner; only the owner creates users, bars
  them, moves them in the tree, changes the account's settings, and hands
  ownership on;
- the manager tree has any depth and never a cycle;
- a barred user loses access at once (core.auth checks it on every request)
  and can be deleted once no lead is assigned to them;
- one person (one e-mail, one password) may belong to several accounts.

Changes to an account's tree start by writing the account row, which
serialises them per account on PostgreSQL (row lock) and SQLite (write lock),
so two concurrent moves can never build a cycle between them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from zoneinfo import available_timezones

import pycountry
from email_validator import EmailNotValidError, validate_email
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from leadwire.core import events, passwords
from leadwire.core.access import Viewer, require_owner, visible_memberships
from leadwire.core.events import LeadEvent, LeadEventKind
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.models.identity import (
    Account,
    AccountKind,
    ApiToken,
    Membership,
    Person,
    Session,
)
from leadwire.core.models.leads import Lead

MAX_TREE_PATH = 1024
_TIME_ZONES = frozenset(available_timezones())


def now() -> datetime:
    return datetime.now(timezone.utc)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


# -- validation ---------------------------------------------------------------


def normalise_email(raw: str, field: str = "email") -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise DomainError.single(field, ErrorCode.INVALID, f"Not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


def check_time_zone(value: str, field: str = "time_zone") -> str:
    if value not in _TIME_ZONES:
        raise DomainError.single(
            field, ErrorCode.INVALID, f"Unknown time zone {value!r}: use an IANA name such as 'America/Detroit'."
        )
    return value


def check_currency(value: str, field: str = "currency") -> str:
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise DomainError.single(field, ErrorCode.INVALID, f"Unknown currency {value!r}: use an ISO 4217 code such as 'USD'.")
    return code


def check_name(value: str, field: str, what: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value:
        raise DomainError.single(field, ErrorCode.REQUIRED, f"{what} is required.")
    if len(value) > max_length:
        raise DomainError.single(field, ErrorCode.TOO_LONG, f"{what} is at most {max_length} characters.")
    return value


def _collect(*checks) -> list:
    """Run validation callables; raise one DomainError listing every failure."""
    errors: list[FieldError] = []
    results = []
    for check in checks:
        try:
            results.append(check())
        except DomainError as exc:
            errors.extend(exc.errors)
            results.append(None)
    if errors:
        raise DomainError(*errors)
    return results


async def _lock_account(account_id: int, conn) -> None:
    """Write the account row first: serialises tree changes per account."""
    await Account.filter(id=account_id).using_db(conn).update(status=F("status"))


# -- accounts -----------------------------------------------------------------


async def create_account(
    *,
    kind: AccountKind,
    name: str,
    owner_email: str,
    owner_name: str,
    owner_password: str | None,
    currency: str = "USD",
    owner_time_zone: str = "UTC",
    approved: bool = True,
) -> tuple[Account, Membership]:
    """A new account with its owner. An existing person (same e-mail) becomes the
    owner with their own password unchanged; a new person needs a password."""
    name, email, owner_name, currency, owner_time_zone = _collect(
        lambda: check_name(name, "name", "The account name"),
        lambda: normalise_email(owner_email, "owner_email"),
        lambda: check_name(owner_name, "owner_name", "The owner's name"),
        lambda: check_currency(currency),
        lambda: check_time_zone(owner_time_zone, "owner_time_zone"),
    )
    async with in_transaction() as conn:
        person = await Person.filter(email=email).using_db(conn).first()
        if person is None:
            if owner_password is None:
                raise DomainError.single("owner_password", ErrorCode.REQUIRED, "A password is required for a new person.")
            passwords.check_policy(owner_password, "owner_password")
            person = await Person.create(
                email=email,
                name=owner_name,
                password_hash=passwords.hash_password(owner_password),
                time_zone=owner_time_zone,
                password_changed_at=now(),
                using_db=conn,
            )
        account = await Account.create(
            kind=kind, name=name, currency=currency, approved_at=now() if approved else None, using_db=conn
        )
        owner = await _add_membership(account.id, person.id, manager=None, owner=True, conn=conn)
    return account, owner


async def update_account(viewer: Viewer, *, name: str | None = None, currency: str | None = None) -> Account:
    require_owner(viewer, "change the account's settings")
    checks = []
    if name is not None:
        checks.append(lambda: check_name(name, "name", "The account name"))
    if currency is not None:
        checks.append(lambda: check_currency(currency))
    values = _collect(*checks)
    changes = {}
    if name is not None:
        changes["name"] = values.pop(0)
    if currency is not None:
        changes["currency"] = values.pop(0)
    if changes:
        await Account.filter(id=viewer.account_id).update(**changes)
    return await Account.get(id=viewer.account_id)


# -- users and the manager tree -----------------------------------------------


async def _add_membership(
    account_id: int, person_id: int, *, manager: Membership | None, owner: bool, conn
) -> Membership:
    m = await Membership.create(
        account_id=account_id,
        person_id=person_id,
        manager=manager,
        tree_path="/",  # set right below, once the id is known
        owner_slot=1 if owner else None,
        using_db=conn,
    )
    m.tree_path = f"{manager.tree_path if manager else '/'}{_b36(m.id)}/"
    _check_path_length(m.tree_path)
    await Membership.filter(id=m.id).using_db(conn).update(tree_path=m.tree_path)
    return m


def _check_path_length(path: str) -> None:
    if len(path) > MAX_TREE_PATH:
        raise DomainError.single(
            "manager_id", ErrorCode.INVALID, "The manager hierarchy is too deep (over about 100 levels)."
        )


async def create_user(
    viewer: Viewer,
    *,
    email: str,
    name: str,
    manager_id: int | None = None,
    time_zone: str = "UTC",
    password: str | None = None,
) -> tuple[Membership, str | None]:
    """Add a user to the viewer's account. Returns the membership and, when a new
    person was created without a chosen password, a one-time initial password."""
    require_owner(viewer, "add users")
    email, name, time_zone = _collect(
        lambda: normalise_email(email),
        lambda: check_name(name, "name", "The name"),
        lambda: check_time_zone(time_zone),
    )
    if password is not None:
        passwords.check_policy(password, "password")
    initial_password = None
    async with in_transaction() as conn:
        await _lock_account(viewer.account_id, conn)
        manager = None
        if manager_id is not None:
            manager = await Membership.filter(id=manager_id, account_id=viewer.account_id).using_db(conn).first()
            if manager is None:
                raise not_found("manager_id", "user")
        person = await Person.filter(email=email).using_db(conn).first()
        if person is None:
            if password is None:
                password = initial_password = secrets.token_urlsafe(12)
            person = await Person.create(
                email=email,
                name=name,
                password_hash=passwords.hash_password(password),
                time_zone=time_zone,
                password_changed_at=now(),
                using_db=conn,
            )
        elif await Membership.filter(account_id=viewer.account_id, person_id=person.id).using_db(conn).exists():
            raise DomainError.single("email", ErrorCode.DUPLICATE, "This person is already a user of this account.")
        m = await _add_membership(viewer.account_id, person.id, manager=manager, owner=False, conn=conn)
    return m, initial_password


async def set_manager(viewer: Viewer, membership_id: int, manager_id: int | None) -> Membership:
    """Move a user (and everyone below them) under another manager, or to the top."""
    require_owner(viewer, "change who reports to whom")
    async with in_transaction() as conn:
        await _lock_account(viewer.account_id, conn)
        m = await Membership.filter(id=membership_id, account_id=viewer.account_id).using_db(conn).first()
        if m is None:
            raise not_found("user_id", "user")
        new_manager = None
        if manager_id is not None:
            new_manager = await Membership.filter(id=manager_id, account_id=viewer.account_id).using_db(conn).first()
            if new_manager is None:
                raise not_found("manager_id", "user")
            if new_manager.tree_path.startswith(m.tree_path):
                raise DomainError.single(
                    "manager_id",
                    ErrorCode.HIERARCHY_CYCLE,
                    "A user cannot report to themselves or to someone who reports to them.",
                )
        old_path = m.tree_path
        new_path = f"{new_manager.tree_path if new_manager else '/'}{_b36(m.id)}/"
        subtree = await Membership.filter(account_id=viewer.account_id, tree_path__startswith=old_path).using_db(conn)
        for row in subtree:
            row.tree_path = new_path + row.tree_path[len(old_path):]
            _check_path_length(row.tree_path)
        await Membership.filter(id=m.id).using_db(conn).update(manager_id=manager_id)
        if subtree:
            await Membership.bulk_update(subtree, fields=["tree_path"], using_db=conn)
    return await Membership.get(id=membership_id)


async def transfer_ownership(viewer: Viewer, membership_id: int) -> Membership:
    require_owner(viewer, "hand over ownership")
    async with in_transaction() as conn:
        await _lock_account(viewer.account_id, conn)
        target = await Membership.filter(id=membership_id, account_id=viewer.account_id).using_db(conn).first()
        if target is None:
            raise not_found("user_id", "user")
        if target.is_barred:
            raise DomainError.single("user_id", ErrorCode.BARRED, "A barred user cannot become the owner.")
        if target.id != viewer.membership_id:
            await Membership.filter(id=viewer.membership_id).using_db(conn).update(owner_slot=None)
            await Membership.filter(id=target.id).using_db(conn).update(owner_slot=1)
    return await Membership.get(id=membership_id)


async def bar_user(viewer: Viewer, membership_id: int) -> Membership:
    """Stop a user's access at once: their sessions and tokens are revoked, and
    every request re-checks the bar anyway."""
    require_owner(viewer, "bar users")
    async with in_transaction() as conn:
        m = await Membership.filter(id=membership_id, account_id=viewer.account_id).using_db(conn).first()
        if m is None:
            raise not_found("user_id", "user")
        if m.is_owner:
            raise DomainError.single("user_id", ErrorCode.INVALID, "The owner cannot be barred; hand over ownership first.")
        t = now()
        await Membership.filter(id=m.id, barred_at__isnull=True).using_db(conn).update(barred_at=t)
        await Session.filter(membership_id=m.id, revoked_at__isnull=True).using_db(conn).update(revoked_at=t)
        await ApiToken.filter(membership_id=m.id, revoked_at__isnull=True).using_db(conn).update(revoked_at=t)
    return await Membership.get(id=membership_id)


async def unbar_user(viewer: Viewer, membership_id: int) -> Membership:
    require_owner(viewer, "lift a bar")
    updated = await Membership.filter(id=membership_id, account_id=viewer.account_id).update(barred_at=None)
    if not updated:
        raise not_found("user_id", "user")
    return await Membership.get(id=membership_id)


async def delete_user(viewer: Viewer, membership_id: int) -> None:
    """Delete a barred user with no leads; the people who reported to them move up
    to their manager."""
    require_owner(viewer, "delete users")
    async with in_transaction() as conn:
        await _lock_account(viewer.account_id, conn)
        m = await Membership.filter(id=membership_id, account_id=viewer.account_id).using_db(conn).first()
        if m is None:
            raise not_found("user_id", "user")
        if not m.is_barred:
            raise DomainError.single("user_id", ErrorCode.NOT_BARRED, "Bar the user before deleting them.")
        assigned = await Lead.filter(assignee_id=m.id).using_db(conn).count()
        if assigned:
            raise DomainError.single(
                "user_id",
                ErrorCode.HAS_ASSIGNED_LEADS,
                f"{assigned} lead(s) are still assigned to this user: reassign them first.",
            )
        parent_path = m.tree_path[: -len(_b36(m.id)) - 1]
        below = await Membership.filter(account_id=viewer.account_id, tree_path__startswith=m.tree_path).exclude(
            id=m.id
        ).using_db(conn)
        for row in below:
            row.tree_path = parent_path + row.tree_path[len(m.tree_path):]
        await Membership.filter(manager_id=m.id).using_db(conn).update(manager_id=m.manager_id)
        if below:
            await Membership.bulk_update(below, fields=["tree_path"], using_db=conn)
        await Account.filter(account_manager_id=m.id).using_db(conn).update(account_manager_id=None)
        await Session.filter(membership_id=m.id).using_db(conn).delete()
        await ApiToken.filter(membership_id=m.id).using_db(conn).delete()
        await Membership.filter(id=m.id).using_db(conn).delete()


async def reassign_leads(viewer: Viewer, from_membership_id: int, to_membership_id: int) -> int:
    """Move every lead assigned to one user to another; both must be visible to the
    viewer (the owner, or a manager over both). Returns how many moved."""
    source = await visible_memberships(viewer).get_or_none(id=from_membership_id)
    if source is None:
        raise not_found("from_user_id", "user")
    target = await visible_memberships(viewer).get_or_none(id=to_membership_id)
    if target is None:
        raise not_found("to_user_id", "user")
    if target.is_barred:
        raise DomainError.single("to_user_id", ErrorCode.BARRED, "Leads cannot be assigned to a barred user.")
    async with in_transaction() as conn:
        ids = list(
            await Lead.filter(account_id=viewer.account_id, assignee_id=source.id)
            .using_db(conn)
            .values_list("id", flat=True)
        )
        if ids:
            await Lead.filter(id__in=ids).using_db(conn).update(assignee_id=target.id)
    events.bus.publish(*(LeadEvent(LeadEventKind.ASSIGNED, i, viewer.account_id) for i in ids))
    return len(ids)


# -- the person's own profile ---------------------------------------------------


async def update_profile(viewer: Viewer, *, name: str | None = None, time_zone: str | None = None) -> Person:
    changes = {}
    checks = []
    if name is not None:
        checks.append(("name", lambda: check_name(name, "name", "The name")))
    if time_zone is not None:
        checks.append(("time_zone", lambda: check_time_zone(time_zone)))
    values = _collect(*(c for _, c in checks))
    for (key, _), value in zip(checks, values):
        changes[key] = value
    if changes:
        await Person.filter(id=viewer.person_id).update(**changes)
    return await Person.get(id=viewer.person_id)


async def memberships_of(person_id: int) -> list[Membership]:
    """Every account the person can switch to (barred ones are left out)."""
    return (
        await Membership.filter(person_id=person_id, barred_at__isnull=True)
        .select_related("account")
        .order_by("id")
    )
