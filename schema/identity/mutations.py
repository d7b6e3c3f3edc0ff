"""Mutations for sign-in, profile, account settings, users and credentials.
Each is a thin call into core; the rules live there."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import auth, identity
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.identity import Membership
from leadwire.schema.context import CSRF_COOKIE, SESSION_COOKIE, Context
from leadwire.schema.errors import UserError, mutation
from leadwire.schema.identity.queries import load_viewer
from leadwire.schema.identity.types import Account, ApiToken, LeadSource, LeadSourceKey, User, Viewer
from leadwire.schema.relay import decode_id


def _set_session_cookies(ctx: Context, signed: auth.SignedIn) -> None:
    if ctx.response is None:
        return
    secure = ctx.settings.is_production
    max_age = int((signed.expires_at - identity.now()).total_seconds())
    ctx.response.set_cookie(
        SESSION_COOKIE, signed.session_token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    # Readable by the UI's script, which echoes it in X-CSRF-Token.
    ctx.response.set_cookie(
        CSRF_COOKIE, signed.csrf_token, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/"
    )


async def _user_payload(pk: int) -> User:
    return User.from_row(await Membership.get(id=pk).select_related("person"))


# -- sign-in and sessions --------------------------------------------------------


@strawberry.input
class SignInInput:
    email: str
    password: str
    account_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Which of the person's accounts to open; the first one if left out."
    )


@strawberry.type
class SignInPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    viewer: Viewer | None = None
    csrf_token: str | None = strawberry.field(
        default=None, description="Send it back in the X-CSRF-Token header with every cookie-authenticated request."
    )


@strawberry.input
class SwitchAccountInput:
    account_id: relay.GlobalID


@strawberry.type
class SignOutPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    signed_out: bool = False


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type
class ChangePasswordPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    changed: bool = False


@strawberry.input
class UpdateProfileInput:
    name: str | None = None
    time_zone: str | None = strawberry.field(default=None, description="IANA name, e.g. America/Detroit.")


@strawberry.type
class UpdateProfilePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    user: User | None = None


@strawberry.input
class UpdateAccountInput:
    name: str | None = None
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code, e.g. USD.")


@strawberry.type
class UpdateAccountPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    account: Account | None = None


# -- users ---------------------------------------------------------------------------


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    manager_id: relay.GlobalID | None = None
    time_zone: str = "UTC"
    password: str | None = strawberry.field(
        default=None, description="For a new person; left out, a one-time initial password is returned."
    )


@strawberry.type
class CreateUserPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    user: User | None = None
    initial_password: str | None = strawberry.field(default=None, description="Shown once; null for an existing person.")


@strawberry.input
class SetManagerInput:
    user_id: relay.GlobalID
    manager_id: relay.GlobalID | None = strawberry.field(default=None, description="Null puts the user at the top.")


@strawberry.input
class UserInput:
    user_id: relay.GlobalID


@strawberry.type
class UserPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    user: User | None = None


@strawberry.type
class DeleteUserPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    deleted_user_id: relay.GlobalID | None = None


@strawberry.input
class ReassignLeadsInput:
    from_user_id: relay.GlobalID
    to_user_id: relay.GlobalID


@strawberry.type
class ReassignLeadsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    moved_count: int = 0


# -- credentials ------------------------------------------------------------------------


@strawberry.input
class CreateApiTokenInput:
    name: str
    expires_at: datetime | None = strawberry.field(default=None, description="UTC ISO-8601; no expiry if left out.")


@strawberry.type
class CreateApiTokenPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    api_token: ApiToken | None = None
    token: str | None = strawberry.field(default=None, description="The secret, shown this once: store it now.")


@strawberry.input
class RevokeApiTokenInput:
    id: relay.GlobalID


@strawberry.type
class RevokeApiTokenPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    api_token: ApiToken | None = None


@strawberry.input
class CreateLeadSourceInput:
    name: str


@strawberry.type
class CreateLeadSourcePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lead_source: LeadSource | None = None


@strawberry.input
class CreateLeadSourceKeyInput:
    lead_source_id: relay.GlobalID


@strawberry.type
class CreateLeadSourceKeyPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    key: LeadSourceKey | None = None
    api_key: str | None = strawberry.field(default=None, description="The secret, shown this once: store it now.")


@strawberry.input
class RevokeLeadSourceKeyInput:
    id: relay.GlobalID


@strawberry.type
class RevokeLeadSourceKeyPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    key: LeadSourceKey | None = None


def _user_id(gid: relay.GlobalID | None, field: str) -> int | None:
    return decode_id(gid, "User", field)


@strawberry.type
class IdentityMutations:
    @strawberry.mutation(description="Sign in with e-mail and password; sets the session cookie.")
    @mutation(SignInPayload, public=True)
    async def sign_in(self, info: Info, input: SignInInput) -> SignInPayload:
        ctx: Context = info.context
        s = ctx.settings
        signed = await auth.sign_in(
            email=input.email,
            password=input.password,
            ip=ctx.client_ip,
            user_agent=ctx.request.headers.get("user-agent", ""),
            account_id=decode_id(input.account_id, "Account", "account_id"),
            max_failures=s.login_max_failures,
            lockout=timedelta(minutes=s.login_lockout_minutes),
            max_failures_per_email=s.login_max_failures_per_email,
            max_failures_per_ip=s.login_max_failures_per_ip,
            session_lifetime=timedelta(days=s.session_days),
        )
        _set_session_cookies(ctx, signed)
        ctx.viewer, ctx.session_token = signed.viewer, signed.session_token
        return SignInPayload(viewer=await load_viewer(info), csrf_token=signed.csrf_token)

    @strawberry.mutation(description="Open another of the signed-in person's accounts (a new session).")
    @mutation(SignInPayload)
    async def switch_account(self, info: Info, input: SwitchAccountInput) -> SignInPayload:
        ctx: Context = info.context
        if ctx.session_token is None:
            raise DomainError.single(None, ErrorCode.INVALID, "Switching accounts needs a session; a token is bound to one account.")
        signed = await auth.switch_account(
            ctx.session_token,
            decode_id(input.account_id, "Account", "account_id"),
            ip=ctx.client_ip,
            user_agent=ctx.request.headers.get("user-agent", ""),
        )
        _set_session_cookies(ctx, signed)
        ctx.viewer, ctx.session_token = signed.viewer, signed.session_token
        return SignInPayload(viewer=await load_viewer(info), csrf_token=signed.csrf_token)

    @strawberry.mutation(description="End the current session.")
    @mutation(SignOutPayload)
    async def sign_out(self, info: Info) -> SignOutPayload:
        ctx: Context = info.context
        if ctx.session_token:
            await auth.sign_out(ctx.session_token)
        if ctx.response is not None:
            ctx.response.delete_cookie(SESSION_COOKIE, path="/")
            ctx.response.delete_cookie(CSRF_COOKIE, path="/")
        return SignOutPayload(signed_out=True)

    @strawberry.mutation(description="Change your password; your other sessions are signed out.")
    @mutation(ChangePasswordPayload)
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordPayload:
        ctx: Context = info.context
        await auth.change_password(
            ctx.viewer,
            current_password=input.current_password,
            new_password=input.new_password,
            keep_session_token=ctx.session_token,
        )
        return ChangePasswordPayload(changed=True)

    @strawberry.mutation(description="Change your own name or time zone.")
    @mutation(UpdateProfilePayload)
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> UpdateProfilePayload:
        v = info.context.viewer
        await identity.update_profile(v, name=input.name, time_zone=input.time_zone)
        return UpdateProfilePayload(user=await _user_payload(v.membership_id))

    @strawberry.mutation(description="Change the account's name or currency (owner only).")
    @mutation(UpdateAccountPayload)
    async def update_account(self, info: Info, input: UpdateAccountInput) -> UpdateAccountPayload:
        account = await identity.update_account(info.context.viewer, name=input.name, currency=input.currency)
        return UpdateAccountPayload(account=Account.from_row(account))

    @strawberry.mutation(description="Add a user to the account (owner only).")
    @mutation(CreateUserPayload)
    async def create_user(self, info: Info, input: CreateUserInput) -> CreateUserPayload:
        m, initial = await identity.create_user(
            info.context.viewer,
            email=input.email,
            name=input.name,
            manager_id=_user_id(input.manager_id, "manager_id"),
            time_zone=input.time_zone,
            password=input.password,
        )
        return CreateUserPayload(user=await _user_payload(m.id), initial_password=initial)

    @strawberry.mutation(description="Set who a user reports to (owner only); cycles are refused.")
    @mutation(UserPayload)
    async def set_manager(self, info: Info, input: SetManagerInput) -> UserPayload:
        m = await identity.set_manager(
            info.context.viewer, _user_id(input.user_id, "user_id"), _user_id(input.manager_id, "manager_id")
        )
        return UserPayload(user=await _user_payload(m.id))

    @strawberry.mutation(description="Hand the account's ownership to another user (owner only).")
    @mutation(UserPayload)
    async def transfer_ownership(self, info: Info, input: UserInput) -> UserPayload:
        m = await identity.transfer_ownership(info.context.viewer, _user_id(input.user_id, "user_id"))
        return UserPayload(user=await _user_payload(m.id))

    @strawberry.mutation(description="Bar a user: their access stops on their next request (owner only).")
    @mutation(UserPayload)
    async def bar_user(self, info: Info, input: UserInput) -> UserPayload:
        m = await identity.bar_user(info.context.viewer, _user_id(input.user_id, "user_id"))
        return UserPayload(user=await _user_payload(m.id))

    @strawberry.mutation(description="Lift a user's bar (owner only).")
    @mutation(UserPayload)
    async def unbar_user(self, info: Info, input: UserInput) -> UserPayload:
        m = await identity.unbar_user(info.context.viewer, _user_id(input.user_id, "user_id"))
        return UserPayload(user=await _user_payload(m.id))

    @strawberry.mutation(description="Delete a barred user with no leads assigned (owner only).")
    @mutation(DeleteUserPayload)
    async def delete_user(self, info: Info, input: UserInput) -> DeleteUserPayload:
        await identity.delete_user(info.context.viewer, _user_id(input.user_id, "user_id"))
        return DeleteUserPayload(deleted_user_id=input.user_id)

    @strawberry.mutation(description="Move every lead of one user to another, within what you may see.")
    @mutation(ReassignLeadsPayload)
    async def reassign_leads(self, info: Info, input: ReassignLeadsInput) -> ReassignLeadsPayload:
        moved = await identity.reassign_leads(
            info.context.viewer, _user_id(input.from_user_id, "from_user_id"), _user_id(input.to_user_id, "to_user_id")
        )
        return ReassignLeadsPayload(moved_count=moved)

    @strawberry.mutation(description="Create a personal API token; its secret is returned once.")
    @mutation(CreateApiTokenPayload)
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        row, clear = await auth.create_api_token(info.context.viewer, name=input.name, expires_at=input.expires_at)
        return CreateApiTokenPayload(api_token=ApiToken.from_row(row), token=clear)

    @strawberry.mutation(description="Revoke one of your API tokens.")
    @mutation(RevokeApiTokenPayload)
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload:
        row = await auth.revoke_api_token(info.context.viewer, decode_id(input.id, "ApiToken", "id"))
        return RevokeApiTokenPayload(api_token=ApiToken.from_row(row))

    @strawberry.mutation(description="Register a lead source (operator only).")
    @mutation(CreateLeadSourcePayload)
    async def create_lead_source(self, info: Info, input: CreateLeadSourceInput) -> CreateLeadSourcePayload:
        row = await auth.create_lead_source(info.context.viewer, name=input.name)
        return CreateLeadSourcePayload(lead_source=LeadSource.from_row(row))

    @strawberry.mutation(description="Issue an API key for a lead source (operator only); returned once.")
    @mutation(CreateLeadSourceKeyPayload)
    async def create_lead_source_key(self, info: Info, input: CreateLeadSourceKeyInput) -> CreateLeadSourceKeyPayload:
        row, clear = await auth.create_lead_source_key(
            info.context.viewer, decode_id(input.lead_source_id, "LeadSource", "lead_source_id")
        )
        return CreateLeadSourceKeyPayload(key=LeadSourceKey.from_row(row), api_key=clear)

    @strawberry.mutation(description="Revoke a lead source API key (operator only).")
    @mutation(RevokeLeadSourceKeyPayload)
    async def revoke_lead_source_key(self, info: Info, input: RevokeLeadSourceKeyInput) -> RevokeLeadSourceKeyPayload:
        row = await auth.revoke_lead_source_key(info.context.viewer, decode_id(input.id, "LeadSourceKey", "id"))
        return RevokeLeadSourceKeyPayload(key=LeadSourceKey.from_row(row))


# -- partner companies -------------------------------------------------------------------


@strawberry.input
class SignUpPartnerInput:
    company_name: str
    owner_name: str
    email: str
    password: str
    time_zone: str = "America/New_York"
    phone: str | None = None
    website: str | None = None


@strawberry.input
class UpdateCompanyInfoInput:
    name: str | None = None
    phone: str | None = None
    website: str | None = None
    address: str | None = None


@strawberry.input
class AccountIdInput:
    account_id: relay.GlobalID


@strawberry.input
class SetAccountManagerInput:
    account_id: relay.GlobalID
    staff_user_id: relay.GlobalID | None = None


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Sign a partner company up, at no cost, and sign its owner in.")
    @mutation(SignInPayload, public=True)
    async def sign_up_partner(self, info: Info, input: SignUpPartnerInput) -> SignInPayload:
        from leadwire.core import partners

        ctx: Context = info.context
        await partners.sign_up(
            company_name=input.company_name, owner_name=input.owner_name, email=input.email, password=input.password,
            time_zone=input.time_zone, phone=input.phone, website=input.website,
            require_approval=ctx.settings.require_partner_approval,
        )
        return await IdentityMutations.sign_in(  # the same path as a normal sign-in
            self, info=info, input=SignInInput(email=input.email, password=input.password)
        )

    @strawberry.mutation(description="Change the company's name, phone, website or address (owner).")
    @mutation(UpdateAccountPayload)
    async def update_company_info(self, info: Info, input: UpdateCompanyInfoInput) -> UpdateAccountPayload:
        from leadwire.core import partners

        account = await partners.update_company_info(
            info.context.viewer, name=input.name, phone=input.phone, website=input.website, address=input.address
        )
        return UpdateAccountPayload(account=Account.from_row(account))

    @strawberry.mutation(description="Approve a partner so its campaigns go live (operator).")
    @mutation(UpdateAccountPayload)
    async def approve_partner(self, info: Info, input: AccountIdInput) -> UpdateAccountPayload:
        from leadwire.core import partners

        account = await partners.approve(info.context.viewer, decode_id(input.account_id, "Account", "account_id"))
        return UpdateAccountPayload(account=Account.from_row(account))

    @strawberry.mutation(description="Give a partner an account manager from the operator's staff (operator).")
    @mutation(UpdateAccountPayload)
    async def set_account_manager(self, info: Info, input: SetAccountManagerInput) -> UpdateAccountPayload:
        from leadwire.core import partners

        account = await partners.set_account_manager(
            info.context.viewer, decode_id(input.account_id, "Account", "account_id"),
            _user_id(input.staff_user_id, "staff_user_id"),
        )
        return UpdateAccountPayload(account=Account.from_row(account))
