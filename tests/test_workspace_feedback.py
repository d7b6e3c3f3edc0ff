"""Feedback questions through the public API (seed 003): the owner's ordered
questions of four kinds, compulsory ones blocking the stage move that needs
them, archiving a question or a choice keeping every answer, deleting, and
answering within the visibility rules."""

import pytest

from leadwire.core.models.workspace import FeedbackAnswer

from workspace import ERRORS, Team, gid

CREATE = f"""mutation($i: CreateFeedbackQuestionInput!) {{ createFeedbackQuestion(input: $i) {{
  question {{ id text kind compulsory position requiredAtStage {{ name }} choices {{ id label archived }} }} {ERRORS} }} }}"""
UPDATE = f"""mutation($i: UpdateFeedbackQuestionInput!) {{ updateFeedbackQuestion(input: $i) {{
  question {{ id archived compulsory }} {ERRORS} }} }}"""
ANSWER = f"""mutation($i: AnswerFeedbackInput!) {{ answerFeedback(input: $i) {{
  lead {{ feedback {{ value question {{ text archived }} choice {{ label archived }} answeredBy {{ name }} answeredAtLocal }} }}
  {ERRORS} }} }}"""
MOVE = f"mutation($i: MoveLeadToStageInput!) {{ moveLeadToStage(input: $i) {{ lead {{ stage {{ name }} }} {ERRORS} }} }}"
QUESTIONS = "query($a: Boolean!) { feedbackQuestions(includeArchived: $a) { id text archived position } }"
LEAD_FEEDBACK = "query($id: ID!) { node(id: $id) { ... on Lead { feedback { value question { text archived } choice { label archived } } } } }"


@pytest.fixture
async def team(client_factory, db):
    return await Team().setup(client_factory)


async def make(c, **i):
    out = (await c.data(CREATE, {"i": i}))["createFeedbackQuestion"]
    assert out["userErrors"] == [], out
    return out["question"]


async def test_owner_sets_up_ordered_questions_of_every_kind_and_bad_input_is_refused_by_field(team):
    c = team.c_owner
    budget = await make(c, text="What is the budget?", kind="NUMBER")
    owner_q = await make(c, text="Is the homeowner the decision maker?", kind="YES_NO")
    timing = await make(c, text="When do they want to start?", kind="CHOICE", choices=["This month", "Next quarter", "Later"])
    notes = await make(c, text="Notes from the first call", kind="TEXT")
    assert [q["position"] for q in (budget, owner_q, timing, notes)] == [0, 1, 2, 3]
    assert [ch["label"] for ch in timing["choices"]] == ["This month", "Next quarter", "Later"]

    bad = await c.data(CREATE, {"i": {"text": " ", "kind": "CHOICE", "choices": ["Only one"]}})
    assert {(e["field"], e["code"]) for e in bad["createFeedbackQuestion"]["userErrors"]} == {
        ("text", "REQUIRED"), ("choices", "REQUIRED")}
    dup = await c.data(CREATE, {"i": {"text": "Colour?", "kind": "CHOICE", "choices": ["Red", "red"]}})
    assert [(e["field"], e["code"]) for e in dup["createFeedbackQuestion"]["userErrors"]] == [("choices.1", "DUPLICATE")]
    extra = await c.data(CREATE, {"i": {"text": "Age?", "kind": "NUMBER", "choices": ["1"]}})
    assert extra["createFeedbackQuestion"]["userErrors"][0]["field"] == "choices"
    by_rep = await team.c_rep.data(CREATE, {"i": {"text": "Mine?", "kind": "TEXT"}})
    assert by_rep["createFeedbackQuestion"]["userErrors"][0]["code"] == "OWNER_REQUIRED"

    reordered = await c.data(f"""mutation($i: ReorderFeedbackQuestionsInput!) {{ reorderFeedbackQuestions(input: $i) {{
        questions {{ text }} {ERRORS} }} }}""", {"i": {"questionIds": [notes["id"], budget["id"]]}})
    assert [q["text"] for q in reordered["reorderFeedbackQuestions"]["questions"]] == [
        "Notes from the first call", "What is the budget?", "Is the homeowner the decision maker?", "When do they want to start?"]
    # Every user of the account reads them (to answer them); another account sees none.
    assert len((await team.c_rep.data(QUESTIONS, {"a": False}))["feedbackQuestions"]) == 4
    assert (await team.c_owner_b.data(QUESTIONS, {"a": True}))["feedbackQuestions"] == []


async def test_answers_are_checked_by_kind_and_only_on_leads_you_see(team):
    c = team.c_owner
    budget = await make(c, text="Budget?", kind="NUMBER")
    yes_no = await make(c, text="Homeowner?", kind="YES_NO")
    timing = await make(c, text="When?", kind="CHOICE", choices=["Soon", "Later"])
    lead = await team.lead(team.rep)
    lid = gid("Lead", lead.id)
    bad = await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [
        {"questionId": budget["id"], "value": "lots"},
        {"questionId": yes_no["id"], "value": "yes"},
        {"questionId": timing["id"], "value": "Soon"},
    ]}})
    assert [(e["field"], e["code"]) for e in bad["answerFeedback"]["userErrors"]] == [
        ("answers.0.value", "INVALID"), ("answers.1.value", "INVALID"), ("answers.2.value", "INVALID")]
    assert await FeedbackAnswer.filter(lead_id=lead.id).count() == 0  # nothing written
    good = await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [
        {"questionId": budget["id"], "value": 12500.5},
        {"questionId": yes_no["id"], "value": True},
        {"questionId": timing["id"], "choiceId": timing["choices"][0]["id"]},
    ]}})
    answers = good["answerFeedback"]["lead"]["feedback"]
    assert [(a["question"]["text"], a["value"]) for a in answers] == [("Budget?", 12500.5), ("Homeowner?", True), ("When?", "Soon")]
    assert answers[2]["choice"]["label"] == "Soon" and answers[0]["answeredBy"]["name"]
    # Changing an answer replaces it; null clears it.
    await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": budget["id"], "value": 9000}]}})
    cleared = await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": yes_no["id"], "value": None}]}})
    assert [(a["question"]["text"], a["value"]) for a in cleared["answerFeedback"]["lead"]["feedback"]] == [
        ("Budget?", 9000), ("When?", "Soon")]
    # Another team's rep cannot answer (or see) this lead.
    theirs = await team.c_rep2.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": budget["id"], "value": 1}]}})
    assert [(e["field"], e["code"]) for e in theirs["answerFeedback"]["userErrors"]] == [("leadId", "NOT_FOUND")]
    other_account = await team.c_owner_b.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": budget["id"], "value": 1}]}})
    assert other_account["answerFeedback"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_a_compulsory_unanswered_question_blocks_the_move_that_requires_it(team):
    c = team.c_owner
    stages = {s["name"]: s["id"] for s in await team.stages()}
    at_opportunity = await make(c, text="Decision maker identified?", kind="YES_NO", compulsory=True,
                                requiredAtStageId=stages["Opportunity"])
    at_close = await make(c, text="Budget?", kind="NUMBER", compulsory=True)  # no stage: before won or lost
    assert at_opportunity["requiredAtStage"]["name"] == "Opportunity" and at_close["requiredAtStage"] is None
    optional = await make(c, text="Notes", kind="TEXT")
    lead = await team.lead(team.rep)
    lid = gid("Lead", lead.id)

    blocked = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Opportunity"]}})
    [error] = blocked["moveLeadToStage"]["userErrors"]
    assert (error["field"], error["code"]) == ("stageId", "FEEDBACK_REQUIRED")
    assert "Decision maker identified?" in error["message"] and "Budget?" not in error["message"]
    await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": optional["id"], "value": "called"}]}})
    assert (await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Opportunity"]}}))["moveLeadToStage"]["userErrors"]
    await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": at_opportunity["id"], "value": False}]}})
    moved = await team.c_rep.data(MOVE, {"i": {"leadId": lid, "stageId": stages["Opportunity"]}})
    assert moved["moveLeadToStage"]["lead"]["stage"]["name"] == "Opportunity"

    won = await team.c_rep.data(f"mutation($i: LeadIdInput!) {{ markLeadWon(input: $i) {{ lead {{ outcome }} {ERRORS} }} }}",
                                {"i": {"leadId": lid}})
    assert won["markLeadWon"]["userErrors"][0]["code"] == "FEEDBACK_REQUIRED"
    assert "Budget?" in won["markLeadWon"]["userErrors"][0]["message"]
    # An archived compulsory question blocks nothing any more.
    await c.data(UPDATE, {"i": {"questionId": at_close["id"], "archived": True}})
    won = await team.c_rep.data(f"mutation($i: LeadIdInput!) {{ markLeadWon(input: $i) {{ lead {{ outcome }} {ERRORS} }} }}",
                                {"i": {"leadId": lid}})
    assert won["markLeadWon"]["lead"]["outcome"] == "WON"
    # Moving backwards to an earlier stage is never blocked.
    other = await team.lead(team.rep)
    back = await team.c_rep.data(MOVE, {"i": {"leadId": gid("Lead", other.id), "stageId": stages["New Lead"]}})
    assert back["moveLeadToStage"]["userErrors"] == []


async def test_a_question_asked_at_a_deleted_stage_moves_with_its_leads(team):
    c = team.c_owner
    meeting = (await c.data(f"mutation {{ addPipelineStage(input: {{name: \"Meeting\"}}) {{ stage {{ id }} {ERRORS} }} }}"))[
        "addPipelineStage"]["stage"]["id"]
    stages = {s["name"]: s["id"] for s in await team.stages()}
    q = await make(c, text="Met in person?", kind="YES_NO", compulsory=True, requiredAtStageId=meeting)
    await c.data(f"mutation($i: DeletePipelineStageInput!) {{ deletePipelineStage(input: $i) {{ {ERRORS} }} }}",
                 {"i": {"stageId": meeting}})
    read = await c.data("query($id: ID!) { node(id: $id) { ... on FeedbackQuestion { requiredAtStage { name } } } }", {"id": q["id"]})
    assert read["node"]["requiredAtStage"]["name"] == "Sale/Lost"  # the stage that took its place
    assert stages["Sale/Lost"]


async def test_archiving_questions_and_choices_keeps_every_answer(team):
    c = team.c_owner
    timing = await make(c, text="When?", kind="CHOICE", choices=["Soon", "Later"])
    budget = await make(c, text="Budget?", kind="NUMBER")
    lead = await team.lead(team.rep)
    lid = gid("Lead", lead.id)
    soon = timing["choices"][0]["id"]
    await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [
        {"questionId": timing["id"], "choiceId": soon}, {"questionId": budget["id"], "value": 5000}]}})

    # Archive a choice: no longer offered, kept on the answer that chose it.
    arch = await c.data(f"""mutation($i: ArchiveFeedbackChoiceInput!) {{ archiveFeedbackChoice(input: $i) {{
        question {{ choices {{ label archived }} }} {ERRORS} }} }}""", {"i": {"choiceId": soon}})
    assert arch["archiveFeedbackChoice"]["question"]["choices"] == [
        {"label": "Soon", "archived": True}, {"label": "Later", "archived": False}]
    other = await team.lead(team.rep)
    refused = await team.c_rep.data(ANSWER, {"i": {"leadId": gid("Lead", other.id), "answers": [
        {"questionId": timing["id"], "choiceId": soon}]}})
    assert [(e["field"], e["code"]) for e in refused["answerFeedback"]["userErrors"]] == [("answers.0.choiceId", "INVALID")]
    added = await c.data(f"""mutation($i: AddFeedbackChoiceInput!) {{ addFeedbackChoice(input: $i) {{
        question {{ choices {{ label }} }} {ERRORS} }} }}""", {"i": {"questionId": timing["id"], "label": "Within a week"}})
    assert [ch["label"] for ch in added["addFeedbackChoice"]["question"]["choices"]] == ["Soon", "Later", "Within a week"]

    # Archive the question: no longer listed or answerable, every answer kept and shown.
    await c.data(UPDATE, {"i": {"questionId": budget["id"], "archived": True}})
    assert [q["text"] for q in (await team.c_rep.data(QUESTIONS, {"a": False}))["feedbackQuestions"]] == ["When?"]
    assert [q["archived"] for q in (await team.c_rep.data(QUESTIONS, {"a": True}))["feedbackQuestions"]] == [False, True]
    kept = (await team.c_rep.data(LEAD_FEEDBACK, {"id": lid}))["node"]["feedback"]
    assert kept == [
        {"value": "Soon", "question": {"text": "When?", "archived": False}, "choice": {"label": "Soon", "archived": True}},
        {"value": 5000, "question": {"text": "Budget?", "archived": True}, "choice": None},
    ]
    no_new = await team.c_rep.data(ANSWER, {"i": {"leadId": lid, "answers": [{"questionId": budget["id"], "value": 1}]}})
    assert no_new["answerFeedback"]["userErrors"][0]["field"] == "answers.0.questionId"

    # Deleting a question with answers needs deleteAnswers; archiving is the way to keep them.
    DELETE = f"mutation($i: DeleteFeedbackQuestionInput!) {{ deleteFeedbackQuestion(input: $i) {{ deletedId {ERRORS} }} }}"
    refused = await c.data(DELETE, {"i": {"questionId": budget["id"]}})
    assert refused["deleteFeedbackQuestion"]["userErrors"][0]["code"] == "IN_USE"
    assert await FeedbackAnswer.filter(lead_id=lead.id).count() == 2
    gone = await c.data(DELETE, {"i": {"questionId": budget["id"], "deleteAnswers": True}})
    assert gone["deleteFeedbackQuestion"]["userErrors"] == []
    assert await FeedbackAnswer.filter(lead_id=lead.id).count() == 1
