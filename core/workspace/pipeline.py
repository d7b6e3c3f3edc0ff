"""The pipeline (seed 003): up to 7 stages, each with a probability, the last
one the closing stage where a lead is won or lost; lost reasons; moving leads
through it; the lost-reasons report.

Every change to the stages starts by writing the account's workspace row:
that serialises them per account on PostgreSQL (row lock) and SQLite (write
lock), and the 7-stage limit itself is a conditional update of its
``stage_count`` (``stage_count < 7``), so two concurrent adds to a pipeline of
six make exactly one seventh stage, in any number of processes. Leads
reference their stage with a restricting foreign key: a stage with leads on
it cannot be deleted without moving them, the database refuses it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Count, Sum
from tortoise.transactions import in_transaction

from leadwire.core.access import Viewer, require_owner, visible_lead, visible_leads, workspace_rows
from leadwire.core.errors import DomainError, ErrorCode, FieldError, not_found
from leadwire.core.identity import check_name, now
from leadwire.core.models.leads import Lead, LeadOutcome
from leadwire.core.models.workspace import FeedbackQuestion, LostReason, PipelineStage, StageKind, Workspace
from leadwire.core.workspace import feedback
from leadwire.core.workspace.setup import MAX_STAGES, ensure_workspace, stages_of

MAX_VALUE_MINOR = 10**13  # a deal of a hundred billion in any currency is a typo
MAX_REPORT_DAYS = 5 * 366
MAX_BULK = 500


def _probability(value: int | None, field: str = "probability") -> int | None:
    if value is not None and not 0 <= value <= 100:
        raise DomainError.single(field, ErrorCode.INVALID, "A probability is a percentage from 0 to 100.")
    return value


def _stage_name(name: str) -> str:
    return check_name(name, "name", "The stage name", 60)


def _check_unique_name(stages: list[PipelineStage], name: str, except_id: int | None = None) -> None:
    if any(s.name.casefold() == name.casefold() and s.id != except_id for s in stages):
        raise DomainError.single("name", ErrorCode.DUPLICATE, f"The pipeline already has a stage called {name!r}.")


async def _lock(ws: Workspace, conn, *, stage_delta: int = 0) -> None:
    """Write the workspace row first: serialises pipeline changes per account."""
    await Workspace.filter(id=ws.id).using_db(conn).update(stage_count=F("stage_count") + stage_delta)


def _renumber(stages: list[PipelineStage]) -> list[PipelineStage]:
    changed = []
    for i, s in enumerate(stages):
        if s.position != i:
            s.position = i
            changed.append(s)
    return changed


async def _save_positions(stages: list[PipelineStage], conn) -> None:
    changed = _renumber(stages)
    if changed:
        await PipelineStage.bulk_update(changed, fields=["position"], using_db=conn)


async def pipeline_stages(viewer: Viewer) -> list[PipelineStage]:
    await ensure_workspace(viewer.account_id)
    return await stages_of(viewer.account_id)


# -- stages (the owner) ---------------------------------------------------------


async def add_stage(viewer: Viewer, *, name: str, probability: int = 0, position: int | None = None) -> PipelineStage:
    """A new open stage, before the closing one (at ``position`` when given)."""
    require_owner(viewer, "change the pipeline")
    errors: list[FieldError] = []
    for check in (lambda: _stage_name(name), lambda: _probability(probability)):
        try:
            check()
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise DomainError(*errors)
    name = _stage_name(name)
    ws = await ensure_workspace(viewer.account_id)
    async with in_transaction() as conn:
        got = await Workspace.filter(id=ws.id, stage_count__lt=MAX_STAGES).using_db(conn).update(
            stage_count=F("stage_count") + 1
        )
        if not got:
            raise DomainError.single(
                None, ErrorCode.LIMIT_REACHED,
                f"A pipeline has at most {MAX_STAGES} stages, the closing one included: delete or replace a stage first.",
            )
        stages = await stages_of(viewer.account_id, conn)
        _check_unique_name(stages, name)
        closing_at = len(stages) - 1
        if position is None:
            position = closing_at
        if not 0 <= position <= closing_at:
            raise DomainError.single(
                "position", ErrorCode.INVALID, f"A new stage goes at a position from 0 to {closing_at} (before the closing stage)."
            )
        stage = PipelineStage(workspace_id=ws.id, account_id=viewer.account_id, name=name, position=position,
                              probability=probability, kind=StageKind.OPEN)
        for s in stages[position:]:
            s.position += 1
        if stages[position:]:
            await PipelineStage.bulk_update(stages[position:], fields=["position"], using_db=conn)
        await stage.save(using_db=conn)
    return stage


async def _stage_of(viewer: Viewer, stage_id: int | None, field: str, conn=None) -> PipelineStage:
    stage = await workspace_rows(viewer, PipelineStage).using_db(conn).get_or_none(id=stage_id) if stage_id else None
    if stage is None:
        raise not_found(field, "pipeline stage")
    return stage


async def update_stage(
    viewer: Viewer, stage_id: int, *, name: str | None = None, probability: int | None = None
) -> PipelineStage:
    """Rename a stage and/or amend its probability."""
    require_owner(viewer, "change the pipeline")
    ws = await ensure_workspace(viewer.account_id)
    if name is not None:
        name = _stage_name(name)
    _probability(probability)
    async with in_transaction() as conn:
        await _lock(ws, conn)
        stage = await _stage_of(viewer, stage_id, "stage_id", conn)
        if name is not None:
            _check_unique_name(await stages_of(viewer.account_id, conn), name, except_id=stage.id)
            stage.name = name
        if probability is not None:
            if stage.kind == StageKind.CLOSING and probability != 100:
                raise DomainError.single(
                    "probability", ErrorCode.INVALID,
                    "The closing stage has no probability of its own: a won lead counts 100%, a lost one 0%.",
                )
            stage.probability = probability
        await stage.save(using_db=conn, update_fields=["name", "probability"])
    return stage


async def reorder_stages(viewer: Viewer, stage_ids: list[int]) -> list[PipelineStage]:
    """Put the stages in this order: every stage once, the closing stage last."""
    require_owner(viewer, "change the pipeline")
    ws = await ensure_workspace(viewer.account_id)
    async with in_transaction() as conn:
        await _lock(ws, conn)
        stages = await stages_of(viewer.account_id, conn)
        by_id = {s.id: s for s in stages}
        if sorted(stage_ids) != sorted(by_id):
            raise DomainError.single("stage_ids", ErrorCode.INVALID, "List every stage of the pipeline exactly once.")
        if by_id[stage_ids[-1]].kind != StageKind.CLOSING:
            raise DomainError.single("stage_ids", ErrorCode.INVALID, "The closing stage (won or lost) stays last.")
        await _save_positions([by_id[i] for i in stage_ids], conn)
    return await stages_of(viewer.account_id)


async def delete_stage(viewer: Viewer, stage_id: int, *, move_leads_to_stage_id: int | None = None) -> None:
    """Delete an open stage. Its leads move to ``move_leads_to_stage_id`` (another
    open stage) in the same transaction: required when it has leads."""
    require_owner(viewer, "change the pipeline")
    ws = await ensure_workspace(viewer.account_id)
    async with in_transaction() as conn:
        await Workspace.filter(id=ws.id).using_db(conn).update(stage_count=F("stage_count") - 1)
        stages = await stages_of(viewer.account_id, conn)
        stage = await _stage_of(viewer, stage_id, "stage_id", conn)
        if stage.kind == StageKind.CLOSING:
            raise DomainError.single(
                "stage_id", ErrorCode.INVALID, "The closing stage holds the won and lost leads: rename it, it cannot be deleted."
            )
        others = [s for s in stages if s.id != stage.id]
        open_others = [s for s in others if s.kind == StageKind.OPEN]
        if not open_others:
            raise DomainError.single("stage_id", ErrorCode.INVALID, "A pipeline keeps at least one open stage.")
        target = None
        if move_leads_to_stage_id is not None:
            target = next((s for s in others if s.id == move_leads_to_stage_id), None)
            if target is None:
                if move_leads_to_stage_id == stage.id:
                    raise DomainError.single(
                        "move_leads_to_stage_id", ErrorCode.INVALID, "Move the leads to another stage than the one deleted."
                    )
                raise not_found("move_leads_to_stage_id", "pipeline stage")
            if target.kind != StageKind.OPEN:
                raise DomainError.single(
                    "move_leads_to_stage_id", ErrorCode.INVALID,
                    "Leads move to an open stage (the closing stage needs each lead's own outcome).",
                )
        on_stage = await Lead.filter(stage_id=stage.id, deleted_at__isnull=True).using_db(conn).count()
        if on_stage and target is None:
            raise DomainError.single(
                "move_leads_to_stage_id", ErrorCode.REQUIRED,
                f"{on_stage} lead(s) are on this stage: name the stage they move to.",
            )
        # Deleted leads keep a stage too (the foreign key): they follow, to the
        # target or to the next open stage.
        follow = target or next((s for s in others if s.position > stage.position and s.kind == StageKind.OPEN),
                                open_others[0])
        await Lead.filter(stage_id=stage.id).using_db(conn).update(stage_id=follow.id)
        # Compulsory questions asked at this stage are asked where its leads went
        # (or, with no leads, at the stage that takes its place).
        next_stage = target or next(s for s in others if s.position > stage.position)
        await FeedbackQuestion.filter(required_at_stage_id=stage.id).using_db(conn).update(
            required_at_stage_id=next_stage.id
        )
        await PipelineStage.filter(id=stage.id).using_db(conn).delete()
        await _save_positions(others, conn)


async def replace_stage(viewer: Viewer, stage_id: int, *, name: str, probability: int | None = None) -> PipelineStage:
    """A new stage takes an open stage's place, its leads and its compulsory
    questions, in one transaction (the count stays, so it works at 7 stages)."""
    require_owner(viewer, "change the pipeline")
    name = _stage_name(name)
    _probability(probability)
    ws = await ensure_workspace(viewer.account_id)
    async with in_transaction() as conn:
        await _lock(ws, conn)
        stage = await _stage_of(viewer, stage_id, "stage_id", conn)
        if stage.kind == StageKind.CLOSING:
            raise DomainError.single("stage_id", ErrorCode.INVALID, "The closing stage cannot be replaced: rename it.")
        stages = await stages_of(viewer.account_id, conn)
        _check_unique_name(stages, name, except_id=stage.id)
        new = await PipelineStage.create(
            workspace_id=ws.id, account_id=viewer.account_id, name=name, position=stage.position,
            probability=stage.probability if probability is None else probability, kind=StageKind.OPEN, using_db=conn,
        )
        await Lead.filter(stage_id=stage.id).using_db(conn).update(stage_id=new.id)
        await FeedbackQuestion.filter(required_at_stage_id=stage.id).using_db(conn).update(required_at_stage_id=new.id)
        await PipelineStage.filter(id=stage.id).using_db(conn).delete()
    return new


# -- lost reasons (the owner) -------------------------------------------------------


def _reason_name(name: str) -> str:
    return check_name(name, "name", "The lost reason", 100)


async def lost_reasons(viewer: Viewer, *, include_archived: bool = False) -> list[LostReason]:
    await ensure_workspace(viewer.account_id)
    qs = workspace_rows(viewer, LostReason)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return await qs.order_by("position", "id")


async def _reason_of(viewer: Viewer, reason_id: int | None, field: str, conn=None) -> LostReason:
    reason = await workspace_rows(viewer, LostReason).using_db(conn).get_or_none(id=reason_id) if reason_id else None
    if reason is None:
        raise not_found(field, "lost reason")
    return reason


async def _check_reason_name_free(viewer: Viewer, name: str, except_id: int | None = None) -> None:
    for other in await workspace_rows(viewer, LostReason).values_list("id", "name"):
        if other[1].casefold() == name.casefold() and other[0] != except_id:
            raise DomainError.single("name", ErrorCode.DUPLICATE, f"There is already a lost reason called {name!r}.")


async def create_lost_reason(viewer: Viewer, *, name: str) -> LostReason:
    require_owner(viewer, "set up lost reasons")
    name = _reason_name(name)
    await ensure_workspace(viewer.account_id)
    await _check_reason_name_free(viewer, name)
    last = await workspace_rows(viewer, LostReason).order_by("-position").first()
    try:
        return await LostReason.create(account_id=viewer.account_id, name=name, position=(last.position + 1) if last else 0)
    except IntegrityError:  # created concurrently
        raise DomainError.single("name", ErrorCode.DUPLICATE, f"There is already a lost reason called {name!r}.") from None


async def update_lost_reason(
    viewer: Viewer, reason_id: int, *, name: str | None = None, archived: bool | None = None
) -> LostReason:
    """Rename, archive (no longer offered, kept on every lead lost with it) or restore."""
    require_owner(viewer, "set up lost reasons")
    reason = await _reason_of(viewer, reason_id, "lost_reason_id")
    if name is not None:
        reason.name = _reason_name(name)
        await _check_reason_name_free(viewer, reason.name, except_id=reason.id)
    if archived is not None:
        reason.archived_at = (reason.archived_at or now()) if archived else None
    try:
        await reason.save(update_fields=["name", "archived_at"])
    except IntegrityError:
        raise DomainError.single("name", ErrorCode.DUPLICATE, f"There is already a lost reason called {reason.name!r}.") from None
    return reason


async def delete_lost_reason(viewer: Viewer, reason_id: int) -> None:
    """Only a reason no lead was ever lost with: archive the others (history stays)."""
    require_owner(viewer, "set up lost reasons")
    reason = await _reason_of(viewer, reason_id, "lost_reason_id")
    used = await Lead.filter(lost_reason_id=reason.id).count()
    if used:
        raise DomainError.single(
            "lost_reason_id", ErrorCode.IN_USE,
            f"{used} lead(s) were lost with this reason: archive it instead, so that their history and the report keep it.",
        )
    try:
        await LostReason.filter(id=reason.id).delete()
    except IntegrityError:  # a lead was lost with it just now
        raise DomainError.single("lost_reason_id", ErrorCode.IN_USE, "Leads were lost with this reason: archive it instead.") from None


async def reorder_lost_reasons(viewer: Viewer, reason_ids: list[int]) -> list[LostReason]:
    require_owner(viewer, "set up lost reasons")
    rows = {r.id: r for r in await workspace_rows(viewer, LostReason)}
    if len(set(reason_ids)) != len(reason_ids) or not set(reason_ids) <= set(rows):
        raise DomainError.single("lost_reason_ids", ErrorCode.INVALID, "List lost reasons of this account, each once.")
    rest = sorted((r for i, r in rows.items() if i not in set(reason_ids)), key=lambda r: (r.position, r.id))
    ordered = [rows[i] for i in reason_ids] + rest
    for i, r in enumerate(ordered):
        r.position = i
    async with in_transaction() as conn:
        await LostReason.bulk_update(ordered, fields=["position"], using_db=conn)
    return await lost_reasons(viewer, include_archived=True)


# -- working a lead (whoever sees it) --------------------------------------------------


async def _visible_lead(viewer: Viewer, lead_id: int | None) -> Lead:
    lead = await visible_lead(viewer, lead_id) if lead_id else None
    if lead is None:
        raise not_found("lead_id", "lead")
    return lead


async def move_lead(
    viewer: Viewer,
    lead_id: int,
    stage_id: int,
    *,
    outcome: LeadOutcome | None = None,
    lost_reason_id: int | None = None,
) -> Lead:
    """Move a lead to a stage. The closing stage needs the outcome (won or lost)
    and a lost lead needs a lost reason. A compulsory feedback question asked
    at this stage or an earlier one must be answered first."""
    lead = await _visible_lead(viewer, lead_id)
    await ensure_workspace(viewer.account_id)
    stage = await _stage_of(viewer, stage_id, "stage_id")
    errors: list[FieldError] = []
    reason = None
    if stage.kind == StageKind.CLOSING:
        if outcome is None:
            errors.append(FieldError("outcome", ErrorCode.REQUIRED, f"{stage.name} closes the lead: say whether it was won or lost."))
        elif outcome == LeadOutcome.LOST:
            if lost_reason_id is None:
                errors.append(FieldError("lost_reason_id", ErrorCode.REQUIRED, "Choose why the lead was lost (a lost reason)."))
            else:
                reason = await workspace_rows(viewer, LostReason).get_or_none(id=lost_reason_id)
                if reason is None:
                    errors.append(FieldError("lost_reason_id", ErrorCode.NOT_FOUND, "No lost reason with this id."))
                elif reason.archived_at is not None:
                    errors.append(FieldError("lost_reason_id", ErrorCode.INVALID,
                                             f"The lost reason {reason.name!r} is archived: choose a current one."))
        elif lost_reason_id is not None:
            errors.append(FieldError("lost_reason_id", ErrorCode.INVALID, "A won lead has no lost reason."))
    else:
        if outcome is not None:
            errors.append(FieldError("outcome", ErrorCode.INVALID, "Only the closing stage has an outcome (won or lost)."))
        if lost_reason_id is not None:
            errors.append(FieldError("lost_reason_id", ErrorCode.INVALID, "Only a lost lead has a lost reason."))
    if not errors:
        missing = await feedback.missing_compulsory(lead, stage)
        if missing:
            names = ", ".join(repr(q.text) for q in missing[:5])
            errors.append(FieldError(
                "stage_id", ErrorCode.FEEDBACK_REQUIRED,
                f"Answer the compulsory feedback question(s) first: {names}" + (" and more." if len(missing) > 5 else "."),
            ))
    if errors:
        raise DomainError(*errors)
    closing = stage.kind == StageKind.CLOSING
    changes = dict(
        stage_id=stage.id,
        outcome=outcome if closing else None,
        lost_reason_id=reason.id if reason else None,
        closed_at=(lead.closed_at if lead.outcome == outcome and lead.closed_at else now()) if closing else None,
    )
    if stage.id != lead.stage_id:
        changes["stage_entered_at"] = now()
    await Lead.filter(id=lead.id).update(**changes)
    for k, v in changes.items():
        setattr(lead, k, v)
    return lead


async def mark_lost(viewer: Viewer, lead_id: int, lost_reason_id: int | None) -> Lead:
    closing = await _closing_stage(viewer)
    return await move_lead(viewer, lead_id, closing.id, outcome=LeadOutcome.LOST, lost_reason_id=lost_reason_id)


async def mark_won(viewer: Viewer, lead_id: int) -> Lead:
    closing = await _closing_stage(viewer)
    return await move_lead(viewer, lead_id, closing.id, outcome=LeadOutcome.WON)


async def _closing_stage(viewer: Viewer) -> PipelineStage:
    await ensure_workspace(viewer.account_id)
    return await workspace_rows(viewer, PipelineStage).get(kind=StageKind.CLOSING)


async def set_value(viewer: Viewer, lead_id: int, value_minor: int) -> Lead:
    """The deal's value, in the account's currency's minor units."""
    if not 0 <= value_minor <= MAX_VALUE_MINOR:
        raise DomainError.single("value_minor", ErrorCode.INVALID, "A value is a whole number of minor units (cents), 0 or more.")
    lead = await _visible_lead(viewer, lead_id)
    await Lead.filter(id=lead.id).update(value_minor=value_minor)
    lead.value_minor = value_minor
    return lead


async def delete_lost_leads(viewer: Viewer, lead_ids: list[int]) -> int:
    """Delete lost leads (the owner): gone from every list, search and count. The
    marketplace's record of a bought lead (its sale, the ledger) is kept."""
    require_owner(viewer, "delete leads")
    if not lead_ids:
        raise DomainError.single("lead_ids", ErrorCode.REQUIRED, "Name the lost leads to delete.")
    if len(lead_ids) > MAX_BULK:
        raise DomainError.single("lead_ids", ErrorCode.TOO_LONG, f"At most {MAX_BULK} leads at a time.")
    rows = dict(await visible_leads(viewer).filter(id__in=lead_ids).values_list("id", "outcome"))
    errors = []
    for i, lead_id in enumerate(lead_ids):
        if lead_id not in rows:
            errors.append(FieldError(f"lead_ids.{i}", ErrorCode.NOT_FOUND, "No lead with this id."))
        elif rows[lead_id] != LeadOutcome.LOST:
            errors.append(FieldError(f"lead_ids.{i}", ErrorCode.INVALID, "Only lost leads can be deleted: mark it lost first."))
    if errors:
        raise DomainError(*errors[:20])
    return await Lead.filter(id__in=list(rows), outcome=LeadOutcome.LOST, deleted_at__isnull=True).update(deleted_at=now())


# -- reports --------------------------------------------------------------------------


@dataclass
class StageTotals:
    lead_count: int = 0
    value_minor: int = 0
    won_count: int = 0
    won_value_minor: int = 0
    lost_count: int = 0
    lost_value_minor: int = 0

    def weighted_value_minor(self, stage: PipelineStage | None = None, *, kind: StageKind | None = None,
                             probability: int | None = None) -> int:
        """Value times the stage's probability; on the closing stage, the won value."""
        kind = stage.kind if stage is not None else kind
        probability = stage.probability if stage is not None else probability
        if kind == StageKind.CLOSING:
            return self.won_value_minor
        return self.value_minor * (probability or 0) // 100


async def stage_totals(viewer: Viewer) -> dict[int, StageTotals]:
    """Leads and value per stage id, over the leads the viewer sees (one query)."""
    totals: dict[int, StageTotals] = {}
    rows = await visible_leads(viewer).filter(stage_id__isnull=False).group_by("stage_id", "outcome").annotate(
        n=Count("id"), value=Sum("value_minor")
    ).values_list("stage_id", "outcome", "n", "value")
    for stage_id, outcome, n, value in rows:
        t = totals.setdefault(stage_id, StageTotals())
        value = int(value or 0)
        t.lead_count += n
        t.value_minor += value
        if outcome == LeadOutcome.WON:
            t.won_count, t.won_value_minor = t.won_count + n, t.won_value_minor + value
        elif outcome == LeadOutcome.LOST:
            t.lost_count, t.lost_value_minor = t.lost_count + n, t.lost_value_minor + value
    return totals


@dataclass
class LostReasonRow:
    reason: LostReason
    lead_count: int
    value_minor: int


@dataclass
class LostReasonsReport:
    time_zone: str
    start: dt.date
    end: dt.date
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime  # UTC, exclusive
    rows: list[LostReasonRow]

    @property
    def lead_count(self) -> int:
        return sum(r.lead_count for r in self.rows)

    @property
    def value_minor(self) -> int:
        return sum(r.value_minor for r in self.rows)


def local_day_bounds(start: dt.date, end: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the time zone, as UTC instants."""
    tz = ZoneInfo(time_zone)
    lo = dt.datetime.combine(start, dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
    return lo, hi


async def lost_reasons_report(viewer: Viewer, *, start: dt.date, end: dt.date) -> LostReasonsReport:
    """Why leads were lost: count and value per reason, for leads lost between
    ``start`` and ``end`` (days in the viewer's own time zone, both included),
    over the leads the viewer sees. Archived reasons are counted too."""
    if end < start:
        raise DomainError.single("end", ErrorCode.INVALID, "The period ends before it starts.")
    if (end - start).days > MAX_REPORT_DAYS:
        raise DomainError.single("end", ErrorCode.INVALID, "A report covers at most five years.")
    await ensure_workspace(viewer.account_id)
    lo, hi = local_day_bounds(start, end, viewer.time_zone)
    counted = dict(
        (reason_id, (n, int(value or 0)))
        for reason_id, n, value in await visible_leads(viewer)
        .filter(outcome=LeadOutcome.LOST, closed_at__gte=lo, closed_at__lt=hi)
        .group_by("lost_reason_id")
        .annotate(n=Count("id"), value=Sum("value_minor"))
        .values_list("lost_reason_id", "n", "value")
    )
    reasons = await workspace_rows(viewer, LostReason).order_by("position", "id")
    rows = [
        LostReasonRow(r, *counted.get(r.id, (0, 0)))
        for r in reasons
        if r.archived_at is None or r.id in counted
    ]
    rows.sort(key=lambda r: (-r.lead_count, r.reason.position, r.reason.id))
    return LostReasonsReport(viewer.time_zone, start, end, lo, hi, rows)
