"""Routing: the guarantee, ranking, exclusivity, caps, balance and the trace."""

import asyncio
import datetime as dt

import pytest

from leadwire.core import campaigns, ledger, routing
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.errors import DomainError
from leadwire.core.identity import now
from leadwire.core.models.identity import Account
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.marketplace import CampaignStatus, GeoMode, LeadSale, RoutingDecision, RoutingOutcome

from market import Market

# A Tuesday, 15:00 in Detroit (EST, UTC-5)
TUESDAY_3PM_DETROIT = dt.datetime(2026, 11, 24, 20, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
async def market(db):
    return await Market().setup()


async def outcomes(lead):
    rows = await RoutingDecision.filter(lead_id=lead.id).values_list("campaign_id", "outcome", "detail")
    return {c: (o, d) for c, o, d in rows}


async def test_shared_lead_goes_to_best_priced_then_longest_unserved(market):
    cheap, dear = await market.offer(market.local, 2000), await market.offer(market.local, 3000)
    campaigns_ = []
    for offer in (cheap, dear, dear, cheap, cheap, cheap):
        _, owner = await market.partner()
        campaigns_.append(await market.campaign(owner, offer))
    lead = await market.lead()
    result = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    assert result.status == MarketStatus.SOLD and not result.exclusive
    # max 4 buyers: both 30.00 campaigns, then the two oldest 20.00 ones
    assert result.sold_to == [campaigns_[1].id, campaigns_[2].id, campaigns_[0].id, campaigns_[3].id]
    trace = await outcomes(lead)
    assert trace[campaigns_[4].id][0] == RoutingOutcome.OUTRANKED
    # The trace is written as plain rows: they read back as the ORM writes them
    # (an enum, an aware time, the price), and sort with times the ORM wrote.
    row = await RoutingDecision.get(lead_id=lead.id, campaign_id=campaigns_[1].id)
    assert row.outcome == RoutingOutcome.SOLD and row.price_minor == 3000
    assert row.decided_at.tzinfo is not None and abs(row.decided_at - now()) < dt.timedelta(minutes=1)
    assert await RoutingDecision.filter(lead_id=lead.id, decided_at__gte=lead.created_at).count() == 6
    assert await LeadSale.filter(lead_id=lead.id).count() == 4
    assert (await Lead.get(id=lead.id)).sale_count == 4
    # next lead: the unserved 20.00 campaigns now win the ties
    result2 = await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert result2.sold_to[2:] == [campaigns_[4].id, campaigns_[5].id]


async def test_full_service_moving_goes_to_eight(market):
    offer = await market.offer(market.full, 1500)
    for _ in range(10):
        _, owner = await market.partner()
        await market.campaign(owner, offer)
    result = await routing.route_lead((await market.lead(market.full)).id, at=TUESDAY_3PM_DETROIT)
    assert len(result.sold_to) == 8


async def test_exclusive_beats_shared_only_when_it_pays_more(market):
    shared = await market.offer(market.local, 2000)
    exclusive = await market.offer(market.local, 7000, exclusive=True)
    buyers = []
    for offer in (shared, shared, shared, exclusive):
        _, owner = await market.partner()
        buyers.append(await market.campaign(owner, offer))
    # 3 x 20.00 = 60.00 < 70.00: exclusive wins
    r = await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert r.exclusive and r.sold_to == [buyers[3].id]
    _, owner = await market.partner()
    buyers.append(await market.campaign(owner, shared))
    # 4 x 20.00 = 80.00 > 70.00: shared wins
    r = await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)
    assert not r.exclusive and len(r.sold_to) == 4 and buyers[3].id not in r.sold_to


async def test_each_rule_is_traced_with_the_first_failure(market):
    offer = await market.offer(market.local, 2500)
    _, o1 = await market.partner()
    paused = await market.campaign(o1, offer)
    await campaigns.set_paused(o1, paused.id, True)
    _, o2 = await market.partner()
    disabled = await market.campaign(o2, offer, status=CampaignStatus.DISABLED)
    _, o3 = await market.partner()
    long_only = await market.campaign(o3, offer, field_filters={"move_type": ["long_distance"]})
    _, o4 = await market.partner()
    nights = await market.campaign(o4, offer, schedule=[{"day": 1, "start": "20:00", "end": "23:00"}])
    _, o5 = await market.partner(balance=100)
    poor = await market.campaign(o5, offer)
    _, o6 = await market.partner()
    elsewhere = await market.campaign(o6, offer, geo_mode=GeoMode.STATES, states=["CA"])
    _, o7 = await market.partner()
    buyer = await market.campaign(o7, offer, geo_mode=GeoMode.ZIP_RADIUS, radius_zip="48201", radius_miles=40)
    lead = await market.lead()
    result = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    assert result.sold_to == [buyer.id]
    trace = await outcomes(lead)
    assert trace[paused.id][0] == RoutingOutcome.PAUSED
    assert trace[disabled.id][0] == RoutingOutcome.DISABLED
    assert trace[long_only.id] == (RoutingOutcome.FIELD_FILTER, "move_type")
    assert trace[nights.id][0] == RoutingOutcome.SCHEDULE
    assert trace[poor.id][0] == RoutingOutcome.BALANCE
    assert elsewhere.id not in trace  # outside the service area: not a candidate at all
    # resumed, the paused campaign buys the next lead
    await campaigns.set_paused(o1, paused.id, False)
    assert paused.id in (await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)).sold_to


async def test_zip_radius_covers_known_distances(market):
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    # Detroit 48201 -> Ann Arbor 48104 is ~34.5 miles; New Hudson 48165 ~35
    c30 = await market.campaign(owner, offer, geo_mode=GeoMode.ZIP_RADIUS, radius_zip="48201", radius_miles=30)
    covered = await campaigns.covered_zip_codes(c30.id)
    assert "48201" in covered and "48104" not in covered
    c40 = await campaigns.update_campaign(owner, c30.id, CampaignChanges(radius_miles=40))
    assert "48104" in await campaigns.covered_zip_codes(c40.id)
    assert c40.revision == c30.revision + 1


async def test_schedule_follows_the_campaigns_time_zone_across_dst(market):
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    c = await market.campaign(
        owner, offer, time_zone="America/Detroit", schedule=[{"day": 6, "start": "01:30", "end": "03:30"}]
    )
    c = await campaigns.update_campaign(owner, c.id, CampaignChanges())
    # 2026-11-01 is the DST change in the US: 01:00-02:00 EDT then 01:00-02:00 EST.
    before = dt.datetime(2026, 11, 1, 5, 45, tzinfo=dt.timezone.utc)  # 01:45 EDT (UTC-4)
    after = dt.datetime(2026, 11, 1, 6, 45, tzinfo=dt.timezone.utc)  # 01:45 EST (UTC-5)
    late = dt.datetime(2026, 11, 1, 8, 45, tzinfo=dt.timezone.utc)  # 03:45 EST: closed
    assert routing.in_schedule(c, before) and routing.in_schedule(c, after)
    assert not routing.in_schedule(c, late)
    # and spring forward: 2026-03-08 02:30 does not exist; 03:15 EDT is 07:15 UTC
    c.schedule = [{"day": 6, "start": "03:00", "end": "04:00"}]
    assert routing.in_schedule(c, dt.datetime(2026, 3, 8, 7, 15, tzinfo=dt.timezone.utc))
    assert not routing.in_schedule(c, dt.datetime(2026, 3, 8, 6, 15, tzinfo=dt.timezone.utc))  # 01:15 EST


async def test_daily_cap_uses_the_campaigns_day(market):
    offer = await market.offer(market.local, 1000, daily_cap=2)
    _, owner = await market.partner()
    c = await market.campaign(owner, offer, time_zone="America/Los_Angeles")
    sold = []
    for _ in range(3):
        sold.append(bool((await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT)).sold_to))
    assert sold == [True, True, False]
    # 23:30 in Detroit is still 20:30 the same day in Los Angeles: still capped
    same_la_day = dt.datetime(2026, 11, 25, 4, 30, tzinfo=dt.timezone.utc)
    assert not (await routing.route_lead((await market.lead()).id, at=same_la_day)).sold_to
    next_la_day = dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.timezone.utc)
    assert (await routing.route_lead((await market.lead()).id, at=next_la_day)).sold_to == [c.id]


async def test_balance_and_ledger_agree_after_sales(market):
    offer = await market.offer(market.local, 2500)
    account, owner = await market.partner(balance=6000)
    await market.campaign(owner, offer)
    results = [await routing.route_lead((await market.lead()).id, at=TUESDAY_3PM_DETROIT) for _ in range(3)]
    assert [bool(r.sold_to) for r in results] == [True, True, False]
    account = await Account.get(id=account.id)
    assert account.balance_minor == 1000 == await ledger.ledger_sum(account.id)


async def test_routing_twice_changes_nothing(market):
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    await market.campaign(owner, offer)
    lead = await market.lead()
    first = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    again = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    assert first.sold_to and not again.sold_to and again.status == MarketStatus.SOLD
    assert await LeadSale.filter(lead_id=lead.id).count() == 1


async def test_concurrent_routing_never_oversells(market):
    """Many leads at once against tiny balances and caps, in one process (the
    multi-process version runs on PostgreSQL in test_routing_processes)."""
    offer = await market.offer(market.local, 1000, daily_cap=3)
    exclusive = await market.offer(market.local, 5000, exclusive=True)
    accounts = []
    for balance in (2500, 5000, 10_000):
        account, owner = await market.partner(balance=balance)
        await market.campaign(owner, offer)
        accounts.append(account)
    ex_account, ex_owner = await market.partner(balance=15_000)
    await market.campaign(ex_owner, exclusive)
    leads = [await market.lead() for _ in range(40)]
    await asyncio.gather(*(routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT) for lead in leads))
    for account in accounts + [ex_account]:
        a = await Account.get(id=account.id)
        assert a.balance_minor >= 0
        assert a.balance_minor == await ledger.ledger_sum(a.id)
    per_campaign = {}
    for sale in await LeadSale.all():
        per_campaign[sale.campaign_id] = per_campaign.get(sale.campaign_id, 0) + 1
    ex_campaign = (await ex_account.campaigns.all())[0].id
    assert all(n <= 3 for cid, n in per_campaign.items() if cid != ex_campaign)
    assert await LeadSale.filter(account_id=ex_account.id).count() == 3  # 15,000 / 5,000
    for lead in leads:
        sales = await LeadSale.filter(lead_id=lead.id)
        assert len(sales) <= 4
        if any(s.exclusive for s in sales):
            assert len(sales) == 1


async def test_campaign_validation_names_each_field_and_changes_nothing(market):
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    c = await market.campaign(owner, offer)
    with pytest.raises(DomainError) as exc:
        await campaigns.update_campaign(owner, c.id, CampaignChanges(
            time_zone="Mars/Base", states=["MI", "XX"], zip_codes=["99999"], radius_miles=9000,
            field_filters={"move_size": "castle", "colour": ["red"]}, daily_cap=0,
            schedule=[{"day": 9, "start": "08:00", "end": "09:00"}],
        ))
    fields = [e.field for e in exc.value.errors]
    assert fields == ["time_zone", "states", "zip_codes", "radius_miles", "field_filters", "field_filters",
                      "schedule", "daily_cap"]
    assert (await campaigns.visible_campaigns(owner).get(id=c.id)).revision == c.revision


async def test_two_routers_of_one_lead_agree_on_its_status(market):
    """The intake safety net and a slow request may route one lead at once: the
    router that sold nothing (the other took the only buyer) must not mark the
    sold lead unsold (found by the concurrency storm, tests/test_storms.py)."""
    _, owner = await market.partner()
    await market.campaign(owner, await market.offer(market.local, 1000))
    for _ in range(10):
        lead = await market.lead()
        results = await asyncio.gather(*(routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT) for _ in range(2)))
        assert sorted(len(r.sold_to) for r in results) == [0, 1]
        assert all(r.status == MarketStatus.SOLD for r in results)
        assert [r.contended for r in results if not r.sold_to] == [True]  # intake then answers from the lead row
        assert (await Lead.get(id=lead.id)).market_status == MarketStatus.SOLD


async def test_a_lead_whose_router_died_after_selling_is_marked_sold_by_the_safety_net(market):
    """The request's router sold the lead, then lost the database before writing
    the lead's status: the safety net routes it again, sells nothing more, and
    marks it sold (found by the crash tests: it stayed "received")."""
    _, owner = await market.partner()
    await market.campaign(owner, await market.offer(market.local, 1000))
    lead = await market.lead()
    first = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    assert len(first.sold_to) == 1
    await Lead.filter(id=lead.id).update(market_status=MarketStatus.RECEIVED)  # the write the dead router never made
    again = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    assert not again.sold_to and again.status == MarketStatus.SOLD and again.contended
    assert (await Lead.get(id=lead.id)).market_status == MarketStatus.SOLD


async def test_candidates_read_as_the_orm_reads_them(market):
    """The candidate lookup is a plain statement (core/routing._CANDIDATES):
    each value must come back as the ORM would give it (enums, aware times,
    parsed JSON, booleans), on SQLite and on PostgreSQL alike."""
    import dataclasses

    from leadwire.core.models.marketplace import Campaign

    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    campaign = await market.campaign(owner, offer)
    await Campaign.filter(id=campaign.id).update(
        last_sold_at=TUESDAY_3PM_DETROIT, field_filters={"move_size": ["studio"]}, filter_enabled=True,
    )
    lead = await market.lead()
    [candidate] = [c for c in await routing._candidates(lead) if c.campaign.id == campaign.id]
    rows = await Campaign.filter(id=campaign.id).values_list(*routing._VIEW_FIELDS)
    expected = dataclasses.asdict(routing.CampaignView(*rows[0]))
    got = dataclasses.asdict(candidate.campaign)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
    assert got["last_sold_at"] == TUESDAY_3PM_DETROIT and got["field_filters"] == {"move_size": ["studio"]}
    assert got["filter_enabled"] is True and got["exclusive"] is False and got["account_approved_at"] is not None


async def test_the_buyers_copy_is_the_lead_the_orm_would_write(market):
    """The buyer's copy is written by a plain statement (core/routing._COPY_FOR_BUYER):
    every column must hold what Lead.create with the same values writes."""
    offer = await market.offer(market.local, 2500)
    _, owner = await market.partner()
    await market.campaign(owner, offer)
    lead = await market.lead(move_size="2br", note="piano")
    result = await routing.route_lead(lead.id, at=TUESDAY_3PM_DETROIT)
    [copy_id] = result.buyer_lead_ids
    copy = await Lead.get(id=copy_id)
    reference = await Lead.create(
        account_id=copy.account_id, origin=copy.origin, kind=lead.kind, first_name=lead.first_name,
        last_name=lead.last_name, email=lead.email, phone=lead.phone, postal_code=lead.postal_code, city=lead.city,
        state=lead.state, industry_id=lead.industry_id, product_id=lead.product_id, data=lead.data,
    )
    reference = await Lead.get(id=reference.id)
    skip = {"id", "created_at", "stage", "stage_id", "stage_entered_at", "assignee", "assignee_id", "assigned_at",
            "assignment_method", "awaiting_assignment", "assignment_rule", "assignment_rule_id"}
    columns = list(Lead._meta.fields_db_projection) + [f"{name}_id" for name in Lead._meta.fk_fields]
    fields = [f for f in columns if f not in skip and f.removesuffix("_id") not in skip]
    assert len(fields) >= 30
    assert {f: getattr(copy, f) for f in fields} == {f: getattr(reference, f) for f in fields}
    assert copy.data == lead.data and copy.origin.value == "marketplace"
    assert abs(copy.created_at - now()) < dt.timedelta(minutes=1)
