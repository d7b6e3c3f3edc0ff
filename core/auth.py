"""Authentication: sign-in with rate limiting, sessions, personal API tokens and
lead-source API keys.

Every credential is a random token shown once and stored as its SHA-256 (the
tokens carry 256 bits of entropy, so a fast hash is enough; passwords use
argon2 in core.passwords). Every request re-reads its credential and the
membership behind it, so revoking a token or barring a user takes effect on
the very next request, in every process.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from leadwire.core import passwords
from leadwire.core.access import Viewer, require_operator
from leadwire.core.db import Statement
from leadwire.core.errors import DomainError, ErrorCode, not_found
from leadwire.core.identity import check_name, now
from leadwire.core.models.identity import (
    AccountKind,
    AccountStatus,
    ApiToken,
    LeadSource,
    LeadSourceKey,
    LoginFailure,
    Membership,
    Person,
    Session,
)

SESSION_PREFIX = "lw_ses_"
API_TOKEN_PREFIX = "lw_pat_"
SOURCE_KEY_PREFIX = "lw_src_"
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    session_token: str  # goes into the HttpOnly cookie; never stored in clear
    csrf_token: str  # sent back by the UI in the X-CSRF-Token header
    viewer: Viewer
    expires_at: datetime


@dataclass(frozen=True)
class LeadSourcePrincipal:
    source_id: int
    account_id: int
    name: str


# -- sign-in ---------------------------------------------------------------------


async def _locked_for(qs, max_failures: int, lockout: timedelta) -> int | None:
    """Minutes until the oldest failure that still counts leaves the window, or
    None when fewer than ``max_failures`` are in it."""
    failures = await qs.filter(created_at__gte=now() - lockout).order_by("-created_at").limit(max_failures).values_list(
        "created_at", flat=True
    )
    if len(failures) < max_failures:
        return None
    unlock_at = failures[-1] + lockout
    return max(1, math.ceil((unlock_at - now()).total_seconds() / 60))


async def _check_rate_limit(
    email: str, ip: str, max_failures: int, lockout: timedelta, max_per_email: int | None, max_per_ip: int | None
) -> None:
    """Three windows, counted from the database (so they hold across processes):
    one e-mail from one network (``max_failures``), one e-mail from anywhere
    (``max_per_email``: a guesser spreading over many addresses) and one network
    whatever the e-mail (``max_per_ip``: password spraying over many accounts)."""
    checks = [(LoginFailure.filter(email=email, ip=ip), max_failures, "for this e-mail from your network")]
    if max_per_email:
        checks.append((LoginFailure.filter(email=email), max_per_email, "for this e-mail"))
    if max_per_ip:
        checks.append((LoginFailure.filter(ip=ip), max_per_ip, "from your network"))
    for qs, limit, scope in checks:
        minutes = await _locked_for(qs, limit, lockout)
        if minutes is not None:
            raise DomainError.single(
                None,
                ErrorCode.RATE_LIMITED,
                f"Too many failed sign-in attempts {scope}. Try again in {minutes} minute(s).",
            )


async def sign_in(
    *,
    email: str,
    password: str,
    ip: str,
    user_agent: str = "",
    account_id: int | None = None,
    max_failures: int = 5,
    lockout: timedelta = timedelta(minutes=15),
    max_failures_per_email: int | None = 20,
    max_failures_per_ip: int | None = 100,
    session_lifetime: timedelta = timedelta(days=14),
) -> SignedIn:
    """Check the password and open a session on one of the person's accounts
    (``account_id``, or the first they may use)."""
    email = email.strip().lower()
    await _check_rate_limit(email, ip, max_failures, lockout, max_failures_per_email, max_failures_per_ip)
    person = await Person.get_or_none(email=email)
    if not passwords.verify_password(person.password_hash if person else None, password):
        await LoginFailure.create(email=email[:254], ip=ip[:64])
        raise DomainError.single(None, ErrorCode.INVALID_CREDENTIALS, "Wrong e-mail or password.")
    assert person is not None
    if passwords.needs_rehash(person.password_hash):
        await Person.filter(id=person.id).update(password_hash=passwords.hash_password(password))
    membership = await _usable_membership(person.id, account_id)
    return await _open_session(membership, ip=ip, user_agent=user_agent, lifetime=session_lifetime)


async def _usable_membership(person_id: int, account_id: int | None) -> Membership:
    qs = Membership.filter(person_id=person_id, account__status=AccountStatus.ACTIVE).select_related(
        "person", "account"
    )
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    candidates = await qs.order_by("id")
    if not candidates:
        raise not_found("account_id", "account")
    usable = [m for m in candidates if not m.is_barred]
    if not usable:
        raise DomainError.single("account_id", ErrorCode.BARRED, "Your access to this account has been barred.")
    return usable[0]


async def _open_session(membership: Membership, *, ip: str, user_agent: str, lifetime: timedelta) -> SignedIn:
    token, csrf = _new_token(SESSION_PREFIX), secrets.token_urlsafe(32)
    expires = now() + lifetime
    await Session.create(
        membership_id=membership.id,
        token_hash=token_hash(token),
        csrf_token=csrf,
        expires_at=expires,
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    return SignedIn(token, csrf, Viewer.from_membership(membership), expires)


async def switch_account(session_token: str, account_id: int, *, ip: str, user_agent: str = "") -> SignedIn:
    """Replace the current session with one on another of the person's accounts."""
    session = await Session.get_or_none(token_hash=token_hash(session_token)).select_related("membership")
    if session is None or session.revoked_at is not None:
        raise DomainError.single(None, ErrorCode.UNAUTHENTICATED, "Sign in first.")
    membership = await _usable_membership(session.membership.person_id, account_id)
    lifetime = session.expires_at - session.created_at
    async with in_transaction():
        await Session.filter(id=session.id).update(revoked_at=now())
        return await _open_session(membership, ip=ip, user_agent=user_agent, lifetime=lifetime)


async def sign_out(session_token: str) -> None:
    await Session.filter(token_hash=token_hash(session_token), revoked_at__isnull=True).update(revoked_at=now())


async def change_password(
    viewer: Viewer, *, current_password: str, new_password: str, keep_session_token: str | None = None
) -> None:
    """Change the person's password (all their accounts) and sign out every other
    session of theirs."""
    person = await Person.get(id=viewer.person_id)
    if not passwords.verify_password(person.password_hash, current_password):
        raise DomainError.single("current_password", ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.")
    passwords.check_policy(new_password, "new_password")
    async with in_transaction() as conn:
        await Person.filter(id=person.id).using_db(conn).update(
            password_hash=passwords.hash_password(new_password), password_changed_at=now()
        )
        others = Session.filter(membership__person_id=person.id, revoked_at__isnull=True)
        if keep_session_token:
            others = others.exclude(token_hash=token_hash(keep_session_token))
        ids = await others.using_db(conn).values_list("id", flat=True)
        if ids:
            await Session.filter(id__in=list(ids)).using_db(conn).update(revoked_at=now())


# -- per-request authentication ----------------------------------------------------


def _live(m: Membership) -> bool:
    return not m.is_barred and m.account.status == AccountStatus.ACTIVE


# Every request authenticates, so this is one plain statement (the credential
# joined to its membership, person and account) rather than an ORM query with
# three related models: the ORM version was half of a small query's CPU.
_CREDENTIAL_SQL = (
    'SELECT c."id" AS credential_id, c."expires_at" AS expires_at, {extra}, m."id" AS membership_id, '
    'm."person_id" AS person_id, m."account_id" AS account_id, m."owner_slot" AS owner_slot, '
    'm."tree_path" AS tree_path, m."barred_at" AS barred_at, a."kind" AS account_kind, '
    'a."status" AS account_status, p."email" AS email, p."name" AS name, p."time_zone" AS time_zone '
    'FROM "{table}" c JOIN "membership" m ON m."id" = c."membership_id" '
    'JOIN "account" a ON a."id" = m."account_id" JOIN "person" p ON p."id" = m."person_id" '
    'WHERE c."token_hash" = $1 AND c."revoked_at" IS NULL'
)
_CREDENTIAL_STATEMENTS = {
    kind: Statement(_CREDENTIAL_SQL.format(table=table, extra=extra))
    for kind, table, extra in (
        ("session", "session", 'c."csrf_token" AS csrf_token'),
        ("api_token", "api_token", 'c."last_used_at" AS last_used_at'),
    )
}


async def _credential(kind: str, model, token: str, t: datetime) -> dict | None:
    """The live credential's row (with what a Viewer needs), or None: unknown,
    revoked, expired, barred member or account not active."""
    rows = await _CREDENTIAL_STATEMENTS[kind].returning(model._meta.db, token_hash(token))
    if not rows:
        return None
    row = rows[0]
    fields = model._meta.fields_map
    expires_at = fields["expires_at"].to_python_value(row["expires_at"])
    if expires_at is not None and expires_at <= t:
        return None
    if row["barred_at"] is not None or row["account_status"] != AccountStatus.ACTIVE.value:
        return None
    if "last_used_at" in row:
        row["last_used_at"] = fields["last_used_at"].to_python_value(row["last_used_at"])
    return row


def _viewer(row: dict) -> Viewer:
    return Viewer(
        person_id=row["person_id"],
        membership_id=row["membership_id"],
        account_id=row["account_id"],
        account_kind=AccountKind(row["account_kind"]),
        is_owner=row["owner_slot"] == 1,
        tree_path=row["tree_path"],
        email=row["email"],
        name=row["name"],
        time_zone=row["time_zone"],
    )


async def authenticate_session(token: str) -> tuple[Viewer, str] | None:
    """The viewer and the session's CSRF token, or None (unknown, expired, revoked,
    barred or closed account)."""
    if not token.startswith(SESSION_PREFIX):
        return None
    row = await _credential("session", Session, token, now())
    if row is None:
        return None
    return _viewer(row), row["csrf_token"]


async def authenticate_api_token(token: str) -> Viewer | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    t = now()
    row = await _credential("api_token", ApiToken, token, t)
    if row is None:
        return None
    if row["last_used_at"] is None or row["last_used_at"] < t - _LAST_USED_RESOLUTION:
        # At most one write a minute per token, not one per request.
        await ApiToken.filter(id=row["credential_id"]).update(last_used_at=t)
    return _viewer(row)


# -- personal API tokens ----------------------------------------------------------


async def create_api_token(viewer: Viewer, *, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A token for the viewer's membership; the clear value is returned once."""
    name = check_name(name, "name", "The token name", max_length=100)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise DomainError.single("expires_at", ErrorCode.INVALID, "Give the expiry time with a time zone offset.")
        if expires_at <= now():
            raise DomainError.single("expires_at", ErrorCode.INVALID, "The expiry time must be in the future.")
    clear = _new_token(API_TOKEN_PREFIX)
    row = await ApiToken.create(
        membership_id=viewer.membership_id,
        name=name,
        prefix=clear[:12],
        token_hash=token_hash(clear),
        expires_at=expires_at,
    )
    return row, clear


def my_api_tokens(viewer: Viewer):
    return ApiToken.filter(membership_id=viewer.membership_id)


async def revoke_api_token(viewer: Viewer, token_id: int) -> ApiToken:
    row = await ApiToken.get_or_none(id=token_id, membership_id=viewer.membership_id)
    if row is None:
        raise not_found("id", "API token")
    await ApiToken.filter(id=row.id, revoked_at__isnull=True).update(revoked_at=now())
    return await ApiToken.get(id=row.id)


# -- lead sources (operator) --------------------------------------------------------


async def create_lead_source(viewer: Viewer, *, name: str) -> LeadSource:
    require_operator(viewer, "create lead sources")
    name = check_name(name, "name", "The lead source name")
    if await LeadSource.exists(account_id=viewer.account_id, name=name):
        raise DomainError.single("name", ErrorCode.DUPLICATE, "A lead source with this name already exists.")
    return await LeadSource.create(account_id=viewer.account_id, name=name)


async def create_lead_source_key(viewer: Viewer, source_id: int) -> tuple[LeadSourceKey, str]:
    require_operator(viewer, "issue lead source API keys")
    source = await LeadSource.get_or_none(id=source_id, account_id=viewer.account_id)
    if source is None:
        raise not_found("lead_source_id", "lead source")
    clear = _new_token(SOURCE_KEY_PREFIX)
    row = await LeadSourceKey.create(source=source, prefix=clear[:12], key_hash=token_hash(clear))
    return row, clear


async def revoke_lead_source_key(viewer: Viewer, key_id: int) -> LeadSourceKey:
    require_operator(viewer, "revoke lead source API keys")
    row = await LeadSourceKey.get_or_none(id=key_id, source__account_id=viewer.account_id)
    if row is None:
        raise not_found("id", "lead source key")
    await LeadSourceKey.filter(id=key_id, revoked_at__isnull=True).update(revoked_at=now())
    return await LeadSourceKey.get(id=key_id)


_SOURCE_KEY_SQL = (
    'SELECT k."id" AS key_id, k."last_used_at" AS last_used_at, s."id" AS source_id, s."account_id" AS account_id, '
    's."name" AS name FROM "lead_source_key" k JOIN "lead_source" s ON s."id" = k."source_id" '
    'WHERE k."key_hash" = {mark} AND k."revoked_at" IS NULL AND s."disabled_at" IS NULL'
)
_SOURCE_KEY_QUERIES = {"postgres": _SOURCE_KEY_SQL.format(mark="$1"), "sqlite": _SOURCE_KEY_SQL.format(mark="?")}


async def authenticate_lead_source_key(key: str) -> LeadSourcePrincipal | None:
    """The lead source posting with this key, or None (unknown, revoked, source
    disabled). One plain statement, as for API tokens: every intake request runs it."""
    if not key.startswith(SOURCE_KEY_PREFIX):
        return None
    conn = LeadSourceKey._meta.db
    sql = _SOURCE_KEY_QUERIES["postgres" if conn.capabilities.dialect == "postgres" else "sqlite"]
    rows = await conn.execute_query_dict(sql, [token_hash(key)])
    if not rows:
        return None
    row = rows[0]
    t = now()
    last_used_at = LeadSourceKey._meta.fields_map["last_used_at"].to_python_value(row["last_used_at"])
    if last_used_at is None or last_used_at < t - _LAST_USED_RESOLUTION:
        await LeadSourceKey.filter(id=row["key_id"]).update(last_used_at=t)
    return LeadSourcePrincipal(row["source_id"], row["account_id"], row["name"])


async def reload_viewer(membership_id: int) -> Viewer | None:
    """The viewer as the database says now, or None once barred or closed.
    Long-lived connections (subscriptions) call it before each event."""
    m = await Membership.get_or_none(id=membership_id).select_related("person", "account")
    return Viewer.from_membership(m) if m is not None and _live(m) else None
