"""Leads added by hand (seed 003: "While adding a lead ...")."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from leadwire.core.access import Viewer, assignable_memberships, visible_memberships
from leadwire.core.errors import DomainError, ErrorCode, FieldError
from leadwire.core.identity import now
from leadwire.core.models.leads import Lead, LeadOrigin
from leadwire.core.models.marketplace import Product
from leadwire.core.models.workspace import AssignmentMethod
from leadwire.core.workspace import assignment, entry
from leadwire.core.workspace.contact import check_contact
from leadwire.core.workspace.pipeline import MAX_VALUE_MINOR
from leadwire.core.workspace.setup import ensure_workspace


async def create_lead(
    viewer: Viewer,
    *,
    contact: dict[str, str | None],
    value_minor: int = 0,
    assignee_id: int | None = None,
    product_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Lead:
    """A lead typed in by a user. With ``assignee_id`` (the viewer or someone
    below them) it goes to that user; without, the assignment rules decide.
    It lands on the pipeline's first stage."""
    clean, errors = check_contact(contact)
    if not 0 <= value_minor <= MAX_VALUE_MINOR:
        errors.append(FieldError("value_minor", ErrorCode.INVALID, "A value is a whole number of minor units, 0 or more."))
    assignee = None
    if assignee_id is not None:
        assignee = await assignable_memberships(viewer).get_or_none(id=assignee_id)
        if assignee is None:
            barred = await visible_memberships(viewer).filter(id=assignee_id, barred_at__isnull=False).exists()
            errors.append(FieldError("assignee_id", ErrorCode.BARRED if barred else ErrorCode.NOT_FOUND,
                                     "Leads cannot be assigned to a barred user." if barred else "No user with this id."))
    product = None
    if product_id is not None:
        product = await Product.get_or_none(id=product_id)
        if product is None:
            errors.append(FieldError("product_id", ErrorCode.NOT_FOUND, "No product with this id."))
    if data is not None and (not isinstance(data, dict) or len(str(data)) > 10_000):
        errors.append(FieldError("data", ErrorCode.INVALID, "Extra fields are an object of at most 10,000 characters."))
    if errors:
        raise DomainError(*errors)
    await ensure_workspace(viewer.account_id)
    at = now()
    lead = Lead(
        account_id=viewer.account_id, origin=LeadOrigin.MANUAL, value_minor=value_minor,
        product_id=product.id if product else None, industry_id=product.industry_id if product else None,
        data=data or {}, **vars(clean),
    )
    if assignee is not None:
        assignment.apply_to(lead, assignment.Decision(assignee.id, AssignmentMethod.BY_HAND, None, False), at)
    async with in_transaction() as conn:
        await entry.place(viewer.account_id, [lead], conn, at)
        await lead.save(using_db=conn)
    assignment.publish_assigned(viewer.account_id, [lead.id])
    return lead
