"""Workspace mutations: the pipeline, lost reasons, feedback, assignment,
imports and the registration page. Thin calls into core.workspace, where the
rules are."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.models.leads import Lead as LeadRow
from leadwire.core.workspace import assignment, feedback, imports, leads, pipeline, registration
from leadwire.core.workspace.assignment import RuleConditions
from leadwire.schema.errors import UserError, mutation
from leadwire.schema.leads.types import Lead, LeadOrigin
from leadwire.schema.relay import decode_id
from leadwire.schema.workspace.queries import load_assignment_settings, load_pipeline
from leadwire.schema.workspace.types import (
    AssignmentMethod,
    AssignmentRule,
    AssignmentSettings,
    FeedbackQuestion,
    FeedbackQuestionKind,
    LeadImport,
    LeadOutcome,
    LostReason,
    Pipeline,
    PipelineStage,
    RegistrationPage,
)


def _ids(gids: list[relay.GlobalID], type_name: str, field: str) -> list[int]:
    out, errors = [], []
    for i, gid in enumerate(gids):
        try:
            out.append(decode_id(gid, type_name, f"{field}.{i}"))
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors[:20])
    return out


async def _lead(pk: int) -> Lead:
    return Lead.from_row(await LeadRow.get(id=pk))


# -- payloads ------------------------------------------------------------------------------


@strawberry.type
class PipelinePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    pipeline: Pipeline | None = None


@strawberry.type
class PipelineStagePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    stage: PipelineStage | None = None
    pipeline: Pipeline | None = None


@strawberry.type
class LeadPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lead: Lead | None = None


@strawberry.type
class AssignLeadsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    assigned_count: int = 0
    leads: list[Lead] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteLeadsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    deleted_count: int = 0


@strawberry.type
class DeletedPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    deleted_id: relay.GlobalID | None = None


@strawberry.type
class LostReasonPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lost_reason: LostReason | None = None


@strawberry.type
class LostReasonsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lost_reasons: list[LostReason] = strawberry.field(default_factory=list)


@strawberry.type
class FeedbackQuestionPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    question: FeedbackQuestion | None = None


@strawberry.type
class FeedbackQuestionsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    questions: list[FeedbackQuestion] = strawberry.field(default_factory=list)


@strawberry.type
class AssignmentRulePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    rule: AssignmentRule | None = None


@strawberry.type
class AssignmentSettingsPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    settings: AssignmentSettings | None = None


@strawberry.type
class LeadImportPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    lead_import: LeadImport | None = None


@strawberry.type
class RegistrationPagePayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    page: RegistrationPage | None = None


@strawberry.type
class SubmitRegistrationPayload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    received: bool = False
    redirect_url: str | None = strawberry.field(default=None, description="Where to send the visitor now, if set.")
    thank_you_text: str | None = None


# -- inputs -----------------------------------------------------------------------------------


@strawberry.input
class AddPipelineStageInput:
    name: str
    probability: int = strawberry.field(default=0, description="Likelihood of success, 0 to 100 (percent).")
    position: int | None = strawberry.field(default=None, description="0 = first; left out: just before the closing stage.")


@strawberry.input(description="Fields left out are not changed.")
class UpdatePipelineStageInput:
    stage_id: relay.GlobalID
    name: str | None = None
    probability: int | None = None


@strawberry.input
class ReorderPipelineStagesInput:
    stage_ids: list[relay.GlobalID] = strawberry.field(description="Every stage once, the closing stage last.")


@strawberry.input
class DeletePipelineStageInput:
    stage_id: relay.GlobalID
    move_leads_to_stage_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Where its leads go (an open stage); required when it has leads.")


@strawberry.input
class ReplacePipelineStageInput:
    stage_id: relay.GlobalID
    name: str
    probability: int | None = strawberry.field(default=None, description="Left out: the replaced stage's.")


@strawberry.input
class MoveLeadToStageInput:
    lead_id: relay.GlobalID
    stage_id: relay.GlobalID
    outcome: LeadOutcome | None = strawberry.field(default=None, description="Required on the closing stage.")
    lost_reason_id: relay.GlobalID | None = strawberry.field(default=None, description="Required when LOST.")


@strawberry.input
class LeadIdInput:
    lead_id: relay.GlobalID


@strawberry.input
class MarkLeadLostInput:
    lead_id: relay.GlobalID
    lost_reason_id: relay.GlobalID | None = strawberry.field(default=None, description="Required: why it was lost.")


@strawberry.input
class SetLeadValueInput:
    lead_id: relay.GlobalID
    value_minor: int = strawberry.field(description="In the account currency's minor units (cents).")


@strawberry.input
class DeleteLostLeadsInput:
    lead_ids: list[relay.GlobalID]


@strawberry.input
class CreateLeadInput:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    postal_code: str = ""
    city: str = ""
    state: str = ""
    value_minor: int = 0
    assignee_id: relay.GlobalID | None = strawberry.field(
        default=None, description="You or a user below you; left out, the assignment rules decide.")
    product_id: relay.GlobalID | None = None
    data: JSON | None = None


@strawberry.input
class AssignLeadsInput:
    lead_ids: list[relay.GlobalID] = strawberry.field(description="Leads you see (at most 500).")
    assignee_id: relay.GlobalID = strawberry.field(description="You or a user below you, not barred.")


@strawberry.input
class CreateLostReasonInput:
    name: str


@strawberry.input(description="Fields left out are not changed.")
class UpdateLostReasonInput:
    lost_reason_id: relay.GlobalID
    name: str | None = None
    archived: bool | None = strawberry.field(default=None, description="Archived: no longer offered, kept on its leads.")


@strawberry.input
class LostReasonIdInput:
    lost_reason_id: relay.GlobalID


@strawberry.input
class ReorderLostReasonsInput:
    lost_reason_ids: list[relay.GlobalID]


@strawberry.input
class CreateFeedbackQuestionInput:
    text: str
    kind: FeedbackQuestionKind
    choices: list[str] | None = strawberry.field(default=None, description="CHOICE questions: at least two.")
    compulsory: bool = False
    required_at_stage_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Compulsory: answered before a lead enters this stage or a later one "
                                  "(left out: before it is won or lost).")


@strawberry.input(description="Fields left out are not changed.")
class UpdateFeedbackQuestionInput:
    question_id: relay.GlobalID
    text: str | None = None
    compulsory: bool | None = None
    required_at_stage_id: relay.GlobalID | None = None
    clear_required_at_stage: bool = False
    archived: bool | None = strawberry.field(default=None, description="Archived: no longer asked; answers kept.")


@strawberry.input
class ReorderFeedbackQuestionsInput:
    question_ids: list[relay.GlobalID] = strawberry.field(description="These first, in this order.")


@strawberry.input
class DeleteFeedbackQuestionInput:
    question_id: relay.GlobalID
    delete_answers: bool = strawberry.field(default=False, description="Needed when it has answers (they are lost).")


@strawberry.input
class AddFeedbackChoiceInput:
    question_id: relay.GlobalID
    label: str


@strawberry.input
class ArchiveFeedbackChoiceInput:
    choice_id: relay.GlobalID
    archived: bool = True


@strawberry.input
class FeedbackAnswerInput:
    question_id: relay.GlobalID
    value: JSON | None = strawberry.field(default=None, description="YES_NO: true/false, NUMBER: a number, TEXT: a "
                                                                   "string. Null (and no choiceId) clears the answer.")
    choice_id: relay.GlobalID | None = strawberry.field(default=None, description="CHOICE questions.")


@strawberry.input
class AnswerFeedbackInput:
    lead_id: relay.GlobalID
    answers: list[FeedbackAnswerInput]


@strawberry.input(description="Every condition given must hold; none at all matches every lead.")
class RuleConditionsInput:
    states: list[str] = strawberry.field(default_factory=list)
    postal_codes: list[str] = strawberry.field(default_factory=list, description="ZIP codes or prefixes (\"481\").")
    product_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    industry_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    origins: list[LeadOrigin] = strawberry.field(default_factory=list)
    missing_phone: bool | None = strawberry.field(default=None, description="true: only leads with no phone number.")
    missing_email: bool | None = None
    data: JSON | None = strawberry.field(default=None, description='Industry fields: {"move_size": ["3_bedrooms"]}.')


@strawberry.input
class CreateAssignmentRuleInput:
    name: str
    method: AssignmentMethod = strawberry.field(description="SINGLE, ROUND_ROBIN, LEAST_BUSY or MANUAL.")
    user_ids: list[relay.GlobalID] = strawberry.field(description="SINGLE and MANUAL: exactly one user.")
    conditions: RuleConditionsInput = strawberry.field(default_factory=RuleConditionsInput)
    priority: int | None = strawberry.field(default=None, description="0 = tried first; left out: last.")
    active: bool = True


@strawberry.input(description="Fields left out are not changed.")
class UpdateAssignmentRuleInput:
    rule_id: relay.GlobalID
    name: str | None = None
    method: AssignmentMethod | None = None
    user_ids: list[relay.GlobalID] | None = None
    conditions: RuleConditionsInput | None = None
    active: bool | None = None


@strawberry.input
class RuleIdInput:
    rule_id: relay.GlobalID


@strawberry.input
class ReorderAssignmentRulesInput:
    rule_ids: list[relay.GlobalID] = strawberry.field(description="These first, in this order.")


@strawberry.input
class SetManualAssigneeInput:
    user_id: relay.GlobalID | None = strawberry.field(default=None, description="Null: the owner.")


@strawberry.input
class SetLeadImportMappingInput:
    import_id: relay.GlobalID
    mapping: JSON = strawberry.field(description='Column -> lead field, e.g. {"E-mail": "email", "Owner": "assignee"}; '
                                                 'an empty field ignores the column.')


@strawberry.input
class NewUserInput:
    name: str
    email: str


@strawberry.input
class ImportPersonInput:
    value: str = strawberry.field(description="As written in the file's assignee column.")
    user_id: relay.GlobalID | None = None
    new_user: NewUserInput | None = strawberry.field(default=None, description="Create this user now (seed 003).")


@strawberry.input
class MapLeadImportPeopleInput:
    import_id: relay.GlobalID
    people: list[ImportPersonInput] = strawberry.field(description="Neither userId nor newUser: the rules decide.")


@strawberry.input
class LeadImportIdInput:
    import_id: relay.GlobalID


@strawberry.input
class RegistrationFieldInput:
    name: str
    label: str = ""
    required: bool = False


@strawberry.input
class RegistrationColorsInput:
    primary: str | None = None
    background: str | None = None
    text: str | None = None


@strawberry.input(description="Fields left out are not changed.")
class UpdateRegistrationPageInput:
    enabled: bool | None = None
    title: str | None = None
    intro: str | None = None
    submit_label: str | None = None
    thank_you_text: str | None = None
    consent_text: str | None = None
    fields: list[RegistrationFieldInput] | None = strawberry.field(default=None, description="Replaces all fields.")
    colors: RegistrationColorsInput | None = None
    logo_url: str | None = strawberry.field(default=None, description="https:// image URL; empty for none.")
    redirect_url: str | None = strawberry.field(default=None, description="After submit; empty for the thank-you text.")
    product_id: relay.GlobalID | None = None
    clear_product: bool = False
    rate_limit_per_hour: int | None = None
    new_url: bool = strawberry.field(default=False, description="A new public URL (the old one stops working).")


@strawberry.input
class SubmitRegistrationInput:
    slug: str
    submit_token: str = strawberry.field(description="From registrationForm; each token makes at most one lead.")
    values: JSON = strawberry.field(description='The form\'s fields: {"first_name": "Ana", "email": ..., '
                                                '"data.budget": ...}.')
    website: str = strawberry.field(default="", description="The honeypot: leave empty.")
    page_url: str = ""


def _conditions(c: RuleConditionsInput) -> RuleConditions:
    data = _data_dict(c.data, "conditions.data")
    return RuleConditions(
        states=c.states, postal_codes=c.postal_codes,
        product_ids=_ids(c.product_ids, "Product", "conditions.product_ids"),
        industry_ids=_ids(c.industry_ids, "Industry", "conditions.industry_ids"),
        origins=list(c.origins), missing_phone=c.missing_phone, missing_email=c.missing_email, data=data,
    )


def _data_dict(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DomainError(FieldError(field, ErrorCode.INVALID, "Give an object."))
    return value


@strawberry.type
class WorkspaceMutations:
    # -- pipeline --------------------------------------------------------------------------

    @strawberry.mutation(description="Add a stage (owner; at most 7 stages, the closing one included).")
    @mutation(PipelineStagePayload)
    async def add_pipeline_stage(self, info: Info, input: AddPipelineStageInput) -> PipelineStagePayload:
        stage = await pipeline.add_stage(info.context.viewer, name=input.name, probability=input.probability,
                                         position=input.position)
        return PipelineStagePayload(stage=PipelineStage.from_row(stage), pipeline=await load_pipeline(info))

    @strawberry.mutation(description="Rename a stage or amend its probability (owner).")
    @mutation(PipelineStagePayload)
    async def update_pipeline_stage(self, info: Info, input: UpdatePipelineStageInput) -> PipelineStagePayload:
        stage = await pipeline.update_stage(info.context.viewer, decode_id(input.stage_id, "PipelineStage", "stage_id"),
                                            name=input.name, probability=input.probability)
        return PipelineStagePayload(stage=PipelineStage.from_row(stage), pipeline=await load_pipeline(info))

    @strawberry.mutation(description="Put the stages in a new order (owner).")
    @mutation(PipelinePayload)
    async def reorder_pipeline_stages(self, info: Info, input: ReorderPipelineStagesInput) -> PipelinePayload:
        await pipeline.reorder_stages(info.context.viewer, _ids(input.stage_ids, "PipelineStage", "stage_ids"))
        return PipelinePayload(pipeline=await load_pipeline(info))

    @strawberry.mutation(description="Delete an open stage, moving its leads in the same operation (owner).")
    @mutation(PipelinePayload)
    async def delete_pipeline_stage(self, info: Info, input: DeletePipelineStageInput) -> PipelinePayload:
        await pipeline.delete_stage(
            info.context.viewer, decode_id(input.stage_id, "PipelineStage", "stage_id"),
            move_leads_to_stage_id=decode_id(input.move_leads_to_stage_id, "PipelineStage", "move_leads_to_stage_id"),
        )
        return PipelinePayload(pipeline=await load_pipeline(info))

    @strawberry.mutation(description="A new stage takes an open stage's place and leads (owner).")
    @mutation(PipelineStagePayload)
    async def replace_pipeline_stage(self, info: Info, input: ReplacePipelineStageInput) -> PipelineStagePayload:
        stage = await pipeline.replace_stage(info.context.viewer, decode_id(input.stage_id, "PipelineStage", "stage_id"),
                                             name=input.name, probability=input.probability)
        return PipelineStagePayload(stage=PipelineStage.from_row(stage), pipeline=await load_pipeline(info))

    # -- working leads ------------------------------------------------------------------------

    @strawberry.mutation(description="Move a lead to a stage; the closing stage takes the outcome (and a lost reason).")
    @mutation(LeadPayload)
    async def move_lead_to_stage(self, info: Info, input: MoveLeadToStageInput) -> LeadPayload:
        lead = await pipeline.move_lead(
            info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"),
            decode_id(input.stage_id, "PipelineStage", "stage_id"), outcome=input.outcome,
            lost_reason_id=decode_id(input.lost_reason_id, "LostReason", "lost_reason_id"),
        )
        return LeadPayload(lead=await _lead(lead.id))

    @strawberry.mutation(description="Mark a lead won (it moves to the closing stage).")
    @mutation(LeadPayload)
    async def mark_lead_won(self, info: Info, input: LeadIdInput) -> LeadPayload:
        lead = await pipeline.mark_won(info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"))
        return LeadPayload(lead=await _lead(lead.id))

    @strawberry.mutation(description="Mark a lead lost, with a lost reason (required).")
    @mutation(LeadPayload)
    async def mark_lead_lost(self, info: Info, input: MarkLeadLostInput) -> LeadPayload:
        lead = await pipeline.mark_lost(info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"),
                                        decode_id(input.lost_reason_id, "LostReason", "lost_reason_id"))
        return LeadPayload(lead=await _lead(lead.id))

    @strawberry.mutation(description="Set a lead's deal value (account currency).")
    @mutation(LeadPayload)
    async def set_lead_value(self, info: Info, input: SetLeadValueInput) -> LeadPayload:
        lead = await pipeline.set_value(info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"), input.value_minor)
        return LeadPayload(lead=await _lead(lead.id))

    @strawberry.mutation(description="Delete lost leads (owner).")
    @mutation(DeleteLeadsPayload)
    async def delete_lost_leads(self, info: Info, input: DeleteLostLeadsInput) -> DeleteLeadsPayload:
        n = await pipeline.delete_lost_leads(info.context.viewer, _ids(input.lead_ids, "Lead", "lead_ids"))
        return DeleteLeadsPayload(deleted_count=n)

    @strawberry.mutation(description="Add a lead by hand; it lands on the first stage.")
    @mutation(LeadPayload)
    async def create_lead(self, info: Info, input: CreateLeadInput) -> LeadPayload:
        contact = {k: getattr(input, k) for k in ("first_name", "last_name", "email", "phone", "postal_code", "city", "state")}
        lead = await leads.create_lead(
            info.context.viewer, contact=contact, value_minor=input.value_minor,
            assignee_id=decode_id(input.assignee_id, "User", "assignee_id"),
            product_id=decode_id(input.product_id, "Product", "product_id"), data=_data_dict(input.data, "data"),
        )
        return LeadPayload(lead=await _lead(lead.id))

    @strawberry.mutation(description="Assign leads by hand, one or in bulk, within your visibility.")
    @mutation(AssignLeadsPayload)
    async def assign_leads(self, info: Info, input: AssignLeadsInput) -> AssignLeadsPayload:
        ids = await assignment.assign_leads(info.context.viewer, _ids(input.lead_ids, "Lead", "lead_ids"),
                                            decode_id(input.assignee_id, "User", "assignee_id"))
        rows = await LeadRow.filter(id__in=ids).order_by("-id")
        return AssignLeadsPayload(assigned_count=len(ids), leads=[Lead.from_row(r) for r in rows])

    # -- lost reasons -------------------------------------------------------------------------

    @strawberry.mutation(description="Add a lost reason (owner).")
    @mutation(LostReasonPayload)
    async def create_lost_reason(self, info: Info, input: CreateLostReasonInput) -> LostReasonPayload:
        return LostReasonPayload(lost_reason=LostReason.from_row(
            await pipeline.create_lost_reason(info.context.viewer, name=input.name)))

    @strawberry.mutation(description="Rename, archive or restore a lost reason (owner).")
    @mutation(LostReasonPayload)
    async def update_lost_reason(self, info: Info, input: UpdateLostReasonInput) -> LostReasonPayload:
        reason = await pipeline.update_lost_reason(
            info.context.viewer, decode_id(input.lost_reason_id, "LostReason", "lost_reason_id"),
            name=input.name, archived=input.archived,
        )
        return LostReasonPayload(lost_reason=LostReason.from_row(reason))

    @strawberry.mutation(description="Delete a lost reason no lead was lost with (owner); archive the others.")
    @mutation(DeletedPayload)
    async def delete_lost_reason(self, info: Info, input: LostReasonIdInput) -> DeletedPayload:
        await pipeline.delete_lost_reason(info.context.viewer, decode_id(input.lost_reason_id, "LostReason", "lost_reason_id"))
        return DeletedPayload(deleted_id=input.lost_reason_id)

    @strawberry.mutation(description="Order the lost reasons (owner).")
    @mutation(LostReasonsPayload)
    async def reorder_lost_reasons(self, info: Info, input: ReorderLostReasonsInput) -> LostReasonsPayload:
        rows = await pipeline.reorder_lost_reasons(info.context.viewer,
                                                   _ids(input.lost_reason_ids, "LostReason", "lost_reason_ids"))
        return LostReasonsPayload(lost_reasons=[LostReason.from_row(r) for r in rows])

    # -- feedback -------------------------------------------------------------------------------

    @strawberry.mutation(description="Add a feedback question (owner).")
    @mutation(FeedbackQuestionPayload)
    async def create_feedback_question(self, info: Info, input: CreateFeedbackQuestionInput) -> FeedbackQuestionPayload:
        q = await feedback.create_question(
            info.context.viewer, text=input.text, kind=input.kind, choices=input.choices, compulsory=input.compulsory,
            required_at_stage_id=decode_id(input.required_at_stage_id, "PipelineStage", "required_at_stage_id"),
        )
        return FeedbackQuestionPayload(question=FeedbackQuestion.from_row(q))

    @strawberry.mutation(description="Change, archive or restore a feedback question (owner).")
    @mutation(FeedbackQuestionPayload)
    async def update_feedback_question(self, info: Info, input: UpdateFeedbackQuestionInput) -> FeedbackQuestionPayload:
        q = await feedback.update_question(
            info.context.viewer, decode_id(input.question_id, "FeedbackQuestion", "question_id"), text=input.text,
            compulsory=input.compulsory,
            required_at_stage_id=decode_id(input.required_at_stage_id, "PipelineStage", "required_at_stage_id"),
            clear_required_at_stage=input.clear_required_at_stage, archived=input.archived,
        )
        return FeedbackQuestionPayload(question=FeedbackQuestion.from_row(q))

    @strawberry.mutation(description="Order the feedback questions (owner).")
    @mutation(FeedbackQuestionsPayload)
    async def reorder_feedback_questions(self, info: Info, input: ReorderFeedbackQuestionsInput) -> FeedbackQuestionsPayload:
        rows = await feedback.reorder_questions(info.context.viewer,
                                                _ids(input.question_ids, "FeedbackQuestion", "question_ids"))
        return FeedbackQuestionsPayload(questions=[FeedbackQuestion.from_row(q) for q in rows])

    @strawberry.mutation(description="Delete a feedback question (owner); with answers, deleteAnswers is needed.")
    @mutation(DeletedPayload)
    async def delete_feedback_question(self, info: Info, input: DeleteFeedbackQuestionInput) -> DeletedPayload:
        await feedback.delete_question(info.context.viewer,
                                       decode_id(input.question_id, "FeedbackQuestion", "question_id"),
                                       delete_answers=input.delete_answers)
        return DeletedPayload(deleted_id=input.question_id)

    @strawberry.mutation(description="Add a choice to a CHOICE question (owner).")
    @mutation(FeedbackQuestionPayload)
    async def add_feedback_choice(self, info: Info, input: AddFeedbackChoiceInput) -> FeedbackQuestionPayload:
        choice = await feedback.add_choice(info.context.viewer,
                                           decode_id(input.question_id, "FeedbackQuestion", "question_id"), input.label)
        from leadwire.core.models.workspace import FeedbackQuestion as Row

        return FeedbackQuestionPayload(question=FeedbackQuestion.from_row(await Row.get(id=choice.question_id)))

    @strawberry.mutation(description="Archive (or restore) a choice; answers that chose it keep it (owner).")
    @mutation(FeedbackQuestionPayload)
    async def archive_feedback_choice(self, info: Info, input: ArchiveFeedbackChoiceInput) -> FeedbackQuestionPayload:
        choice = await feedback.archive_choice(info.context.viewer,
                                               decode_id(input.choice_id, "FeedbackChoice", "choice_id"),
                                               archived=input.archived)
        from leadwire.core.models.workspace import FeedbackQuestion as Row

        return FeedbackQuestionPayload(question=FeedbackQuestion.from_row(await Row.get(id=choice.question_id)))

    @strawberry.mutation(description="Answer feedback questions about a lead you see.")
    @mutation(LeadPayload)
    async def answer_feedback(self, info: Info, input: AnswerFeedbackInput) -> LeadPayload:
        answers = []
        errors: list[FieldError] = []
        for i, a in enumerate(input.answers):
            try:
                answers.append(feedback.AnswerIn(
                    question_id=decode_id(a.question_id, "FeedbackQuestion", f"answers.{i}.question_id"),
                    value=a.value, choice_id=decode_id(a.choice_id, "FeedbackChoice", f"answers.{i}.choice_id"),
                ))
            except DomainError as exc:
                errors.extend(exc.errors)
        if errors:
            raise DomainError(*errors)
        lead = await feedback.answer(info.context.viewer, decode_id(input.lead_id, "Lead", "lead_id"), answers)
        return LeadPayload(lead=await _lead(lead.id))

    # -- assignment -------------------------------------------------------------------------------

    @strawberry.mutation(description="Add an assignment rule (owner).")
    @mutation(AssignmentRulePayload)
    async def create_assignment_rule(self, info: Info, input: CreateAssignmentRuleInput) -> AssignmentRulePayload:
        rule = await assignment.create_rule(
            info.context.viewer, name=input.name, method=input.method, user_ids=_ids(input.user_ids, "User", "user_ids"),
            conditions=_conditions(input.conditions), priority=input.priority, active=input.active,
        )
        return AssignmentRulePayload(rule=AssignmentRule.from_row(rule))

    @strawberry.mutation(description="Change an assignment rule (owner).")
    @mutation(AssignmentRulePayload)
    async def update_assignment_rule(self, info: Info, input: UpdateAssignmentRuleInput) -> AssignmentRulePayload:
        rule = await assignment.update_rule(
            info.context.viewer, decode_id(input.rule_id, "AssignmentRule", "rule_id"), name=input.name,
            method=input.method,
            user_ids=_ids(input.user_ids, "User", "user_ids") if input.user_ids is not None else None,
            conditions=_conditions(input.conditions) if input.conditions is not None else None, active=input.active,
        )
        return AssignmentRulePayload(rule=AssignmentRule.from_row(rule))

    @strawberry.mutation(description="Delete an assignment rule (owner).")
    @mutation(DeletedPayload)
    async def delete_assignment_rule(self, info: Info, input: RuleIdInput) -> DeletedPayload:
        await assignment.delete_rule(info.context.viewer, decode_id(input.rule_id, "AssignmentRule", "rule_id"))
        return DeletedPayload(deleted_id=input.rule_id)

    @strawberry.mutation(description="Set the rules' priority order (owner).")
    @mutation(AssignmentSettingsPayload)
    async def reorder_assignment_rules(self, info: Info, input: ReorderAssignmentRulesInput) -> AssignmentSettingsPayload:
        await assignment.reorder_rules(info.context.viewer, _ids(input.rule_ids, "AssignmentRule", "rule_ids"))
        return AssignmentSettingsPayload(settings=await load_assignment_settings(info))

    @strawberry.mutation(description="Who receives the leads no rule assigns (owner).")
    @mutation(AssignmentSettingsPayload)
    async def set_manual_assignee(self, info: Info, input: SetManualAssigneeInput) -> AssignmentSettingsPayload:
        await assignment.set_manual_assignee(info.context.viewer, decode_id(input.user_id, "User", "user_id"))
        return AssignmentSettingsPayload(settings=await load_assignment_settings(info))

    # -- imports ------------------------------------------------------------------------------------

    @strawberry.mutation(description="Map an uploaded file's columns and check every row (the preview, in the background).")
    @mutation(LeadImportPayload)
    async def set_lead_import_mapping(self, info: Info, input: SetLeadImportMappingInput) -> LeadImportPayload:
        mapping = input.mapping
        if not isinstance(mapping, dict) or not all(isinstance(v, (str, type(None))) for v in mapping.values()):
            raise DomainError.single("mapping", ErrorCode.INVALID, "Give an object of column -> lead field.")
        imp = await imports.set_mapping(info.context.viewer, decode_id(input.import_id, "LeadImport", "import_id"),
                                        {str(k): v or "" for k, v in mapping.items()})
        return LeadImportPayload(lead_import=LeadImport.from_row(imp))

    @strawberry.mutation(description="Map the file's people to users, or create users on the spot (owner).")
    @mutation(LeadImportPayload)
    async def map_lead_import_people(self, info: Info, input: MapLeadImportPeopleInput) -> LeadImportPayload:
        people = [
            imports.PersonMapping(
                value=p.value, user_id=decode_id(p.user_id, "User", f"people.{i}.user_id"),
                new_user_name=p.new_user.name if p.new_user else None,
                new_user_email=p.new_user.email if p.new_user else None,
            )
            for i, p in enumerate(input.people)
        ]
        imp = await imports.map_people(info.context.viewer, decode_id(input.import_id, "LeadImport", "import_id"), people)
        from leadwire.core.models.workspace import LeadImport as Row

        return LeadImportPayload(lead_import=LeadImport.from_row(await Row.get(id=imp.id)))

    @strawberry.mutation(description="Import the checked file (in the background; follow its progress).")
    @mutation(LeadImportPayload)
    async def start_lead_import(self, info: Info, input: LeadImportIdInput) -> LeadImportPayload:
        imp = await imports.start(info.context.viewer, decode_id(input.import_id, "LeadImport", "import_id"))
        return LeadImportPayload(lead_import=LeadImport.from_row(imp))

    @strawberry.mutation(description="Stop an import (leads already imported stay) and drop the stored file.")
    @mutation(LeadImportPayload)
    async def cancel_lead_import(self, info: Info, input: LeadImportIdInput) -> LeadImportPayload:
        imp = await imports.cancel(info.context.viewer, decode_id(input.import_id, "LeadImport", "import_id"))
        return LeadImportPayload(lead_import=LeadImport.from_row(imp))

    # -- registration page ---------------------------------------------------------------------------

    @strawberry.mutation(description="Customise the registration page (owner).")
    @mutation(RegistrationPagePayload)
    async def update_registration_page(self, info: Info, input: UpdateRegistrationPageInput) -> RegistrationPagePayload:
        colors = input.colors or RegistrationColorsInputDefaults
        page = await registration.update_page(info.context.viewer, registration.PageChanges(
            enabled=input.enabled, title=input.title, intro=input.intro, submit_label=input.submit_label,
            thank_you_text=input.thank_you_text, consent_text=input.consent_text,
            fields=[vars(f) for f in input.fields] if input.fields is not None else None,
            primary_color=colors.primary, background_color=colors.background, text_color=colors.text,
            logo_url=input.logo_url, redirect_url=input.redirect_url,
            product_id=decode_id(input.product_id, "Product", "product_id"), clear_product=input.clear_product,
            rate_limit_per_hour=input.rate_limit_per_hour, new_slug=input.new_url,
        ))
        return RegistrationPagePayload(page=RegistrationPage.from_row(page))

    @strawberry.mutation(description="Public: submit a registration form (the same intake as the hosted page).")
    @mutation(SubmitRegistrationPayload, public=True)
    async def submit_registration(self, info: Info, input: SubmitRegistrationInput) -> SubmitRegistrationPayload:
        ctx = info.context
        values = input.values if isinstance(input.values, dict) else {}
        done = await registration.submit(
            input.slug, {str(k): str(v) for k, v in values.items() if v is not None}, token=input.submit_token,
            ip=ctx.client_ip, user_agent=ctx.request.headers.get("user-agent", ""), page_url=input.page_url,
            honeypot=input.website, secret=ctx.settings.secret_key.reveal(),
        )
        return SubmitRegistrationPayload(received=True, redirect_url=done.page.redirect_url or None,
                                         thank_you_text=done.page.thank_you_text)


class RegistrationColorsInputDefaults:
    primary = background = text = None
