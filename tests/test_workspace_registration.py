"""The registration page (seed 003) through its public URL and the public API:
customised by the owner (checked by field), served with a one-time submit
token and a honeypot, rate limited per IP in the database, a double submit
making one lead, the visitor sent on to the account's page, and its leads
entering the pipeline and the assignment rules at once."""

import asyncio
import re

import httpx
import pytest

from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.workspace import RateCounter, RegistrationSubmission

from workspace import ERRORS, Team, gid

PAGE = "{ registrationPage { id slug path enabled title fields { name label required } colors { primary background text } logoUrl redirectUrl rateLimitPerHour } }"
UPDATE = f"""mutation($i: UpdateRegistrationPageInput!) {{ updateRegistrationPage(input: $i) {{
  page {{ slug title fields {{ name required }} colors {{ primary }} logoUrl redirectUrl rateLimitPerHour }} {ERRORS} }} }}"""
FORM = "query($s: String!) { registrationForm(slug: $s) { title submitToken honeypotField fields { name label required } } }"
SUBMIT = f"""mutation($i: SubmitRegistrationInput!) {{ submitRegistration(input: $i) {{ received redirectUrl thankYouText {ERRORS} }} }}"""
VISITOR = {"first_name": "Rosa", "last_name": "Diaz", "email": "rosa@example.com", "phone": "(734) 555-0199",
           "postal_code": "48104", "message": "Two-bedroom move in March"}


@pytest.fixture
async def site(client_factory, app, db):
    team = await Team().setup(client_factory)
    page = (await team.c_owner.data(PAGE))["registrationPage"]
    out = await team.c_owner.data(UPDATE, {"i": {
        "title": "Moving quote <b>today</b>", "redirectUrl": "https://acme-movers.example/thanks",
        "logoUrl": "https://acme-movers.example/logo.png", "colors": {"primary": "#AA3300"},
        "fields": [{"name": "first_name", "label": "First name", "required": True},
                   {"name": "last_name", "label": "Last name"},
                   {"name": "email", "label": "E-mail", "required": True},
                   {"name": "phone", "label": "Phone"},
                   {"name": "postal_code", "label": "ZIP"},
                   {"name": "message", "label": "Your move"},
                   {"name": "data.budget", "label": "Budget"}],
    }})
    assert out["updateRegistrationPage"]["userErrors"] == [], out
    # Registration leads go to the rep by rule.
    rule = await team.c_owner.data(f"""mutation($i: CreateAssignmentRuleInput!) {{ createAssignmentRule(input: $i) {{ {ERRORS} }} }}""",
                                   {"i": {"name": "Web form", "method": "SINGLE", "userIds": [gid("User", team.rep.id)],
                                          "conditions": {"origins": ["REGISTRATION"]}}})
    assert rule["createAssignmentRule"]["userErrors"] == []
    clients = []

    def browser(ip="198.51.100.20"):
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5000)), base_url="http://testserver")
        clients.append(c)
        return c

    yield team, page["slug"], browser
    for c in clients:
        await c.aclose()


def token_of(html: str) -> str:
    return re.search(r'name="submit_token" value="([^"]+)"', html).group(1)


async def test_the_owner_customises_the_page_and_bad_input_is_refused_by_field(site):
    team, slug, _ = site
    page = (await team.c_owner.data(PAGE))["registrationPage"]
    assert page["path"] == f"/r/{slug}" and page["colors"]["primary"] == "#aa3300"
    assert [f["name"] for f in page["fields"]][-1] == "data.budget"
    bad = await team.c_owner.data(UPDATE, {"i": {
        "title": "", "colors": {"primary": "red"}, "logoUrl": "http://insecure.example/logo.png",
        "redirectUrl": "javascript:alert(1)", "fields": [{"name": "shoe_size", "label": "Shoe size"}],
        "rateLimitPerHour": 0,
    }})
    assert {(e["field"], e["code"]) for e in bad["updateRegistrationPage"]["userErrors"]} == {
        ("title", "REQUIRED"), ("colors.primary", "INVALID"), ("logoUrl", "INVALID"), ("redirectUrl", "INVALID"),
        ("fields.0.name", "INVALID"), ("rateLimitPerHour", "INVALID")}
    no_contact = await team.c_owner.data(UPDATE, {"i": {"fields": [{"name": "first_name", "label": "Name"}]}})
    assert no_contact["updateRegistrationPage"]["userErrors"][0]["field"] == "fields"
    assert (await team.c_owner.data(PAGE))["registrationPage"] == page  # nothing changed
    denied = await team.c_manager.post(PAGE)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_manager = await team.c_manager.data(UPDATE, {"i": {"title": "Mine"}})
    assert by_manager["updateRegistrationPage"]["userErrors"][0]["code"] == "OWNER_REQUIRED"


async def test_a_visitor_registers_is_sent_on_and_the_lead_enters_pipeline_and_rules(site):
    team, slug, browser = site
    b = browser()
    page = await b.get(f"/r/{slug}")
    assert page.status_code == 200
    html = page.text
    assert "Moving quote &lt;b&gt;today&lt;/b&gt;" in html and "<b>today" not in html  # escaped
    assert "#aa3300" in html and 'src="https://acme-movers.example/logo.png"' in html
    assert 'name="website"' in html and 'name="data.budget"' in html
    r = await b.post(f"/r/{slug}", data={**VISITOR, "data.budget": "4000", "submit_token": token_of(html), "website": ""},
                     headers={"accept": "text/html", "referer": "https://acme-movers.example/quote", "user-agent": "UA/2"})
    assert r.status_code == 303 and r.headers["location"] == "https://acme-movers.example/thanks"
    lead = await Lead.get(account_id=team.account.id, origin=LeadOrigin.REGISTRATION)
    assert (lead.first_name, lead.email, lead.phone, lead.city, lead.state) == ("Rosa", "rosa@example.com", "+17345550199",
                                                                               "Ann Arbor", "MI")
    assert lead.data == {"message": "Two-bedroom move in March", "budget": "4000"}
    assert lead.consent_page_url == "https://acme-movers.example/quote" and lead.consent_ip == "198.51.100.20"
    assert lead.consent_user_agent == "UA/2" and lead.consent_text
    view = await team.c_rep.data("""query($id: ID!) { node(id: $id) { ... on Lead { origin stage { name }
        assignment { method ruleName } } } }""", {"id": gid("Lead", lead.id)})
    assert view["node"] == {"origin": "REGISTRATION", "stage": {"name": "New Lead"},
                            "assignment": {"method": "SINGLE", "ruleName": "Web form"}}


async def test_a_double_submit_makes_one_lead_even_at_the_same_moment(site):
    team, slug, browser = site
    b = browser()
    token = token_of((await b.get(f"/r/{slug}")).text)
    form = {**VISITOR, "submit_token": token}
    first = await b.post(f"/r/{slug}", data=form, headers={"accept": "text/html"})
    again = await b.post(f"/r/{slug}", data=form, headers={"accept": "text/html"})
    assert first.status_code == again.status_code == 303
    assert await Lead.filter(account_id=team.account.id, origin=LeadOrigin.REGISTRATION).count() == 1
    # Two at once with a fresh token (two connections on PostgreSQL): still one lead.
    token2 = token_of((await b.get(f"/r/{slug}")).text)
    both = await asyncio.gather(*(browser().post(f"/r/{slug}", data={**VISITOR, "email": "twice@example.com",
                                                                     "submit_token": token2},
                                                 headers={"accept": "application/json"}) for _ in range(2)))
    assert sorted(r.status_code for r in both) == [201, 201]
    assert await Lead.filter(account_id=team.account.id, email="twice@example.com").count() == 1
    assert await RegistrationSubmission.all().count() == 2


async def test_the_honeypot_answers_like_success_and_stores_nothing(site):
    team, slug, browser = site
    b = browser()
    token = token_of((await b.get(f"/r/{slug}")).text)
    r = await b.post(f"/r/{slug}", data={**VISITOR, "submit_token": token, "website": "http://spam.example"},
                     headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "https://acme-movers.example/thanks"
    assert await Lead.filter(account_id=team.account.id).count() == 0
    # The token is still unused: the visitor's real submit goes through.
    r = await b.post(f"/r/{slug}", data={**VISITOR, "submit_token": token}, headers={"accept": "application/json"})
    assert r.status_code == 201 and await Lead.filter(account_id=team.account.id).count() == 1


async def test_submissions_are_rate_limited_per_ip_in_the_database(site):
    team, slug, browser = site
    out = await team.c_owner.data(UPDATE, {"i": {"rateLimitPerHour": 3}})
    assert out["updateRegistrationPage"]["page"]["rateLimitPerHour"] == 3
    b = browser("192.0.2.55")
    codes = []
    for i in range(5):
        token = token_of((await b.get(f"/r/{slug}")).text)
        r = await b.post(f"/r/{slug}", data={**VISITOR, "email": f"v{i}@example.com", "submit_token": token},
                         headers={"accept": "application/json"})
        codes.append(r.status_code)
    assert codes == [201, 201, 201, 429, 429]
    assert r.json()["userErrors"][0]["code"] == "RATE_LIMITED"
    html = await b.post(f"/r/{slug}", data={**VISITOR, "submit_token": token}, headers={"accept": "text/html"})
    assert html.status_code == 429 and "Too many submissions" in html.text
    # Another network is not affected; the count lives in the database (one row per IP and hour).
    other = browser("192.0.2.77")
    token = token_of((await other.get(f"/r/{slug}")).text)
    r = await other.post(f"/r/{slug}", data={**VISITOR, "email": "o@example.com", "submit_token": token},
                         headers={"accept": "application/json"})
    assert r.status_code == 201
    counters = {c.key: c.count for c in await RateCounter.all()}
    assert counters == {f"registration:{(await _page_id(team))}:192.0.2.55": 3,
                        f"registration:{(await _page_id(team))}:192.0.2.77": 1}
    assert await Lead.filter(account_id=team.account.id).count() == 4


async def _page_id(team) -> int:
    from leadwire.core.models.workspace import RegistrationPage

    return (await RegistrationPage.get(account_id=team.account.id)).id


async def test_errors_show_the_form_again_and_json_clients_get_user_errors(site):
    team, slug, browser = site
    b = browser()
    token = token_of((await b.get(f"/r/{slug}")).text)
    r = await b.post(f"/r/{slug}", data={**VISITOR, "email": "", "phone": "12", "submit_token": token},
                     headers={"accept": "text/html"})
    assert r.status_code == 422
    assert "E-mail is required." in r.text and "Not a valid phone number" in r.text and 'value="Rosa"' in r.text
    assert token_of(r.text) == token  # a refused submit did not use its token
    r = await b.post(f"/r/{slug}", data={**VISITOR, "postal_code": "00000", "submit_token": token},
                     headers={"accept": "application/json"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["userErrors"]] == ["postalCode"]
    forged = await b.post(f"/r/{slug}", data={**VISITOR, "submit_token": token[:-2] + "xx"},
                          headers={"accept": "application/json"})
    assert forged.status_code == 422 and forged.json()["userErrors"][0]["field"] == "submitToken"
    assert await Lead.filter(account_id=team.account.id).count() == 0
    await team.c_owner.data(UPDATE, {"i": {"enabled": False}})
    assert (await b.get(f"/r/{slug}")).status_code == 404
    assert (await b.post(f"/r/{slug}", data={**VISITOR, "submit_token": token})).status_code == 404


async def test_the_same_intake_as_a_public_api_to_embed(site, client_factory):
    team, slug, _ = site
    anonymous = await client_factory()
    form = (await anonymous.data(FORM, {"s": slug}))["registrationForm"]
    assert form["title"] == "Moving quote <b>today</b>" and form["honeypotField"] == "website"
    assert (await anonymous.data(FORM, {"s": "nope"}))["registrationForm"] is None
    values = {**VISITOR, "data.budget": "2500"}
    ok = await anonymous.data(SUBMIT, {"i": {"slug": slug, "submitToken": form["submitToken"], "values": values}})
    assert ok["submitRegistration"] == {"received": True, "redirectUrl": "https://acme-movers.example/thanks",
                                        "thankYouText": ok["submitRegistration"]["thankYouText"], "userErrors": []}
    again = await anonymous.data(SUBMIT, {"i": {"slug": slug, "submitToken": form["submitToken"], "values": values}})
    assert again["submitRegistration"]["received"] is True
    assert await Lead.filter(account_id=team.account.id, origin=LeadOrigin.REGISTRATION).count() == 1
    token = (await anonymous.data(FORM, {"s": slug}))["registrationForm"]["submitToken"]
    spam = await anonymous.data(SUBMIT, {"i": {"slug": slug, "submitToken": token, "values": values, "website": "x"}})
    assert spam["submitRegistration"]["received"] is True
    bad = await anonymous.data(SUBMIT, {"i": {"slug": slug, "submitToken": token, "values": {"first_name": "A"}}})
    assert {(e["field"], e["code"]) for e in bad["submitRegistration"]["userErrors"]} == {("email", "REQUIRED")}
    assert await Lead.filter(account_id=team.account.id).count() == 1
    # Another account's page is another account's: its leads never show here.
    other_slug = (await team.c_owner_b.data(PAGE))["registrationPage"]["slug"]
    other_token = (await anonymous.data(FORM, {"s": other_slug}))["registrationForm"]["submitToken"]
    crossed = await anonymous.data(SUBMIT, {"i": {"slug": slug, "submitToken": other_token, "values": values}})
    assert crossed["submitRegistration"]["userErrors"][0]["field"] == "submitToken"
