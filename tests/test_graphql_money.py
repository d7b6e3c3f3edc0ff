"""Money through the GraphQL API: cards, funds, auto-charge, recorded payments,
adjustments, notifications and the ledger check, within the visibility rules
(an account's money: its owner and operator staff)."""

from __future__ import annotations

import pytest

from leadwire.core import identity
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.money import Notification, NotificationKind, Payment

from factories import PASSWORD, make_account, make_user
from money_env import stripe_env

MONEY = """query($id: ID!) { node(id: $id) { ... on Account { money {
  balance { amountMinor currency } credits { amountMinor } refundable { amountMinor }
  paymentMethods { id label isDefault brand last4 }
  autoCharge { enabled state threshold { amountMinor } amount { amountMinor } }
  ledger(first: 10) { edges { node { id kind amount { amountMinor } creditAmount { amountMinor } memo
    payment { id status reference } } } }
} } } }"""


@pytest.fixture
async def stripe(db):
    async with stripe_env() as env:
        yield env


async def signed_in(client_factory, email):
    client = await client_factory()
    payload = await client.sign_in(email, PASSWORD)
    assert not payload["userErrors"], payload
    return client


async def partner(client_factory):
    account, owner = await make_account()
    client = await signed_in(client_factory, owner.email)
    me = await client.data("{ viewer { account { id } } }")
    return account, owner, client, me["viewer"]["account"]["id"]


async def operator_client(client_factory):
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    return operator, await signed_in(client_factory, operator.email)


async def add_card(client, stripe, fixture="pm_card_visa"):
    started = (await client.data("""mutation { startCardSetup(input: {gateway: "stripe"}) {
        setupId clientSecret publicConfig userErrors { field code message } } }"""))["startCardSetup"]
    assert not started["userErrors"] and started["publicConfig"] == {"publishable_key": "pk_test_51LeadwireFakePublishable"}

    class Started:  # what StripeEnv.confirm_in_browser needs
        class setup:
            setup_ref = started["clientSecret"].split("_secret_")[0]
        client_secret = started["clientSecret"]

    await stripe.confirm_in_browser(Started, fixture)
    done = (await client.data("""mutation($i: CompleteCardSetupInput!) { completeCardSetup(input: $i) {
        paymentMethod { id label isDefault } userErrors { field code message } } }""",
        {"i": {"setupId": started["setupId"]}}))["completeCardSetup"]
    assert not done["userErrors"], done
    return done["paymentMethod"]


ADD_FUNDS = """mutation($i: AddFundsInput!) { addFunds(input: $i) {
  payment { id status amount { amountMinor } failureCode failureMessage } balance { amountMinor }
  userErrors { field code message } } }"""


async def test_the_owner_saves_a_card_adds_funds_and_sees_the_ledger(client_factory, stripe):
    account, _, client, account_gid = await partner(client_factory)
    gateways = await client.data("{ paymentGateways { name label savesPaymentMethods operatorRecorded } }")
    assert {g["name"]: (g["savesPaymentMethods"], g["operatorRecorded"]) for g in gateways["paymentGateways"]} == {
        "manual": (False, True), "stripe": (True, False)}
    card = await add_card(client, stripe)
    assert card["label"] == "Visa ending 4242" and card["isDefault"]
    added = (await client.data(ADD_FUNDS, {"i": {"amountMinor": 5000, "idempotencyKey": "k1"}}))["addFunds"]
    assert added["userErrors"] == [] and added["payment"]["status"] == "SUCCEEDED"
    assert added["balance"] == {"amountMinor": 5000}
    money = (await client.data(MONEY, {"id": account_gid}))["node"]["money"]
    assert money["balance"] == {"amountMinor": 5000, "currency": "USD"} and money["refundable"] == {"amountMinor": 5000}
    [entry] = [e["node"] for e in money["ledger"]["edges"]]
    assert (entry["kind"], entry["amount"], entry["payment"]["status"]) == ("DEPOSIT", {"amountMinor": 5000}, "SUCCEEDED")
    # The ledger entry and the card are nodes the owner can fetch again.
    again = await client.data("query($a: ID!, $b: ID!) { nodes(ids: [$a, $b]) { id } }", {"a": entry["id"], "b": card["id"]})
    assert [n["id"] for n in again["nodes"]] == [entry["id"], card["id"]]


async def test_a_declined_card_is_a_user_error_naming_the_field(client_factory, stripe):
    account, _, client, _ = await partner(client_factory)
    await add_card(client, stripe, "pm_card_chargeDeclinedInsufficientFunds")
    added = (await client.data(ADD_FUNDS, {"i": {"amountMinor": 5000}}))["addFunds"]
    assert added["userErrors"] == [{"field": "paymentMethodId", "code": "PAYMENT_DECLINED",
                                    "message": "The card has insufficient funds."}]
    assert added["payment"]["status"] == "FAILED" and added["balance"] == {"amountMinor": 0}
    bad = (await client.data(ADD_FUNDS, {"i": {"amountMinor": 5}}))["addFunds"]
    assert [e["field"] for e in bad["userErrors"]] == ["amountMinor"] and bad["payment"] is None
    assert await Payment.all().count() == 1


async def test_other_users_and_other_partners_see_no_money(client_factory, stripe):
    account, owner, client, account_gid = await partner(client_factory)
    card = await add_card(client, stripe)
    await client.data(ADD_FUNDS, {"i": {"amountMinor": 5000}})
    rep = await make_user(owner)
    rep_client = await signed_in(client_factory, (await rep.person).email)
    seen = await rep_client.data("query($id: ID!) { node(id: $id) { ... on Account { balance { amountMinor } money { balance { amountMinor } } } } }",
                                 {"id": account_gid})
    assert seen["node"] == {"balance": {"amountMinor": 5000}, "money": None}
    refused = (await rep_client.data(ADD_FUNDS, {"i": {"amountMinor": 5000}}))["addFunds"]
    assert refused["userErrors"][0]["code"] == "OWNER_REQUIRED"
    _, _, other, _ = await partner(client_factory)
    ledger = await client.data(MONEY, {"id": account_gid})
    entry_id = ledger["node"]["money"]["ledger"]["edges"][0]["node"]["id"]
    for c in (other, rep_client):
        hidden = await c.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [entry_id, card["id"], account_gid]})
        assert hidden["nodes"][:2] == [None, None]
    removed = (await other.data("""mutation($i: PaymentMethodInput!) { removePaymentMethod(input: $i) {
        userErrors { field code } } }""", {"i": {"paymentMethodId": card["id"]}}))["removePaymentMethod"]
    assert removed["userErrors"] == [{"field": "paymentMethodId", "code": "NOT_FOUND"}]
    body = await client.post("{ ledgerCheck { ok } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_operator_records_payments_adjusts_with_a_reason_and_checks_the_ledger(client_factory, stripe):
    account, _, client, account_gid = await partner(client_factory)
    operator, staff = await operator_client(client_factory)
    recorded = (await staff.data("""mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) {
        payment { status gateway methodLabel reference } balance { amountMinor } userErrors { field code } } }""",
        {"i": {"accountId": account_gid, "amountMinor": 100000, "method": "CHECK", "reference": "1042"}}))["recordManualPayment"]
    assert recorded["payment"] == {"status": "SUCCEEDED", "gateway": "manual", "methodLabel": "Check", "reference": "check:1042"}
    adjust = """mutation($i: AdjustBalanceInput!) { adjustBalance(input: $i) {
        entry { kind amount { amountMinor } creditAmount { amountMinor } memo } balance { amountMinor }
        userErrors { field code message } } }"""
    bad = (await staff.data(adjust, {"i": {"accountId": account_gid, "amountMinor": -500000, "reason": ""}}))["adjustBalance"]
    assert {(e["field"], e["code"]) for e in bad["userErrors"]} == {("reason", "REQUIRED")}
    bad = (await staff.data(adjust, {"i": {"accountId": account_gid, "amountMinor": -500000, "reason": "Too much"}}))["adjustBalance"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [("amountMinor", "INSUFFICIENT_BALANCE")]
    good = (await staff.data(adjust, {"i": {"accountId": account_gid, "amountMinor": 2500, "reason": "Goodwill"}}))["adjustBalance"]
    assert good["entry"] == {"kind": "ADJUSTMENT", "amount": {"amountMinor": 2500}, "creditAmount": {"amountMinor": 2500},
                             "memo": "Goodwill"} and good["balance"] == {"amountMinor": 102500}
    partner_side = (await client.data(adjust, {"i": {"accountId": account_gid, "amountMinor": 100, "reason": "me"}}))["adjustBalance"]
    assert partner_side["userErrors"][0]["code"] == "FORBIDDEN"
    # Operator staff see every partner's money, and the check.
    money = (await staff.data(MONEY, {"id": account_gid}))["node"]["money"]
    assert money["balance"]["amountMinor"] == 102500 and money["credits"] == {"amountMinor": 2500}
    assert len(money["ledger"]["edges"]) == 2
    check = await staff.data("{ ledgerCheck { ok accountsChecked problems { accountName description } } }")
    assert check["ledgerCheck"]["ok"] and check["ledgerCheck"]["accountsChecked"] == 2
    from leadwire.core.models.identity import Account

    await Account.filter(id=account.id).update(balance_minor=1)
    check = await staff.data("{ ledgerCheck { ok problems { accountId accountName balance { amountMinor } ledgerSum { amountMinor } description } } }")
    [problem] = check["ledgerCheck"]["problems"]
    assert (problem["accountId"], problem["balance"], problem["ledgerSum"]) == (account_gid, {"amountMinor": 1}, {"amountMinor": 102500})


async def test_auto_charge_settings_and_notifications(client_factory, stripe):
    account, _, client, account_gid = await partner(client_factory)
    update = """mutation($i: UpdateAutoChargeInput!) { updateAutoCharge(input: $i) {
        autoCharge { enabled state threshold { amountMinor } amount { amountMinor } paymentMethod { id } }
        userErrors { field code message } } }"""
    refused = (await client.data(update, {"i": {"enabled": True, "thresholdMinor": 2000, "amountMinor": 5000}}))["updateAutoCharge"]
    assert refused["userErrors"] == [{"field": "paymentMethodId", "code": "REQUIRED",
                                      "message": "Add a card first: auto-charge charges a card on file."}]
    await add_card(client, stripe)
    saved = (await client.data(update, {"i": {"enabled": True, "thresholdMinor": 2000, "amountMinor": 5000}}))["updateAutoCharge"]
    assert saved["autoCharge"]["enabled"] and saved["autoCharge"]["paymentMethod"] is None
    # The balance (0) is below the threshold: a charge is on its way.
    assert saved["autoCharge"]["state"] == "DUE"
    from tortoise.transactions import in_transaction

    from leadwire.core import notifications

    async with in_transaction() as conn:
        note = await notifications.notify(account.id, NotificationKind.AUTO_CHARGE_FAILED, "An auto-charge failed", "...", conn)
    listed = await client.data("{ notifications(first: 5, unreadOnly: true) { edges { node { id kind title read } } } }")
    [node] = [e["node"] for e in listed["notifications"]["edges"]]
    assert (node["kind"], node["read"]) == ("AUTO_CHARGE_FAILED", False)
    marked = await client.data("""mutation($i: MarkNotificationsReadInput!) { markNotificationsRead(input: $i) { marked } }""",
                               {"i": {"notificationIds": [node["id"]]}})
    assert marked["markNotificationsRead"]["marked"] == 1
    assert (await Notification.get(id=note.id)).read_at is not None
    _, _, other, _ = await partner(client_factory)
    assert (await other.data("{ notifications(first: 5) { edges { node { id } } } }"))["notifications"]["edges"] == []
