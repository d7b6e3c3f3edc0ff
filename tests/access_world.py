"""The world the access-control matrix (tests/test_access_matrix.py) runs in:
a marketplace with an operator, a lead source, a victim partner account with
a manager tree and some of everything (leads, a sale, money, workspace set-up,
a token), another partner account, and one signed-in client per role.

Every victim object carries a canary string in a text field so that a
response can be searched for anything it should not contain."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry import relay

from leadwire.core import auth, identity, industries, ledger
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.ledger import EntryKind
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES

from conftest import GraphQLClient
from test_graphql_marketplace import lead_input
from factories import PASSWORD, make_account, make_lead, make_user, viewer_for

ROLES = ("operator", "owner", "manager", "rep", "barred", "other", "source", "anonymous")
ERRORS = "userErrors { field code message }"


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


@dataclass
class World:
    clients: dict[str, GraphQLClient]
    ids: dict[str, str] = field(default_factory=dict)  # name -> global id
    canaries: dict[str, set[str]] = field(default_factory=dict)  # role -> strings it must never see
    raw: dict = field(default_factory=dict)


async def _client(client_factory, email: str | None = None) -> GraphQLClient:
    c = await client_factory()
    if email:
        payload = await c.sign_in(email, PASSWORD)
        assert payload["userErrors"] == [], payload
    return c


async def build_world(client_factory) -> World:
    from tortoise.transactions import in_transaction

    industries.install(BUILTIN_INDUSTRIES)
    _, op_viewer = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    op = await _client(client_factory, op_viewer.email)
    ind = await op.data('mutation { createIndustry(input: {schemaKey: "moving"}) { industry { id } } }')
    industry_id = ind["createIndustry"]["industry"]["id"]
    prod = await op.data(
        "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } } }",
        {"i": {"industryId": industry_id, "name": "Local moving"}},
    )
    product_id = prod["createProduct"]["product"]["id"]
    off = await op.data(
        "mutation($i: CreateOfferInput!) { createOffer(input: $i) { offer { id } } }",
        {"i": {"productId": product_id, "name": "Shared local", "priceMinor": 2500}},
    )
    offer_id = off["createOffer"]["offer"]["id"]
    source_row = await auth.create_lead_source(op_viewer, name="Web")
    key_row, key = await auth.create_lead_source_key(op_viewer, source_row.id)
    source = await client_factory()
    source.bearer = key

    # The victim: owner > manager > rep, a barred user and a spare user.
    victim, owner = await make_account("Victim Movers", email="owner.canary@victim.example")
    async with in_transaction() as conn:
        await ledger.credit(victim.id, 50_000, EntryKind.DEPOSIT, "test", conn)
    manager = await make_user(owner, email="manager.canary@victim.example")
    rep = await make_user(owner, manager=manager, email="rep.canary@victim.example")
    barred = await make_user(owner, email="barred.canary@victim.example")
    spare = await make_user(owner, manager=manager, email="spare.canary@victim.example")
    clients = {
        "operator": op,
        "owner": await _client(client_factory, owner.email),
        "manager": await _client(client_factory, "manager.canary@victim.example"),
        "rep": await _client(client_factory, "rep.canary@victim.example"),
        "barred": await _client(client_factory, "barred.canary@victim.example"),
        "source": source,
        "anonymous": await client_factory(),
    }
    _, other_owner = await make_account("Other Movers", email="owner@other.example")
    clients["other"] = await _client(client_factory, other_owner.email)
    other_lead = await make_lead(other_owner.account_id, first_name="Otherlead")

    owner_c = clients["owner"]
    act = await owner_c.data(
        "mutation($i: ActivateOfferInput!) { activateOffer(input: $i) { campaign { id } } }", {"i": {"offerId": offer_id}}
    )
    campaign_id = act["activateOffer"]["campaign"]["id"]
    await owner_c.data(
        "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { userErrors { code } } }",
        {"i": {"campaignId": campaign_id, "name": "Campaigncanary", "schedule": [], "dailyCap": 100}},
    )
    sold = await source.data(
        f"mutation($i: SubmitLeadInput!) {{ submitLead(input: $i) {{ leadId status {ERRORS} }} }}",
        {"i": lead_input(product_id, firstName="Soldcanary", email="sold.canary@buyer.example")},
    )
    assert sold["submitLead"]["userErrors"] == [], sold

    owner_v, manager_v, rep_v = owner, await viewer_for(manager), await viewer_for(rep)
    lead_owner = await make_lead(victim.id, assignee=None, first_name="Ownercanary")
    lead_owner.assignee_id = owner.membership_id
    await lead_owner.save()
    lead_manager = await make_lead(victim.id, assignee=manager, first_name="Managercanary")
    lead_rep = await make_lead(victim.id, assignee=rep, first_name="Repcanary")
    _, token_clear = await auth.create_api_token(owner_v, name="Tokencanary")
    await identity.bar_user(owner_v, barred.id)

    # The workspace set-up, through the API as the owner would.
    ws = {}
    for name, q, v in (
        ("LostReason", "mutation($i: CreateLostReasonInput!) { createLostReason(input: $i) { lostReason { id } } }",
         {"name": "Reasoncanary"}),
        ("FeedbackQuestion",
         "mutation($i: CreateFeedbackQuestionInput!) { createFeedbackQuestion(input: $i) { question { id choices { id } } } }",
         {"text": "Questioncanary?", "kind": "CHOICE", "choices": ["Choicecanary", "Two"]}),
        ("AssignmentRule",
         "mutation($i: CreateAssignmentRuleInput!) { createAssignmentRule(input: $i) { rule { id } } }",
         {"name": "Rulecanary", "method": "ROUND_ROBIN", "userIds": [gid("User", rep.id)]}),
    ):
        out = await owner_c.post(q, {"i": v})
        ws[name] = out
    raw = dict(victim=victim, owner=owner, manager=manager, rep=rep, barred=barred, spare=spare, other_owner=other_owner,
               op_viewer=op_viewer, owner_v=owner_v, manager_v=manager_v, rep_v=rep_v, source_row=source_row,
               key_row=key_row, token_clear=token_clear, workspace=ws, other_lead=other_lead,
               lead_owner=lead_owner, lead_manager=lead_manager, lead_rep=lead_rep)
    w = World(clients=clients, raw=raw)
    w.ids.update(
        industry=industry_id, product=product_id, offer=offer_id, campaign=campaign_id,
        lead_owner=gid("Lead", lead_owner.id), lead_manager=gid("Lead", lead_manager.id), lead_rep=gid("Lead", lead_rep.id),
        other_lead=gid("Lead", other_lead.id), account=gid("Account", victim.id),
        owner=gid("User", owner.membership_id), manager=gid("User", manager.id), rep=gid("User", rep.id),
        barred=gid("User", barred.id), spare=gid("User", spare.id),
        lead_source=gid("LeadSource", source_row.id), lead_source_key=gid("LeadSourceKey", key_row.id),
    )
    # What each role must never see (canaries of objects beyond its reach).
    above_rep = {"Ownercanary", "Managercanary", "owner.canary@", "Tokencanary"}
    victim_all = above_rep | {"Repcanary", "Soldcanary", "manager.canary@", "rep.canary@", "spare.canary@",
                              "Campaigncanary", "Reasoncanary", "Questioncanary", "Choicecanary", "Rulecanary",
                              "barred.canary@"}
    w.canaries = {
        "operator": {"Ownercanary", "Managercanary", "Repcanary", "manager.canary@", "rep.canary@", "Tokencanary",
                     "Reasoncanary", "Questioncanary", "Choicecanary", "Rulecanary", "Otherlead"},
        "owner": {"Otherlead", token_clear},
        "manager": {"Ownercanary", "Tokencanary", "Otherlead", "Rulecanary", token_clear},
        "rep": above_rep | {"Otherlead", "Rulecanary", "spare.canary@", token_clear},
        "barred": victim_all | {"Otherlead", token_clear},
        "other": victim_all | {token_clear},
        "source": victim_all | {"Otherlead", token_clear},
        "anonymous": victim_all | {"Otherlead", token_clear},
    }
    return w
