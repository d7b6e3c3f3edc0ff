"""Hosted web forms post leads over plain HTTP."""

import httpx
import pytest
from strawberry import relay

from leadwire.core import auth
from leadwire.core.models.identity import LeadSource
from leadwire.core.models.leads import Lead

from market import Market


@pytest.fixture
async def form(app, db):
    market = await Market().setup()
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    await market.campaign(owner, offer)
    source = await auth.create_lead_source(market.operator, name="Landing page")
    await LeadSource.filter(id=source.id).update(form_enabled=True, form_redirect_url="https://quotes.example/thanks")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    url = f"/intake/forms/{relay.GlobalID('LeadSource', str(source.id))}"
    fields = {
        "product_id": str(relay.GlobalID("Product", str(market.local.id))), "first_name": "Sam", "last_name": "Reed",
        "phone": "734 555 0123", "email": "sam@example.com", "postal_code": "48104",
        "consent_text": "Yes, call me about my move.", "data.from_zip": "48104", "data.to_zip": "48165",
        "data.move_date": "2026-12-20", "data.move_size": "studio",
    }
    yield http, url, fields
    await http.aclose()


async def test_form_post_stores_consent_and_sells(form):
    http, url, fields = form
    r = await http.post(url, data=fields, headers={"referer": "https://quotes.example/moving", "user-agent": "UA/1"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "SOLD"
    lead = await Lead.get(first_name="Sam", market_status__isnull=False)
    assert lead.consent_page_url == "https://quotes.example/moving" and lead.consent_user_agent == "UA/1"


async def test_browser_is_redirected_to_the_sources_page_only(form):
    http, url, fields = form
    r = await http.post(url, data={**fields, "next": "https://evil.example"}, headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "https://quotes.example/thanks"


async def test_errors_name_the_fields_and_store_nothing(form):
    http, url, fields = form
    r = await http.post(url, data={**fields, "phone": "nope", "data.move_size": "mansion"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["userErrors"]] == ["phone", "data.move_size"]
    assert await Lead.filter(first_name="Sam").count() == 0


async def test_honeypot_and_unknown_forms(form):
    http, url, fields = form
    r = await http.post(url, data={**fields, "website": "http://spam.example"})
    assert r.status_code == 201 and await Lead.filter(first_name="Sam").count() == 0
    r = await http.post("/intake/forms/bm9wZQ==", data=fields)
    assert r.status_code == 404
