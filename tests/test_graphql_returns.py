"""Returns and closing through the GraphQL API, within the visibility rules."""

from __future__ import annotations

import pytest
from strawberry import relay

from leadwire.core import routing
from leadwire.core.models.identity import Account, AccountKind, AccountStatus
from leadwire.core.models.returns import ReturnRequest

from factories import PASSWORD, make_account, make_user
from market import Market
from money_env import stripe_env

REQUEST = """mutation($i: RequestReturnInput!) { requestReturn(input: $i) {
  returnRequest { id status reason reasonLabel note amount { amountMinor } dueAt overdue lead { id } }
  userErrors { field code message } } }"""
REVIEW = """mutation($i: ReviewReturnInput!) { reviewReturn(input: $i) {
  returnRequest { status reviewNote } userErrors { field code message } } }"""


def gid(kind, pk):
    return str(relay.GlobalID(kind, str(pk)))


@pytest.fixture
async def market(db):
    async with stripe_env():
        m = await Market().setup()
        m.offer_ = await m.offer(m.local, 2500)
        yield m


async def client_for(client_factory, email):
    client = await client_factory()
    assert not (await client.sign_in(email, PASSWORD))["userErrors"]
    return client


async def sold_lead(market):
    account, owner = await market.partner()
    campaign = await market.campaign(owner, market.offer_)
    result = await routing.route_lead((await market.lead()).id)
    return account, owner, result.buyer_lead_ids[result.sold_to.index(campaign.id)]


async def test_a_partner_returns_a_lead_and_the_operator_credits_it(client_factory, market):
    account, owner, lead_id = await sold_lead(market)
    client = await client_for(client_factory, owner.email)
    eligibility = await client.data("query($l: ID!) { returnEligibility(leadId: $l) { returnable closesAt timeZone whyNot } }",
                                    {"l": gid("Lead", lead_id)})
    assert eligibility["returnEligibility"]["returnable"] and eligibility["returnEligibility"]["timeZone"] == "America/New_York"
    refused = (await client.data(REQUEST, {"i": {"leadId": gid("Lead", lead_id), "reason": "CONSUMER_UNRESPONSIVE",
                                                  "note": "Never picks up"}}))["requestReturn"]
    assert refused["returnRequest"] is None
    [error] = refused["userErrors"]
    assert (error["field"], error["code"]) == ("reason", "RETURN_REASON_REFUSED") and "working phone number" in error["message"]
    assert await ReturnRequest.all().count() == 0
    made = (await client.data(REQUEST, {"i": {"leadId": gid("Lead", lead_id), "reason": "NO_WORKING_PHONE",
                                               "note": "Disconnected"}}))["requestReturn"]
    assert made["userErrors"] == []
    ret = made["returnRequest"]
    assert (ret["status"], ret["reason"], ret["amount"], ret["overdue"], ret["lead"]["id"]) == (
        "PENDING", "NO_WORKING_PHONE", {"amountMinor": 2500}, False, gid("Lead", lead_id))
    again = (await client.data(REQUEST, {"i": {"leadId": gid("Lead", lead_id), "reason": "NO_WORKING_PHONE"}}))["requestReturn"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [("leadId", "DUPLICATE")]

    ops = await client_for(client_factory, market.operator.email)
    listed = await ops.data("{ returns(first: 10, status: PENDING) { edges { node { id account { name } lead { id } evidence } } } }")
    [node] = [e["node"] for e in listed["returns"]["edges"]]
    assert node["id"] == ret["id"] and node["lead"] is not None  # the operator sees the marketplace lead
    denied = (await client.data(REVIEW, {"i": {"returnId": ret["id"], "decision": "APPROVE"}}))["reviewReturn"]
    assert denied["userErrors"][0]["code"] == "FORBIDDEN"
    decline = (await ops.data(REVIEW, {"i": {"returnId": ret["id"], "decision": "DECLINE"}}))["reviewReturn"]
    assert [(e["field"], e["code"]) for e in decline["userErrors"]] == [("note", "REQUIRED")]
    approved = (await ops.data(REVIEW, {"i": {"returnId": ret["id"], "decision": "APPROVE", "note": "Verified"}}))["reviewReturn"]
    assert approved["returnRequest"] == {"status": "APPROVED", "reviewNote": "Verified"}
    money = await client.data("""query($a: ID!) { node(id: $a) { ... on Account { money {
        credits { amountMinor } returnStats { sales requested approved rate }
        ledger(first: 1, kind: RETURN_CREDIT) { edges { node { amount { amountMinor } creditAmount { amountMinor } } } }
        abuseFlag { note } } } } }""", {"a": gid("Account", account.id)})
    m = money["node"]["money"]
    assert m["credits"] == {"amountMinor": 2500} and m["abuseFlag"] is None
    assert m["returnStats"] == {"sales": 1, "requested": 1, "approved": 1, "rate": 1.0}
    assert m["ledger"]["edges"][0]["node"] == {"amount": {"amountMinor": 2500}, "creditAmount": {"amountMinor": 2500}}
    notes = await client.data("{ notifications(first: 5) { edges { node { kind title } } } }")
    assert notes["notifications"]["edges"][0]["node"]["kind"] == "RETURN_REVIEWED"


async def test_returns_follow_the_leads_a_user_sees(client_factory, market):
    account, owner, lead_id = await sold_lead(market)
    owner_client = await client_for(client_factory, owner.email)
    made = (await owner_client.data(REQUEST, {"i": {"leadId": gid("Lead", lead_id), "reason": "NEVER_REQUESTED_QUOTE"}}))
    ret_id = made["requestReturn"]["returnRequest"]["id"]
    rep = await make_user(owner)
    rep_client = await client_for(client_factory, (await rep.person).email)
    assert (await rep_client.data("{ returns(first: 5) { edges { node { id } } } }"))["returns"]["edges"] == []
    assert (await rep_client.data("query($i: ID!) { node(id: $i) { id } }", {"i": ret_id}))["node"] is None
    refused = (await rep_client.data(REQUEST, {"i": {"leadId": gid("Lead", lead_id), "reason": "NO_WORKING_PHONE"}}))
    assert [(e["field"], e["code"]) for e in refused["requestReturn"]["userErrors"]] == [("leadId", "NOT_FOUND")]
    assert (await rep_client.data("query($l: ID!) { returnEligibility(leadId: $l) { returnable } }",
                                  {"l": gid("Lead", lead_id)}))["returnEligibility"] is None
    _, _, other_lead = await sold_lead(market)
    assert (await owner_client.data("query($i: ID!) { node(id: $i) { id } }", {"i": ret_id}))["node"]["id"] == ret_id


async def test_the_owner_closes_the_account_and_the_operator_pays_the_refund(client_factory, market):
    account, owner = await market.partner(balance=9000)  # a deposit without a payment record: paid back by hand
    client = await client_for(client_factory, owner.email)
    await market.campaign(owner, market.offer_)
    quote = await client.data("""query($a: ID!) { node(id: $a) { ... on Account { money { closingQuote {
        refundable { amountMinor } fee { amountMinor } refund { amountMinor } feeUntil } } } } }""", {"a": gid("Account", account.id)})
    q = quote["node"]["money"]["closingQuote"]
    assert (q["refundable"], q["fee"], q["refund"]) == ({"amountMinor": 9000}, {"amountMinor": 5000}, {"amountMinor": 4000})
    close = """mutation($i: CloseAccountInput!) { closeAccount(input: $i) { closure { kind refund { amountMinor }
        fee { amountMinor } refunds { id gateway status amount { amountMinor } } } userErrors { field code message } } }"""
    unconfirmed = (await client.data(close, {"i": {"confirm": False}}))["closeAccount"]
    assert [(e["field"], e["code"]) for e in unconfirmed["userErrors"]] == [("confirm", "REQUIRED")]
    closed = (await client.data(close, {"i": {"confirm": True, "reason": "Retiring"}}))["closeAccount"]
    assert closed["userErrors"] == [] and closed["closure"]["kind"] == "CANCELLATION"
    assert (closed["closure"]["refund"], closed["closure"]["fee"]) == ({"amountMinor": 4000}, {"amountMinor": 5000})
    [refund] = closed["closure"]["refunds"]
    assert (refund["gateway"], refund["status"]) == ("manual", "PENDING")
    assert (await Account.get(id=account.id)).status == AccountStatus.CLOSED
    _, staff = await make_account("Ops", kind=AccountKind.OPERATOR)
    ops = await client_for(client_factory, staff.email)
    from money_env import run_due_jobs

    await run_due_jobs("send_refund")
    waiting = await ops.data("{ refunds(first: 5, status: AWAITING_OPERATOR) { edges { node { id account { name } amount { amountMinor } } } } }")
    [node] = [e["node"] for e in waiting["refunds"]["edges"]]
    assert node["id"] == refund["id"] and node["amount"] == {"amountMinor": 4000}
    settled = (await ops.data("""mutation($i: SettleRefundInput!) { settleRefund(input: $i) { refund { status reference }
        userErrors { field code } } }""", {"i": {"refundId": refund["id"], "reference": "Check 7781"}}))["settleRefund"]
    assert settled["refund"] == {"status": "PAID", "reference": "Check 7781"}
    # The partner's users can no longer sign in; the history stays for the operator.
    again = await client_factory()
    assert (await again.sign_in(owner.email, PASSWORD))["userErrors"]
    history = await ops.data("""query($a: ID!) { node(id: $a) { ... on Account { status money { closure { kind }
        ledger(first: 10) { edges { node { kind } } } } } } }""", {"a": gid("Account", account.id)})
    assert history["node"]["status"] == "CLOSED"
    assert [e["node"]["kind"] for e in history["node"]["money"]["ledger"]["edges"]] == ["REFUND", "FEE", "DEPOSIT"]


async def test_the_operator_flags_and_closes_an_account_for_abuse(client_factory, market):
    account, owner = await market.partner(balance=9000)
    client = await client_for(client_factory, owner.email)
    _, staff = await make_account("Ops", kind=AccountKind.OPERATOR)
    ops = await client_for(client_factory, staff.email)
    flag = """mutation($i: AccountNoteInput!) { flagAccount(input: $i) { flag { note } userErrors { field code } } }"""
    assert (await client.data(flag, {"i": {"accountId": gid("Account", account.id), "note": "me"}}))["flagAccount"]["userErrors"][0]["code"] == "FORBIDDEN"
    flagged = (await ops.data(flag, {"i": {"accountId": gid("Account", account.id), "note": "Returns half its leads"}}))
    assert flagged["flagAccount"]["flag"] == {"note": "Returns half its leads"}
    seen = """query($a: ID!) { node(id: $a) { ... on Account { money { abuseFlag { note } } } } }"""
    assert (await ops.data(seen, {"a": gid("Account", account.id)}))["node"]["money"]["abuseFlag"]["note"] == "Returns half its leads"
    assert (await client.data(seen, {"a": gid("Account", account.id)}))["node"]["money"]["abuseFlag"] is None
    closed = (await ops.data("""mutation($i: AccountNoteInput!) { closeAccountForAbuse(input: $i) {
        closure { kind fee { amountMinor } refund { amountMinor } } userErrors { field code } } }""",
        {"i": {"accountId": gid("Account", account.id), "note": "Abuse of the return policy"}}))["closeAccountForAbuse"]
    assert closed["closure"] == {"kind": "ABUSE", "fee": {"amountMinor": 0}, "refund": {"amountMinor": 9000}}
