"""Returns (seed 000): the 7-calendar-day window in the partner's time zone and
its edges, valid and invalid reasons, "outside the filter at delivery" checked
against the filter in force at delivery and the routing trace, the operator's
review (a ledger credit, never a refund), overdue reviews, return rates and
abuse flags."""

from __future__ import annotations

import datetime as dt

import pytest

from leadwire.core import campaigns, ledger, returns, routing
from leadwire.core.campaigns import CampaignChanges
from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.identity import AccountKind
from leadwire.core.models.ledger import EntryKind, LedgerEntry
from leadwire.core.models.marketplace import CampaignArea, GeoMode, LeadSale
from leadwire.core.models.money import Notification, NotificationKind
from leadwire.core.models.returns import ReturnReason, ReturnRequest, ReturnStatus

from factories import make_account, make_user, viewer_for
from market import Market

UTC = dt.timezone.utc
PRICE = 2500


@pytest.fixture
async def market(db):
    m = await Market().setup()
    m.offer_ = await m.offer(m.local, PRICE)
    _, m.operator_staff = await make_account("Ops", kind=AccountKind.OPERATOR)
    return m


async def bought(market, owner=None, campaign=None, sold_at=None, **campaign_changes):
    """A lead sold to the owner's campaign; sold_at set as the test needs."""
    if owner is None:
        _, owner = await market.partner()
    if campaign is None:
        campaign = await market.campaign(owner, market.offer_, **campaign_changes)
    result = await routing.route_lead((await market.lead()).id)
    assert campaign.id in result.sold_to, result.decisions
    sale = await LeadSale.get(buyer_lead_id=result.buyer_lead_ids[result.sold_to.index(campaign.id)])
    if sold_at is not None:
        await LeadSale.filter(id=sale.id).update(sold_at=sold_at)
        sale = await LeadSale.get(id=sale.id)
    return owner, campaign, sale


def errors(exc):
    return [(e.field, e.code) for e in exc.value.errors]


# -- the window ----------------------------------------------------------------------------


@pytest.mark.parametrize("after, accepted", [
    (dt.timedelta(days=6, hours=23), True),
    (dt.timedelta(days=7), True),
    (dt.timedelta(days=7, minutes=1), False),
])
async def test_the_window_is_seven_calendar_days_from_delivery(market, after, accepted):
    delivered = dt.datetime(2026, 11, 10, 15, 30, tzinfo=UTC)
    owner, _, sale = await bought(market, sold_at=delivered, time_zone="UTC")
    at = delivered + after
    if accepted:
        ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, "Disconnected", at=at)
        assert ret.status == ReturnStatus.PENDING and ret.requested_at == at
    else:
        with pytest.raises(DomainError) as exc:
            await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, at=at)
        assert errors(exc) == [("lead_id", ErrorCode.RETURN_WINDOW_CLOSED)]
        assert "returnable until 2026-11-17 15:30 UTC" in exc.value.errors[0].message
        assert await ReturnRequest.all().count() == 0


async def test_the_window_counts_days_on_the_partners_clock_across_daylight_saving(market):
    # Saturday 2026-03-07 12:00 in Detroit (EST); clocks go forward on Sunday the 8th.
    delivered = dt.datetime(2026, 3, 7, 17, 0, tzinfo=UTC)
    detroit_owner, _, detroit_sale = await bought(market, sold_at=delivered, time_zone="America/Detroit")
    utc_owner, _, utc_sale = await bought(market, sold_at=delivered, time_zone="UTC")
    window = await returns.window_of(detroit_sale)
    # The same local time (12:00, now EDT) seven days later: 167 hours, not 168.
    assert window.closes_at == dt.datetime(2026, 3, 14, 16, 0, tzinfo=UTC)
    assert window.closes_at - delivered == dt.timedelta(hours=167)
    at = delivered + dt.timedelta(hours=167, minutes=30)
    with pytest.raises(DomainError) as exc:
        await returns.request_return(detroit_owner, detroit_sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, at=at)
    assert errors(exc) == [("lead_id", ErrorCode.RETURN_WINDOW_CLOSED)]
    assert "delivered 2026-03-07 12:00 EST, returnable until 2026-03-14 12:00 EDT (America/Detroit)" in str(exc.value)
    # A partner on UTC still has half an hour.
    assert (await returns.request_return(utc_owner, utc_sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, at=at)).id


async def test_the_time_zone_is_the_one_set_at_delivery(market):
    delivered = dt.datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 2026-05-31 20:00 in Los Angeles, 06-01 13:00 in Sydney
    owner, campaign, sale = await bought(market, sold_at=delivered, time_zone="America/Los_Angeles")
    await campaigns.update_campaign(owner, campaign.id, CampaignChanges(time_zone="Australia/Sydney"))
    window = await returns.window_of(sale)
    assert window.time_zone == "America/Los_Angeles"
    assert window.closes_at == dt.datetime(2026, 6, 8, 3, 0, tzinfo=UTC)


# -- reasons ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reason, says", [
    (ReturnReason.REPRESENTATIVE_FOR_CONSUMER, "representative, parent or guardian"),
    (ReturnReason.CALLED_BY_OTHER_AGENTS, "Consumers may visit other sites"),
    (ReturnReason.CONSUMER_UNRESPONSIVE, "not that the prospect will take or return your calls"),
    (ReturnReason.EMAIL_UNANSWERED_OR_INVALID, "e-mail address is invalid"),
    (ReturnReason.FILTER_CHANGED_WITHOUT_PAUSE, "old filter settings"),
    (ReturnReason.NOTIFICATION_NOT_RECEIVED, "official record of leads delivered"),
])
async def test_the_invalid_reasons_are_refused_with_the_explanation(market, reason, says):
    owner, _, sale = await bought(market)
    with pytest.raises(DomainError) as exc:
        await returns.request_return(owner, sale.buyer_lead_id, reason, "They never picked up")
    assert errors(exc) == [("reason", ErrorCode.RETURN_REASON_REFUSED)]
    assert says in exc.value.errors[0].message
    assert await ReturnRequest.all().count() == 0


async def test_a_valid_return_is_pending_due_in_ten_days_and_only_once(market):
    owner, _, sale = await bought(market)
    at = dt.datetime.now(UTC)
    ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NEVER_REQUESTED_QUOTE, "Says she never asked", at=at)
    assert (ret.status, ret.amount_minor, ret.due_at, ret.note) == (
        ReturnStatus.PENDING, PRICE, at + dt.timedelta(days=10), "Says she never asked")
    with pytest.raises(DomainError) as exc:
        await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    assert errors(exc) == [("lead_id", ErrorCode.DUPLICATE)]
    with pytest.raises(DomainError) as exc:
        await returns.request_return(owner, sale.buyer_lead_id, "bad_vibes", "x" * 1001)
    assert set(errors(exc)) == {("reason", ErrorCode.INVALID), ("note", ErrorCode.TOO_LONG)}


async def test_only_who_sees_the_lead_returns_it(market):
    owner, _, sale = await bought(market)
    rep = await viewer_for(await make_user(owner))  # the lead is not assigned to them
    _, stranger = await market.partner()
    for viewer in (rep, stranger):
        with pytest.raises(DomainError) as exc:
            await returns.request_return(viewer, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
        assert errors(exc) == [("lead_id", ErrorCode.NOT_FOUND)]
    with pytest.raises(DomainError) as exc:
        await returns.request_return(market.operator_staff, sale.lead_id, ReturnReason.NO_WORKING_PHONE)
    assert errors(exc) == [(None, ErrorCode.FORBIDDEN)]


# -- outside the filter at delivery ----------------------------------------------------------------


async def test_a_lead_inside_the_filter_at_delivery_is_refused_with_what_was_checked(market):
    owner, campaign, sale = await bought(market, geo_mode=GeoMode.STATES, states=["MI"],
                                         field_filters={"move_size": "1_bedroom", "move_type": ["local"]})
    with pytest.raises(DomainError) as exc:
        await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.OUTSIDE_FILTER_AT_DELIVERY)
    assert errors(exc) == [("reason", ErrorCode.RETURN_REASON_REFUSED)]
    message = exc.value.errors[0].message
    assert "inside your campaign's filter at delivery (revision 2)" in message
    assert "Routing trace: sold to this campaign" in message and "the states MI; the lead is in MI" in message
    assert "move_size '2_bedrooms' (at least '1_bedroom'), move_type 'local' (one of ['local'])" in message
    # The partner narrows the filter afterwards: the lead is still judged by the filter it was sold under.
    await campaigns.update_campaign(owner, campaign.id, CampaignChanges(states=["OH"]))
    with pytest.raises(DomainError) as exc:
        await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.OUTSIDE_FILTER_AT_DELIVERY)
    message = exc.value.errors[0].message
    assert "changed since (revision 3 now)" in message and "old filter settings" in message


async def test_a_lead_outside_the_filter_at_delivery_is_accepted_with_the_evidence(market):
    _, owner = await market.partner()
    campaign = await market.campaign(owner, market.offer_, geo_mode=GeoMode.ZIP_LIST, zip_codes=["48104"])
    # A stale service-area index sells a lead from 48165, which the filter does not list.
    await CampaignArea.create(campaign_id=campaign.id, product_id=campaign.product_id, area="z:48165")
    _, _, sale = await bought(market, owner=owner, campaign=campaign)
    ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.OUTSIDE_FILTER_AT_DELIVERY, "Not our area")
    assert ret.status == ReturnStatus.PENDING
    assert "Service area: a list of 1 ZIP codes, not including the lead's 48165." in ret.evidence
    assert any(f.startswith("Routing trace: sold to this campaign") for f in ret.evidence)


async def test_a_schedule_outside_the_hours_at_delivery_counts_as_outside(market):
    owner, campaign, sale = await bought(market, time_zone="UTC")
    # Delivered on a Sunday night, while the campaign's revision-2 hours are Monday 9-17 only.
    await LeadSale.filter(id=sale.id).update(sold_at=dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    from leadwire.core.models.returns import CampaignRevision

    kept = await CampaignRevision.get(campaign_id=campaign.id, revision=sale.campaign_revision)
    kept.settings = {**kept.settings, "schedule": [{"day": 0, "start": "09:00", "end": "17:00"}]}
    await kept.save()
    check = await returns.check_filter_at_delivery(await LeadSale.get(id=sale.id))
    assert check.inside is False
    assert "Schedule: delivered 2026-11-22 23:00 UTC, outside the campaign's weekly hours." in check.facts


# -- review ----------------------------------------------------------------------------------------


async def test_an_approved_return_is_a_ledger_credit_never_a_refund(market):
    owner, _, sale = await bought(market)
    account_id = owner.account_id
    before = await ledger.balances(account_id)
    ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    with pytest.raises(DomainError) as exc:
        await returns.review_return(owner, ret.id, approve=True)
    assert errors(exc) == [(None, ErrorCode.FORBIDDEN)]
    done = await returns.review_return(market.operator_staff, ret.id, approve=True, note="Number disconnected, verified")
    assert (done.status, done.review_note, done.reviewed_by_id) == (
        ReturnStatus.APPROVED, "Number disconnected, verified", market.operator_staff.membership_id)
    entry = await LedgerEntry.get(return_request_id=ret.id)
    assert (entry.kind, entry.amount_minor, entry.credit_minor) == (EntryKind.RETURN_CREDIT, PRICE, PRICE)
    after = await ledger.balances(account_id)
    assert after.balance_minor == before.balance_minor + PRICE
    assert after.refundable_minor == before.refundable_minor  # a credit, not the partner's own money
    note = await Notification.get(account_id=account_id)
    assert note.kind == NotificationKind.RETURN_REVIEWED and "$25.00 was credited" in note.body
    with pytest.raises(DomainError) as exc:
        await returns.review_return(market.operator_staff, ret.id, approve=True)
    assert errors(exc) == [("return_id", ErrorCode.INVALID)]
    assert await LedgerEntry.filter(return_request_id=ret.id).count() == 1
    assert (await ledger.verify([account_id])).ok


async def test_a_decline_needs_a_note_and_credits_nothing(market):
    owner, _, sale = await bought(market)
    ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    with pytest.raises(DomainError) as exc:
        await returns.review_return(market.operator_staff, ret.id, approve=False, note=" ")
    assert errors(exc) == [("note", ErrorCode.REQUIRED)]
    done = await returns.review_return(market.operator_staff, ret.id, approve=False, note="We reached the consumer on it")
    assert done.status == ReturnStatus.DECLINED
    assert not await LedgerEntry.filter(kind=EntryKind.RETURN_CREDIT).exists()


async def test_overdue_returns_are_the_pending_ones_past_ten_days(market):
    owner, _, s1 = await bought(market)
    _, _, s2 = await bought(market, owner=owner, campaign=(await LeadSale.get(id=s1.id).prefetch_related("campaign")).campaign)
    now = dt.datetime.now(UTC)
    old = await returns.request_return(owner, s1.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, at=now - dt.timedelta(days=6))
    await returns.request_return(owner, s2.buyer_lead_id, ReturnReason.NO_WORKING_PHONE, at=now)
    await ReturnRequest.filter(id=old.id).update(due_at=now - dt.timedelta(minutes=1))
    assert [r.id for r in await returns.overdue(ReturnRequest.all(), now)] == [old.id]
    await returns.review_return(market.operator_staff, old.id, approve=False, note="Late, but declined")
    assert await returns.overdue(ReturnRequest.all(), now) == []


# -- rates and abuse ------------------------------------------------------------------------------


async def test_the_return_rate_and_the_abuse_flag(market):
    owner, campaign, sale = await bought(market)
    sales = [sale] + [(await bought(market, owner=owner, campaign=campaign))[2] for _ in range(3)]
    for s in sales[:2]:
        await returns.request_return(owner, s.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
    first = await ReturnRequest.get(sale_id=sales[0].id)
    await returns.review_return(market.operator_staff, first.id, approve=True)
    stats = await returns.return_stats(owner.account_id)
    assert (stats.sales, stats.requested, stats.approved, stats.declined, stats.pending) == (4, 2, 1, 0, 1)
    assert (stats.rate, stats.approved_rate) == (0.5, 0.25)
    assert (await returns.return_stats(owner.account_id, days=1, at=dt.datetime.now(UTC) + dt.timedelta(days=3))).sales == 0
    flag = await returns.flag_account(market.operator_staff, owner.account_id, "Half of its leads come back")
    assert (await returns.active_flag(owner.account_id)).id == flag.id
    with pytest.raises(DomainError) as exc:
        await returns.flag_account(market.operator_staff, owner.account_id, "Again")
    assert errors(exc) == [("account_id", ErrorCode.DUPLICATE)]
    with pytest.raises(DomainError):
        await returns.flag_account(owner, owner.account_id, "Self")
    await returns.clear_flag(market.operator_staff, owner.account_id, "Talked to them: bad data source, fixed")
    assert await returns.active_flag(owner.account_id) is None


async def test_plugins_hear_each_decision_after_it_commits(market, tmp_path):
    from leadwire.core import extensions
    from leadwire.plugins.hookspecs import hookimpl
    from leadwire.plugins.manager import build_plugin_manager

    heard = []

    class Listener:
        @hookimpl
        def leadwire_return_decided(self, event):
            heard.append(event)

    plugins = build_plugin_manager(tmp_path / "none.toml", {}, load_entry_points=False)
    plugins.pm.register(Listener(), name="listener")
    extensions.install(plugins.hook)
    try:
        owner, _, sale = await bought(market)
        ret = await returns.request_return(owner, sale.buyer_lead_id, ReturnReason.NO_WORKING_PHONE)
        await returns.review_return(market.operator_staff, ret.id, approve=True, note="Verified")
        with pytest.raises(DomainError):  # a refused second decision is not heard
            await returns.review_return(market.operator_staff, ret.id, approve=False, note="Changed my mind")
    finally:
        extensions.install(None)
    [event] = heard
    assert (event.return_id, event.sale_id, event.account_id, event.approved, event.reason, event.amount_minor) == (
        ret.id, sale.id, owner.account_id, True, "no_working_phone", PRICE)
    assert event.note == "Verified" and event.buyer_lead_id == sale.buyer_lead_id
