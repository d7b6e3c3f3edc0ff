"""An account's workspace row and its defaults, created the first time the
workspace is used (so every account, old or new, starts with seed 003's simple
pipeline: New Lead, Opportunity, Sale/Lost)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from leadwire.core.models.workspace import LostReason, PipelineStage, StageKind, Workspace

MAX_STAGES = 7  # seed 003: "You can have up to 7 Pipeline stages" (the closing Sale/Lost stage included)
DEFAULT_STAGES = [("New Lead", 10, StageKind.OPEN), ("Opportunity", 50, StageKind.OPEN), ("Sale/Lost", 100, StageKind.CLOSING)]
DEFAULT_LOST_REASONS = ["Bought from a competitor", "No immediate need", "Time waster", "Unable to contact"]


async def ensure_workspace(account_id: int) -> Workspace:
    """The account's workspace, created with the default pipeline and lost
    reasons if it has none yet. Safe to call concurrently (the unique account
    refuses a second row); call it outside any transaction."""
    ws = await Workspace.get_or_none(account_id=account_id)
    if ws is not None:
        return ws
    try:
        async with in_transaction() as conn:
            ws = await Workspace.create(account_id=account_id, stage_count=len(DEFAULT_STAGES), using_db=conn)
            await PipelineStage.bulk_create(
                [
                    PipelineStage(workspace_id=ws.id, account_id=account_id, name=name, position=i,
                                  probability=probability, kind=kind)
                    for i, (name, probability, kind) in enumerate(DEFAULT_STAGES)
                ],
                using_db=conn,
            )
            await LostReason.bulk_create(
                [LostReason(account_id=account_id, name=name, position=i) for i, name in enumerate(DEFAULT_LOST_REASONS)],
                using_db=conn,
            )
    except IntegrityError:  # another request created it first
        ws = await Workspace.get(account_id=account_id)
    return ws


async def stages_of(account_id: int, conn=None) -> list[PipelineStage]:
    return await PipelineStage.filter(account_id=account_id).using_db(conn).order_by("position", "id")


async def first_stage(account_id: int, conn=None) -> PipelineStage:
    """Where new leads land: the first stage (always an open one)."""
    return await PipelineStage.filter(account_id=account_id, kind=StageKind.OPEN).using_db(conn).order_by(
        "position", "id"
    ).first()
