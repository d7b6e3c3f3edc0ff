"""Per-request authentication (core/auth.py): each credential kind answers the
viewer the database describes now, and nothing once the credential, its user or
its account is no longer live. Runs on SQLite and on PostgreSQL (the
statements are written per dialect)."""

from __future__ import annotations

from datetime import timedelta

from leadwire.core import auth
from leadwire.core.identity import now
from leadwire.core.models.identity import (
    Account,
    AccountKind,
    AccountStatus,
    ApiToken,
    LeadSource,
    LeadSourceKey,
    Membership,
    Session,
)

from factories import PASSWORD, make_account, make_user, viewer_for


async def _rep_with_credentials():
    account, owner = await make_account("Credentials Co")
    manager = await make_user(owner)
    rep = await viewer_for(await make_user(owner, manager=manager))
    row, token = await auth.create_api_token(rep, name="ci")
    signed_in = await auth.sign_in(email=rep.email, password=PASSWORD, ip="127.0.0.1")
    return account, rep, row, token, signed_in


async def test_live_credentials_give_the_whole_viewer(db):
    _, rep, _, token, signed_in = await _rep_with_credentials()
    assert await auth.authenticate_api_token(token) == rep
    viewer, csrf = await auth.authenticate_session(signed_in.session_token)
    assert viewer == rep and csrf == signed_in.csrf_token
    assert not rep.is_owner and rep.tree_path.count("/") == 3  # "/manager/rep/"
    _, owner = await make_account("Owner Co")
    _, owner_token = await auth.create_api_token(owner, name="owner")
    found = await auth.authenticate_api_token(owner_token)
    assert found == owner and found.is_owner and found.account_kind == AccountKind.PARTNER


async def test_refused_credentials(db):
    account, rep, row, token, signed_in = await _rep_with_credentials()
    session = signed_in.session_token
    assert await auth.authenticate_api_token("lw_pat_" + "x" * 40) is None
    assert await auth.authenticate_api_token(session) is None  # a session is not an API token
    assert await auth.authenticate_session(token) is None
    assert await auth.authenticate_session(session[:-1] + ("A" if session[-1] != "A" else "B")) is None

    # barred: both stop at once, and come back when the bar is lifted
    await Membership.filter(id=rep.membership_id).update(barred_at=now())
    assert await auth.authenticate_api_token(token) is None
    assert await auth.authenticate_session(session) is None
    await Membership.filter(id=rep.membership_id).update(barred_at=None)
    assert await auth.authenticate_api_token(token) == rep

    # the account closed
    await Account.filter(id=account.id).update(status=AccountStatus.CLOSED)
    assert await auth.authenticate_api_token(token) is None
    assert await auth.authenticate_session(session) is None
    await Account.filter(id=account.id).update(status=AccountStatus.ACTIVE)

    # expired
    await ApiToken.filter(id=row.id).update(expires_at=now() - timedelta(seconds=1))
    await Session.filter(token_hash=auth.token_hash(session)).update(expires_at=now() - timedelta(seconds=1))
    assert await auth.authenticate_api_token(token) is None
    assert await auth.authenticate_session(session) is None
    await ApiToken.filter(id=row.id).update(expires_at=now() + timedelta(hours=1))
    await Session.filter(token_hash=auth.token_hash(session)).update(expires_at=now() + timedelta(hours=1))
    assert await auth.authenticate_api_token(token) == rep
    assert (await auth.authenticate_session(session))[0] == rep

    # revoked
    await auth.revoke_api_token(rep, row.id)
    await Session.filter(token_hash=auth.token_hash(session)).update(revoked_at=now())
    assert await auth.authenticate_api_token(token) is None
    assert await auth.authenticate_session(session) is None


async def test_token_use_is_stamped_at_most_once_a_minute(db):
    _, rep, row, token, _ = await _rep_with_credentials()
    assert (await ApiToken.get(id=row.id)).last_used_at is None
    await auth.authenticate_api_token(token)
    first = (await ApiToken.get(id=row.id)).last_used_at
    assert first is not None and now() - first < timedelta(seconds=30)
    await auth.authenticate_api_token(token)
    assert (await ApiToken.get(id=row.id)).last_used_at == first
    await ApiToken.filter(id=row.id).update(last_used_at=first - timedelta(minutes=2))
    await auth.authenticate_api_token(token)
    assert (await ApiToken.get(id=row.id)).last_used_at > first - timedelta(minutes=1)


async def test_lead_source_keys(db):
    _, operator = await make_account("Market", kind=AccountKind.OPERATOR)
    source = await auth.create_lead_source(operator, name="Web")
    key_row, key = await auth.create_lead_source_key(operator, source.id)
    principal = await auth.authenticate_lead_source_key(key)
    assert (principal.source_id, principal.account_id, principal.name) == (source.id, operator.account_id, "Web")
    assert (await LeadSourceKey.get(id=key_row.id)).last_used_at is not None
    assert await auth.authenticate_lead_source_key("lw_src_" + "x" * 40) is None
    await LeadSource.filter(id=source.id).update(disabled_at=now())
    assert await auth.authenticate_lead_source_key(key) is None
    await LeadSource.filter(id=source.id).update(disabled_at=None)
    assert await auth.authenticate_lead_source_key(key) is not None
    await auth.revoke_lead_source_key(operator, key_row.id)
    assert await auth.authenticate_lead_source_key(key) is None
