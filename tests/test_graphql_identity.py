"""The identity rules through the public GraphQL API: every access rule of the
foundation, tried by every read path (list, node, search, count)."""

import pytest
from strawberry import relay

from leadwire.core.models.identity import AccountKind

from factories import PASSWORD, make_account, make_lead, make_user

LEADS = """query($search: String) { leads(first: 100, search: $search) {
  totalCount edges { node { id firstName assignee { id } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


async def email_of(m) -> str:
    return (await m.person).email


@pytest.fixture
async def team(db):
    """Account A: owner > manager > rep, plus a peer rep beside; account B apart."""
    account_a, owner = await make_account("Acme Movers")
    manager = await make_user(owner)
    rep = await make_user(owner, manager=manager)
    peer = await make_user(owner, manager=manager)
    account_b, owner_b = await make_account("Bravo Solar")
    leads = {
        "owner": await make_lead(account_a.id, None, first_name="Unassigned"),
        "manager": await make_lead(account_a.id, manager, first_name="Managers"),
        "rep": await make_lead(account_a.id, rep, first_name="Reps"),
        "peer": await make_lead(account_a.id, peer, first_name="Peers"),
        "other_account": await make_lead(account_b.id, None, first_name="Bravos"),
    }
    return dict(owner=owner, manager=manager, rep=rep, peer=peer, owner_b=owner_b, leads=leads, account_b=account_b)


async def signed_in(client_factory, email):
    c = await client_factory()
    payload = await c.sign_in(email, PASSWORD)
    assert payload["userErrors"] == []
    return c


async def visible_names(c, search=None):
    data = await c.data(LEADS, {"search": search})
    names = {e["node"]["firstName"] for e in data["leads"]["edges"]}
    assert data["leads"]["totalCount"] == len(names)
    return names


async def test_rep_sees_only_own_leads_by_every_path(team, client_factory):
    c = await signed_in(client_factory, await email_of(team["rep"]))
    assert await visible_names(c) == {"Reps"}
    for search in ("Managers", "Peers", "Bravos", "Unassigned"):
        assert await visible_names(c, search) == set()
    for key in ("manager", "peer", "owner", "other_account"):
        data = await c.data(NODE, {"id": gid("Lead", team["leads"][key].id)})
        assert data["node"] is None, key
    data = await c.data(NODES, {"ids": [gid("Lead", team["leads"][k].id) for k in ("rep", "manager", "peer")]})
    assert [n and n["id"] for n in data["nodes"]] == [gid("Lead", team["leads"]["rep"].id), None, None]
    # user nodes above or beside are invisible too
    for key in ("manager", "peer"):
        assert (await c.data(NODE, {"id": gid("User", team[key].id)}))["node"] is None
    users = await c.data("{ users(first: 10) { totalCount edges { node { id manager { id } } } } }")
    assert users["users"]["totalCount"] == 1
    assert users["users"]["edges"][0]["node"]["manager"] is None  # the manager is above: not shown


async def test_manager_sees_team_but_not_above(team, client_factory):
    c = await signed_in(client_factory, await email_of(team["manager"]))
    assert await visible_names(c) == {"Managers", "Reps", "Peers"}
    assert (await c.data(NODE, {"id": gid("Lead", team["leads"]["owner"].id)}))["node"] is None
    users = await c.data("{ users(first: 10) { totalCount } }")
    assert users["users"]["totalCount"] == 3


async def test_owner_sees_every_lead_of_the_account_only(team, client_factory):
    c = await signed_in(client_factory, team["owner"].email)
    assert await visible_names(c) == {"Unassigned", "Managers", "Reps", "Peers"}
    assert (await c.data(NODE, {"id": gid("Lead", team["leads"]["other_account"].id)}))["node"] is None
    assert (await c.data(NODE, {"id": gid("Account", team["account_b"].id)}))["node"] is None
    assert (await c.data(NODE, {"id": gid("User", team["owner_b"].membership_id)}))["node"] is None


async def test_malformed_and_unknown_ids_read_as_null(team, client_factory):
    c = await signed_in(client_factory, team["owner"].email)
    for raw in ("not-base64!!", gid("Nope", 1), gid("Lead", "abc"), gid("Lead", 10**12)):
        assert (await c.data(NODE, {"id": raw}))["node"] is None


async def test_anonymous_gets_nothing(team, client_factory):
    c = await client_factory()
    body = await c.post(LEADS)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await c.data(NODE, {"id": gid("Lead", team["leads"]["rep"].id)}))["node"] is None
    assert (await c.data("{ viewer { user { id } } }"))["viewer"] is None


async def test_cookie_session_needs_csrf_header(team, client_factory):
    c = await signed_in(client_factory, team["owner"].email)
    c.csrf = None
    body = await c.post(LEADS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "X-CSRF-Token" in body["errors"][0]["message"]
    c.csrf = "wrong"
    body = await c.post("mutation { signOut { userErrors { code message } } }")
    assert body["data"]["signOut"]["userErrors"][0]["code"] == "UNAUTHENTICATED"


async def test_barred_users_session_and_token_fail_on_next_request(team, client_factory):
    rep_client = await signed_in(client_factory, await email_of(team["rep"]))
    created = await rep_client.data(
        'mutation { createApiToken(input: {name: "my app"}) { token userErrors { code } } }'
    )
    token = created["createApiToken"]["token"]
    token_client = await client_factory()
    token_client.bearer = token
    assert await visible_names(token_client) == {"Reps"}

    owner = await signed_in(client_factory, team["owner"].email)
    barred = await owner.data(
        "mutation($i: UserInput!) { barUser(input: $i) { user { barred } userErrors { code } } }",
        {"i": {"userId": gid("User", team["rep"].id)}},
    )
    assert barred["barUser"]["user"]["barred"] is True
    for c in (rep_client, token_client):
        body = await c.post(LEADS)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_only_owner_creates_users_and_errors_name_the_field(team, client_factory):
    mutation = """mutation($i: CreateUserInput!) { createUser(input: $i) {
        user { id email } initialPassword userErrors { field code message } } }"""
    manager = await signed_in(client_factory, await email_of(team["manager"]))
    out = await manager.data(mutation, {"i": {"email": "new@example.com", "name": "New"}})
    assert out["createUser"]["userErrors"][0]["code"] == "OWNER_REQUIRED"
    assert out["createUser"]["user"] is None

    owner = await signed_in(client_factory, team["owner"].email)
    out = await owner.data(mutation, {"i": {"email": "bad", "name": "", "timeZone": "Nowhere/Town"}})
    assert [(e["field"], e["code"]) for e in out["createUser"]["userErrors"]] == [
        ("email", "INVALID"),
        ("name", "REQUIRED"),
        ("timeZone", "INVALID"),
    ]
    out = await owner.data(
        mutation, {"i": {"email": "new@example.com", "name": "New", "managerId": gid("User", team["rep"].id)}}
    )
    assert out["createUser"]["userErrors"] == []
    assert out["createUser"]["initialPassword"]
    # a manager id of another account reads as not found
    out = await owner.data(
        mutation, {"i": {"email": "x2@example.com", "name": "X", "managerId": gid("User", team["owner_b"].membership_id)}}
    )
    assert [(e["field"], e["code"]) for e in out["createUser"]["userErrors"]] == [("managerId", "NOT_FOUND")]


async def test_hierarchy_cycle_rejected_through_api(team, client_factory):
    owner = await signed_in(client_factory, team["owner"].email)
    out = await owner.data(
        "mutation($i: SetManagerInput!) { setManager(input: $i) { userErrors { field code message } } }",
        {"i": {"userId": gid("User", team["manager"].id), "managerId": gid("User", team["rep"].id)}},
    )
    assert [(e["field"], e["code"]) for e in out["setManager"]["userErrors"]] == [("managerId", "HIERARCHY_CYCLE")]


async def test_person_in_two_accounts_switches_and_each_session_is_scoped(team, client_factory):
    owner_b_email = team["owner_b"].email
    owner_a = await signed_in(client_factory, team["owner"].email)
    await owner_a.data(
        "mutation($i: CreateUserInput!) { createUser(input: $i) { userErrors { code } } }",
        {"i": {"email": owner_b_email, "name": "Bravo owner helping out"}},
    )
    c = await client_factory()
    payload = await c.sign_in(owner_b_email, PASSWORD, gid("Account", team["account_b"].id))
    assert payload["viewer"]["account"]["id"] == gid("Account", team["account_b"].id)
    assert await visible_names(c) == {"Bravos"}
    accounts = await c.data("{ viewer { accounts { isCurrent account { name } } } }")
    assert {(a["account"]["name"], a["isCurrent"]) for a in accounts["viewer"]["accounts"]} == {
        ("Bravo Solar", True),
        ("Acme Movers", False),
    }
    switched = await c.data(
        "mutation($i: SwitchAccountInput!) { switchAccount(input: $i) { csrfToken userErrors { code } viewer { account { name } } } }",
        {"i": {"accountId": gid("Account", (await team["rep"].account).id)}},
    )
    assert switched["switchAccount"]["viewer"]["account"]["name"] == "Acme Movers"
    c.csrf = switched["switchAccount"]["csrfToken"]
    assert await visible_names(c) == set()  # a fresh user at the top of A's tree with no leads


async def test_login_rate_limited_per_email_and_ip(team, client_factory, settings):
    c = await client_factory()
    for _ in range(settings.login_max_failures):
        payload = await c.sign_in(team["owner"].email, "wrong password!")
        assert payload["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    payload = await c.sign_in(team["owner"].email, PASSWORD)
    assert payload["userErrors"][0]["code"] == "RATE_LIMITED"
    assert "Try again in 15 minute(s)" in payload["userErrors"][0]["message"]


async def test_page_size_is_capped(team, client_factory, settings):
    c = await signed_in(client_factory, team["owner"].email)
    body = await c.post("{ leads(first: 100000) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["data"] is None


async def test_keyset_pagination_walks_every_lead_once(team, client_factory):
    c = await signed_in(client_factory, team["owner"].email)
    seen, after = [], None
    while True:
        data = await c.data(
            "query($after: String) { leads(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { node { firstName } } } }",
            {"after": after},
        )
        seen += [e["node"]["firstName"] for e in data["leads"]["edges"]]
        if not data["leads"]["pageInfo"]["hasNextPage"]:
            break
        after = data["leads"]["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(["Unassigned", "Managers", "Reps", "Peers"])


async def test_operator_only_lead_source_keys(team, client_factory, db):
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    partner = await signed_in(client_factory, team["owner"].email)
    out = await partner.data('mutation { createLeadSource(input: {name: "Web"}) { userErrors { code } } }')
    assert out["createLeadSource"]["userErrors"][0]["code"] == "FORBIDDEN"
    op = await signed_in(client_factory, operator.email)
    src = await op.data('mutation { createLeadSource(input: {name: "Web"}) { leadSource { id } userErrors { code } } }')
    source_id = src["createLeadSource"]["leadSource"]["id"]
    key = await op.data(
        "mutation($i: CreateLeadSourceKeyInput!) { createLeadSourceKey(input: $i) { apiKey key { prefix } } }",
        {"i": {"leadSourceId": source_id}},
    )
    api_key = key["createLeadSourceKey"]["apiKey"]
    assert api_key.startswith("lw_src_") and api_key.startswith(key["createLeadSourceKey"]["key"]["prefix"])
    # the partner cannot see the source by node either
    assert (await partner.data(NODE, {"id": source_id}))["node"] is None


async def test_nothing_of_another_account_is_reachable_by_any_id(team, client_factory, db):
    """Every node type of account B, asked for by a user of account A (even its
    owner), reads as null; B's users and tokens never show in A's lists."""
    from leadwire.core import auth as core_auth

    from factories import viewer_for

    b_rep = await make_user(team["owner_b"])
    token_row, _ = await core_auth.create_api_token(await viewer_for(b_rep), name="b")
    _, operator = await make_account("Market", kind=AccountKind.OPERATOR)
    source = await core_auth.create_lead_source(operator, name="Web")
    key_row, _ = await core_auth.create_lead_source_key(operator, source.id)
    ids = [
        gid("Lead", team["leads"]["other_account"].id),
        gid("User", b_rep.id),
        gid("User", team["owner_b"].membership_id),
        gid("Account", team["account_b"].id),
        gid("ApiToken", token_row.id),
        gid("LeadSource", source.id),
        gid("LeadSourceKey", key_row.id),
    ]
    c = await signed_in(client_factory, team["owner"].email)
    assert (await c.data(NODES, {"ids": ids}))["nodes"] == [None] * len(ids)
    users = await c.data("{ users(first: 100) { edges { node { id } } } }")
    assert gid("User", b_rep.id) not in {e["node"]["id"] for e in users["users"]["edges"]}
    assert (await c.data("{ apiTokens { id } }"))["apiTokens"] == []
    body = await c.post("{ leadSources { id } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # and A's owner cannot act on B's user either: same answer as a missing id
    out = await c.data(
        "mutation($i: UserInput!) { barUser(input: $i) { userErrors { field code } } }",
        {"i": {"userId": gid("User", b_rep.id)}},
    )
    assert out["barUser"]["userErrors"] == [{"field": "userId", "code": "NOT_FOUND"}]


async def test_a_lead_source_key_reads_no_partner_data(team, client_factory, db):
    from leadwire.core import auth as core_auth

    _, operator = await make_account("Market", kind=AccountKind.OPERATOR)
    source = await core_auth.create_lead_source(operator, name="Web")
    _, key = await core_auth.create_lead_source_key(operator, source.id)
    c = await client_factory()
    c.bearer = key
    body = await c.post(LEADS)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await c.data(NODE, {"id": gid("Lead", team["leads"]["rep"].id)}))["node"] is None
    await core_auth.revoke_lead_source_key(operator, (await source.keys.all())[0].id)
    assert await core_auth.authenticate_lead_source_key(key) is None


async def test_expired_and_revoked_tokens_fail(team, client_factory, db):
    from datetime import timedelta

    from leadwire.core import auth as core_auth
    from leadwire.core.identity import now
    from leadwire.core.models.identity import ApiToken as ApiTokenRow

    from factories import viewer_for

    rep = await viewer_for(team["rep"])
    row, token = await core_auth.create_api_token(rep, name="short", expires_at=now() + timedelta(hours=1))
    c = await client_factory()
    c.bearer = token
    assert await visible_names(c) == {"Reps"}
    await ApiTokenRow.filter(id=row.id).update(expires_at=now() - timedelta(seconds=1))
    assert (await c.post(LEADS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    row2, token2 = await core_auth.create_api_token(rep, name="other")
    c.bearer = token2
    assert await visible_names(c) == {"Reps"}
    await core_auth.revoke_api_token(rep, row2.id)
    assert (await c.post(LEADS))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # tokens are stored hashed: the clear value is nowhere in the table
    stored = await ApiTokenRow.all().values_list("token_hash", "prefix")
    assert all(token2 != h and token2 != p for h, p in stored)
