"""Workspace queries. Config reads are the account's own (core.access.workspace_rows);
lead counts and reports start from core.access.visible_leads."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from leadwire.core.access import Viewer, workspace_rows
from leadwire.core.models import workspace as w
from leadwire.core.workspace import assignment, feedback, imports, pipeline, registration
from leadwire.core.workspace.setup import MAX_STAGES
from leadwire.schema.marketplace.types import Money
from leadwire.schema.permissions import IsOwner, IsSignedIn
from leadwire.schema.relay import Connection, paginate
from leadwire.schema.workspace.types import (
    AssignmentRule,
    AssignmentSettings,
    FeedbackChoice,
    FeedbackQuestion,
    LeadImport,
    LostReason,
    LostReasonsReport,
    LostReasonsReportRow,
    Pipeline,
    PipelineStage,
    RegistrationField,
    RegistrationForm,
    RegistrationColors,
    RegistrationPage,
    account_currency,
)


@strawberry.type(description="A lead field an import column can map to.")
class LeadImportField:
    name: str
    label: str


async def load_pipeline(info: Info) -> Pipeline:
    stages = await pipeline.pipeline_stages(info.context.viewer)
    return Pipeline(stages=[PipelineStage.from_row(s) for s in stages], max_stages=MAX_STAGES,
                    currency=await account_currency(info))


async def load_assignment_settings(info: Info) -> AssignmentSettings:
    viewer = info.context.viewer
    rules = await assignment.rules(viewer)
    dispatcher = await assignment.manual_assignee(viewer.account_id)
    return AssignmentSettings(rules=[AssignmentRule.from_row(r) for r in rules], _manual_assignee_id=dispatcher.id)


async def load_lost_reasons_report(info: Info, start: dt.date, end: dt.date) -> LostReasonsReport:
    """The lost-reasons report (also part of the pipeline report, schema.reports)."""
    report = await pipeline.lost_reasons_report(info.context.viewer, start=start, end=end)
    currency = await account_currency(info)
    return LostReasonsReport(
        time_zone=report.time_zone, start=report.start, end=report.end, starts_at=report.starts_at,
        ends_at=report.ends_at, lead_count=report.lead_count,
        value=Money(amount_minor=report.value_minor, currency=currency),
        rows=[LostReasonsReportRow(reason=LostReason.from_row(r.reason), lead_count=r.lead_count,
                                   value=Money(amount_minor=r.value_minor, currency=currency)) for r in report.rows],
    )


def registration_form(page: w.RegistrationPage, secret: str) -> RegistrationForm:
    return RegistrationForm(
        slug=page.slug, title=page.title, intro=page.intro, submit_label=page.submit_label,
        consent_text=page.consent_text, fields=[RegistrationField(**f) for f in page.form_fields],
        colors=RegistrationColors(primary=page.primary_color, background=page.background_color, text=page.text_color),
        logo_url=page.logo_url, submit_token=registration.issue_token(page, secret),
        honeypot_field=registration.HONEYPOT,
    )


@strawberry.type
class WorkspaceQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="The account's pipeline, with your leads per stage.")
    async def pipeline(self, info: Info) -> Pipeline:
        return await load_pipeline(info)

    @strawberry.field(permission_classes=[IsSignedIn], description="The account's lost reasons, in order.")
    async def lost_reasons(self, info: Info, include_archived: bool = False) -> list[LostReason]:
        rows = await pipeline.lost_reasons(info.context.viewer, include_archived=include_archived)
        return [LostReason.from_row(r) for r in rows]

    @strawberry.field(
        permission_classes=[IsSignedIn],
        description="Why leads were lost between two days (in your time zone, both included), over the leads you see.",
    )
    async def lost_reasons_report(self, info: Info, start: dt.date, end: dt.date) -> LostReasonsReport:
        return await load_lost_reasons_report(info, start, end)

    @strawberry.field(permission_classes=[IsSignedIn], description="The account's feedback questions, in order.")
    async def feedback_questions(self, info: Info, include_archived: bool = False) -> list[FeedbackQuestion]:
        rows = await feedback.questions(info.context.viewer, include_archived=include_archived)
        return [FeedbackQuestion.from_row(q) for q in rows]

    @strawberry.field(permission_classes=[IsSignedIn, IsOwner],
                      description="Assignment rules in priority order, and the manual queue (owner only).")
    async def assignment_settings(self, info: Info) -> AssignmentSettings:
        return await load_assignment_settings(info)

    @strawberry.field(permission_classes=[IsSignedIn, IsOwner], description="Lead imports, newest first (owner only).")
    async def lead_imports(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[LeadImport]:
        qs = await imports.imports(info.context.viewer)
        return await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=LeadImport.from_row)

    @strawberry.field(permission_classes=[IsSignedIn], description="The lead fields an import column can map to "
                                                                   "(and data.<key> for fields of your own).")
    def lead_import_fields(self) -> list[LeadImportField]:
        return [LeadImportField(name=k, label=v) for k, v in imports.LEAD_FIELDS.items()]

    @strawberry.field(permission_classes=[IsSignedIn, IsOwner], description="The account's registration page (owner only).")
    async def registration_page(self, info: Info) -> RegistrationPage:
        return RegistrationPage.from_row(await registration.page_for(info.context.viewer))

    @strawberry.field(description="Public: a registration form to show (or embed), with a fresh one-time submit "
                                  "token. Null when there is no such page or it is switched off.")
    async def registration_form(self, info: Info, slug: str) -> RegistrationForm | None:
        page = await registration.public_page(slug)
        return registration_form(page, info.context.settings.secret_key.reveal()) if page else None


# -- node(id:) --------------------------------------------------------------------------------


def _account_row(model, node_type, *, owner_only: bool = False):
    async def resolve(v: Viewer, pk: int):
        if owner_only and not v.is_owner:
            return None
        row = await workspace_rows(v, model).get_or_none(id=pk)
        return node_type.from_row(row) if row else None

    return resolve


async def _choice(v: Viewer, pk: int):
    row = await w.FeedbackChoice.get_or_none(id=pk, question__account_id=v.account_id)
    return FeedbackChoice.from_row(row) if row else None


RESOLVERS = {
    "PipelineStage": _account_row(w.PipelineStage, PipelineStage),
    "LostReason": _account_row(w.LostReason, LostReason),
    "FeedbackQuestion": _account_row(w.FeedbackQuestion, FeedbackQuestion),
    "FeedbackChoice": _choice,
    "AssignmentRule": _account_row(w.AssignmentRule, AssignmentRule, owner_only=True),
    "LeadImport": _account_row(w.LeadImport, LeadImport, owner_only=True),
    "RegistrationPage": _account_row(w.RegistrationPage, RegistrationPage, owner_only=True),
}
