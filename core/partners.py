"""Partner companies: online sign-up at no cost (seed 000), company info, the
operator's approval and the partner's account manager."""

from __future__ import annotations

from leadwire.core import identity
from leadwire.core.access import Viewer, require_operator, require_owner
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.models.identity import Account, AccountKind, Membership


def _company_fields(phone: str | None, website: str | None, address: str | None) -> dict:
    from leadwire.core.intake import normalise_phone

    values, errors = {}, []
    if phone is not None:
        try:
            values["phone"] = normalise_phone(phone) if phone.strip() else ""
        except DomainError as exc:
            errors.extend(exc.errors)
    if website is not None:
        website = website.strip()
        if (website and not website.startswith(("http://", "https://"))) or len(website) > 200:
            errors.append(FieldError("website", ErrorCode.INVALID, "A website is an http(s):// address of at most 200 characters."))
        values["website"] = website
    if address is not None:
        if len(address) > 300:
            errors.append(FieldError("address", ErrorCode.TOO_LONG, "The address is at most 300 characters."))
        values["address"] = address.strip()
    if errors:
        raise DomainError(*errors)
    return values


async def sign_up(
    *,
    company_name: str,
    owner_name: str,
    email: str,
    password: str,
    time_zone: str = "America/New_York",
    phone: str | None = None,
    website: str | None = None,
    require_approval: bool = False,
) -> tuple[Account, Membership]:
    """A new partner account with its owner; approved at once unless the
    marketplace requires the operator's approval."""
    extra = _company_fields(phone, website, None)
    account, owner = await identity.create_account(
        kind=AccountKind.PARTNER, name=company_name, owner_email=email, owner_name=owner_name,
        owner_password=password, owner_time_zone=time_zone, approved=not require_approval,
    )
    if extra:
        await Account.filter(id=account.id).update(**extra)
    return await Account.get(id=account.id), owner


async def update_company_info(
    viewer: Viewer, *, name: str | None = None, phone: str | None = None, website: str | None = None,
    address: str | None = None,
) -> Account:
    require_owner(viewer, "change the company's details")
    values = _company_fields(phone, website, address)
    if name is not None:
        values["name"] = identity.check_name(name, "name", "The company name")
    if values:
        await Account.filter(id=viewer.account_id).update(**values)
    return await Account.get(id=viewer.account_id)


async def approve(viewer: Viewer, account_id: int) -> Account:
    require_operator(viewer, "approve partners")
    account = await Account.get_or_none(id=account_id, kind=AccountKind.PARTNER)
    if account is None:
        raise not_found("account_id", "partner account")
    # Approving twice is harmless: the first approval's time is kept.
    await Account.filter(id=account_id, approved_at__isnull=True).update(approved_at=identity.now())
    return await Account.get(id=account_id)


async def set_account_manager(viewer: Viewer, account_id: int, staff_membership_id: int | None) -> Account:
    require_operator(viewer, "assign account managers")
    account = await Account.get_or_none(id=account_id, kind=AccountKind.PARTNER)
    if account is None:
        raise not_found("account_id", "partner account")
    if staff_membership_id is not None:
        staff = await Membership.get_or_none(id=staff_membership_id, account_id=viewer.account_id, barred_at__isnull=True)
        if staff is None:
            raise not_found("staff_user_id", "operator staff user")
    await Account.filter(id=account_id).update(account_manager_id=staff_membership_id)
    return await Account.get(id=account_id)
