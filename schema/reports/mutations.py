"""createLeadExport: a one-time link to download the lead history (core.reports.export)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from leadwire.core.errors import DomainError
from leadwire.core.reports import export
from leadwire.schema.errors import mutation
from leadwire.schema.reports.queries import _prefixed, to_history_filter
from leadwire.schema.reports.types import CreateLeadExportPayload, ExportFormat, LeadHistoryFilter, ReportExport


@strawberry.input
class CreateLeadExportInput:
    filter: LeadHistoryFilter | None = None
    format: ExportFormat = export.ExportFormat.CSV


@strawberry.type
class ReportMutations:
    @strawberry.mutation(description=(
        "A download link for the lead history with this filter: GET the url, signed in as yourself, once, within "
        "10 minutes. The file is streamed; your visibility is checked again when it starts."))
    @mutation(CreateLeadExportPayload)
    async def create_lead_export(self, info: Info, input: CreateLeadExportInput) -> CreateLeadExportPayload:
        f = to_history_filter(input.filter)
        try:
            token, row = await export.create_export(info.context.viewer, f, export.ExportFormat(input.format.value))
        except DomainError as exc:
            raise _prefixed(exc, "filter") from None
        return CreateLeadExportPayload(export=ReportExport(url=f"/exports/{token}", expires_at=row.expires_at,
                                                           format=export.ExportFormat(row.format)))
