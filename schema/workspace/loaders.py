"""Per-request DataLoaders of the workspace types, kept in the request
context's ``extra`` (created on first use), so no list resolver queries per row.
Rows are loaded by id for objects the resolver already found visible, or
filtered through core.access for the viewer."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from leadwire.core.access import Viewer
from leadwire.core.models import workspace as w
from leadwire.core.workspace import pipeline


def _by_id(model, account_id: int):
    async def load(ids: list[int]) -> list:
        rows = {r.id: r for r in await model.filter(id__in=ids, account_id=account_id)}
        return [rows.get(i) for i in ids]

    return load


def _grouped(model, key: str, order: tuple[str, ...]):
    async def load(ids: list[int]) -> list[list]:
        grouped: dict[int, list] = defaultdict(list)
        for row in await model.filter(**{f"{key}__in": ids}).order_by(*order):
            grouped[getattr(row, key)].append(row)
        return [grouped[i] for i in ids]

    return load


async def _rules_by_id(ids: list[int]) -> list[w.AssignmentRule | None]:
    rows = {r.id: r for r in await w.AssignmentRule.filter(id__in=ids)}
    return [rows.get(i) for i in ids]


async def _choices_by_id(ids: list[int]) -> list[w.FeedbackChoice | None]:
    rows = {r.id: r for r in await w.FeedbackChoice.filter(id__in=ids)}
    return [rows.get(i) for i in ids]


async def _questions_by_id(ids: list[int]) -> list[w.FeedbackQuestion | None]:
    rows = {r.id: r for r in await w.FeedbackQuestion.filter(id__in=ids)}
    return [rows.get(i) for i in ids]


class WorkspaceLoaders:
    def __init__(self, viewer: Viewer):
        self.viewer = viewer
        account = viewer.account_id
        self.stage = DataLoader(load_fn=_by_id(w.PipelineStage, account))
        self.lost_reason = DataLoader(load_fn=_by_id(w.LostReason, account))
        # Answers of leads the resolver already found visible.
        self.answers_of_lead = DataLoader(load_fn=_grouped(w.FeedbackAnswer, "lead_id", ("lead_id", "id")))
        self.question = DataLoader(load_fn=_questions_by_id)
        self.choice = DataLoader(load_fn=_choices_by_id)
        self.choices_of_question = DataLoader(load_fn=_grouped(w.FeedbackChoice, "question_id", ("position", "id")))
        self.rule = DataLoader(load_fn=_rules_by_id)
        self.members_of_rule = DataLoader(load_fn=_grouped(w.AssignmentRuleMember, "rule_id", ("position", "id")))
        self.people_of_import = DataLoader(load_fn=_grouped(w.ImportPerson, "lead_import_id", ("-row_count", "value")))
        self._stage_totals: asyncio.Future | None = None

    async def stage_totals(self) -> dict[int, pipeline.StageTotals]:
        """Leads and value per stage over the viewer's visible leads: one query per
        request, however many stage resolvers ask at once."""
        if self._stage_totals is None:
            self._stage_totals = asyncio.ensure_future(pipeline.stage_totals(self.viewer))
        return await asyncio.shield(self._stage_totals)


def loaders(info: Info) -> WorkspaceLoaders:
    extra = info.context.extra
    if "workspace_loaders" not in extra:
        extra["workspace_loaders"] = WorkspaceLoaders(info.context.viewer)
    return extra["workspace_loaders"]
