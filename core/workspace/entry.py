"""New leads entering an account's workspace: onto the pipeline's first stage,
then through the assignment rules (unless someone is named already).

Three ways in, one placement:
- a lead bought on the marketplace: core.routing creates the buyer's copy
  inside the sale's transaction and calls :func:`enqueue_entry` there, so
  the ``workspace_enter_lead`` job commits with the sale or not at all. The
  rules run afterwards, in the job, outside the sale's short transaction; a
  crash anywhere after the commit only delays the job (the outbox re-runs
  it), and running it twice is harmless: it claims the lead with a
  conditional update (no stage yet -> first stage) before assigning it;
- the registration page and leads added by hand: :func:`place` in the
  transaction that inserts the lead;
- imports: :func:`place` on each chunk of new leads before they are inserted.
"""

from __future__ import annotations

import datetime as dt

from tortoise.transactions import in_transaction

from leadwire.core.identity import now
from leadwire.core.jobs import enqueue, job
from leadwire.core.models.leads import Lead
from leadwire.core.workspace import assignment
from leadwire.core.workspace.setup import ensure_workspace, first_stage

ENTER_JOB = "workspace_enter_lead"


async def enqueue_entry(lead_id: int, conn) -> None:
    """Record, in the caller's transaction, that a new lead is to enter its
    account's workspace. No dedupe key (one SELECT fewer on the sale's hot
    path): the job is idempotent."""
    await enqueue(ENTER_JOB, {"lead_id": lead_id}, using_db=conn)


@job(ENTER_JOB)
async def enter_lead(lead_id: int) -> None:
    """Put a lead on its pipeline's first stage and, if it has no user yet, run
    the assignment rules. A no-op for a lead already in the pipeline."""
    lead = await Lead.get_or_none(id=lead_id)
    if lead is None or lead.stage_id is not None or lead.deleted_at is not None:
        return
    await ensure_workspace(lead.account_id)
    at = now()
    async with in_transaction() as conn:
        stage = await first_stage(lead.account_id, conn)
        claimed = await Lead.filter(id=lead_id, stage_id__isnull=True).using_db(conn).update(stage_id=stage.id, stage_entered_at=at)
        if not claimed:
            return  # another run got here first
        lead = await Lead.get(id=lead_id).using_db(conn)
        needs_user = lead.assignee_id is None
        if needs_user:
            decisions = await assignment.decide(lead.account_id, [lead], conn)
            await assignment.save_decisions([lead], decisions, at, conn)
    if needs_user:
        assignment.publish_assigned(lead.account_id, [lead.id])


async def place(account_id: int, leads: list[Lead], conn, at: dt.datetime | None = None) -> None:
    """Before inserting new leads (not saved yet): the first stage for those
    with none, the rules' choice for those with no user. Call it inside the
    inserting transaction, after ensure_workspace(account_id)."""
    at = at or now()
    stage = await first_stage(account_id, conn)
    for lead in leads:
        if lead.stage_id is None:
            lead.stage_id = stage.id
    todo = [lead for lead in leads if lead.assignee_id is None]
    if todo:
        for lead, decision in zip(todo, await assignment.decide(account_id, todo, conn)):
            assignment.apply_to(lead, decision, at)
