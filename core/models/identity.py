"""Accounts, people, memberships and the credentials that authenticate them."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class AccountKind(str, Enum):
    OPERATOR = "operator"  # the marketplace's own staff
    PARTNER = "partner"  # a buyer company


class AccountStatus(str, Enum):
    ACTIVE = "active"
    CLOSED = "closed"


class Account(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(AccountKind, max_length=16)
    name = fields.CharField(max_length=200)
    # ISO 4217; only the owner changes it (core.identity.update_account).
    currency = fields.CharField(max_length=3, db_default="USD", default="USD")
    status = fields.CharEnumField(AccountStatus, max_length=16, default=AccountStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Prepaid balance in the marketplace currency's minor units. Changed only by
    # core.ledger, always together with a ledger entry, never below zero.
    balance_minor = fields.BigIntField(default=0)
    # The part of balance_minor that is credits (approved returns, goodwill
    # adjustments): spent before deposited money, never refunded. Changed only
    # by core.ledger; always 0 <= credit_minor <= balance_minor.
    credit_minor = fields.BigIntField(default=0, db_default=0)
    # A debit that takes the balance below this makes the account's auto-charge
    # due. core.autocharge keeps it equal to the threshold of an enabled, armed
    # auto-charge and NULL otherwise, so that a sale reads it on the row it
    # already updates (core.ledger).
    auto_charge_below_minor = fields.BigIntField(null=True)
    first_activated_at = fields.DatetimeField(null=True)  # first offer activation (cancellation fee rule)
    # Partner company info (seed 000: "manage company info").
    phone = fields.CharField(max_length=32, default="")
    website = fields.CharField(max_length=200, default="")
    address = fields.CharField(max_length=300, default="")
    # When the marketplace requires approval, a partner's campaigns go live only once approved.
    approved_at = fields.DatetimeField(null=True)
    # The operator staff membership that looks after this partner. A plain id,
    # not a foreign key: account -> membership -> account would be a cycle the
    # schema generator refuses; core.identity.delete_user clears it.
    account_manager_id = fields.BigIntField(null=True)

    memberships: fields.ReverseRelation[Membership]

    class Meta:
        table = "account"


class Person(Model):
    """One human: one e-mail, one password, one time zone, any number of accounts."""

    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)  # normalised, lower-case
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=200)
    time_zone = fields.CharField(max_length=64, default="UTC")
    created_at = fields.DatetimeField(auto_now_add=True)
    password_changed_at = fields.DatetimeField(null=True)

    memberships: fields.ReverseRelation[Membership]

    class Meta:
        table = "person"


class Membership(Model):
    """A person's user in one account, with their place in its manager tree.

    ``tree_path`` is the chain of membership ids from the top of the tree down
    to this one ("/a/b/c/", base-36): "everyone below me" is every membership
    whose path starts with mine, one indexed comparison instead of a recursive
    walk on every read.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "leadwire.Account", related_name="memberships", on_delete=fields.RESTRICT
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "leadwire.Person", related_name="memberships", on_delete=fields.RESTRICT
    )
    manager: fields.ForeignKeyNullableRelation[Membership] = fields.ForeignKeyField(
        "leadwire.Membership", related_name="reports", null=True, on_delete=fields.RESTRICT
    )
    tree_path = fields.CharField(max_length=1024, db_index=True)
    # 1 for the account's owner, NULL for everyone else: the unique constraint
    # (account, owner_slot) lets the database itself refuse a second owner.
    owner_slot = fields.SmallIntField(null=True)
    barred_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    reports: fields.ReverseRelation[Membership]

    class Meta:
        table = "membership"
        unique_together = (("account", "person"), ("account", "owner_slot"))

    @property
    def is_owner(self) -> bool:
        return self.owner_slot == 1

    @property
    def is_barred(self) -> bool:
        return self.barred_at is not None


class Session(Model):
    """A browser session (admin UI), scoped to one membership."""

    id = fields.BigIntField(primary_key=True)
    membership: fields.ForeignKeyRelation[Membership] = fields.ForeignKeyField(
        "leadwire.Membership", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256 of the cookie value
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")

    class Meta:
        table = "session"


class ApiToken(Model):
    """A personal API token for third-party frontends, scoped to one membership."""

    id = fields.BigIntField(primary_key=True)
    membership: fields.ForeignKeyRelation[Membership] = fields.ForeignKeyField(
        "leadwire.Membership", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)  # shown in lists so people can tell tokens apart
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class LeadSource(Model):
    """A seller of leads to the marketplace (a web form, a partner site, an API client)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "leadwire.Account", related_name="lead_sources", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)
    # Hosted web forms post to /intake/forms/<source id> (no key: a form is
    # public). Only this URL is ever redirected to after a submit.
    form_enabled = fields.BooleanField(default=False)
    form_redirect_url = fields.CharField(max_length=500, default="")

    class Meta:
        table = "lead_source"
        unique_together = (("account", "name"),)


class LeadSourceKey(Model):
    """An API key a lead source posts leads with (stored hashed)."""

    id = fields.BigIntField(primary_key=True)
    source: fields.ForeignKeyRelation[LeadSource] = fields.ForeignKeyField(
        "leadwire.LeadSource", related_name="keys", on_delete=fields.CASCADE
    )
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lead_source_key"


class LoginFailure(Model):
    """One failed login, kept to rate-limit guessing per e-mail and IP across processes."""

    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254)
    ip = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "login_failure"
        indexes = (("email", "ip", "created_at"), ("ip", "created_at"))


class QueryBudget(Model):
    """One API client's query-cost bucket (core.budget): the theoretical time,
    in seconds since the epoch, at which it is full again (GCRA), so a charge
    is one conditional update that holds across processes."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=100, unique=True)  # m:<membership>, s:<lead source>, ip:<address>
    full_at = fields.FloatField(default=0.0)

    class Meta:
        table = "query_budget"
