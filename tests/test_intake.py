"""Lead intake: every validation path, consent, duplicates, idempotency."""

import asyncio
import datetime as dt

import pytest

from leadwire.core import auth, intake
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.intake import Consent, LeadSubmission
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.marketplace import LeadSale

from market import Market
from test_routing import TUESDAY_3PM_DETROIT


@pytest.fixture
async def setup(db):
    market = await Market().setup()
    source_row = await auth.create_lead_source(market.operator, name="Web form")
    source = auth.LeadSourcePrincipal(source_row.id, market.operator_account.id, "Web form")
    return market, source


def submission(product_id, **overrides):
    base = dict(
        product_id=product_id, first_name="Ana", last_name="Lopez", phone="(313) 555-0142",
        email="Ana.Lopez@Example.com", postal_code="48165",
        consent=Consent(text="I agree to be contacted by up to 4 movers.", ip="198.51.100.4",
                        user_agent="Mozilla/5.0", page_url="https://quotes.example/moving"),
        data={"from_zip": "48165", "to_zip": "48104", "move_date": "2026-12-15", "move_size": "2_bedrooms"},
    )
    base.update(overrides)
    return LeadSubmission(**base)


async def test_valid_lead_is_normalised_stored_with_consent_and_sold(setup):
    market, source = setup
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    campaign = await market.campaign(owner, offer)
    result = await intake.submit_lead(source, submission(market.local.id), at=TUESDAY_3PM_DETROIT)
    lead = await Lead.get(id=result.lead.id)
    assert (lead.phone, lead.email, lead.city, lead.state) == ("+13135550142", "ana.lopez@example.com", "New Hudson", "MI")
    assert lead.data["move_type"] == "local" and lead.data["move_distance_miles"] == 17
    assert lead.consent_text.startswith("I agree") and lead.consent_ip == "198.51.100.4"
    assert lead.consent_at == TUESDAY_3PM_DETROIT and lead.consent_page_url == "https://quotes.example/moving"
    assert lead.market_status == MarketStatus.SOLD
    assert result.routing.sold_to == [campaign.id]


async def test_every_bad_field_is_reported_and_nothing_is_stored(setup):
    market, source = setup
    bad = submission(
        market.local.id, first_name=" ", last_name="x" * 101, phone="555-01", email="not-an-email",
        postal_code="00000", consent=Consent(text=""),
        data={"from_zip": "48165", "to_zip": "1", "move_date": "someday", "move_size": "castle", "pets": "yes"},
        idempotency_key="",
    )
    with pytest.raises(DomainError) as exc:
        await intake.submit_lead(source, bad)
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("first_name", ErrorCode.REQUIRED),
        ("last_name", ErrorCode.TOO_LONG),
        ("phone", ErrorCode.INVALID),
        ("email", ErrorCode.INVALID),
        ("postal_code", ErrorCode.INVALID),
        ("consent.text", ErrorCode.REQUIRED),
        ("idempotency_key", ErrorCode.INVALID),
        ("data.pets", ErrorCode.INVALID),
        ("data.to_zip", ErrorCode.INVALID),
        ("data.move_date", ErrorCode.INVALID),
        ("data.move_size", ErrorCode.INVALID),
    ]
    assert await Lead.all().count() == 0


async def test_unknown_product_and_missing_required_industry_field(setup):
    market, source = setup
    with pytest.raises(DomainError) as exc:
        await intake.submit_lead(source, submission(10**9))
    assert [(e.field, e.code) for e in exc.value.errors] == [("product_id", ErrorCode.NOT_FOUND)]
    with pytest.raises(DomainError) as exc:
        await intake.submit_lead(source, submission(market.local.id, data={"from_zip": "48165"}))
    assert {e.field for e in exc.value.errors} == {"data.to_zip", "data.move_date", "data.move_size"}


async def test_same_phone_or_email_in_the_window_is_a_duplicate(setup):
    market, source = setup
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    await market.campaign(owner, offer)
    first = await intake.submit_lead(source, submission(market.local.id), at=TUESDAY_3PM_DETROIT)
    by_email = await intake.submit_lead(
        source, submission(market.local.id, phone="(734) 555-0199"), at=TUESDAY_3PM_DETROIT + dt.timedelta(days=3)
    )
    assert by_email.lead.market_status == MarketStatus.DUPLICATE
    assert by_email.lead.duplicate_of_id == first.lead.id and by_email.routing is None
    after_window = await intake.submit_lead(
        source, submission(market.local.id), at=TUESDAY_3PM_DETROIT + dt.timedelta(days=31)
    )
    assert after_window.lead.market_status != MarketStatus.DUPLICATE
    assert await LeadSale.filter(lead_id=by_email.lead.id).count() == 0


async def test_idempotency_key_replays_and_refuses_a_different_body(setup):
    market, source = setup
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    await market.campaign(owner, offer)
    s = submission(market.local.id, idempotency_key="order-42")
    results = await asyncio.gather(*(intake.submit_lead(source, s, at=TUESDAY_3PM_DETROIT) for _ in range(5)))
    assert len({r.lead.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await Lead.filter(account_id=market.operator_account.id).count() == 1
    assert await LeadSale.all().count() == 1
    with pytest.raises(DomainError) as exc:
        await intake.submit_lead(source, submission(market.local.id, idempotency_key="order-42", first_name="Bob"))
    assert exc.value.errors[0].field == "idempotency_key"
