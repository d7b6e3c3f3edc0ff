"""The workspace's API as a whole: lists cost the same number of queries for few
or many rows (DataLoaders), dates shown in the viewer's own time zone, money in
the account's currency, and leads added by hand."""

import logging

import pytest

from leadwire.core.workspace import assignment, feedback, pipeline
from leadwire.core.models.workspace import QuestionKind

from workspace import ERRORS, Team, gid

@pytest.fixture
async def team(client_factory, db):
    return await Team().setup(client_factory)


async def count_queries(caplog, client, query, variables=None) -> tuple[int, dict]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        data = await client.data(query, variables)
    # The query-cost budget's statement (schema/cost.py) is per request, not per resolver: not counted.
    return sum(1 for r in caplog.records if r.name == "tortoise.db_client" and "query_budget" not in r.getMessage()), data


async def test_workspace_lists_cost_the_same_queries_for_few_or_many_rows(team, caplog):
    owner = team.owner
    reason = (await pipeline.lost_reasons(owner))[0]
    q1 = await feedback.create_question(owner, text="Budget?", kind=QuestionKind.NUMBER)
    q2 = await feedback.create_question(owner, text="When?", kind=QuestionKind.CHOICE, choices=["Soon", "Later"])
    choice = (await q2.choices.all())[0]
    await assignment.create_rule(owner, name="All", method="round_robin", user_ids=[team.rep.id, team.peer.id],
                                 conditions=assignment.RuleConditions())
    from workspace import run_jobs
    from test_workspace_assignment import new_leads

    ids = await new_leads(team.account.id, 15)
    for n, lead_id in enumerate(ids):
        await pipeline.set_value(owner, lead_id, 1000 * n)
        await feedback.answer(owner, lead_id, [feedback.AnswerIn(q1.id, n), feedback.AnswerIn(q2.id, None, choice.id)])
        if n % 3 == 0:
            await pipeline.mark_lost(owner, lead_id, reason.id)
    await run_jobs()
    leads = """query($n: Int!) { leads(first: $n) { edges { node { id createdAtLocal stage { name leadCount } outcome
      lostReason { name } value { amountMinor currency } awaitingAssignment assignee { name }
      assignment { method ruleName rule { name users { name } } atLocal }
      feedback { value question { text choices { label } requiredAtStage { name } } choice { label } answeredBy { name } } } } } }"""
    small, data = await count_queries(caplog, team.c_owner, leads, {"n": 5})
    assert len(data["leads"]["edges"]) == 5
    large, data = await count_queries(caplog, team.c_owner, leads, {"n": 15})
    assert len(data["leads"]["edges"]) == 15
    assert small == large, (small, large)

    for _ in range(4):
        await pipeline.add_stage(owner, name=f"Stage {_}")
    board = "{ pipeline { stages { name leadCount value { amountMinor } weightedValue { amountMinor } wonCount lostCount } } }"
    n_board, data = await count_queries(caplog, team.c_owner, board)
    assert len(data["pipeline"]["stages"]) == 7 and n_board <= 6, n_board

    rules = "{ assignmentSettings { manualAssignee { name } rules { name users { name } conditions { products { name } industries { name } } } } }"
    few, _ = await count_queries(caplog, team.c_owner, rules)
    for i in range(5):
        await assignment.create_rule(owner, name=f"R{i}", method="single", user_ids=[team.manager.id],
                                     conditions=assignment.RuleConditions(states=["MI"]))
    many, data = await count_queries(caplog, team.c_owner, rules)
    assert len(data["assignmentSettings"]["rules"]) == 6 and few == many, (few, many)

    questions = "{ feedbackQuestions(includeArchived: true) { text choices { label } requiredAtStage { name } } }"
    few, _ = await count_queries(caplog, team.c_owner, questions)
    for i in range(4):
        await feedback.create_question(owner, text=f"Q{i}", kind=QuestionKind.CHOICE, choices=["a", "b"])
    many, data = await count_queries(caplog, team.c_owner, questions)
    assert len(data["feedbackQuestions"]) == 6 and few == many, (few, many)


async def test_dates_in_the_viewers_time_zone_and_money_in_the_accounts_currency(team):
    await team.c_owner.data('mutation { updateAccount(input: {currency: "JPY"}) { userErrors { code } } }')
    await team.c_rep.data('mutation { updateProfile(input: {timeZone: "Asia/Tokyo"}) { userErrors { code } } }')
    lead = await team.lead(team.rep)
    await pipeline.set_value(team.owner, lead.id, 150000)
    q = "query($id: ID!) { node(id: $id) { ... on Lead { createdAt createdAtLocal value { amountMinor currency } } } }"
    rep = (await team.c_rep.data(q, {"id": gid("Lead", lead.id)}))["node"]
    owner = (await team.c_owner.data(q, {"id": gid("Lead", lead.id)}))["node"]
    assert rep["createdAt"] == owner["createdAt"] and rep["createdAt"].endswith("+00:00")  # UTC in the data
    assert rep["createdAtLocal"].endswith("+09:00") and owner["createdAtLocal"].endswith("+00:00")
    assert rep["value"] == {"amountMinor": 150000, "currency": "JPY"}


async def test_a_lead_added_by_hand_lands_on_the_first_stage_and_follows_the_rules(team):
    CREATE = f"""mutation($i: CreateLeadInput!) {{ createLead(input: $i) {{ lead {{ id origin stage {{ name }}
        assignee {{ id }} assignment {{ method }} city state }} {ERRORS} }} }}"""
    bad = await team.c_rep.data(CREATE, {"i": {"firstName": "Al", "phone": "nope", "postalCode": "1"}})
    assert {(e["field"], e["code"]) for e in bad["createLead"]["userErrors"]} == {("phone", "INVALID"), ("postalCode", "INVALID")}
    mine = await team.c_rep.data(CREATE, {"i": {"firstName": "Al", "phone": "313 555 0142", "postalCode": "48104",
                                                "assigneeId": gid("User", team.rep.id)}})
    lead = mine["createLead"]["lead"]
    assert (lead["origin"], lead["stage"]["name"], lead["assignee"]["id"], lead["assignment"]["method"]) == (
        "MANUAL", "New Lead", gid("User", team.rep.id), "BY_HAND")
    assert (lead["city"], lead["state"]) == ("Ann Arbor", "MI")
    sideways = await team.c_rep.data(CREATE, {"i": {"firstName": "Bo", "email": "bo@example.com",
                                                    "assigneeId": gid("User", team.peer.id)}})
    assert sideways["createLead"]["userErrors"][0]["field"] == "assigneeId"
    by_rules = await team.c_owner.data(CREATE, {"i": {"firstName": "Cy", "email": "cy@example.com"}})
    assert by_rules["createLead"]["lead"]["assignment"]["method"] == "NO_RULE"  # to the manual queue: the owner

