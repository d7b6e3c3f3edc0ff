"""Lead queries. Every one starts from core.access.visible_leads."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.types import Info

from leadwire.core import access
from leadwire.core.reports.history import search_leads
from leadwire.schema.leads.types import Lead
from leadwire.schema.loaders import SALE_OF_BUYER_LEAD, sales_from_rows
from leadwire.schema.permissions import IsSignedIn
from leadwire.schema.relay import Connection, decode_id, paginate, selects
from leadwire.schema.workspace.lead_fields import apply_lead_filters
from leadwire.schema.workspace.types import LeadOutcome


async def lead_connection(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    assignee_id: int | None = None,
    search: str | None = None,
    workspace_filters: dict | None = None,
) -> Connection[Lead]:
    qs = access.visible_leads(info.context.viewer)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if workspace_filters:
        qs = apply_lead_filters(qs, **workspace_filters)
    return await paginate_leads(info, search_leads(qs, search), first=first, after=after)


async def paginate_leads(
    info: Info, qs, *, first: int | None, after: str | None, ascending: bool = False
) -> Connection[Lead]:
    """A page of leads; when the query asks for their sales, each lead's sale
    is read with it (one statement) and their campaigns in one more."""
    with_sales = selects(info, "edges", "node", "sale")
    sale_rows: list = []

    def to_node(row) -> Lead:
        if with_sales:
            sale_rows.append(row.sale)
        return Lead.from_row(row)

    page = await paginate(
        qs, first=first, after=after, max_page_size=info.context.settings.max_page_size, to_node=to_node,
        ascending=ascending, plain=True, joined=SALE_OF_BUYER_LEAD if with_sales else None, fields=Lead.ROW_FIELDS,
    )
    if with_sales:
        for edge, sale in zip(page.edges, await sales_from_rows(sale_rows)):
            edge.node._sale = sale
    return page


@strawberry.type
class LeadQueries:
    @strawberry.field(permission_classes=[IsSignedIn], description="Leads the viewer may see, newest first (leadHistory filters and sorts more).")
    async def leads(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: Annotated[
            str | None, strawberry.argument(description="Name, e-mail, phone or city contains, or ZIP starts with.")
        ] = None,
        stage_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only leads on this pipeline stage.")
        ] = None,
        outcome: Annotated[LeadOutcome | None, strawberry.argument(description="Only won, or only lost, leads.")] = None,
        open: Annotated[
            bool | None, strawberry.argument(description="true: only leads not won or lost; false: only closed ones.")
        ] = None,
        awaiting_assignment: Annotated[
            bool | None, strawberry.argument(description="true: the manual queue (leads to assign by hand).")
        ] = None,
    ) -> Connection[Lead]:
        filters = dict(
            stage_id=decode_id(stage_id, "PipelineStage", "stage_id") if stage_id else None,
            outcome=outcome, open_only=open, awaiting_assignment=awaiting_assignment,
        )
        return await lead_connection(info, first=first, after=after, search=search, workspace_filters=filters)
