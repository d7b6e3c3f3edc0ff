"""Feedback questions (seed 003): the owner's questions about each lead, ordered,
some compulsory, answered by whoever works the lead.

Archiving, never losing: an archived question is no longer asked (and no
longer blocks anything) but every answer already given stays on its lead; an
archived choice of a choice question is no longer offered but stays on the
answers that chose it. Deleting a question that has answers needs an explicit
``delete_answers``.

A compulsory question is asked at a stage (``required_at_stage``, the closing
stage when none is named): a lead cannot move to that stage, or any later
one, until the question is answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from leadwire.core.access import Viewer, require_owner, visible_lead, workspace_rows
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import now
from leadwire.core.models.leads import Lead
from leadwire.core.models.workspace import (
    FeedbackAnswer,
    FeedbackChoice,
    FeedbackQuestion,
    PipelineStage,
    QuestionKind,
    StageKind,
)
from leadwire.core.workspace.setup import ensure_workspace

MAX_CHOICES = 50
MAX_TEXT_ANSWER = 2000
MAX_ANSWERS_PER_CALL = 100


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError.single("text", ErrorCode.REQUIRED, "The question's text is required.")
    if len(text) > 300:
        raise DomainError.single("text", ErrorCode.TOO_LONG, "A question is at most 300 characters.")
    return text


def _labels(labels: list[str], field: str = "choices") -> list[str]:
    clean = []
    for i, label in enumerate(labels):
        label = (label or "").strip()
        if not label:
            raise DomainError.single(f"{field}.{i}", ErrorCode.REQUIRED, "A choice needs a label.")
        if len(label) > 200:
            raise DomainError.single(f"{field}.{i}", ErrorCode.TOO_LONG, "A choice is at most 200 characters.")
        if label.casefold() in (c.casefold() for c in clean):
            raise DomainError.single(f"{field}.{i}", ErrorCode.DUPLICATE, f"The choice {label!r} is listed twice.")
        clean.append(label)
    return clean


async def questions(viewer: Viewer, *, include_archived: bool = False) -> list[FeedbackQuestion]:
    qs = workspace_rows(viewer, FeedbackQuestion)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return await qs.order_by("position", "id")


async def _question_of(viewer: Viewer, question_id: int | None, field: str = "question_id", conn=None) -> FeedbackQuestion:
    q = await workspace_rows(viewer, FeedbackQuestion).using_db(conn).get_or_none(id=question_id) if question_id else None
    if q is None:
        raise not_found(field, "feedback question")
    return q


async def _stage(viewer: Viewer, stage_id: int | None, field: str) -> PipelineStage | None:
    if stage_id is None:
        return None
    stage = await workspace_rows(viewer, PipelineStage).get_or_none(id=stage_id)
    if stage is None:
        raise not_found(field, "pipeline stage")
    return stage


async def create_question(
    viewer: Viewer,
    *,
    text: str,
    kind: QuestionKind,
    choices: list[str] | None = None,
    compulsory: bool = False,
    required_at_stage_id: int | None = None,
) -> FeedbackQuestion:
    require_owner(viewer, "set up feedback questions")
    await ensure_workspace(viewer.account_id)
    errors: list[FieldError] = []
    labels: list[str] = []
    try:
        text = _text(text)
    except DomainError as exc:
        errors.extend(exc.errors)
    if kind == QuestionKind.CHOICE:
        try:
            labels = _labels(choices or [])
            if len(labels) < 2:
                errors.append(FieldError("choices", ErrorCode.REQUIRED, "A choice question needs at least two choices."))
            elif len(labels) > MAX_CHOICES:
                errors.append(FieldError("choices", ErrorCode.TOO_LONG, f"At most {MAX_CHOICES} choices."))
        except DomainError as exc:
            errors.extend(exc.errors)
    elif choices:
        errors.append(FieldError("choices", ErrorCode.INVALID, "Only a choice question has choices."))
    try:
        stage = await _stage(viewer, required_at_stage_id, "required_at_stage_id")
    except DomainError as exc:
        errors.extend(exc.errors)
        stage = None
    if stage is not None and not compulsory:
        errors.append(FieldError("required_at_stage_id", ErrorCode.INVALID, "Only a compulsory question is required at a stage."))
    if errors:
        raise DomainError(*errors)
    last = await workspace_rows(viewer, FeedbackQuestion).order_by("-position").first()
    async with in_transaction() as conn:
        q = await FeedbackQuestion.create(
            account_id=viewer.account_id, text=text, kind=kind, compulsory=compulsory,
            required_at_stage_id=stage.id if stage else None, position=(last.position + 1) if last else 0, using_db=conn,
        )
        if labels:
            await FeedbackChoice.bulk_create(
                [FeedbackChoice(question_id=q.id, label=label, position=i) for i, label in enumerate(labels)], using_db=conn
            )
    return q


async def update_question(
    viewer: Viewer,
    question_id: int,
    *,
    text: str | None = None,
    compulsory: bool | None = None,
    required_at_stage_id: int | None = None,
    clear_required_at_stage: bool = False,
    archived: bool | None = None,
) -> FeedbackQuestion:
    """Change the text, make it compulsory or not (and at which stage), archive
    or restore it. Archiving keeps every answer given."""
    require_owner(viewer, "set up feedback questions")
    q = await _question_of(viewer, question_id)
    if text is not None:
        q.text = _text(text)
    if compulsory is not None:
        q.compulsory = compulsory
    if clear_required_at_stage or q.compulsory is False:
        q.required_at_stage_id = None
    if required_at_stage_id is not None:
        if not q.compulsory:
            raise DomainError.single("required_at_stage_id", ErrorCode.INVALID, "Only a compulsory question is required at a stage.")
        q.required_at_stage_id = (await _stage(viewer, required_at_stage_id, "required_at_stage_id")).id
    if archived is not None:
        q.archived_at = (q.archived_at or now()) if archived else None
    await q.save(update_fields=["text", "compulsory", "required_at_stage_id", "archived_at"])
    return q


async def reorder_questions(viewer: Viewer, question_ids: list[int]) -> list[FeedbackQuestion]:
    """These questions first, in this order; the others keep their order after them."""
    require_owner(viewer, "set up feedback questions")
    rows = {q.id: q for q in await workspace_rows(viewer, FeedbackQuestion)}
    if len(set(question_ids)) != len(question_ids) or not set(question_ids) <= set(rows):
        raise DomainError.single("question_ids", ErrorCode.INVALID, "List feedback questions of this account, each once.")
    rest = sorted((q for i, q in rows.items() if i not in set(question_ids)), key=lambda q: (q.position, q.id))
    ordered = [rows[i] for i in question_ids] + rest
    for i, q in enumerate(ordered):
        q.position = i
    if ordered:
        async with in_transaction() as conn:
            await FeedbackQuestion.bulk_update(ordered, fields=["position"], using_db=conn)
    return await questions(viewer, include_archived=True)


async def delete_question(viewer: Viewer, question_id: int, *, delete_answers: bool = False) -> None:
    require_owner(viewer, "set up feedback questions")
    q = await _question_of(viewer, question_id)
    answered = await FeedbackAnswer.filter(question_id=q.id).count()
    if answered and not delete_answers:
        raise DomainError.single(
            "question_id", ErrorCode.IN_USE,
            f"{answered} answer(s) would be lost: archive the question to keep them, or delete with deleteAnswers.",
        )
    async with in_transaction() as conn:
        await FeedbackAnswer.filter(question_id=q.id).using_db(conn).delete()
        await FeedbackChoice.filter(question_id=q.id).using_db(conn).delete()
        await FeedbackQuestion.filter(id=q.id).using_db(conn).delete()


async def add_choice(viewer: Viewer, question_id: int, label: str) -> FeedbackChoice:
    require_owner(viewer, "set up feedback questions")
    q = await _question_of(viewer, question_id)
    if q.kind != QuestionKind.CHOICE:
        raise DomainError.single("question_id", ErrorCode.INVALID, "Only a choice question has choices.")
    existing = await FeedbackChoice.filter(question_id=q.id).order_by("position")
    [label] = _labels([*(c.label for c in existing), label], "label")[-1:]
    if len(existing) >= MAX_CHOICES:
        raise DomainError.single("label", ErrorCode.TOO_LONG, f"At most {MAX_CHOICES} choices.")
    return await FeedbackChoice.create(question_id=q.id, label=label, position=len(existing))


async def archive_choice(viewer: Viewer, choice_id: int, *, archived: bool) -> FeedbackChoice:
    require_owner(viewer, "set up feedback questions")
    choice = await FeedbackChoice.get_or_none(id=choice_id, question__account_id=viewer.account_id)
    if choice is None:
        raise not_found("choice_id", "feedback choice")
    choice.archived_at = (choice.archived_at or now()) if archived else None
    await choice.save(update_fields=["archived_at"])
    return choice


# -- answers (whoever sees the lead) --------------------------------------------------


@dataclass
class AnswerIn:
    question_id: int | None
    value: Any = None  # yes/no: a boolean; number: a number; text: a string. None (and no choice) clears the answer.
    choice_id: int | None = None


def _check_value(q: FeedbackQuestion, value: Any, field: str) -> Any:
    if q.kind == QuestionKind.YES_NO:
        if not isinstance(value, bool):
            raise DomainError.single(field, ErrorCode.INVALID, f"{q.text!r} is answered with true or false.")
        return value
    if q.kind == QuestionKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DomainError.single(field, ErrorCode.INVALID, f"{q.text!r} is answered with a number.")
        return value
    if not isinstance(value, str) or not value.strip():
        raise DomainError.single(field, ErrorCode.INVALID, f"{q.text!r} is answered with a text.")
    if len(value) > MAX_TEXT_ANSWER:
        raise DomainError.single(field, ErrorCode.TOO_LONG, f"An answer is at most {MAX_TEXT_ANSWER} characters.")
    return value.strip()


async def answer(viewer: Viewer, lead_id: int, answers: list[AnswerIn]) -> Lead:
    """Answer (or clear, with no value) feedback questions about a lead. All
    answers are checked first, then written together."""
    lead = await visible_lead(viewer, lead_id) if lead_id else None
    if lead is None:
        raise not_found("lead_id", "lead")
    if not answers:
        raise DomainError.single("answers", ErrorCode.REQUIRED, "Give at least one answer.")
    if len(answers) > MAX_ANSWERS_PER_CALL:
        raise DomainError.single("answers", ErrorCode.TOO_LONG, f"At most {MAX_ANSWERS_PER_CALL} answers at a time.")
    by_id = {q.id: q for q in await workspace_rows(viewer, FeedbackQuestion).filter(
        id__in=[a.question_id for a in answers if a.question_id])}
    choice_ids = [a.choice_id for a in answers if a.choice_id]
    choices = {c.id: c for c in await FeedbackChoice.filter(id__in=choice_ids)} if choice_ids else {}
    errors: list[FieldError] = []
    writes: list[tuple[FeedbackQuestion, Any, FeedbackChoice | None]] = []
    clears: list[int] = []
    seen: set[int] = set()
    for i, a in enumerate(answers):
        q = by_id.get(a.question_id)
        if q is None:
            errors.append(FieldError(f"answers.{i}.question_id", ErrorCode.NOT_FOUND, "No feedback question with this id."))
            continue
        if q.id in seen:
            errors.append(FieldError(f"answers.{i}.question_id", ErrorCode.DUPLICATE, "This question is answered twice."))
            continue
        seen.add(q.id)
        if q.archived_at is not None:
            errors.append(FieldError(f"answers.{i}.question_id", ErrorCode.INVALID,
                                     "This question is archived: its answers are kept, no new ones are taken."))
            continue
        if a.value is None and a.choice_id is None:
            clears.append(q.id)
            continue
        try:
            if q.kind == QuestionKind.CHOICE:
                if a.value is not None:
                    raise DomainError.single(f"answers.{i}.value", ErrorCode.INVALID, "A choice question is answered with choiceId.")
                choice = choices.get(a.choice_id)
                if choice is None or choice.question_id != q.id:
                    raise DomainError.single(f"answers.{i}.choice_id", ErrorCode.NOT_FOUND, "No choice of this question with this id.")
                if choice.archived_at is not None:
                    raise DomainError.single(f"answers.{i}.choice_id", ErrorCode.INVALID,
                                             f"The choice {choice.label!r} is archived: pick a current one.")
                writes.append((q, choice.label, choice))
            else:
                if a.choice_id is not None:
                    raise DomainError.single(f"answers.{i}.choice_id", ErrorCode.INVALID, "Only a choice question takes a choiceId.")
                writes.append((q, _check_value(q, a.value, f"answers.{i}.value"), None))
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    t = now()
    async with in_transaction() as conn:
        if clears:
            await FeedbackAnswer.filter(lead_id=lead.id, question_id__in=clears).using_db(conn).delete()
        for q, value, choice in writes:
            changes = dict(value={"v": value}, choice_id=choice.id if choice else None,
                           answered_by_id=viewer.membership_id, answered_at=t)
            updated = await FeedbackAnswer.filter(lead_id=lead.id, question_id=q.id).using_db(conn).update(**changes)
            if not updated:
                try:
                    async with in_transaction() as inner:  # a savepoint: a concurrent first answer wins
                        await FeedbackAnswer.create(lead_id=lead.id, question_id=q.id, using_db=inner, **changes)
                except IntegrityError:
                    await FeedbackAnswer.filter(lead_id=lead.id, question_id=q.id).using_db(conn).update(**changes)
    return lead


async def missing_compulsory(lead: Lead, stage: PipelineStage) -> list[FeedbackQuestion]:
    """Compulsory, current questions the lead must have answered to enter ``stage``."""
    required = await FeedbackQuestion.filter(
        account_id=lead.account_id, compulsory=True, archived_at__isnull=True
    ).select_related("required_at_stage").order_by("position", "id")
    gates = []
    for q in required:
        at = q.required_at_stage
        if at is None:
            if stage.kind == StageKind.CLOSING:
                gates.append(q)
        elif stage.position >= at.position:
            gates.append(q)
    if not gates:
        return []
    answered = set(await FeedbackAnswer.filter(lead_id=lead.id, question_id__in=[q.id for q in gates]).values_list(
        "question_id", flat=True))
    return [q for q in gates if q.id not in answered]
