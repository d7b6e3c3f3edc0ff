"""Partner sign-up, company info, approval and account managers."""

import httpx
import pytest

from leadwire.app import create_app
from leadwire.core import partners, routing
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.marketplace import RoutingOutcome
from leadwire.core.settings import load_settings

from conftest import TEST_SECRET, GraphQLClient
from factories import make_account, make_user
from market import Market
from test_routing import TUESDAY_3PM_DETROIT

SIGN_UP = """mutation($i: SignUpPartnerInput!) { signUpPartner(input: $i) {
  csrfToken userErrors { field code message } viewer { account { name approved phone website } user { isOwner } } } }"""


async def _client(db, **env):
    settings = load_settings({"LEADWIRE_SECRET_KEY": TEST_SECRET, **env})
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, manage_database=False)),
                             base_url="http://testserver")
    return GraphQLClient(http)


async def test_sign_up_signs_the_owner_in_and_validates(db):
    c = await _client(db)
    out = (await c.data(SIGN_UP, {"i": {"companyName": "Blue Van Movers", "ownerName": "Kim Lee",
                                       "email": "kim@bluevan.example", "password": "a long password",
                                       "phone": "(248) 555-0111", "website": "https://bluevan.example"}}))["signUpPartner"]
    assert out["userErrors"] == []
    assert out["viewer"]["account"] == {"name": "Blue Van Movers", "approved": True, "phone": "+12485550111",
                                        "website": "https://bluevan.example"}
    assert out["viewer"]["user"]["isOwner"] is True
    c.csrf = out["csrfToken"]
    assert (await c.data("{ viewer { account { balance { amountMinor currency } } } }"))["viewer"]["account"]["balance"] == {
        "amountMinor": 0, "currency": "USD"}
    bad = (await c.data(SIGN_UP, {"i": {"companyName": "", "ownerName": "X", "email": "nope", "password": "short",
                                       "website": "ftp://x"}}))["signUpPartner"]
    assert {e["field"] for e in bad["userErrors"]} == {"website"}  # company fields are checked first
    await c.http.aclose()


async def test_unapproved_partner_is_skipped_by_routing_until_approved(db):
    market = await Market().setup()
    offer = await market.offer(market.local, 2500)
    account, owner = await partners.sign_up(company_name="New Co", owner_name="N", email="n@new.example",
                                            password="a long password", require_approval=True)
    from tortoise.transactions import in_transaction

    from leadwire.core import ledger
    from leadwire.core.models.ledger import EntryKind
    from factories import viewer_for

    async with in_transaction() as conn:
        await ledger.credit(account.id, 10_000, EntryKind.DEPOSIT, "t", conn)
    campaign = await market.campaign(await viewer_for(owner), offer)
    r = await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert r.decisions[campaign.id] == RoutingOutcome.NOT_APPROVED
    await partners.approve(market.operator, account.id)
    r = await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert r.sold_to == [campaign.id]


async def test_account_manager_is_operator_staff_and_shown_to_the_partner(db, client_factory):
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    staff = await make_user(operator)
    account, owner = await make_account("Partner")
    await partners.set_account_manager(operator, account.id, staff.id)
    c = await client_factory()
    await c.sign_in(owner.email, "correct horse battery")
    shown = (await c.data("{ viewer { account { accountManager { name email } } } }"))["viewer"]["account"]
    assert shown["accountManager"]["email"] == (await staff.person).email
    # a partner's own user cannot be made an account manager; partners cannot assign
    partner_user = await make_user(owner)
    from leadwire.core.errors import DomainError, Forbidden

    with pytest.raises(DomainError):
        await partners.set_account_manager(operator, account.id, partner_user.id)
    with pytest.raises(Forbidden):
        await partners.set_account_manager(owner, account.id, None)
