"""The workspace's fields of a Lead (stage, outcome, lost reason, value,
assignment, feedback), mixed into schema.leads.types.Lead, and the lead-list
filters on them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import strawberry
from strawberry.types import Info

from leadwire.core.models.leads import LeadOutcome as CoreLeadOutcome
from leadwire.schema.workspace.loaders import loaders

if TYPE_CHECKING:
    from leadwire.schema.marketplace.types import Money
    from leadwire.schema.workspace.types import FeedbackAnswer, LeadAssignment, LeadOutcome, LostReason, PipelineStage

WorkspaceTypes = "leadwire.schema.workspace.types"


@strawberry.type
class LeadWorkspaceFields:
    closed_at: dt.datetime | None = strawberry.field(description="When it was won or lost (UTC).")
    awaiting_assignment: bool = strawberry.field(
        description="In a manual queue: its user is to assign it by hand (it matched no rule, or a manual rule)."
    )
    _account_id: strawberry.Private[int]
    _stage_id: strawberry.Private[int | None]
    _outcome: strawberry.Private[str | None]
    _lost_reason_id: strawberry.Private[int | None]
    _value_minor: strawberry.Private[int]
    _assignment_method: strawberry.Private[str | None]
    _assignment_rule_id: strawberry.Private[int | None]
    _assigned_at: strawberry.Private[dt.datetime | None]

    ROW_FIELDS: ClassVar[tuple[str, ...]] = (
        "closed_at", "awaiting_assignment", "account_id", "stage_id", "outcome", "lost_reason_id", "value_minor",
        "assignment_method", "assignment_rule_id", "assigned_at",
    )

    @staticmethod
    def workspace_values(r: Any) -> dict[str, Any]:
        return dict(
            closed_at=r.closed_at, awaiting_assignment=r.awaiting_assignment, _account_id=r.account_id,
            _stage_id=r.stage_id, _outcome=r.outcome, _lost_reason_id=r.lost_reason_id, _value_minor=r.value_minor,
            _assignment_method=r.assignment_method, _assignment_rule_id=r.assignment_rule_id, _assigned_at=r.assigned_at,
        )

    @strawberry.field(description="Its pipeline stage (null until a new lead has entered the pipeline).")
    async def stage(self, info: Info) -> Annotated["PipelineStage", strawberry.lazy(WorkspaceTypes)] | None:
        from leadwire.schema.workspace.types import PipelineStage

        row = await loaders(info).stage.load(self._stage_id) if self._stage_id else None
        return PipelineStage.from_row(row) if row else None

    @strawberry.field(description="WON or LOST on the closing stage, null while open.")
    def outcome(self) -> Annotated["LeadOutcome", strawberry.lazy(WorkspaceTypes)] | None:
        return CoreLeadOutcome(self._outcome) if self._outcome else None

    @strawberry.field(description="Why it was lost (the reason may since be archived).")
    async def lost_reason(self, info: Info) -> Annotated["LostReason", strawberry.lazy(WorkspaceTypes)] | None:
        from leadwire.schema.workspace.types import LostReason

        row = await loaders(info).lost_reason.load(self._lost_reason_id) if self._lost_reason_id else None
        return LostReason.from_row(row) if row else None

    @strawberry.field(description="The deal's value, in the account's currency.")
    async def value(self, info: Info) -> Annotated["Money", strawberry.lazy("leadwire.schema.marketplace.types")]:
        from leadwire.schema.marketplace.types import Money

        account = await info.context.loaders.account.load(self._account_id)
        return Money(amount_minor=self._value_minor, currency=account.currency)

    @strawberry.field(description="How it got its current user: the rule that assigned it, by hand, ...")
    def assignment(self, info: Info) -> Annotated["LeadAssignment", strawberry.lazy(WorkspaceTypes)] | None:
        from leadwire.core.models.workspace import AssignmentMethod
        from leadwire.schema.workspace.types import LeadAssignment, local_iso

        if not self._assignment_method:
            return None
        return LeadAssignment(method=AssignmentMethod(self._assignment_method), at=self._assigned_at,
                              at_local=local_iso(info, self._assigned_at), _rule_id=self._assignment_rule_id)

    @strawberry.field(description="Its feedback answers, those to archived questions included.")
    async def feedback(self, info: Info) -> list[Annotated["FeedbackAnswer", strawberry.lazy(WorkspaceTypes)]]:
        from leadwire.schema.workspace.types import FeedbackAnswer, local_iso

        return [
            FeedbackAnswer(value=(a.value or {}).get("v"), answered_at=a.answered_at, answered_at_local=local_iso(info, a.answered_at),
                           _question_id=a.question_id, _choice_id=a.choice_id, _by_id=a.answered_by_id)
            for a in await loaders(info).answers_of_lead.load(self.id)  # type: ignore[attr-defined]
        ]

    @strawberry.field(description="createdAt in your own time zone, ISO-8601 with its offset.")
    def created_at_local(self, info: Info) -> str:
        from leadwire.schema.workspace.types import local_iso

        return local_iso(info, self.created_at)  # type: ignore[attr-defined]


def apply_lead_filters(qs, *, stage_id: int | None, outcome: CoreLeadOutcome | None, open_only: bool | None,
                       awaiting_assignment: bool | None):
    if stage_id is not None:
        qs = qs.filter(stage_id=stage_id)
    if outcome is not None:
        qs = qs.filter(outcome=outcome)
    if open_only is not None:
        qs = qs.filter(outcome__isnull=open_only)
    if awaiting_assignment is not None:
        qs = qs.filter(awaiting_assignment=awaiting_assignment)
    return qs
