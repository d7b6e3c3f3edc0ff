"""Report exports: a one-time download link for a filtered lead history
(core.reports.export). The token itself is never stored, only its hash."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ReportExport(Model):
    """One requested download. Valid until ``expires_at``, used once (``used_at``
    is set by a conditional update when the download starts), and only by the
    membership that asked for it, whose visibility is checked again then."""

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    membership: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "leadwire.Membership", related_name="report_exports", on_delete=fields.CASCADE
    )
    format = fields.CharField(max_length=8)
    lead_filter = fields.JSONField(default=dict)  # core.reports.history.HistoryFilter, as JSON
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "report_export"
