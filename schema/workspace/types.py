"""GraphQL types of the sales workspace: the pipeline, lost reasons, feedback
questions and answers, assignment rules, imports and the registration page."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from leadwire.core.models import workspace as w
from leadwire.core.models.leads import LeadOrigin as CoreLeadOrigin
from leadwire.core.models.leads import LeadOutcome as CoreLeadOutcome
from leadwire.core.workspace import imports as core_imports
from leadwire.schema.leads.types import LeadOrigin
from leadwire.schema.marketplace.types import Money
from leadwire.schema.relay import Connection
from leadwire.schema.workspace.loaders import loaders

if TYPE_CHECKING:
    from leadwire.schema.identity.types import User
    from leadwire.schema.marketplace.types import Industry, Product

IdentityTypes = "leadwire.schema.identity.types"
MarketplaceTypes = "leadwire.schema.marketplace.types"

LeadOutcome = strawberry.enum(CoreLeadOutcome, name="LeadOutcome", description="A closed lead's result.")
StageKind = strawberry.enum(w.StageKind, name="StageKind", description="OPEN, or CLOSING: the last stage, where a lead is won or lost.")
FeedbackQuestionKind = strawberry.enum(w.QuestionKind, name="FeedbackQuestionKind")
AssignmentMethod = strawberry.enum(
    w.AssignmentMethod, name="AssignmentMethod",
    description="How a rule picks a user (SINGLE, ROUND_ROBIN, LEAST_BUSY, MANUAL), or how a lead got its user "
    "(also NO_RULE: in the manual queue, BY_HAND, IMPORT).",
)
LeadImportStatus = strawberry.enum(w.ImportStatus, name="LeadImportStatus")


async def account_currency(info: Info) -> str:
    account = await info.context.loaders.account.load(info.context.viewer.account_id)
    return account.currency


def local_iso(info: Info, at: dt.datetime | None) -> str | None:
    """An instant as ISO-8601 in the viewer's own time zone (with its offset)."""
    if at is None:
        return None
    return at.astimezone(ZoneInfo(info.context.viewer.time_zone)).isoformat()


# -- pipeline ------------------------------------------------------------------------------


@strawberry.type(description="A stage of the account's pipeline.")
class PipelineStage(relay.Node):
    id: relay.NodeID[int]
    name: str
    position: int = strawberry.field(description="0 = first; the closing stage is always last.")
    probability: int = strawberry.field(description="Likelihood of success, percent. The closing stage: won 100, lost 0.")
    kind: StageKind

    @classmethod
    def from_row(cls, s: w.PipelineStage) -> PipelineStage:
        return cls(id=s.id, name=s.name, position=s.position, probability=s.probability, kind=s.kind)

    @strawberry.field(description="Leads on this stage that you see (won and lost included on the closing stage).")
    async def lead_count(self, info: Info) -> int:
        t = (await loaders(info).stage_totals()).get(self.id)
        return t.lead_count if t else 0

    @strawberry.field(description="Total value of those leads, in the account's currency.")
    async def value(self, info: Info) -> Money:
        t = (await loaders(info).stage_totals()).get(self.id)
        return Money(amount_minor=t.value_minor if t else 0, currency=await account_currency(info))

    @strawberry.field(description="Value times probability (the closing stage: the won value).")
    async def weighted_value(self, info: Info) -> Money:
        t = (await loaders(info).stage_totals()).get(self.id)
        weighted = t.weighted_value_minor(kind=self.kind, probability=self.probability) if t else 0
        return Money(amount_minor=weighted, currency=await account_currency(info))

    @strawberry.field(description="Closing stage: how many of its leads were won.")
    async def won_count(self, info: Info) -> int:
        t = (await loaders(info).stage_totals()).get(self.id)
        return t.won_count if t else 0

    @strawberry.field(description="Closing stage: how many of its leads were lost.")
    async def lost_count(self, info: Info) -> int:
        t = (await loaders(info).stage_totals()).get(self.id)
        return t.lost_count if t else 0


@strawberry.type(description="The account's pipeline (seed 003: up to 7 stages, the last one closing).")
class Pipeline:
    stages: list[PipelineStage]
    max_stages: int
    currency: str = strawberry.field(description="The account's currency, which every pipeline value is in.")


@strawberry.type(description="Why a lead was lost: the account's list, kept by the owner.")
class LostReason(relay.Node):
    id: relay.NodeID[int]
    name: str
    position: int
    archived: bool = strawberry.field(description="No longer offered; leads lost with it keep it.")
    archived_at: dt.datetime | None

    @classmethod
    def from_row(cls, r: w.LostReason) -> LostReason:
        return cls(id=r.id, name=r.name, position=r.position, archived=r.archived_at is not None, archived_at=r.archived_at)


@strawberry.type
class LostReasonsReportRow:
    reason: LostReason
    lead_count: int
    value: Money


@strawberry.type(description="Why leads were lost over a period, over the leads you see.")
class LostReasonsReport:
    time_zone: str = strawberry.field(description="The viewer's time zone: the period's days are days there.")
    start: dt.date
    end: dt.date
    starts_at: dt.datetime = strawberry.field(description="The period's first instant (UTC).")
    ends_at: dt.datetime = strawberry.field(description="The instant after the period (UTC, excluded).")
    rows: list[LostReasonsReportRow]
    lead_count: int
    value: Money


# -- feedback -----------------------------------------------------------------------------


@strawberry.type(description="One possible answer of a CHOICE question.")
class FeedbackChoice(relay.Node):
    id: relay.NodeID[int]
    label: str
    archived: bool = strawberry.field(description="No longer offered; answers that chose it keep it.")

    @classmethod
    def from_row(cls, c: w.FeedbackChoice) -> FeedbackChoice:
        return cls(id=c.id, label=c.label, archived=c.archived_at is not None)


@strawberry.type(description="A question users answer about each lead.")
class FeedbackQuestion(relay.Node):
    id: relay.NodeID[int]
    text: str
    kind: FeedbackQuestionKind
    compulsory: bool
    position: int
    archived: bool = strawberry.field(description="No longer asked; every answer given is kept.")
    _required_at_stage_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, q: w.FeedbackQuestion) -> FeedbackQuestion:
        return cls(id=q.id, text=q.text, kind=q.kind, compulsory=q.compulsory, position=q.position,
                   archived=q.archived_at is not None, _required_at_stage_id=q.required_at_stage_id)

    @strawberry.field(description="Compulsory: a lead cannot enter this stage, or a later one, unanswered "
                                  "(null: the closing stage).")
    async def required_at_stage(self, info: Info) -> PipelineStage | None:
        if self._required_at_stage_id is None:
            return None
        row = await loaders(info).stage.load(self._required_at_stage_id)
        return PipelineStage.from_row(row) if row else None

    @strawberry.field(description="CHOICE questions: the choices, archived ones included (flagged).")
    async def choices(self, info: Info) -> list[FeedbackChoice]:
        return [FeedbackChoice.from_row(c) for c in await loaders(info).choices_of_question.load(self.id)]


@strawberry.type(description="An answer about a lead.")
class FeedbackAnswer:
    value: JSON = strawberry.field(description="true/false, a number, a text, or the choice's label.")
    answered_at: dt.datetime
    answered_at_local: str = strawberry.field(description="answeredAt in your own time zone, ISO-8601.")
    _question_id: strawberry.Private[int]
    _choice_id: strawberry.Private[int | None]
    _by_id: strawberry.Private[int | None]

    @strawberry.field(description="The question, archived or not.")
    async def question(self, info: Info) -> FeedbackQuestion:
        return FeedbackQuestion.from_row(await loaders(info).question.load(self._question_id))

    @strawberry.field
    async def choice(self, info: Info) -> FeedbackChoice | None:
        if self._choice_id is None:
            return None
        row = await loaders(info).choice.load(self._choice_id)
        return FeedbackChoice.from_row(row) if row else None

    @strawberry.field(description="Who answered, when you may see them.")
    async def answered_by(self, info: Info) -> Annotated["User", strawberry.lazy(IdentityTypes)] | None:
        from leadwire.core import access
        from leadwire.schema.identity.types import User

        if self._by_id is None:
            return None
        m = await info.context.loaders.membership.load(self._by_id)
        if m is None or not access.can_see_membership_path(info.context.viewer, m.tree_path, m.account_id):
            return None
        return User.from_row(m)


# -- assignment -----------------------------------------------------------------------------


@strawberry.type(description="What a lead must have for a rule to take it (every condition given must hold).")
class RuleConditions:
    states: list[str]
    postal_codes: list[str] = strawberry.field(description="ZIP codes or prefixes.")
    origins: list[LeadOrigin]
    missing_phone: bool | None
    missing_email: bool | None
    data: JSON = strawberry.field(description="Industry fields and their accepted values.")
    _product_ids: strawberry.Private[list[int]]
    _industry_ids: strawberry.Private[list[int]]

    @strawberry.field
    async def products(self, info: Info) -> list[Annotated["Product", strawberry.lazy(MarketplaceTypes)]]:
        from leadwire.schema.marketplace.types import Product

        rows = await info.context.loaders.product.load_many(self._product_ids)
        return [Product.from_row(r) for r in rows if r]

    @strawberry.field
    async def industries(self, info: Info) -> list[Annotated["Industry", strawberry.lazy(MarketplaceTypes)]]:
        from leadwire.schema.marketplace.types import Industry

        rows = await info.context.loaders.industry.load_many(self._industry_ids)
        return [Industry.from_row(r) for r in rows if r]


@strawberry.type(description="A rule that assigns new leads (owner only).")
class AssignmentRule(relay.Node):
    id: relay.NodeID[int]
    name: str
    priority: int = strawberry.field(description="0 is tried first.")
    active: bool
    method: AssignmentMethod
    conditions: RuleConditions
    created_at: dt.datetime

    @classmethod
    def from_row(cls, r: w.AssignmentRule) -> AssignmentRule:
        c = r.conditions or {}
        return cls(
            id=r.id, name=r.name, priority=r.priority, active=r.active, method=r.method, created_at=r.created_at,
            conditions=RuleConditions(
                states=c.get("states", []), postal_codes=c.get("postal_codes", []),
                origins=[CoreLeadOrigin(o) for o in c.get("origins", [])], missing_phone=c.get("missing_phone"),
                missing_email=c.get("missing_email"), data=c.get("data", {}),
                _product_ids=c.get("product_ids", []), _industry_ids=c.get("industry_ids", []),
            ),
        )

    @strawberry.field(description="Who it assigns to, in turn order.")
    async def users(self, info: Info) -> list[Annotated["User", strawberry.lazy(IdentityTypes)]]:
        from leadwire.schema.identity.types import User

        members = await loaders(info).members_of_rule.load(self.id)
        rows = await info.context.loaders.membership.load_many([m.membership_id for m in members])
        return [User.from_row(m) for m in rows if m]


@strawberry.type(description="How a lead got its current user.")
class LeadAssignment:
    method: AssignmentMethod
    at: dt.datetime | None
    at_local: str | None = strawberry.field(description="`at` in your own time zone.")
    _rule_id: strawberry.Private[int | None]

    @strawberry.field(description="The rule that assigned it (null: by hand, no rule, or a rule since deleted).")
    async def rule_name(self, info: Info) -> str | None:
        if self._rule_id is None:
            return None
        row = await loaders(info).rule.load(self._rule_id)
        return row.name if row else None

    @strawberry.field(description="The rule itself (the owner only: rules are set-up).")
    async def rule(self, info: Info) -> AssignmentRule | None:
        if self._rule_id is None or not info.context.viewer.is_owner:
            return None
        row = await loaders(info).rule.load(self._rule_id)
        return AssignmentRule.from_row(row) if row and row.account_id == info.context.viewer.account_id else None


@strawberry.type(description="Where leads that match no rule go (the manual queue).")
class AssignmentSettings:
    rules: list[AssignmentRule]
    _manual_assignee_id: strawberry.Private[int]

    @strawberry.field(description="Receives the leads no rule assigns, to assign them by hand.")
    async def manual_assignee(self, info: Info) -> Annotated["User", strawberry.lazy(IdentityTypes)]:
        from leadwire.schema.identity.types import User

        return User.from_row(await info.context.loaders.membership.load(self._manual_assignee_id))


# -- imports --------------------------------------------------------------------------------


@strawberry.type(description="A problem with one row of an imported file.")
class ImportRowError:
    row_number: int = strawberry.field(description="The file's row (the header is row 1).")
    column: str = strawberry.field(description="The file's column, empty for the row as a whole.")
    field: str = strawberry.field(description="The lead field it maps to.")
    code: str
    message: str


@strawberry.type(description="A distinct value of the file's assignee column and the user it maps to.")
class ImportPerson:
    value: str
    row_count: int
    _membership_id: strawberry.Private[int | None]

    @strawberry.field(description="Null: the assignment rules decide for these rows.")
    async def user(self, info: Info) -> Annotated["User", strawberry.lazy(IdentityTypes)] | None:
        from leadwire.schema.identity.types import User

        if self._membership_id is None:
            return None
        m = await info.context.loaders.membership.load(self._membership_id)
        return User.from_row(m) if m else None


@strawberry.type(description="A row of the file as it would be imported.")
class ImportPreviewRow:
    row_number: int
    values: JSON = strawberry.field(description="Lead field -> value after checking.")
    errors: list[ImportRowError]


@strawberry.type(description="A CSV file being imported (owner only).")
class LeadImport(relay.Node):
    id: relay.NodeID[int]
    file_name: str
    size_bytes: int
    status: LeadImportStatus
    columns: list[str] = strawberry.field(description="The file's header row.")
    mapping: JSON = strawberry.field(description="Column -> lead field (see leadImportFields).")
    total_rows: int
    rows_checked: int = strawberry.field(description="Preview progress: rows checked.")
    invalid_rows: int = strawberry.field(description="Rows with at least one error (not imported).")
    existing_duplicates: int = strawberry.field(description="Preview: rows whose phone or e-mail is already a lead here.")
    rows_done: int = strawberry.field(description="Import progress: rows processed.")
    imported_count: int
    duplicate_count: int = strawberry.field(description="Rows skipped: same phone or e-mail as a lead already here.")
    failure: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @classmethod
    def from_row(cls, i: w.LeadImport) -> LeadImport:
        return cls(
            id=i.id, file_name=i.file_name, size_bytes=i.size_bytes, status=i.status, columns=i.columns,
            mapping=i.mapping, total_rows=i.total_rows, rows_checked=i.rows_checked, invalid_rows=i.invalid_rows,
            existing_duplicates=i.existing_duplicates, rows_done=i.rows_done, imported_count=i.imported_count,
            duplicate_count=i.duplicate_count, failure=i.failure, created_at=i.created_at, started_at=i.started_at,
            finished_at=i.finished_at,
        )

    @strawberry.field(description="0 to 1: the preview's progress while validating, the import's after.")
    def progress(self) -> float:
        if not self.total_rows:
            return 1.0 if self.status in (w.ImportStatus.VALIDATED, w.ImportStatus.DONE) else 0.0
        done = self.rows_checked if self.status in (w.ImportStatus.UPLOADED, w.ImportStatus.VALIDATING,
                                                     w.ImportStatus.VALIDATED) else self.rows_done
        return round(done / self.total_rows, 4)

    @strawberry.field(description="Errors by row and column (one import at a time: not inside leadImports' edges).")
    async def errors(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ImportRowError]:
        from leadwire.schema.relay import paginate

        _one_at_a_time(info, "errors")
        qs = w.ImportRowError.filter(lead_import_id=self.id)
        conn = await paginate(qs, first=first, after=after, max_page_size=info.context.settings.max_page_size,
                              to_node=lambda e: ImportRowError(row_number=e.row_number, column=e.column, field=e.field,
                                                               code=e.code, message=e.message))
        return conn

    @strawberry.field(description="The assignee column's people, to map to users (most rows first).")
    async def people(self, info: Info) -> list[ImportPerson]:
        rows = await loaders(info).people_of_import.load(self.id)
        return [ImportPerson(value=p.value, row_count=p.row_count, _membership_id=p.membership_id) for p in rows]

    @strawberry.field(description="The first rows as they would be imported, with their errors (at most 50; one "
                                  "import at a time: not inside leadImports' edges).")
    async def preview(self, info: Info, first: int = 20) -> list[ImportPreviewRow]:
        _one_at_a_time(info, "preview")
        rows = await core_imports.preview_rows(info.context.viewer, self.id, min(max(first, 1), 50))
        return [
            ImportPreviewRow(
                row_number=r.row_number, values=r.values,
                errors=[ImportRowError(row_number=r.row_number, column=e.column, field=e.field, code=e.code,
                                       message=e.message) for e in r.errors],
            )
            for r in rows
        ]


def _one_at_a_time(info: Info, name: str) -> None:
    """Fields that read much (a file's rows, a paginated list) are for one object
    at a time, never once per row of a list."""
    from graphql import GraphQLError

    path, keys = info.path, []
    while path is not None:
        keys.append(path.key)
        path = path.prev
    if "edges" in keys:
        raise GraphQLError(f"Ask for `{name}` of one import at a time, e.g. through node(id:).",
                           extensions={"code": "BAD_USER_INPUT"})


# -- registration page ---------------------------------------------------------------------


@strawberry.type(description="A field of the registration form.")
class RegistrationField:
    name: str = strawberry.field(description="first_name, last_name, email, phone, postal_code, city, state, "
                                             "message, or data.<key> for a field of your own.")
    label: str
    required: bool


@strawberry.type(description="The page's colours (#rrggbb).")
class RegistrationColors:
    primary: str
    background: str
    text: str


@strawberry.type(description="The account's hosted registration page (owner only).")
class RegistrationPage(relay.Node):
    id: relay.NodeID[int]
    slug: str
    path: str = strawberry.field(description="The public page, on this server: /r/<slug>.")
    enabled: bool
    title: str
    intro: str
    submit_label: str
    thank_you_text: str
    consent_text: str
    fields: list[RegistrationField]
    colors: RegistrationColors
    logo_url: str
    redirect_url: str = strawberry.field(description="Where the visitor goes after submitting (empty: a thank-you page).")
    rate_limit_per_hour: int = strawberry.field(description="Submissions accepted per client IP per hour.")
    _product_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, p: w.RegistrationPage) -> RegistrationPage:
        return cls(
            id=p.id, slug=p.slug, path=f"/r/{p.slug}", enabled=p.enabled, title=p.title, intro=p.intro,
            submit_label=p.submit_label, thank_you_text=p.thank_you_text, consent_text=p.consent_text,
            fields=[RegistrationField(**f) for f in p.form_fields],
            colors=RegistrationColors(primary=p.primary_color, background=p.background_color, text=p.text_color),
            logo_url=p.logo_url, redirect_url=p.redirect_url, rate_limit_per_hour=p.rate_limit_per_hour,
            _product_id=p.product_id,
        )

    @strawberry.field(description="The product its leads are recorded under (for assignment rules).")
    async def product(self, info: Info) -> Annotated["Product", strawberry.lazy(MarketplaceTypes)] | None:
        from leadwire.schema.marketplace.types import Product

        row = await info.context.loaders.product.load(self._product_id) if self._product_id else None
        return Product.from_row(row) if row else None


@strawberry.type(description="A registration form as a visitor sees it, with a one-time submit token (public).")
class RegistrationForm:
    slug: str
    title: str
    intro: str
    submit_label: str
    consent_text: str
    fields: list[RegistrationField]
    colors: RegistrationColors
    logo_url: str
    submit_token: str = strawberry.field(description="Send it back once with the submission: a second submit with "
                                                     "the same token makes no second lead.")
    honeypot_field: str = strawberry.field(description="A field to render hidden and leave empty (bots fill it).")
