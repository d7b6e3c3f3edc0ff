"""Assignment through the public API (seed 003): rules on lead fields tried in
priority order, single / round-robin / least-busy / manual, barred users
skipped, the manual queue, which rule assigned each lead, manual assignment in
bulk within the assigner's visibility, bought leads entering the buyer's
pipeline through a job written with the sale, and round-robin and least-busy
holding across two processes on PostgreSQL."""

import asyncio
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from leadwire.core import routing
from leadwire.core.jobs.models import OutboxJob
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.workspace import AssignmentRule, PipelineStage
from leadwire.core.workspace import assignment, entry, pipeline

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip
from factories import make_account, make_user
from market import Market
from test_graphql_identity import email_of
from workspace import ERRORS, Team, client_for, gid, run_jobs

HERE = Path(__file__).resolve().parent
RULE = f"""mutation($i: CreateAssignmentRuleInput!) {{ createAssignmentRule(input: $i) {{
  rule {{ id name priority method users {{ id }} conditions {{ states postalCodes origins missingPhone data }} }} {ERRORS} }} }}"""
ASSIGN = f"mutation($i: AssignLeadsInput!) {{ assignLeads(input: $i) {{ assignedCount leads {{ id assignee {{ id }} }} {ERRORS} }} }}"
LEAD = """query($id: ID!) { node(id: $id) { ... on Lead { assignee { id } awaitingAssignment stage { name }
  assignment { method ruleName rule { id } at atLocal } } } }"""


@pytest.fixture
async def team(client_factory, db):
    return await Team().setup(client_factory)


async def rule(c, **i):
    out = (await c.data(RULE, {"i": i}))["createAssignmentRule"]
    assert out["userErrors"] == [], out
    return out["rule"]


async def new_leads(account_id: int, n: int, **fields) -> list[int]:
    """Leads arriving unassigned and outside the pipeline (as a bought lead's copy
    does), each with its workspace_enter_lead job, as routing writes them."""
    ids = []
    async with in_transaction() as conn:
        for i in range(n):
            lead = await Lead.create(account_id=account_id, origin=LeadOrigin.MARKETPLACE, first_name=f"N{i}",
                                     phone=fields.get("phone", f"+1313555{i % 10000:04d}"),
                                     **{k: v for k, v in fields.items() if k != "phone"}, using_db=conn)
            await entry.enqueue_entry(lead.id, conn)
            ids.append(lead.id)
    await run_jobs(entry.ENTER_JOB)
    return ids


async def test_rules_are_tried_in_priority_order_and_record_which_rule_assigned(team):
    c = team.c_owner
    u = {k: gid("User", getattr(team, k).id) for k in ("manager", "rep", "peer", "rep2")}
    michigan = await rule(c, name="Michigan", method="SINGLE", userIds=[u["rep"]], conditions={"states": ["mi"]})
    no_phone = await rule(c, name="Find the number", method="SINGLE", userIds=[u["peer"]], conditions={"missingPhone": True})
    big_moves = await rule(c, name="Big moves", method="SINGLE", userIds=[u["rep2"]],
                           conditions={"data": {"move_size": ["4_bedrooms", "5_bedrooms"]}, "postalCodes": ["481"]})
    assert michigan["conditions"]["states"] == ["MI"] and no_phone["priority"] == 1 and big_moves["priority"] == 2

    [a] = await new_leads(team.account.id, 1, state="MI", phone="")
    data = (await c.data(LEAD, {"id": gid("Lead", a)}))["node"]
    assert data["assignee"]["id"] == u["rep"] and data["stage"]["name"] == "New Lead"
    assert data["assignment"]["method"] == "SINGLE" and data["assignment"]["ruleName"] == "Michigan"
    assert data["assignment"]["rule"]["id"] == michigan["id"] and data["assignment"]["atLocal"]

    # Put "Find the number" first: the same kind of lead now goes to the peer.
    await c.data(f"mutation($i: ReorderAssignmentRulesInput!) {{ reorderAssignmentRules(input: $i) {{ {ERRORS} }} }}",
                 {"i": {"ruleIds": [no_phone["id"]]}})
    settings = await c.data("{ assignmentSettings { rules { name priority } manualAssignee { id } } }")
    assert [r["name"] for r in settings["assignmentSettings"]["rules"]] == ["Find the number", "Michigan", "Big moves"]
    [b] = await new_leads(team.account.id, 1, state="MI", phone="")
    assert (await Lead.get(id=b)).assignee_id == team.peer.id
    [big] = await new_leads(team.account.id, 1, state="OH", postal_code="48104", data={"move_size": "4_bedrooms"})
    assert (await Lead.get(id=big)).assignee_id == team.rep2.id
    # A rule whose only user is barred is skipped; a lead no rule takes goes to the manual queue (the owner).
    await c.data("mutation($i: UserInput!) { barUser(input: $i) { userErrors { code } } }", {"i": {"userId": u["rep"]}})
    [skipped] = await new_leads(team.account.id, 1, state="MI")
    lead = await Lead.get(id=skipped)
    assert lead.assignee_id == team.owner.membership_id and lead.awaiting_assignment
    assert lead.assignment_method == "no_rule" and lead.assignment_rule_id is None
    # Rules and their details are the owner's.
    denied = await team.c_manager.post("{ assignmentSettings { rules { name } } }")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_manager = await team.c_manager.data(RULE, {"i": {"name": "x", "method": "SINGLE", "userIds": [u["rep"]]}})
    assert by_manager["createAssignmentRule"]["userErrors"][0]["code"] == "OWNER_REQUIRED"
    rep_view = (await team.c_manager.data(LEAD, {"id": gid("Lead", b)}))["node"]["assignment"]
    assert rep_view["ruleName"] == "Find the number" and rep_view["rule"] is None


async def test_rule_input_is_checked_by_field(team):
    c = team.c_owner
    bad = await c.data(RULE, {"i": {"name": "", "method": "SINGLE", "userIds": [gid("User", team.rep.id), gid("User", team.peer.id)],
                                     "conditions": {"states": ["ZZ"], "postalCodes": ["48a"], "data": {"Bad Key": ["x"]}}}})
    fields = {(e["field"], e["code"]) for e in bad["createAssignmentRule"]["userErrors"]}
    assert fields == {("name", "REQUIRED"), ("userIds", "INVALID"), ("conditions.states", "INVALID"),
                      ("conditions.postalCodes", "INVALID"), ("conditions.data", "INVALID")}
    other = await c.data(RULE, {"i": {"name": "x", "method": "ROUND_ROBIN", "userIds": [gid("User", team.owner_b.membership_id)]}})
    assert [(e["field"], e["code"]) for e in other["createAssignmentRule"]["userErrors"]] == [("userIds.0", "NOT_FOUND")]
    assert await AssignmentRule.filter(account_id=team.account.id).count() == 0


async def test_round_robin_is_exact_over_1000_leads_and_skips_barred_users(team):
    c = team.c_owner
    users = [team.rep, team.peer, team.rep2]
    await rule(c, name="Everyone in turn", method="ROUND_ROBIN", userIds=[gid("User", m.id) for m in users])
    first = await new_leads(team.account.id, 400)
    spread = Counter(await Lead.filter(id__in=first).values_list("assignee_id", flat=True))
    assert sorted(spread.values()) == [133, 133, 134] and set(spread) == {m.id for m in users}
    await c.data("mutation($i: UserInput!) { barUser(input: $i) { userErrors { code } } }",
                 {"i": {"userId": gid("User", team.peer.id)}})
    rest = await new_leads(team.account.id, 600)
    spread2 = Counter(await Lead.filter(id__in=rest).values_list("assignee_id", flat=True))
    assert spread2 == {team.rep.id: 300, team.rep2.id: 300}
    assert await Lead.filter(id__in=first + rest, assignment_method="round_robin").count() == 1000
    # Through the API too: each user's count of leads.
    totals = await c.data("{ users(first: 20) { edges { node { id leads(first: 1) { totalCount } } } } }")
    by_user = {e["node"]["id"]: e["node"]["leads"]["totalCount"] for e in totals["users"]["edges"]}
    assert by_user[gid("User", team.peer.id)] == spread[team.peer.id]
    assert by_user[gid("User", team.rep.id)] + by_user[gid("User", team.rep2.id)] == 1000 - spread[team.peer.id]


async def test_least_busy_goes_to_the_user_with_fewest_open_leads(team):
    c = team.c_owner
    owner = team.owner
    reason = (await pipeline.lost_reasons(owner))[0]
    for _ in range(3):
        await team.lead(team.rep)
    await team.lead(team.peer)
    for _ in range(5):  # closed leads are not work: rep2 counts 0
        lead = await team.lead(team.rep2)
        await pipeline.mark_lost(owner, lead.id, reason.id)
    await rule(c, name="Least busy", method="LEAST_BUSY", userIds=[gid("User", m.id) for m in (team.rep, team.peer, team.rep2)])
    ids = await new_leads(team.account.id, 4)
    got = Counter(await Lead.filter(id__in=ids).values_list("assignee_id", flat=True))
    assert got[team.rep.id] == 0 and got[team.rep2.id] + got[team.peer.id] == 4
    # Open leads after: rep 3, peer 1 + x, rep2 0 + y, as even as possible.
    assert {1 + got[team.peer.id], got[team.rep2.id]} == {2, 3}


async def test_manual_rules_and_the_manual_queue(team):
    c = team.c_owner
    await rule(c, name="Solar leads to the manager to dispatch", method="MANUAL", userIds=[gid("User", team.manager.id)],
               conditions={"states": ["CO"]})
    await c.data(f"mutation($i: SetManualAssigneeInput!) {{ setManualAssignee(input: $i) {{ settings {{ manualAssignee {{ id }} }} {ERRORS} }} }}",
                 {"i": {"userId": gid("User", team.manager2.id)}})
    [co] = await new_leads(team.account.id, 1, state="CO")
    [ny] = await new_leads(team.account.id, 1, state="NY")
    queue = """{ leads(first: 10, awaitingAssignment: true) { edges { node { id assignment { method ruleName } } } } }"""
    mine = (await team.c_manager.data(queue))["leads"]["edges"]
    assert [(e["node"]["id"], e["node"]["assignment"]["method"]) for e in mine] == [(gid("Lead", co), "MANUAL")]
    manager2 = await client_for_user(team, team.manager2)
    theirs = (await manager2.data(queue))["leads"]["edges"]
    assert [(e["node"]["id"], e["node"]["assignment"]["method"]) for e in theirs] == [(gid("Lead", ny), "NO_RULE")]
    # The dispatcher assigns by hand, within their team: the lead leaves the queue.
    out = await team.c_manager.data(ASSIGN, {"i": {"leadIds": [gid("Lead", co)], "assigneeId": gid("User", team.rep.id)}})
    assert out["assignLeads"]["assignedCount"] == 1
    assert (await team.c_manager.data(queue))["leads"]["edges"] == []
    view = (await team.c_rep.data(LEAD, {"id": gid("Lead", co)}))["node"]
    assert view["assignment"]["method"] == "BY_HAND" and not view["awaitingAssignment"]


async def client_for_user(team, m):
    return await client_for(team.client_factory, await email_of(m))


async def test_bulk_reassignment_stays_within_the_assigners_visibility(team):
    reps = [await team.lead(team.rep) for _ in range(3)]
    other_team = await team.lead(team.rep2)
    ids = [gid("Lead", x.id) for x in reps]
    # The manager moves the rep's leads to the peer (both below them).
    out = await team.c_manager.data(ASSIGN, {"i": {"leadIds": ids, "assigneeId": gid("User", team.peer.id)}})
    assert out["assignLeads"]["userErrors"] == [] and out["assignLeads"]["assignedCount"] == 3
    assert {x.assignee_id for x in await Lead.filter(id__in=[r.id for r in reps])} == {team.peer.id}
    # ...but never another team's lead, nor to another team's user.
    mixed = await team.c_manager.data(ASSIGN, {"i": {"leadIds": [ids[0], gid("Lead", other_team.id)],
                                                     "assigneeId": gid("User", team.rep.id)}})
    assert [(e["field"], e["code"]) for e in mixed["assignLeads"]["userErrors"]] == [("leadIds.1", "NOT_FOUND")]
    elsewhere = await team.c_manager.data(ASSIGN, {"i": {"leadIds": ids, "assigneeId": gid("User", team.rep2.id)}})
    assert [(e["field"], e["code"]) for e in elsewhere["assignLeads"]["userErrors"]] == [("assigneeId", "NOT_FOUND")]
    assert {x.assignee_id for x in await Lead.filter(id__in=[r.id for r in reps])} == {team.peer.id}  # unchanged
    # A rep can hand a lead only to themselves: the peer beside them is out of reach.
    mine = await team.lead(team.rep)
    sideways = await team.c_rep.data(ASSIGN, {"i": {"leadIds": [gid("Lead", mine.id)], "assigneeId": gid("User", team.peer.id)}})
    assert sideways["assignLeads"]["userErrors"][0]["code"] == "NOT_FOUND"
    # A barred user gets nothing; the owner reassigns across teams.
    await team.c_owner.data("mutation($i: UserInput!) { barUser(input: $i) { userErrors { code } } }",
                            {"i": {"userId": gid("User", team.rep2.id)}})
    barred = await team.c_owner.data(ASSIGN, {"i": {"leadIds": ids, "assigneeId": gid("User", team.rep2.id)}})
    assert barred["assignLeads"]["userErrors"][0]["code"] == "BARRED"
    across = await team.c_owner.data(ASSIGN, {"i": {"leadIds": [*ids, gid("Lead", other_team.id)],
                                                    "assigneeId": gid("User", team.manager2.id)}})
    assert across["assignLeads"]["assignedCount"] == 4
    too_many = await team.c_owner.data(ASSIGN, {"i": {"leadIds": [ids[0]] * 501, "assigneeId": gid("User", team.manager.id)}})
    assert too_many["assignLeads"]["userErrors"][0]["code"] == "TOO_LONG"


async def test_a_bought_lead_enters_the_buyers_pipeline_through_a_job_written_with_the_sale(db, client_factory):
    market = await Market().setup()
    offer = await market.offer(market.local, 2500)
    buyer_account, owner = await market.partner()
    rep = await make_user(owner)
    await market.campaign(owner, offer)
    c = await client_for(client_factory, owner.email)
    await rule(c, name="All to the rep", method="SINGLE", userIds=[gid("User", rep.id)])
    sold = await routing.route_lead((await market.lead()).id)
    [buyer_lead_id] = sold.buyer_lead_ids
    bought = await Lead.get(id=buyer_lead_id)
    assert bought.stage_id is None and bought.assignee_id is None  # nothing ran in the sale's transaction
    [job] = await OutboxJob.filter(name=entry.ENTER_JOB)
    assert job.payload == {"lead_id": buyer_lead_id}
    await run_jobs(entry.ENTER_JOB)
    view = (await c.data(LEAD, {"id": gid("Lead", buyer_lead_id)}))["node"]
    assert view["stage"]["name"] == "New Lead" and view["assignee"]["id"] == gid("User", rep.id)
    assert view["assignment"]["ruleName"] == "All to the rep"
    # At least once: running the job again changes nothing.
    await entry.enter_lead(buyer_lead_id)
    assert (await Lead.get(id=buyer_lead_id)).assigned_at == (await Lead.get(id=buyer_lead_id)).assigned_at
    assert await AssignmentRule.filter(account_id=buyer_account.id).values_list("turn", flat=True) == [1]


async def _two_process_run(url: str) -> None:
    async with separate_database(url, create=True):
        from leadwire.core import db as lwdb

        await lwdb.migrate()
        account, owner = await make_account("Concurrent")
        users = [await make_user(owner) for _ in range(3)]
        more = [await make_user(owner) for _ in range(3)]
        await assignment.create_rule(owner, name="rr", method="round_robin", user_ids=[u.id for u in users],
                                     conditions=assignment.RuleConditions(states=["MI"]))
        await assignment.create_rule(owner, name="lb", method="least_busy", user_ids=[u.id for u in more],
                                     conditions=assignment.RuleConditions(states=["OH"]))
        ids = []
        for i in range(600):
            lead = await Lead.create(account_id=account.id, first_name=str(i), phone=f"+1313555{i:04d}",
                                     state="MI" if i % 2 else "OH")
            ids.append(lead.id)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "workspace_worker.py"), url, *map(str, half), cwd=HERE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for half in (ids[0::2] + ids[1::4], ids[1::2] + ids[0::4])  # overlapping: some leads entered twice at once
    ]
    for p in procs:
        out, err = await asyncio.wait_for(p.communicate(), 240)
        assert p.returncode == 0, err.decode()[-3000:]
    async with separate_database(url):
        mi = Counter(await Lead.filter(state="MI").values_list("assignee_id", flat=True))
        assert sorted(mi.values()) == [100, 100, 100], mi  # exact: 300 leads over 3 users
        oh = Counter(await Lead.filter(state="OH").values_list("assignee_id", flat=True))
        assert sorted(oh.values()) == [100, 100, 100], oh  # least busy with equal starts: exact too
        assert await Lead.filter(stage_id__isnull=True).count() == 0
        assert sum(await AssignmentRule.all().values_list("turn", flat=True)) == 600  # each lead entered once
        assert await PipelineStage.all().count() == 3


async def test_round_robin_and_least_busy_hold_across_two_processes_on_postgres():
    if not POSTGRES_URL:
        service_skip("multi-process assignment on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    url = POSTGRES_URL.replace("{}", "assign_{}").format(uuid.uuid4().hex[:12])
    try:
        await _two_process_run(url)
    finally:
        await drop_postgres_database(url)
