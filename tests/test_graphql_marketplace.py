"""The marketplace through the public API: the operator's catalogue, a partner
activating an offer and setting its filter, a lead source posting leads, the
buyer's dashboard record, the routing explanation, and who sees what."""

import pytest

from leadwire.core import industries
from leadwire.core.models.identity import AccountKind
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES

from factories import PASSWORD, make_account
from test_graphql_identity import NODE, signed_in

ERRORS = "userErrors { field code message }"


@pytest.fixture
async def world(client_factory, db):
    industries.install(BUILTIN_INDUSTRIES)
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    op = await signed_in(client_factory, operator.email)
    ind = await op.data(f'mutation {{ createIndustry(input: {{schemaKey: "moving"}}) {{ industry {{ id }} {ERRORS} }} }}')
    industry_id = ind["createIndustry"]["industry"]["id"]
    prod = await op.data(
        f"mutation($i: CreateProductInput!) {{ createProduct(input: $i) {{ product {{ id maxBuyers }} {ERRORS} }} }}",
        {"i": {"industryId": industry_id, "name": "Local moving"}},
    )
    product_id = prod["createProduct"]["product"]["id"]
    off = await op.data(
        f"mutation($i: CreateOfferInput!) {{ createOffer(input: $i) {{ offer {{ id price {{ amountMinor currency }} }} {ERRORS} }} }}",
        {"i": {"productId": product_id, "name": "Shared local", "priceMinor": 2500}},
    )
    offer_id = off["createOffer"]["offer"]["id"]
    src = await op.data('mutation { createLeadSource(input: {name: "Web"}) { leadSource { id } } }')
    key = await op.data(
        "mutation($i: CreateLeadSourceKeyInput!) { createLeadSourceKey(input: $i) { apiKey } }",
        {"i": {"leadSourceId": src["createLeadSource"]["leadSource"]["id"]}},
    )
    source = await client_factory()
    source.bearer = key["createLeadSourceKey"]["apiKey"]
    return dict(op=op, industry_id=industry_id, product_id=product_id, offer_id=offer_id, source=source)


async def funded_partner(client_factory, name, balance=50_000):
    from tortoise.transactions import in_transaction

    from leadwire.core import ledger
    from leadwire.core.models.ledger import EntryKind

    account, owner = await make_account(name)
    if balance:
        async with in_transaction() as conn:
            await ledger.credit(account.id, balance, EntryKind.DEPOSIT, "test", conn)
    c = await client_factory()
    await c.sign_in(owner.email, PASSWORD)
    return c


SUBMIT = f"""mutation($i: SubmitLeadInput!) {{ submitLead(input: $i) {{ leadId status buyerCount replayed {ERRORS} }} }}"""


def lead_input(product_id, **overrides):
    i = {
        "productId": product_id, "firstName": "Ana", "lastName": "Lopez", "phone": "313-555-0142",
        "email": "ana@example.com", "postalCode": "48165",
        "consent": {"text": "I agree to be contacted.", "ip": "198.51.100.4", "pageUrl": "https://q.example/m"},
        "data": {"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"},
    }
    i.update(overrides)
    return i


async def test_activate_filter_receive_and_explain(world, client_factory):
    partner = await funded_partner(client_factory, "Acme Movers")
    act = await partner.data(
        f"mutation($i: ActivateOfferInput!) {{ activateOffer(input: $i) {{ campaign {{ id dailyCap schedule {{ day start end }} }} {ERRORS} }} }}",
        {"i": {"offerId": world["offer_id"]}},
    )
    campaign = act["activateOffer"]["campaign"]
    assert campaign["dailyCap"] == 10 and len(campaign["schedule"]) == 6  # pre-filled, seed 000
    upd = await partner.data(
        f"mutation($i: UpdateCampaignInput!) {{ updateCampaign(input: $i) {{ campaign {{ geoMode radiusMiles coveredZipCodes schedule {{ day }} }} {ERRORS} }} }}",
        {"i": {"campaignId": campaign["id"], "geoMode": "ZIP_RADIUS", "radiusZip": "48165", "radiusMiles": 10,
               "schedule": [], "timeZone": "America/Detroit"}},
    )
    assert upd["updateCampaign"]["userErrors"] == []
    assert "48165" in upd["updateCampaign"]["campaign"]["coveredZipCodes"]

    inside = lead_input(world["product_id"], data={"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"})
    out = (await world["source"].data(SUBMIT, {"i": inside}))["submitLead"]
    assert out["userErrors"] == [] and out["status"] == "SOLD" and out["buyerCount"] == 1
    outside = lead_input(world["product_id"], phone="212-555-0199", email="", postalCode="10001",
                         data={"from_zip": "10001", "to_zip": "10002", "move_date": "2026-12-15", "move_size": "studio"})
    out2 = (await world["source"].data(SUBMIT, {"i": outside}))["submitLead"]
    assert out2["status"] == "UNSOLD"

    sale_fields = "sale { price { amountMinor currency } exclusive soldAt campaign { id name timeZone } }"
    leads = await partner.data(f"{{ leads(first: 10) {{ edges {{ node {{ id firstName phone data {sale_fields} }} }} }} }}")
    edges = leads["leads"]["edges"]
    assert len(edges) == 1
    assert edges[0]["node"]["phone"] == "+13135550142"
    sale = edges[0]["node"]["sale"]
    assert sale["price"] == {"amountMinor": 2500, "currency": "USD"} and sale["exclusive"] is False
    assert sale["campaign"]["name"] and sale["soldAt"].endswith(("Z", "+00:00"))
    # The page's sales are fetched for the whole page at once; one lead alone
    # loads its own: both say the same.
    single = await partner.data(f"query($id: ID!) {{ node(id: $id) {{ ... on Lead {{ {sale_fields} }} }} }}",
                                {"id": edges[0]["node"]["id"]})
    assert single["node"]["sale"] == sale
    assert edges[0]["node"]["data"]["move_type"] == "local"

    # The operator sees the whole trace; the source learns no buyer.
    trace = await world["op"].data(
        "query($id: ID!) { node(id: $id) { ... on Lead { marketStatus routingTrace { partnerName outcome } } } }",
        {"id": out["leadId"]},
    )
    assert trace["node"]["routingTrace"] == [{"partnerName": "Acme Movers", "outcome": "SOLD"}]
    assert (await world["source"].data(NODE, {"id": out["leadId"]}))["node"] is None


async def test_missed_leads_are_explained_without_naming_other_buyers(world, client_factory):
    a = await funded_partner(client_factory, "A")
    b = await funded_partner(client_factory, "B", balance=0)
    camp = {}
    for name, c in (("a", a), ("b", b)):
        act = await c.data("mutation($i: ActivateOfferInput!) { activateOffer(input: $i) { campaign { id } } }",
                           {"i": {"offerId": world["offer_id"]}})
        camp[name] = act["activateOffer"]["campaign"]["id"]
        await c.data("mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { userErrors { code } } }",
                     {"i": {"campaignId": camp[name], "schedule": []}})
    data = {"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"}
    await world["source"].data(SUBMIT, {"i": lead_input(world["product_id"], data=data)})
    q = """query($id: ID!) { node(id: $id) { ... on Campaign {
        missedLeads(since: "2000-01-01T00:00:00+00:00") { reason count }
        routingDecisions(first: 5) { edges { node { outcome leadCity } } } } } }"""
    mine = await b.data(q, {"id": camp["b"]})
    assert mine["node"]["missedLeads"] == [{"reason": "BALANCE", "count": 1}]
    assert mine["node"]["routingDecisions"]["edges"][0]["node"] == {"outcome": "BALANCE", "leadCity": "New Hudson"}
    # B cannot look at A's campaign at all
    assert (await b.data(q, {"id": camp["a"]}))["node"] is None


async def test_intake_errors_name_each_field(world):
    bad = lead_input(world["product_id"], phone="12", postalCode="00000",
                     data={"from_zip": "48165", "to_zip": "48104", "move_date": "soon", "move_size": "2_bedrooms"})
    out = (await world["source"].data(SUBMIT, {"i": bad}))["submitLead"]
    assert [(e["field"], e["code"]) for e in out["userErrors"]] == [
        ("phone", "INVALID"), ("postalCode", "INVALID"), ("data.move_date", "INVALID"),
    ]
    assert out["leadId"] is None


async def test_only_lead_sources_submit_and_partners_cannot_edit_the_catalogue(world, client_factory):
    partner = await funded_partner(client_factory, "P")
    data = {"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"}
    out = (await partner.data(SUBMIT, {"i": lead_input(world["product_id"], data=data)}))["submitLead"]
    assert out["userErrors"][0]["code"] == "UNAUTHENTICATED"
    out = await partner.data(
        f"mutation($i: CreateOfferInput!) {{ createOffer(input: $i) {{ offer {{ id }} {ERRORS} }} }}",
        {"i": {"productId": world["product_id"], "name": "Cheap", "priceMinor": 1}},
    )
    assert out["createOffer"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_idempotent_submit_over_http(world, client_factory):
    await funded_partner(client_factory, "Q")
    data = {"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"}
    i = lead_input(world["product_id"], data=data, idempotencyKey="abc-1")
    first = (await world["source"].data(SUBMIT, {"i": i}))["submitLead"]
    again = (await world["source"].data(SUBMIT, {"i": i}))["submitLead"]
    assert again["leadId"] == first["leadId"] and again["replayed"] is True and first["replayed"] is False
    i["firstName"] = "Someone else"
    clash = (await world["source"].data(SUBMIT, {"i": i}))["submitLead"]
    assert clash["userErrors"][0]["field"] == "idempotencyKey"
