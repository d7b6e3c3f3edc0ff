"""Reports (issue 7) through the GraphQL API and the export route: the lead
history and its filters within the visibility rules, the one-time CSV
download, the dashboards, campaign performance and the pipeline report, each
checked against figures worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from strawberry import relay

from zoneinfo import ZoneInfo

from leadwire.core import campaigns, routing
from leadwire.core.models.identity import LeadSource
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.marketplace import LeadSale
from leadwire.core.models.reports import ReportExport
from leadwire.core.reports.export import neutralise
from leadwire.core.returns import request_return, review_return
from leadwire.core.workspace import pipeline

from factories import PASSWORD, make_lead, make_user, viewer_for
from market import Market
from money_env import stripe_env
from test_graphql_identity import email_of

ERRORS = "userErrors { field code message }"
HISTORY = """query($f: LeadHistoryFilter, $o: LeadHistoryOrder! = NEWEST_FIRST, $n: Int = 50, $a: String) {
  leadHistory(filter: $f, orderBy: $o, first: $n, after: $a) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id firstName state createdAtLocal } } } }"""
EXPORT = "mutation($i: CreateLeadExportInput!) { createLeadExport(input: $i) { export { url expiresAt format } " + ERRORS + " } }"


def gid(kind, pk):
    return str(relay.GlobalID(kind, str(pk)))


def pk(g):
    return int(relay.GlobalID.from_id(g).node_id)


async def signed_in(client_factory, email):
    c = await client_factory()
    assert not (await c.sign_in(email, PASSWORD))["userErrors"]
    return c


class World:
    """The marketplace; partner A (owner > manager > rep, owner > manager2 > rep2)
    with a campaign that bought two leads; partner B with its own lead."""

    async def setup(self, client_factory):
        self.m = m = await Market().setup()
        self.offer = await m.offer(m.local, 2500)
        self.account, self.owner = await m.partner(name="Acme Movers")
        self.manager = await make_user(self.owner)
        self.rep = await make_user(self.owner, manager=self.manager)
        self.manager2 = await make_user(self.owner)
        self.rep2 = await make_user(self.owner, manager=self.manager2)
        self.account_b, self.owner_b = await m.partner(name="Bravo")
        self.campaign = await m.campaign(self.owner, self.offer, daily_cap=10, weekly_cap=50)
        # Two more campaigns of A that miss every lead: one paused, one outside its schedule.
        self.paused = await m.campaign(self.owner, self.offer, name="Paused one")
        await campaigns.set_paused(self.owner, self.paused.id, True)
        tz_now = dt.datetime.now(ZoneInfo(self.paused.time_zone))
        self.closed = await m.campaign(self.owner, self.offer, name="Closed hours",
                                       schedule=[{"day": (tz_now.weekday() + 3) % 7, "start": "09:00", "end": "17:00"}])
        self.sold = []
        for _ in range(2):
            result = await routing.route_lead((await m.lead()).id)
            self.sold.append(result.buyer_lead_ids[result.sold_to.index(self.campaign.id)])
        await Lead.filter(id=self.sold[0]).update(assignee_id=self.rep.id, state="MI")
        await Lead.filter(id=self.sold[1]).update(assignee_id=self.rep2.id, state="MI")
        self.mine = await make_lead(self.account.id, self.rep, first_name="Robin", state="OH", city="Toledo",
                                    email="robin@example.com", origin=LeadOrigin.MANUAL)
        self.manager_lead = await make_lead(self.account.id, self.manager, first_name="=HYPERLINK(\"x\")", state="OH")
        self.other = await make_lead(self.account_b.id, None, first_name="Bravo", state="OH")
        self.c_owner = await signed_in(client_factory, self.owner.email)
        self.c_manager = await signed_in(client_factory, await email_of(self.manager))
        self.c_rep = await signed_in(client_factory, await email_of(self.rep))
        self.c_owner_b = await signed_in(client_factory, self.owner_b.email)
        self.c_operator = await signed_in(client_factory, self.m.operator.email)
        return self


@pytest.fixture
async def world(client_factory, db):
    async with stripe_env():
        yield await World().setup(client_factory)


async def history_ids(client, f=None, **kw) -> list[int]:
    data = await client.data(HISTORY, {"f": f, **kw})
    return [pk(e["node"]["id"]) for e in data["leadHistory"]["edges"]]


async def test_history_covers_what_each_viewer_may_see(world):
    w = world
    a_all = {w.sold[0], w.sold[1], w.mine.id, w.manager_lead.id}
    assert set(await history_ids(w.c_owner)) == a_all
    assert set(await history_ids(w.c_manager)) == {w.sold[0], w.mine.id, w.manager_lead.id}  # subtree only
    assert set(await history_ids(w.c_rep)) == {w.sold[0], w.mine.id}
    assert set(await history_ids(w.c_owner_b)) == {w.other.id}
    operator = set(await history_ids(w.c_operator))
    assert operator and not operator & (a_all | {w.other.id})  # marketplace leads only
    assert all(l.account_id == w.m.operator_account.id for l in await Lead.filter(id__in=operator))
    # A filter narrows, never widens: B's owner naming A's campaign gets nothing.
    assert await history_ids(w.c_owner_b, {"campaignIds": [gid("Campaign", w.campaign.id)]}) == []


async def test_every_history_filter(world):
    w = world
    c = w.c_owner
    assert set(await history_ids(c, {"campaignIds": [gid("Campaign", w.campaign.id)]})) == set(w.sold)
    assert set(await history_ids(w.c_operator, {"campaignIds": [gid("Campaign", w.campaign.id)]})) == set(
        await LeadSale.filter(campaign_id=w.campaign.id).values_list("lead_id", flat=True))
    assert set(await history_ids(c, {"industryIds": [gid("Industry", w.m.moving.id)]})) == set(w.sold)
    assert set(await history_ids(c, {"states": ["oh"]})) == {w.mine.id, w.manager_lead.id}
    assert set(await history_ids(c, {"origins": ["MARKETPLACE"]})) == set(w.sold)
    assert set(await history_ids(c, {"assigneeIds": [gid("User", w.rep.id)]})) == {w.sold[0], w.mine.id}
    assert await history_ids(c, {"search": "toledo"}) == [w.mine.id]
    assert await history_ids(c, {"search": "robin@"}) == [w.mine.id]

    stages = await pipeline.pipeline_stages(w.owner)
    await pipeline.move_lead(w.owner, w.mine.id, stages[1].id)
    reason = (await pipeline.lost_reasons(w.owner))[0]
    await pipeline.mark_lost(w.owner, w.manager_lead.id, reason.id)
    assert await history_ids(c, {"stageIds": [gid("PipelineStage", stages[1].id)]}) == [w.mine.id]
    assert await history_ids(c, {"statuses": ["LOST"]}) == [w.manager_lead.id]
    assert set(await history_ids(c, {"statuses": ["OPEN"]})) == set(w.sold) | {w.mine.id}
    assert set(await history_ids(c, {"statuses": ["OPEN", "LOST"]})) == set(w.sold) | {w.mine.id, w.manager_lead.id}

    await request_return(w.owner, w.sold[0], "no_working_phone")
    assert await history_ids(c, {"returnStatuses": ["PENDING"]}) == [w.sold[0]]
    assert set(await history_ids(c, {"returnStatuses": ["NONE"]})) == {w.sold[1], w.mine.id, w.manager_lead.id}
    assert await history_ids(c, {"returnStatuses": ["APPROVED"]}) == []

    source = await LeadSource.create(account_id=w.m.operator_account.id, name="Quote site")
    marketplace_lead = await Lead.filter(account_id=w.m.operator_account.id).order_by("id").first()
    await Lead.filter(id=marketplace_lead.id).update(source_id=source.id)
    assert await history_ids(w.c_operator, {"sourceIds": [gid("LeadSource", source.id)]}) == [marketplace_lead.id]
    assert await history_ids(w.c_operator, {"sourceIds": [gid("LeadSource", 999999)]}) == []
    assert await history_ids(w.c_operator, {"marketStatuses": ["SOLD"]}) == [
        i for i in await history_ids(w.c_operator) if (await Lead.get(id=i)).market_status == "sold"]

    # Dates are days in the viewer's time zone: a lead made at 03:00 UTC on the 10th is the 9th in New York.
    await Lead.filter(id=w.mine.id).update(created_at=dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.timezone.utc))
    await c.data('mutation { updateProfile(input: {timeZone: "America/New_York"}) { userErrors { code } } }')
    assert await history_ids(c, {"from": "2026-03-09", "to": "2026-03-09"}) == [w.mine.id]
    assert await history_ids(c, {"from": "2026-03-10", "to": "2026-03-10"}) == []
    data = await c.data(HISTORY, {"f": {"to": "2026-03-09"}})
    assert data["leadHistory"]["edges"][0]["node"]["createdAtLocal"] == "2026-03-09T23:00:00-04:00"

    bad = await c.post(HISTORY, {"f": {"from": "2026-03-10", "to": "2026-03-01", "states": ["Michigan"],
                                       "campaignIds": [gid("Lead", 1)]}})
    assert bad["data"] is None and "errors" in bad


async def test_history_pages_by_cursor_both_ways(world):
    w = world
    for i in range(5):
        await make_lead(w.account.id, w.rep, first_name=f"Page{i}")
    everything = await history_ids(w.c_owner, n=100)
    assert everything == sorted(everything, reverse=True) and len(everything) == 9
    seen, after = [], None
    while True:
        data = (await w.c_owner.data(HISTORY, {"n": 2, "a": after}))["leadHistory"]
        assert data["totalCount"] == 9
        seen += [pk(e["node"]["id"]) for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == everything
    data = (await w.c_owner.data(HISTORY, {"o": "OLDEST_FIRST", "n": 4}))["leadHistory"]
    first = [pk(e["node"]["id"]) for e in data["edges"]]
    rest = await history_ids(w.c_owner, o="OLDEST_FIRST", n=10, a=data["pageInfo"]["endCursor"])
    assert first + rest == sorted(everything)
    too_many = await w.c_owner.post(HISTORY, {"n": 1000})
    assert "errors" in too_many


async def download(client, url):
    h = {"x-csrf-token": client.csrf} if client.csrf else {}
    return await client.http.get(url, headers=h)


async def test_export_link_works_once_for_its_user_and_neutralises_formulas(world):
    w = world
    made = (await w.c_manager.data(EXPORT, {"i": {"filter": {"states": ["OH", "MI"]}}}))["createLeadExport"]
    assert made["userErrors"] == [] and made["export"]["format"] == "CSV"
    url = made["export"]["url"]
    assert url.startswith("/exports/lw_exp_")
    # Another user (even the owner, who sees more) cannot use it, and trying does not use it up.
    assert (await download(w.c_owner, url)).status_code == 404
    assert (await download(w.c_owner_b, url)).status_code == 404
    anonymous = await w.c_owner.http.__class__(transport=w.c_owner.http._transport, base_url="http://testserver").get(url)
    assert anonymous.status_code == 401
    r = await download(w.c_manager, url)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {int(x["id"]) for x in rows} == {w.sold[0], w.mine.id, w.manager_lead.id}  # the manager's subtree, now
    by_id = {int(x["id"]): x for x in rows}
    assert by_id[w.manager_lead.id]["first_name"] == "'=HYPERLINK(\"x\")"
    assert by_id[w.mine.id]["phone"].startswith("'+1")
    sold = by_id[w.sold[0]]
    assert sold["campaign"] == w.campaign.name and sold["price_minor"] == "2500" and sold["industry"] == "Moving"
    assert (await download(w.c_manager, url)).status_code == 410  # once only

    # The owner's file: every lead of the account, purchases and returns included.
    await request_return(w.owner, w.sold[1], "no_working_phone")
    url = (await w.c_owner.data(EXPORT, {"i": {}}))["createLeadExport"]["export"]["url"]
    rows = {int(x["id"]): x for x in csv.DictReader(io.StringIO((await download(w.c_owner, url)).content.decode("utf-8-sig")))}
    assert set(rows) == {w.sold[0], w.sold[1], w.mine.id, w.manager_lead.id}
    assert [rows[i]["campaign"] for i in w.sold] == [w.campaign.name] * 2
    assert [rows[i]["return_status"] for i in w.sold] == ["", "pending"]
    assert rows[w.mine.id]["campaign"] == "" and rows[w.mine.id]["status"] == "open"

    expired = (await w.c_rep.data(EXPORT, {"i": {}}))["createLeadExport"]["export"]["url"]
    await ReportExport.all().update(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    gone = await download(w.c_rep, expired)
    assert gone.status_code == 410 and "expired" in gone.json()["error"]
    assert (await download(w.c_rep, "/exports/lw_exp_nonsense")).status_code == 404

    refused = (await w.c_owner.data(EXPORT, {"i": {"filter": {"states": ["Ohio"], "campaignIds": [gid("Lead", 3)]}}}))
    assert [e["field"] for e in refused["createLeadExport"]["userErrors"]] == ["filter.campaignIds.0"]
    assert refused["createLeadExport"]["export"] is None
    refused = (await w.c_owner.data(EXPORT, {"i": {"filter": {"states": ["Ohio"], "from": "2026-02-01", "to": "2026-01-01"}}}))
    assert sorted((e["field"], e["code"]) for e in refused["createLeadExport"]["userErrors"]) == [
        ("filter.states.0", "INVALID"), ("filter.to", "INVALID")]
    assert await ReportExport.all().count() == 3  # the refused ones wrote nothing


async def test_the_export_checks_visibility_when_it_runs(world):
    w = world
    url = (await w.c_manager.data(EXPORT, {"i": {}}))["createLeadExport"]["export"]["url"]
    await Lead.filter(id=w.sold[0]).update(assignee_id=w.rep2.id)  # moved out of the manager's subtree meanwhile
    r = await download(w.c_manager, url)
    assert {int(x["id"]) for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))} == {w.mine.id, w.manager_lead.id}


def test_neutralise():
    for bad in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad) == "'" + bad
    for fine in ("", "Robin", "1+1", "a=b"):
        assert neutralise(fine) == fine


DASHBOARD = """{ partnerDashboard { timeZone balance { amountMinor currency } autoCharge { enabled }
  today { leadCount spend { amountMinor } } thisWeek { leadCount spend { amountMinor } } thisMonth { leadCount }
  thisMonthByKind { kind leadCount amount { amountMinor } } returns { status count amount { amountMinor } } pendingReturns
  campaignStates { running paused outsideSchedule disabled }
  campaigns { campaign { name } state today thisWeek thisMonth dailyCap weeklyCap monthlyCap }
  missed { reason leadCount } } }"""


async def test_partner_dashboard_figures(world):
    w = world
    await request_return(w.owner, w.sold[0], "no_working_phone")
    d = (await w.c_owner.data(DASHBOARD))["partnerDashboard"]
    assert d["balance"] == {"amountMinor": 100_000 - 2 * 2500, "currency": "USD"}
    assert d["today"] == {"leadCount": 2, "spend": {"amountMinor": 5000}} and d["thisWeek"]["leadCount"] == 2
    assert d["thisMonthByKind"] == [{"kind": "web", "leadCount": 2, "amount": {"amountMinor": 5000}}]
    assert d["returns"] == [{"status": "PENDING", "count": 1, "amount": {"amountMinor": 2500}}] and d["pendingReturns"] == 1
    assert d["campaignStates"] == {"running": 1, "paused": 1, "outsideSchedule": 1, "disabled": 0}
    main = next(c for c in d["campaigns"] if c["campaign"]["name"] == w.campaign.name)
    assert (main["state"], main["today"], main["thisWeek"], main["dailyCap"], main["weeklyCap"]) == ("running", 2, 2, 10, 50)
    assert d["missed"] == [{"reason": "PAUSED", "leadCount": 2}, {"reason": "SCHEDULE", "leadCount": 2}]
    assert d["autoCharge"] is None  # not set up
    # The rep sees the purchases of their own leads only; the balance is the account's.
    r = (await w.c_rep.data(DASHBOARD))["partnerDashboard"]
    assert r["today"] == {"leadCount": 1, "spend": {"amountMinor": 2500}} and r["balance"]["amountMinor"] == 95_000
    assert r["pendingReturns"] == 1  # the returned lead is the rep's
    b = (await w.c_owner_b.data(DASHBOARD))["partnerDashboard"]
    assert b["today"]["leadCount"] == 0 and b["campaigns"] == [] and b["missed"] == []
    refused = await w.c_operator.post(DASHBOARD)
    assert refused["data"] is None and "operator dashboard" in refused["errors"][0]["message"]


OPERATOR = """query($f: Date!, $t: Date!) { operatorDashboard(from: $f, to: $t) { received soldLeads sales
  revenue { amountMinor } sellThrough supply { industry { name } source { name } kind received sold unsold duplicate sellThrough }
  partners { account { name } sold sales { amountMinor } returns pending returnRate } deliveriesFailed { channel count }
  deliveriesRetrying } }"""


async def test_operator_dashboard_figures(world):
    w = world
    await request_return(w.owner, w.sold[0], "no_working_phone")
    await w.m.lead()  # received, not routed yet
    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    v = {"f": (today - dt.timedelta(days=1)).isoformat(), "t": (today + dt.timedelta(days=1)).isoformat()}
    d = (await w.c_operator.data(OPERATOR, v))["operatorDashboard"]
    assert (d["received"], d["soldLeads"], d["sales"], d["revenue"]["amountMinor"]) == (3, 2, 2, 5000)
    assert d["sellThrough"] == pytest.approx(2 / 3)
    assert d["supply"] == [{"industry": {"name": "Moving"}, "source": None, "kind": "web", "received": 3, "sold": 2,
                            "unsold": 0, "duplicate": 0, "sellThrough": pytest.approx(2 / 3)}]
    assert d["partners"] == [{"account": {"name": "Acme Movers"}, "sold": 2, "sales": {"amountMinor": 5000}, "returns": 1,
                              "pending": 1, "returnRate": 0.5}]
    assert d["deliveriesFailed"] == [] and d["deliveriesRetrying"] == 0
    refused = await w.c_owner.post(OPERATOR, v)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


PERFORMANCE = """query($c: ID!, $f: Date!, $t: Date!) { campaignPerformance(campaignId: $c, from: $f, to: $t) {
  timeZone leadCount spend { amountMinor } averagePrice { amountMinor } returns { status count }
  missed { reason leadCount } days { day leadCount spend { amountMinor } returned missed } } }"""


async def test_campaign_performance_by_day_on_the_campaigns_clock(world):
    w = world
    tz = ZoneInfo("America/New_York")
    today = dt.datetime.now(tz).date()
    # Bought at 23:30 New York time three days ago: the next day in UTC, the day itself on the campaign's clock.
    late = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(23, 30), tzinfo=tz)
    await LeadSale.filter(buyer_lead_id=w.sold[1]).update(sold_at=late.astimezone(dt.timezone.utc))
    await request_return(w.owner, w.sold[0], "no_working_phone")
    v = {"c": gid("Campaign", w.campaign.id), "f": (today - dt.timedelta(days=4)).isoformat(), "t": today.isoformat()}
    p = (await w.c_owner.data(PERFORMANCE, v))["campaignPerformance"]
    assert p["timeZone"] == "America/New_York"
    assert (p["leadCount"], p["spend"]["amountMinor"], p["averagePrice"]["amountMinor"]) == (2, 5000, 2500)
    assert [d["leadCount"] for d in p["days"]] == [0, 1, 0, 0, 1]
    assert [d["returned"] for d in p["days"]] == [0, 0, 0, 0, 1]
    assert p["returns"] == [{"status": "PENDING", "count": 1}] and p["missed"] == []
    paused = (await w.c_owner.data(PERFORMANCE, {**v, "c": gid("Campaign", w.paused.id)}))["campaignPerformance"]
    assert paused["leadCount"] == 0 and paused["averagePrice"] is None
    assert paused["missed"] == [{"reason": "PAUSED", "leadCount": 2}] and paused["days"][-1]["missed"] == 2
    # The manager sees the purchases of the subtree only.
    m = (await w.c_manager.data(PERFORMANCE, v))["campaignPerformance"]
    assert [d["leadCount"] for d in m["days"]] == [0, 0, 0, 0, 1]
    other = await w.c_owner_b.post(PERFORMANCE, v)
    assert other["data"] is None and "No campaign" in other["errors"][0]["message"]
    too_long = await w.c_owner.post(PERFORMANCE, {**v, "f": "2020-01-01"})
    assert too_long["data"] is None


PIPELINE = """query($f: Date, $t: Date) { pipelineReport(from: $f, to: $t) { currency leadCount value { amountMinor }
  weightedForecast { amountMinor } stages { stage { name } leadCount value { amountMinor } weightedValue { amountMinor }
  wonCount lostCount reached conversionToNext timeInStage { under1Day from1To7Days from7To30Days over30Days }
  oldestEnteredAt } lostReasons { leadCount rows { reason { name } leadCount } } } }"""


async def test_pipeline_report_figures(world):
    w = world
    stages = await pipeline.pipeline_stages(w.owner)
    now = dt.datetime.now(dt.timezone.utc)
    await pipeline.move_lead(w.owner, w.sold[0], stages[0].id)
    await pipeline.move_lead(w.owner, w.sold[1], stages[1].id)
    await pipeline.move_lead(w.owner, w.mine.id, stages[1].id)
    await pipeline.mark_won(w.owner, w.manager_lead.id)
    for lead, value in ((w.sold[0], 1000), (w.sold[1], 2000), (w.mine.id, 3000), (w.manager_lead.id, 4000)):
        await pipeline.set_value(w.owner, lead, value)
    await Lead.filter(id=w.sold[1]).update(stage_entered_at=now - dt.timedelta(days=10))
    await Lead.filter(id=w.mine.id).update(stage_entered_at=now - dt.timedelta(days=40))
    extra = await make_lead(w.account.id, w.rep)
    reason = (await pipeline.lost_reasons(w.owner))[1]
    await pipeline.mark_lost(w.owner, extra.id, reason.id)

    today = dt.date.today()
    v = {"f": (today - dt.timedelta(days=2)).isoformat(), "t": (today + dt.timedelta(days=2)).isoformat()}
    r = (await w.c_owner.data(PIPELINE, v))["pipelineReport"]
    new, opp, closing = r["stages"]
    assert (r["leadCount"], r["value"]["amountMinor"], r["weightedForecast"]["amountMinor"]) == (5, 10000, 100 + 2500 + 4000)
    assert (new["leadCount"], new["weightedValue"]["amountMinor"], new["reached"], new["conversionToNext"]) == (1, 100, 5, 0.8)
    assert new["timeInStage"] == {"under1Day": 1, "from1To7Days": 0, "from7To30Days": 0, "over30Days": 0}
    assert (opp["leadCount"], opp["value"]["amountMinor"], opp["weightedValue"]["amountMinor"], opp["reached"]) == (2, 5000, 2500, 4)
    assert opp["conversionToNext"] == 0.5
    assert opp["timeInStage"] == {"under1Day": 0, "from1To7Days": 0, "from7To30Days": 1, "over30Days": 1}
    assert dt.datetime.fromisoformat(opp["oldestEnteredAt"]) == now - dt.timedelta(days=40)
    assert (closing["wonCount"], closing["lostCount"], closing["weightedValue"]["amountMinor"], closing["conversionToNext"],
            closing["timeInStage"]) == (1, 1, 4000, None, None)
    assert r["lostReasons"]["leadCount"] == 1 and r["lostReasons"]["rows"][0]["reason"]["name"] == reason.name
    # The manager's report covers the subtree (sold[0], mine, manager_lead); rep2's lead and the extra (rep's) are
    # in it too only if below: the extra is the rep's, so it counts.
    m = (await w.c_manager.data(PIPELINE, {}))["pipelineReport"]
    assert [s["leadCount"] for s in m["stages"]] == [1, 1, 2] and m["weightedForecast"]["amountMinor"] == 100 + 1500 + 4000
    assert m["lostReasons"] is None


async def _bulk_leads(account_id: int, n: int) -> None:
    note = "x" * 300
    for start in range(0, n, 2000):
        await Lead.bulk_create([
            Lead(account_id=account_id, first_name=f"Bulk{i}", last_name="Lead", phone=f"+1313{i:07d}",
                 email=f"bulk{i}@example.com", city="Detroit", state="MI", data={"notes": note})
            for i in range(start, min(n, start + 2000))
        ])


async def _stream_peak(viewer, f) -> tuple[int, int, int]:
    """(bytes streamed, rows, tracemalloc peak) of one export, read chunk by chunk and thrown away."""
    import gc
    import tracemalloc

    from leadwire.core.reports.export import stream_csv

    gc.collect()
    tracemalloc.start()
    try:
        size = rows = 0
        async for chunk in stream_csv(viewer, f):
            size += len(chunk)
            rows += chunk.count(b"\n")
        return size, rows - 1, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def test_the_export_streams_in_constant_memory(db):
    from leadwire.core.reports.history import HistoryFilter
    from factories import make_account

    account, owner = await make_account("Big Co")
    await _bulk_leads(account.id, 6_000)
    small_size, small_rows, small_peak = await _stream_peak(owner, HistoryFilter())
    await _bulk_leads(account.id, 24_000)
    size, rows, peak = await _stream_peak(owner, HistoryFilter())
    assert (small_rows, rows) == (6_000, 30_000)
    assert size > 4 * small_size > 10_000_000
    # Five times the rows, the same memory: pages are read, written and dropped one at a time.
    assert peak < small_peak * 1.3 + 256 * 1024, (small_peak, peak)
    assert peak < size / 2, (peak, size)


async def test_the_header_goes_out_before_any_row_is_read(db, caplog):
    import logging

    from leadwire.core.reports.export import COLUMNS, stream_csv
    from leadwire.core.reports.history import HistoryFilter
    from factories import make_account

    account, owner = await make_account("Quick Co")
    stream = stream_csv(owner, HistoryFilter())
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        first = await stream.__anext__()
    assert first.decode("utf-8-sig").strip() == ",".join(COLUMNS)
    assert not [r for r in caplog.records if r.name == "tortoise.db_client"]
    await stream.aclose()


async def test_day_buckets_follow_the_local_calendar_across_daylight_saving(db):
    from tortoise.functions import Count

    from leadwire.core.reports.common import day_bucket, day_starts
    from factories import make_account

    account, _ = await make_account("Clock Co")
    tz = ZoneInfo("America/New_York")
    start = dt.date(2026, 10, 10)  # daylight saving ends on 1 November 2026 in New York
    days = 40
    for i in range(days):
        for hh, mm in ((0, 30), (23, 30)):
            at = dt.datetime.combine(start + dt.timedelta(days=i), dt.time(hh, mm), tzinfo=tz)
            lead = await make_lead(account.id)
            await Lead.filter(id=lead.id).update(created_at=at.astimezone(dt.timezone.utc))
    bounds = day_starts(start, start + dt.timedelta(days=days - 1), "America/New_York")
    rows = await Lead.filter(account_id=account.id, created_at__gte=bounds[0], created_at__lt=bounds[-1]).annotate(
        d=day_bucket("created_at", bounds)).group_by("d").annotate(n=Count("id")).values("d", "n")
    assert sorted((r["d"], r["n"]) for r in rows) == [(i, 2) for i in range(days)]
