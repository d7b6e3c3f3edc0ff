"""Seed 003's account, user and hierarchy rules, at the service layer."""

import asyncio

import pytest

from leadwire.core import access, auth, identity
from leadwire.core.errors import DomainError, ErrorCode, Forbidden
from leadwire.core.models.identity import AccountKind, Membership, Person
from leadwire.core.models.leads import Lead

from factories import PASSWORD, make_account, make_lead, make_user, viewer_for


def codes(exc: DomainError) -> list[tuple[str | None, ErrorCode]]:
    return [(e.field, e.code) for e in exc.errors]


async def test_new_account_has_exactly_one_owner(db):
    account, owner = await make_account()
    assert owner.is_owner
    assert await Membership.filter(account_id=account.id, owner_slot=1).count() == 1


async def test_only_the_owner_creates_users(db):
    _, owner = await make_account()
    manager = await make_user(owner)
    with pytest.raises(Forbidden) as exc:
        await identity.create_user(await viewer_for(manager), email="x@example.com", name="X", password=PASSWORD)
    assert codes(exc.value) == [(None, ErrorCode.OWNER_REQUIRED)]
    assert not await Person.exists(email="x@example.com")


async def test_create_user_reports_every_bad_field_and_writes_nothing(db):
    _, owner = await make_account()
    before = await Membership.all().count()
    with pytest.raises(DomainError) as exc:
        await identity.create_user(owner, email="not-an-email", name="  ", time_zone="Mars/Olympus")
    assert codes(exc.value) == [
        ("email", ErrorCode.INVALID),
        ("name", ErrorCode.REQUIRED),
        ("time_zone", ErrorCode.INVALID),
    ]
    assert await Membership.all().count() == before


async def test_a_person_can_belong_to_several_accounts_with_one_password(db):
    _, owner_a = await make_account()
    _, owner_b = await make_account()
    await make_user(owner_a, email="shared@example.com")
    m_b, initial = await identity.create_user(owner_b, email="Shared@Example.com", name="Same person")
    assert initial is None  # existing person keeps their own password
    assert await Person.filter(email="shared@example.com").count() == 1
    signed = await auth.sign_in(email="shared@example.com", password=PASSWORD, ip="1.2.3.4", account_id=m_b.account_id)
    assert signed.viewer.account_id == m_b.account_id
    with pytest.raises(DomainError) as exc:
        await identity.create_user(owner_b, email="shared@example.com", name="Twice")
    assert codes(exc.value) == [("email", ErrorCode.DUPLICATE)]


async def test_new_person_without_password_gets_a_one_time_initial_password(db):
    _, owner = await make_account()
    m, initial = await identity.create_user(owner, email="new@example.com", name="New")
    assert initial and len(initial) >= 12
    signed = await auth.sign_in(email="new@example.com", password=initial, ip="1.1.1.1")
    assert signed.viewer.membership_id == m.id


async def test_hierarchy_cycle_is_rejected(db):
    _, owner = await make_account()
    a = await make_user(owner)
    b = await make_user(owner, manager=a)
    c = await make_user(owner, manager=b)
    for new_manager in (c, b, a):
        with pytest.raises(DomainError) as exc:
            await identity.set_manager(owner, a.id, new_manager.id)
        assert codes(exc.value) == [("manager_id", ErrorCode.HIERARCHY_CYCLE)]
    # the tree is unchanged
    assert (await Membership.get(id=c.id)).tree_path.startswith((await Membership.get(id=a.id)).tree_path)


async def test_moving_a_manager_moves_their_whole_subtree(db):
    _, owner = await make_account()
    a = await make_user(owner)
    b = await make_user(owner)
    b1 = await make_user(owner, manager=b)
    b2 = await make_user(owner, manager=b1)
    lead = await make_lead(owner.account_id, assignee=b2)
    viewer_a = await viewer_for(a)
    assert await access.visible_lead(viewer_a, lead.id) is None
    await identity.set_manager(owner, b.id, a.id)
    viewer_a = await viewer_for(a)
    assert (await access.visible_lead(viewer_a, lead.id)).id == lead.id
    # and back to the top: a no longer sees it
    await identity.set_manager(owner, b.id, None)
    assert await access.visible_lead(await viewer_for(a), lead.id) is None


async def test_concurrent_moves_cannot_build_a_cycle(db):
    _, owner = await make_account()
    a = await make_user(owner)
    b = await make_user(owner)
    results = await asyncio.gather(
        identity.set_manager(owner, a.id, b.id), identity.set_manager(owner, b.id, a.id), return_exceptions=True
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    rows = {m.id: m for m in await Membership.filter(id__in=[a.id, b.id])}
    assert not (rows[a.id].manager_id == b.id and rows[b.id].manager_id == a.id)


async def test_ownership_transfer(db):
    _, owner = await make_account()
    m = await make_user(owner)
    await identity.transfer_ownership(owner, m.id)
    assert (await Membership.get(id=m.id)).is_owner
    assert not (await Membership.get(id=owner.membership_id)).is_owner
    old_owner = await viewer_for(await Membership.get(id=owner.membership_id))
    with pytest.raises(Forbidden):
        await identity.create_user(old_owner, email="z@example.com", name="Z")


async def test_only_owner_sets_currency_and_it_must_be_iso_4217(db):
    _, owner = await make_account()
    rep = await viewer_for(await make_user(owner))
    with pytest.raises(Forbidden):
        await identity.update_account(rep, currency="EUR")
    with pytest.raises(DomainError) as exc:
        await identity.update_account(owner, currency="XYZ")
    assert codes(exc.value) == [("currency", ErrorCode.INVALID)]
    account = await identity.update_account(owner, currency="eur")
    assert account.currency == "EUR"


async def test_barred_user_loses_session_and_token_then_can_be_deleted_after_reassignment(db):
    _, owner = await make_account()
    manager = await make_user(owner)
    rep = await make_user(owner, manager=manager)
    below_rep = await make_user(owner, manager=rep)
    lead = await make_lead(owner.account_id, assignee=rep)
    signed = await auth.sign_in(email=(await rep.person).email, password=PASSWORD, ip="9.9.9.9")
    _, token = await auth.create_api_token(signed.viewer, name="crm")
    assert await auth.authenticate_session(signed.session_token) is not None
    assert await auth.authenticate_api_token(token) is not None

    await identity.bar_user(owner, rep.id)
    assert await auth.authenticate_session(signed.session_token) is None
    assert await auth.authenticate_api_token(token) is None
    with pytest.raises(DomainError) as exc:
        await auth.sign_in(email=(await rep.person).email, password=PASSWORD, ip="9.9.9.9")
    assert codes(exc.value) == [("account_id", ErrorCode.BARRED)]

    with pytest.raises(DomainError) as exc:
        await identity.delete_user(owner, rep.id)
    assert codes(exc.value) == [("user_id", ErrorCode.HAS_ASSIGNED_LEADS)]
    with pytest.raises(DomainError) as exc:
        await identity.reassign_leads(owner, manager.id, rep.id)
    assert codes(exc.value) == [("to_user_id", ErrorCode.BARRED)]
    assert await identity.reassign_leads(owner, rep.id, manager.id) == 1
    await identity.delete_user(owner, rep.id)
    assert not await Membership.exists(id=rep.id)
    # the rep's report moved up to the manager, and the manager still sees them
    moved = await Membership.get(id=below_rep.id)
    assert moved.manager_id == manager.id
    assert await access.visible_membership(await viewer_for(manager), below_rep.id) is not None
    assert (await Lead.get(id=lead.id)).assignee_id == manager.id


async def test_owner_cannot_be_barred_and_unbarred_user_regains_access(db):
    _, owner = await make_account()
    with pytest.raises(DomainError):
        await identity.bar_user(owner, owner.membership_id)
    rep = await make_user(owner)
    await identity.bar_user(owner, rep.id)
    await identity.unbar_user(owner, rep.id)
    signed = await auth.sign_in(email=(await rep.person).email, password=PASSWORD, ip="1.1.1.1")
    assert signed.viewer.membership_id == rep.id


async def test_delete_needs_bar_first(db):
    _, owner = await make_account()
    rep = await make_user(owner)
    with pytest.raises(DomainError) as exc:
        await identity.delete_user(owner, rep.id)
    assert codes(exc.value) == [("user_id", ErrorCode.NOT_BARRED)]


async def test_profile_time_zone_is_iana(db):
    _, owner = await make_account()
    with pytest.raises(DomainError):
        await identity.update_profile(owner, time_zone="EST5EDT-ish")
    person = await identity.update_profile(owner, time_zone="America/Detroit", name="Renamed")
    assert (person.time_zone, person.name) == ("America/Detroit", "Renamed")


async def test_operator_sees_accounts_partner_only_its_own(db):
    _, operator = await make_account(kind=AccountKind.OPERATOR)
    a, owner_a = await make_account()
    b, _ = await make_account()
    assert {x.id for x in await access.visible_accounts(operator)} >= {a.id, b.id}
    assert [x.id for x in await access.visible_accounts(owner_a)] == [a.id]
