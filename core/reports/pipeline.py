"""The pipeline report: leads and value per stage, the forecast weighted by
each stage's probability (core.workspace.pipeline.stage_totals, in the
account's currency), conversion between stages and time in stage, over the
leads the viewer sees. The lost-reasons analysis is the workspace's own
report (core.workspace.pipeline.lost_reasons_report)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tortoise.expressions import Case, Q, When
from tortoise.functions import Count, Min

from leadwire.core.access import Viewer, visible_leads
from leadwire.core.identity import now
from leadwire.core.models.workspace import PipelineStage, StageKind
from leadwire.core.reports.common import literal
from leadwire.core.workspace.pipeline import StageTotals, pipeline_stages, stage_totals

AGE_BUCKETS = (("under_1_day", 1), ("1_to_7_days", 7), ("7_to_30_days", 30), ("over_30_days", None))


@dataclass
class StageReport:
    stage: PipelineStage
    totals: StageTotals
    weighted_value_minor: int
    reached: int  # leads on this stage or a later one (the funnel)
    conversion_to_next: float | None  # reached(next) / reached(this); None on the last stage or with no lead
    ages: dict[str, int] = field(default_factory=dict)  # open leads by time on this stage
    oldest_entered_at: dt.datetime | None = None


@dataclass
class PipelineReport:
    stages: list[StageReport]
    lead_count: int
    value_minor: int
    weighted_value_minor: int


async def pipeline_report(viewer: Viewer, *, at: dt.datetime | None = None) -> PipelineReport:
    at = at or now()
    stages = await pipeline_stages(viewer)
    totals = await stage_totals(viewer)

    # Time on the current stage of open leads, in age buckets (a lead that never
    # moved has been on its stage since it was created).
    def entered_after(t: dt.datetime) -> Q:
        return Q(stage_entered_at__gte=t) | Q(stage_entered_at__isnull=True, created_at__gte=t)

    whens = [When(entered_after(at - dt.timedelta(days=days)), then=literal(i))
             for i, (_, days) in enumerate(AGE_BUCKETS) if days is not None]
    open_leads = visible_leads(viewer).filter(stage_id__isnull=False, outcome__isnull=True)
    ages: dict[int, dict[str, int]] = {}
    for r in await open_leads.annotate(age=Case(*whens, default=literal(len(AGE_BUCKETS) - 1))).group_by(
            "stage_id", "age").annotate(n=Count("id")).values("stage_id", "age", "n"):
        ages.setdefault(r["stage_id"], {})[AGE_BUCKETS[int(r["age"])][0]] = r["n"]
    oldest = dict(await open_leads.group_by("stage_id").annotate(
        moved=Min("stage_entered_at")).values_list("stage_id", "moved"))
    never_moved = dict(await open_leads.filter(stage_entered_at__isnull=True).group_by("stage_id").annotate(
        made=Min("created_at")).values_list("stage_id", "made"))

    # The funnel from where leads are now: a lead on stage k has passed stages 0..k.
    counts = [totals.get(s.id, StageTotals()).lead_count for s in stages]
    reached = [sum(counts[i:]) for i in range(len(stages))]
    out = []
    for i, s in enumerate(stages):
        t = totals.get(s.id, StageTotals())
        conversion = None
        if i + 1 < len(stages) and reached[i]:
            conversion = reached[i + 1] / reached[i]
        firsts = [x for x in (oldest.get(s.id), never_moved.get(s.id)) if x is not None]
        out.append(StageReport(
            stage=s, totals=t, weighted_value_minor=t.weighted_value_minor(s), reached=reached[i],
            conversion_to_next=conversion,
            ages={name: ages.get(s.id, {}).get(name, 0) for name, _ in AGE_BUCKETS} if s.kind == StageKind.OPEN else {},
            oldest_entered_at=min(firsts) if firsts and s.kind == StageKind.OPEN else None,
        ))
    return PipelineReport(
        stages=out, lead_count=sum(r.totals.lead_count for r in out), value_minor=sum(r.totals.value_minor for r in out),
        weighted_value_minor=sum(r.weighted_value_minor for r in out),
    )
