"""Leadwire's own jobs. Every handler is idempotent."""

from __future__ import annotations

import datetime as dt

from leadwire.core.jobs.outbox import enqueue, job, now


@job("purge_expired_credentials")
async def purge_expired_credentials() -> None:
    """Delete ended sessions and sign-in failures older than a day."""
    from leadwire.core.models.identity import LoginFailure, Session

    t = now()
    await Session.filter(expires_at__lt=t).delete()
    await Session.filter(revoked_at__lt=t - dt.timedelta(days=1)).delete()
    await LoginFailure.filter(created_at__lt=t - dt.timedelta(days=1)).delete()


@job("route_lead")
async def route_lead(lead_id: int) -> None:
    """Safety net for intake: routes a lead whose request died between storing
    and routing it. A no-op for a lead already routed."""
    from leadwire.core import routing

    await routing.route_lead(lead_id)


async def schedule_periodic() -> None:
    """Enqueue this hour's housekeeping. Every sweeper calls it; the dedupe key
    makes one job per hour however many processes run."""
    hour = now().strftime("%Y-%m-%dT%H")
    await enqueue("purge_expired_credentials", dedupe_key=f"purge_expired_credentials:{hour}")
