"""The sales workspace of an account (seed 003): its pipeline, lost reasons,
feedback questions, assignment rules, lead imports and registration page.

The lead's own place in it (stage, outcome, lost reason, value, how it was
assigned) is on ``Lead`` (core.models.leads). The rules live in
core.workspace, who may see or change what in core.access.
"""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class Workspace(Model):
    """One per account, created with the default pipeline the first time the
    account's workspace is used. Every change to the pipeline writes this row
    first, which serialises them per account (row lock on PostgreSQL, write
    lock on SQLite). ``stage_count`` is the 7-stage limit, kept by a
    conditional update."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="workspace", unique=True, on_delete=fields.RESTRICT
    )
    stage_count = fields.SmallIntField(default=0)
    # Who receives the leads that match no rule (and assigns them by hand).
    # NULL means the account's owner.
    manual_assignee: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="manual_queues", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workspace"


class StageKind(str, Enum):
    OPEN = "open"
    CLOSING = "closing"  # the last stage ("Sale/Lost"): a lead on it is won or lost


class PipelineStage(Model):
    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "leadwire.Workspace", related_name="stages", on_delete=fields.RESTRICT
    )
    account_id = fields.BigIntField(db_index=True)
    name = fields.CharField(max_length=60)
    position = fields.SmallIntField()  # 0 = first; the closing stage is always last
    probability = fields.SmallIntField(default=0)  # percent; the closing stage counts won 100, lost 0
    kind = fields.CharEnumField(StageKind, max_length=16, default=StageKind.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pipeline_stage"


class LostReason(Model):
    """Why a lead was lost. Archived reasons cannot be chosen any more, and every
    lead lost with one keeps it (and the report still counts it)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="lost_reasons", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    position = fields.IntField(default=0)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lost_reason"
        unique_together = (("account_id", "name"),)


class QuestionKind(str, Enum):
    YES_NO = "yes_no"
    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"


class FeedbackQuestion(Model):
    """A question users answer about each lead. Compulsory ones must be answered
    before a lead moves to ``required_at_stage`` or any stage after it (the
    closing stage when none is named)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="feedback_questions", on_delete=fields.RESTRICT
    )
    text = fields.CharField(max_length=300)
    kind = fields.CharEnumField(QuestionKind, max_length=16)
    compulsory = fields.BooleanField(default=False)
    required_at_stage: fields.ForeignKeyNullableRelation[PipelineStage] = fields.ForeignKeyField(
        "leadwire.PipelineStage", related_name="required_questions", null=True, on_delete=fields.RESTRICT
    )
    position = fields.IntField(default=0)
    archived_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feedback_question"
        indexes = (("account_id", "position"),)


class FeedbackChoice(Model):
    """One possible answer of a choice question. Archived: no longer offered,
    kept on every answer that chose it."""

    id = fields.BigIntField(primary_key=True)
    question: fields.ForeignKeyRelation[FeedbackQuestion] = fields.ForeignKeyField(
        "leadwire.FeedbackQuestion", related_name="choices", on_delete=fields.CASCADE
    )
    label = fields.CharField(max_length=200)
    position = fields.IntField(default=0)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "feedback_choice"


class FeedbackAnswer(Model):
    id = fields.BigIntField(primary_key=True)
    lead: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="feedback_answers", on_delete=fields.CASCADE
    )
    question: fields.ForeignKeyRelation[FeedbackQuestion] = fields.ForeignKeyField(
        "leadwire.FeedbackQuestion", related_name="answers", on_delete=fields.RESTRICT
    )
    choice: fields.ForeignKeyNullableRelation[FeedbackChoice] = fields.ForeignKeyField(
        "leadwire.FeedbackChoice", related_name="answers", null=True, on_delete=fields.RESTRICT
    )
    # {"v": answer}: true/false, a number or a text (a choice: its label when answered)
    value = fields.JSONField(null=True)
    answered_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="feedback_answers", null=True, on_delete=fields.SET_NULL
    )
    answered_at = fields.DatetimeField()

    class Meta:
        table = "feedback_answer"
        unique_together = (("lead_id", "question_id"),)


class AssignmentMethod(str, Enum):
    """How a rule picks the user (or how a lead was assigned, on the lead)."""

    SINGLE = "single"  # rule: one user
    ROUND_ROBIN = "round_robin"  # rule: the next of its users in turn
    LEAST_BUSY = "least_busy"  # rule: the user with the fewest open leads
    MANUAL = "manual"  # rule: to a person who assigns by hand (the lead waits in their queue)
    # On a lead only:
    NO_RULE = "no_rule"  # matched no rule: in the manual queue
    BY_HAND = "by_hand"  # assigned by a user
    IMPORT = "import"  # named in an imported file


class AssignmentRule(Model):
    """Matches new leads on their fields and assigns them. Rules are tried by
    ``priority`` (lowest first), the first that matches and can assign wins.
    ``turn`` counts the leads the rule has assigned: round-robin takes the
    next user from it, under the row lock its own increment takes."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="assignment_rules", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    priority = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    # {"states": [...], "postal_codes": [...prefixes], "product_ids": [...], "industry_ids": [...],
    #  "origins": [...], "missing_phone": bool, "missing_email": bool, "data": {key: [values]}}
    conditions = fields.JSONField(default=dict)
    method = fields.CharEnumField(AssignmentMethod, max_length=16)
    turn = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "assignment_rule"
        indexes = (("account_id", "priority"),)


class AssignmentRuleMember(Model):
    id = fields.BigIntField(primary_key=True)
    rule: fields.ForeignKeyRelation[AssignmentRule] = fields.ForeignKeyField(
        "leadwire.AssignmentRule", related_name="members", on_delete=fields.CASCADE
    )
    # Deleting a user takes them out of every rule.
    membership: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="assignment_rules", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "assignment_rule_member"
        unique_together = (("rule_id", "membership_id"),)


class ImportStatus(str, Enum):
    UPLOADED = "uploaded"  # stored, waiting for its column mapping to be checked
    VALIDATING = "validating"
    VALIDATED = "validated"  # preview ready: errors by row and column, people to map
    IMPORTING = "importing"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class LeadImport(Model):
    """A CSV file being imported. The file itself is stored as ImportChunk rows
    (parsed rows, a few hundred per chunk), so that any worker process on any
    machine can read it without a shared disk. Validation and import go chunk
    by chunk, each chunk in one transaction that also advances the progress
    with a conditional update: a killed worker resumes at the first chunk not
    done and no row is imported twice."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="lead_imports", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="lead_imports", null=True, on_delete=fields.SET_NULL
    )
    file_name = fields.CharField(max_length=200)
    size_bytes = fields.BigIntField(default=0)
    encoding = fields.CharField(max_length=20, default="utf-8")
    columns = fields.JSONField(default=list)  # the header row
    mapping = fields.JSONField(default=dict)  # {column: lead field}
    status = fields.CharEnumField(ImportStatus, max_length=16, default=ImportStatus.UPLOADED)
    revision = fields.IntField(default=0)  # +1 at each new mapping: a stale validation job stops
    chunk_count = fields.IntField(default=0)
    total_rows = fields.IntField(default=0)
    # validation (preview)
    checked_chunks = fields.IntField(default=0)
    rows_checked = fields.IntField(default=0)
    invalid_rows = fields.IntField(default=0)
    existing_duplicates = fields.IntField(default=0)  # rows matching a lead already in the account
    # import
    done_chunks = fields.IntField(default=0)
    rows_done = fields.IntField(default=0)
    imported_count = fields.IntField(default=0)
    duplicate_count = fields.IntField(default=0)
    skipped_invalid = fields.IntField(default=0)
    failure = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "lead_import"


class ImportChunk(Model):
    """Consecutive rows of an uploaded file (``rows``: lists of cell texts),
    the first being file row ``first_row`` (the header is row 1)."""

    id = fields.BigIntField(primary_key=True)
    lead_import: fields.ForeignKeyRelation[LeadImport] = fields.ForeignKeyField(
        "leadwire.LeadImport", related_name="chunks", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    first_row = fields.IntField()
    rows = fields.JSONField()  # [[row number, [cells]], ...]
    # Written by the preview: per row, its checked lead values (null when the row
    # has errors), for the import of this mapping revision to insert as they are.
    checked = fields.JSONField(null=True)
    checked_revision = fields.IntField(null=True)

    class Meta:
        table = "import_chunk"
        unique_together = (("lead_import_id", "seq"),)


class ImportRowError(Model):
    id = fields.BigIntField(primary_key=True)
    lead_import: fields.ForeignKeyRelation[LeadImport] = fields.ForeignKeyField(
        "leadwire.LeadImport", related_name="row_errors", on_delete=fields.CASCADE
    )
    row_number = fields.IntField()
    column = fields.CharField(max_length=200, default="")  # the file's column, "" for the row as a whole
    field = fields.CharField(max_length=60, default="")  # the lead field it maps to
    code = fields.CharField(max_length=32)
    message = fields.CharField(max_length=300)

    class Meta:
        table = "import_row_error"
        indexes = (("lead_import_id", "row_number"),)


class ImportPerson(Model):
    """A distinct value of the file's assignee column, and the user it maps to
    (NULL: the assignment rules decide)."""

    id = fields.BigIntField(primary_key=True)
    lead_import: fields.ForeignKeyRelation[LeadImport] = fields.ForeignKeyField(
        "leadwire.LeadImport", related_name="people", on_delete=fields.CASCADE
    )
    value = fields.CharField(max_length=200)
    row_count = fields.IntField(default=0)
    membership: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="import_people", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "import_person"
        unique_together = (("lead_import_id", "value"),)


class RegistrationPage(Model):
    """The account's hosted web form at /r/<slug> (and the same intake as an API)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Account", related_name="registration_page", unique=True, on_delete=fields.RESTRICT
    )
    slug = fields.CharField(max_length=40, unique=True)
    enabled = fields.BooleanField(default=True)
    title = fields.CharField(max_length=200)
    intro = fields.TextField(default="")
    submit_label = fields.CharField(max_length=60, default="Send")
    thank_you_text = fields.TextField(default="")
    consent_text = fields.TextField(default="")
    form_fields = fields.JSONField(default=list)  # [{"name", "label", "required"}]
    primary_color = fields.CharField(max_length=7, default="#1f6feb")
    background_color = fields.CharField(max_length=7, default="#ffffff")
    text_color = fields.CharField(max_length=7, default="#1f2328")
    logo_url = fields.CharField(max_length=500, default="")
    redirect_url = fields.CharField(max_length=500, default="")
    product: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Product", related_name="registration_pages", null=True, on_delete=fields.SET_NULL
    )
    rate_limit_per_hour = fields.IntField(default=20)  # submissions per client IP
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "registration_page"


class RegistrationSubmission(Model):
    """A used one-time submit token: the unique nonce makes a second submit of
    the same form (a double click, a retry) find the first one's lead instead
    of making another."""

    id = fields.BigIntField(primary_key=True)
    page: fields.ForeignKeyRelation[RegistrationPage] = fields.ForeignKeyField(
        "leadwire.RegistrationPage", related_name="submissions", on_delete=fields.CASCADE
    )
    nonce = fields.CharField(max_length=64, unique=True)
    lead: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "leadwire.Lead", related_name="registration_submissions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "registration_submission"


class RateCounter(Model):
    """A fixed-window counter (per key and window start) counted with a
    conditional update, so a limit holds across processes."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=200)
    window_start = fields.DatetimeField()
    count = fields.IntField(default=0)

    class Meta:
        table = "rate_counter"
        unique_together = (("key", "window_start"),)
