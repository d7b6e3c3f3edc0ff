"""The pipeline and lost reasons through the public API (seed 003): the default
pipeline, the owner's changes, the 7-stage limit (also under concurrent adds),
deleting a stage with leads, moving leads, won and lost with a required
reason, archived reasons keeping their history, the lost-reasons report in the
viewer's time zone and the account's currency, deleting lost leads, and who
may do what."""

import asyncio
import datetime as dt

import pytest

from leadwire.core.access import Viewer
from leadwire.core.models.leads import Lead
from leadwire.core.models.workspace import PipelineStage, Workspace
from leadwire.core.workspace import pipeline

from factories import viewer_for
from workspace import ERRORS, PIPELINE, Team, gid, pk

ADD = f"mutation($i: AddPipelineStageInput!) {{ addPipelineStage(input: $i) {{ stage {{ id name position }} {ERRORS} }} }}"
DELETE = f"mutation($i: DeletePipelineStageInput!) {{ deletePipelineStage(input: $i) {{ pipeline {{ stages {{ name leadCount }} }} {ERRORS} }} }}"
MOVE = f"""mutation($i: MoveLeadToStageInput!) {{ moveLeadToStage(input: $i) {{
  lead {{ id stage {{ name }} outcome closedAt lostReason {{ name archived }} }} {ERRORS} }} }}"""
LOST = f"mutation($i: MarkLeadLostInput!) {{ markLeadLost(input: $i) {{ lead {{ outcome lostReason {{ id name }} stage {{ kind }} }} {ERRORS} }} }}"
REASONS = "query($a: Boolean!) { lostReasons(includeArchived: $a) { id name archived } }"
REPORT = """query($s: Date!, $e: Date!) { lostReasonsReport(start: $s, end: $e) { timeZone startsAt endsAt leadCount
  value { amountMinor currency } rows { reason { name archived } leadCount value { amountMinor currency } } } }"""


@pytest.fixture
async def team(client_factory, db):
    return await Team().setup(client_factory)


async def test_a_new_account_starts_with_seed_003s_simple_pipeline(team):
    data = await team.c_rep.data(PIPELINE)
    stages = data["pipeline"]["stages"]
    assert [(s["name"], s["probability"], s["kind"]) for s in stages] == [
        ("New Lead", 10, "OPEN"), ("Opportunity", 50, "OPEN"), ("Sale/Lost", 100, "CLOSING")]
    assert data["pipeline"]["maxStages"] == 7 and data["pipeline"]["currency"] == "USD"
    reasons = await team.c_rep.data(REASONS, {"a": False})
    assert "Bought from a competitor" in [r["name"] for r in reasons["lostReasons"]]
    # Another account's pipeline is its own.
    other = await team.c_owner_b.data(PIPELINE)
    assert {s["id"] for s in other["pipeline"]["stages"]}.isdisjoint({s["id"] for s in stages})


async def test_the_owner_amends_the_pipeline_and_the_eighth_stage_is_refused(team):
    c = team.c_owner
    added = []
    for name in ("Meeting", "Proposal", "Quote", "Negotiation"):
        out = (await c.data(ADD, {"i": {"name": name, "probability": 30}}))["addPipelineStage"]
        assert out["userErrors"] == [], out
        added.append(out["stage"])
    stages = await team.stages()
    assert [s["name"] for s in stages] == ["New Lead", "Opportunity", "Meeting", "Proposal", "Quote", "Negotiation", "Sale/Lost"]
    eighth = (await c.data(ADD, {"i": {"name": "Contract"}}))["addPipelineStage"]
    assert eighth["stage"] is None
    assert eighth["userErrors"] == [{"field": None, "code": "LIMIT_REACHED", "message": eighth["userErrors"][0]["message"]}]
    assert "7 stages" in eighth["userErrors"][0]["message"]
    assert len(await team.stages()) == 7

    # Rename, amend a probability, reorder (closing stays last), bad input by field.
    upd = await c.data(f"""mutation($i: UpdatePipelineStageInput!) {{ updatePipelineStage(input: $i) {{
        stage {{ name probability }} {ERRORS} }} }}""", {"i": {"stageId": added[0]["id"], "name": "First meeting", "probability": 25}})
    assert upd["updatePipelineStage"]["stage"] == {"name": "First meeting", "probability": 25}
    bad = await c.data(f"""mutation($i: UpdatePipelineStageInput!) {{ updatePipelineStage(input: $i) {{ {ERRORS} }} }}""",
                       {"i": {"stageId": added[1]["id"], "probability": 140}})
    assert [(e["field"], e["code"]) for e in bad["updatePipelineStage"]["userErrors"]] == [("probability", "INVALID")]
    dup = await c.data(f"""mutation($i: UpdatePipelineStageInput!) {{ updatePipelineStage(input: $i) {{ {ERRORS} }} }}""",
                       {"i": {"stageId": added[1]["id"], "name": "new lead"}})
    assert [(e["field"], e["code"]) for e in dup["updatePipelineStage"]["userErrors"]] == [("name", "DUPLICATE")]
    closing = next(s for s in await team.stages() if s["kind"] == "CLOSING")
    closing_prob = await c.data(f"""mutation($i: UpdatePipelineStageInput!) {{ updatePipelineStage(input: $i) {{ {ERRORS} }} }}""",
                                {"i": {"stageId": closing["id"], "probability": 80}})
    assert closing_prob["updatePipelineStage"]["userErrors"][0]["field"] == "probability"
    ids = [s["id"] for s in await team.stages()]
    wrong = await c.data(f"mutation($i: ReorderPipelineStagesInput!) {{ reorderPipelineStages(input: $i) {{ {ERRORS} }} }}",
                         {"i": {"stageIds": [ids[-1], *ids[:-1]]}})
    assert wrong["reorderPipelineStages"]["userErrors"][0]["field"] == "stageIds"
    new_order = [ids[2], ids[0], ids[1], *ids[3:]]
    ok = await c.data(f"""mutation($i: ReorderPipelineStagesInput!) {{ reorderPipelineStages(input: $i) {{
        pipeline {{ stages {{ id position }} }} {ERRORS} }} }}""", {"i": {"stageIds": new_order}})
    assert [s["id"] for s in ok["reorderPipelineStages"]["pipeline"]["stages"]] == new_order

    # Replacing a stage works at the limit (the count does not change).
    rep = await c.data(f"""mutation($i: ReplacePipelineStageInput!) {{ replacePipelineStage(input: $i) {{
        stage {{ id name position probability }} {ERRORS} }} }}""", {"i": {"stageId": added[2]["id"], "name": "Estimate"}})
    assert rep["replacePipelineStage"]["userErrors"] == []
    assert rep["replacePipelineStage"]["stage"]["name"] == "Estimate"
    assert len(await team.stages()) == 7


async def test_only_the_owner_changes_the_pipeline(team):
    for client in (team.c_manager, team.c_rep):
        out = await client.data(ADD, {"i": {"name": "Mine"}})
        assert out["addPipelineStage"]["userErrors"][0]["code"] == "OWNER_REQUIRED"
    assert len(await team.stages()) == 3


async def test_two_concurrent_adds_to_a_pipeline_of_six_make_one_seventh_stage(team):
    """The limit is a conditional update of the workspace row: it holds across
    connections and processes (on PostgreSQL the adds really run at once)."""
    owner = team.owner
    for name in ("A", "B", "C"):
        await pipeline.add_stage(owner, name=name)
    results = await asyncio.gather(
        *(pipeline.add_stage(owner, name=f"Concurrent {i}") for i in range(4)), return_exceptions=True
    )
    made = [r for r in results if isinstance(r, PipelineStage)]
    refused = [r for r in results if not isinstance(r, PipelineStage)]
    assert len(made) == 1, results
    assert all(getattr(r, "errors", [None])[0].code.name == "LIMIT_REACHED" for r in refused), refused
    assert await PipelineStage.filter(account_id=team.account.id).count() == 7
    assert (await Workspace.get(account_id=team.account.id)).stage_count == 7
    positions = sorted(await PipelineStage.filter(account_id=team.account.id).values_list("position", flat=True))
    assert positions == list(range(7))


async def test_deleting_a_stage_with_leads_needs_a_target_stage_and_moves_them(team):
    c = team.c_owner
    meeting = (await c.data(ADD, {"i": {"name": "Meeting", "probability": 30}}))["addPipelineStage"]["stage"]
    stages = {s["name"]: s for s in await team.stages()}
    leads = [await team.lead(team.rep) for _ in range(3)]
    for lead in leads:
        out = await c.data(MOVE, {"i": {"leadId": gid("Lead", lead.id), "stageId": meeting["id"]}})
        assert out["moveLeadToStage"]["lead"]["stage"]["name"] == "Meeting"
    refused = await c.data(DELETE, {"i": {"stageId": meeting["id"]}})
    assert [(e["field"], e["code"]) for e in refused["deletePipelineStage"]["userErrors"]] == [
        ("moveLeadsToStageId", "REQUIRED")]
    assert "3 lead(s)" in refused["deletePipelineStage"]["userErrors"][0]["message"]
    to_closing = await c.data(DELETE, {"i": {"stageId": meeting["id"], "moveLeadsToStageId": stages["Sale/Lost"]["id"]}})
    assert to_closing["deletePipelineStage"]["userErrors"][0]["field"] == "moveLeadsToStageId"
    assert len(await team.stages()) == 4  # nothing changed
    done = await c.data(DELETE, {"i": {"stageId": meeting["id"], "moveLeadsToStageId": stages["Opportunity"]["id"]}})
    assert done["deletePipelineStage"]["userErrors"] == []
    assert [(s["name"], s["leadCount"]) for s in done["deletePipelineStage"]["pipeline"]["stages"]] == [
        ("New Lead", 0), ("Opportunity", 3), ("Sale/Lost", 0)]
    assert {lead.stage_id for lead in await Lead.filter(id__in=[x.id for x in leads])} == {pk(stages["Opportunity"]["id"])}
    # The closing stage and the last open stage cannot go.
    closing = await c.data(DELETE, {"i": {"stageId": stages["Sale/Lost"]["id"]}})
    assert closing["deletePipelineStage"]["userErrors"][0]["code"] == "INVALID"
    await c.data(DELETE, {"i": {"stageId": stages["Opportunity"]["id"], "moveLeadsToStageId": stages["New Lead"]["id"]}})
    last = await c.data(DELETE, {"i": {"stageId": stages["New Lead"]["id"]}})
    assert "at least one open stage" in last["deletePipelineStage"]["userErrors"][0]["message"]


async def test_marking_lost_requires_a_current_reason_and_won_lost_are_terminal(team):
    lead = await team.lead(team.rep)
    lid = gid("Lead", lead.id)
    stages = {s["name"]: s["id"] for s in await team.stages()}
    reasons = {r["name"]: r["id"] for r in (await team.c_rep.data(REASONS, {"a": False}))["lostReasons"]}

    no_reason = await team.c_rep.data(LOST, {"i": {"leadId": lid}})
    assert [(e["field"], e["code"]) for e in no_reason["markLeadLost"]["userErrors"]] == [("lostReasonId", "REQUIRED")]
    closing_without_outcome = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Sale/Lost"]}})
    assert closing_without_outcome["moveLeadToStage"]["userErrors"][0]["field"] == "outcome"
    lost_without_reason = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Sale/Lost"], "outcome": "LOST"}})
    assert lost_without_reason["moveLeadToStage"]["userErrors"][0]["field"] == "lostReasonId"
    outcome_on_open = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Opportunity"], "outcome": "WON"}})
    assert outcome_on_open["moveLeadToStage"]["userErrors"][0]["field"] == "outcome"
    assert (await Lead.get(id=lead.id)).outcome is None  # nothing changed

    lost = await team.c_rep.data(LOST, {"i": {"leadId": lid, "lostReasonId": reasons["Time waster"]}})
    assert lost["markLeadLost"]["lead"]["outcome"] == "LOST"
    assert lost["markLeadLost"]["lead"]["lostReason"]["name"] == "Time waster"
    assert lost["markLeadLost"]["lead"]["stage"]["kind"] == "CLOSING"

    # Archive the reason: no longer offered, the lead keeps it, and a new loss cannot use it.
    arch = await team.c_owner.data(f"""mutation($i: UpdateLostReasonInput!) {{ updateLostReason(input: $i) {{
        lostReason {{ archived }} {ERRORS} }} }}""", {"i": {"lostReasonId": reasons["Time waster"], "archived": True}})
    assert arch["updateLostReason"]["lostReason"]["archived"] is True
    assert "Time waster" not in [r["name"] for r in (await team.c_rep.data(REASONS, {"a": False}))["lostReasons"]]
    assert "Time waster" in [r["name"] for r in (await team.c_rep.data(REASONS, {"a": True}))["lostReasons"]]
    kept = await team.c_rep.data("query($id: ID!) { node(id: $id) { ... on Lead { lostReason { name archived } } } }",
                                 {"id": lid})
    assert kept["node"]["lostReason"] == {"name": "Time waster", "archived": True}
    other = await team.lead(team.rep)
    refused = await team.c_rep.data(LOST, {"i": {"leadId": gid("Lead", other.id), "lostReasonId": reasons["Time waster"]}})
    assert [(e["field"], e["code"]) for e in refused["markLeadLost"]["userErrors"]] == [("lostReasonId", "INVALID")]
    # A reason in use cannot be deleted (archive it); an unused one can.
    in_use = await team.c_owner.data(f"mutation($i: LostReasonIdInput!) {{ deleteLostReason(input: $i) {{ {ERRORS} }} }}",
                                     {"i": {"lostReasonId": reasons["Time waster"]}})
    assert in_use["deleteLostReason"]["userErrors"][0]["code"] == "IN_USE"
    gone = await team.c_owner.data(f"mutation($i: LostReasonIdInput!) {{ deleteLostReason(input: $i) {{ deletedId {ERRORS} }} }}",
                                   {"i": {"lostReasonId": reasons["No immediate need"]}})
    assert gone["deleteLostReason"]["userErrors"] == []

    # Won, then re-opened: the outcome and the reason go with the move back.
    won = await team.c_rep.data(f"mutation($i: LeadIdInput!) {{ markLeadWon(input: $i) {{ lead {{ outcome lostReason {{ name }} }} {ERRORS} }} }}",
                                {"i": {"leadId": lid}})
    assert won["markLeadWon"]["lead"] == {"outcome": "WON", "lostReason": None}
    reopened = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Opportunity"]}})
    assert reopened["moveLeadToStage"]["lead"]["outcome"] is None and reopened["moveLeadToStage"]["lead"]["closedAt"] is None


async def test_lost_reasons_report_counts_and_values_in_the_viewers_time_zone_and_visibility(team):
    c = team.c_owner
    await c.data('mutation { updateAccount(input: {currency: "EUR"}) { userErrors { code } } }')
    await c.data('mutation { updateProfile(input: {timeZone: "America/Detroit"}) { userErrors { code } } }')
    reasons = {r["name"]: pk(r["id"]) for r in (await c.data(REASONS, {"a": False}))["lostReasons"]}
    competitor, unable = reasons["Bought from a competitor"], reasons["Unable to contact"]
    owner = await viewer_for(await _membership(team.owner))
    # Lost leads: the rep's two, the other team's one; closed times around Detroit's midnight.
    cases = [
        (team.rep, competitor, 50_000, dt.datetime(2026, 11, 2, 3, 30, tzinfo=dt.timezone.utc)),  # Nov 1, 23:30 Detroit
        (team.rep, competitor, 20_000, dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc)),
        (team.rep2, unable, 7_000, dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.timezone.utc)),
        (team.rep, unable, 1_000, dt.datetime(2026, 11, 4, 5, 30, tzinfo=dt.timezone.utc)),  # Nov 4 00:30 Detroit
    ]
    for assignee, reason, value, closed_at in cases:
        lead = await team.lead(assignee)
        await pipeline.set_value(owner, lead.id, value)
        await pipeline.mark_lost(owner, lead.id, reason)
        await Lead.filter(id=lead.id).update(closed_at=closed_at)
    report = (await c.data(REPORT, {"s": "2026-11-02", "e": "2026-11-03"}))["lostReasonsReport"]
    assert report["timeZone"] == "America/Detroit"
    assert report["startsAt"].startswith("2026-11-02T05:00:00")  # midnight in Detroit (EST after Nov 1)
    rows = {r["reason"]["name"]: (r["leadCount"], r["value"]["amountMinor"]) for r in report["rows"]}
    assert rows["Bought from a competitor"] == (1, 20_000)  # the 23:30 Nov 1 loss is outside
    assert rows["Unable to contact"] == (1, 7_000)
    assert report["leadCount"] == 2 and report["value"] == {"amountMinor": 27_000, "currency": "EUR"}
    # The manager of the rep's team sees only their team's losses.
    mine = (await team.c_manager.data(REPORT, {"s": "2026-11-01", "e": "2026-11-30"}))["lostReasonsReport"]
    assert mine["leadCount"] == 3 and mine["value"]["amountMinor"] == 71_000
    bad = await c.post(REPORT, {"s": "2026-11-05", "e": "2026-11-01"})
    assert "ends before it starts" in bad["errors"][0]["message"]


async def _membership(viewer: Viewer):
    from leadwire.core.models.identity import Membership

    return await Membership.get(id=viewer.membership_id)


async def test_a_rep_never_works_another_teams_lead(team):
    theirs = await team.lead(team.rep2)
    peer_lead = await team.lead(team.peer)
    stages = {s["name"]: s["id"] for s in await team.stages()}
    for lead in (theirs, peer_lead):
        out = await team.c_rep.data(MOVE, {"i": {"leadId": gid("Lead", lead.id), "stageId": stages["Opportunity"]}})
        assert [(e["field"], e["code"]) for e in out["moveLeadToStage"]["userErrors"]] == [("leadId", "NOT_FOUND")]
    # Another account's stage is not found either.
    other_stage = (await team.c_owner_b.data(PIPELINE))["pipeline"]["stages"][1]["id"]
    mine = await team.lead(team.rep)
    out = await team.c_rep.data(MOVE, {"i": {"leadId": gid("Lead", mine.id), "stageId": other_stage}})
    assert [(e["field"], e["code"]) for e in out["moveLeadToStage"]["userErrors"]] == [("stageId", "NOT_FOUND")]
    assert (await team.c_rep.data("query($id: ID!) { node(id: $id) { id } }", {"id": other_stage}))["node"] is None
    # The manager sees both team leads on the board counts, the rep only theirs.
    await pipeline.move_lead(team.owner, peer_lead.id, pk(stages["Opportunity"]))
    await pipeline.move_lead(team.owner, mine.id, pk(stages["Opportunity"]))
    await pipeline.move_lead(team.owner, theirs.id, pk(stages["Opportunity"]))
    counts = lambda data: {s["name"]: s["leadCount"] for s in data["pipeline"]["stages"]}  # noqa: E731
    assert counts(await team.c_rep.data(PIPELINE))["Opportunity"] == 1
    assert counts(await team.c_manager.data(PIPELINE))["Opportunity"] == 2
    assert counts(await team.c_owner.data(PIPELINE))["Opportunity"] == 3


async def test_lead_values_are_in_the_accounts_currency_and_lists_filter_by_stage(team):
    c = team.c_owner
    lead = await team.lead(team.rep)
    out = await c.data(f"""mutation($i: SetLeadValueInput!) {{ setLeadValue(input: $i) {{ lead {{ value {{ amountMinor currency }} }} {ERRORS} }} }}""",
                       {"i": {"leadId": gid("Lead", lead.id), "valueMinor": 125_000}})
    assert out["setLeadValue"]["lead"]["value"] == {"amountMinor": 125_000, "currency": "USD"}
    neg = await c.data(f"mutation($i: SetLeadValueInput!) {{ setLeadValue(input: $i) {{ {ERRORS} }} }}",
                       {"i": {"leadId": gid("Lead", lead.id), "valueMinor": -5}})
    assert neg["setLeadValue"]["userErrors"][0]["field"] == "valueMinor"
    await c.data('mutation { updateAccount(input: {currency: "GBP"}) { userErrors { code } } }')
    stages = {s["name"]: s["id"] for s in await team.stages()}
    await c.data(MOVE, {"i": {"leadId": gid("Lead", lead.id), "stageId": stages["Opportunity"]}})
    board = {s["name"]: s for s in await team.stages()}
    assert board["Opportunity"]["value"] == {"amountMinor": 125_000, "currency": "GBP"}
    weighted = await c.data("{ pipeline { stages { name weightedValue { amountMinor } } } }")
    assert {s["name"]: s["weightedValue"]["amountMinor"] for s in weighted["pipeline"]["stages"]}["Opportunity"] == 62_500
    listed = await c.data("query($s: ID!) { leads(first: 10, stageId: $s) { totalCount edges { node { id } } } }",
                          {"s": stages["Opportunity"]})
    assert listed["leads"]["totalCount"] == 1


async def test_lost_leads_can_be_deleted_by_the_owner_and_vanish_everywhere(team):
    lead, open_lead = await team.lead(team.rep), await team.lead(team.rep)
    reason = (await team.c_owner.data(REASONS, {"a": False}))["lostReasons"][0]["id"]
    await team.c_rep.data(LOST, {"i": {"leadId": gid("Lead", lead.id), "lostReasonId": reason}})
    DEL = f"mutation($i: DeleteLostLeadsInput!) {{ deleteLostLeads(input: $i) {{ deletedCount {ERRORS} }} }}"
    by_rep = await team.c_rep.data(DEL, {"i": {"leadIds": [gid("Lead", lead.id)]}})
    assert by_rep["deleteLostLeads"]["userErrors"][0]["code"] == "OWNER_REQUIRED"
    not_lost = await team.c_owner.data(DEL, {"i": {"leadIds": [gid("Lead", lead.id), gid("Lead", open_lead.id)]}})
    assert [(e["field"], e["code"]) for e in not_lost["deleteLostLeads"]["userErrors"]] == [("leadIds.1", "INVALID")]
    done = await team.c_owner.data(DEL, {"i": {"leadIds": [gid("Lead", lead.id)]}})
    assert done["deleteLostLeads"] == {"deletedCount": 1, "userErrors": []}
    for client in (team.c_owner, team.c_rep):
        assert (await client.data("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Lead", lead.id)}))["node"] is None
        ids = [e["node"]["id"] for e in (await client.data("{ leads(first: 50) { edges { node { id } } } }"))["leads"]["edges"]]
        assert gid("Lead", lead.id) not in ids and gid("Lead", open_lead.id) in ids
