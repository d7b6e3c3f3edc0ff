"""Jobs through a database outbox, executed by dramatiq at least once.

- ``enqueue`` writes a row, inside the caller's transaction when given one;
  a dedupe key makes enqueueing idempotent.
- ``dispatch_due`` (the sweeper, run by every server and worker process)
  hands due rows to the broker, and puts back rows whose worker died (an
  expired lease) or whose message was lost (dispatched long ago, still
  pending). The database, not the broker, is the record of what is left to do.
- ``run_job`` claims a row with a conditional update, so however many copies
  of a message arrive, one worker runs it at a time; it then marks it done,
  or schedules a retry with exponential backoff and jitter, or marks it dead.
Handlers must be idempotent: a worker killed after the handler's effect but
before marking the row done will see it run again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import secrets
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from leadwire.core.db import Statement
from leadwire.core.jobs.models import JobStatus, OutboxJob

log = logging.getLogger("leadwire.jobs")

Handler = Callable[..., Awaitable[None]]
_handlers: dict[str, Handler] = {}

# How long a running job is protected from re-dispatch; a worker that dies
# mid-job gives its job back when this runs out.
LEASE = dt.timedelta(seconds=int(os.environ.get("LEADWIRE_JOB_LEASE_SECONDS", "300")))
REDISPATCH_AFTER = dt.timedelta(minutes=2)
BACKOFF_BASE_SECONDS = 15
BACKOFF_MAX_SECONDS = 6 * 3600


class RetryLater(Exception):
    """Raised by a handler that knows its work must be tried again later (a
    provider said "busy"). ``after`` (seconds), when given, is the wait the
    handler chose (its own backoff, or a provider's Retry-After); otherwise
    the outbox's backoff applies."""

    def __init__(self, reason: str, *, after: float | None = None):
        super().__init__(reason)
        self.after = after


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def job(name: str) -> Callable[[Handler], Handler]:
    """Register an async, idempotent job handler under ``name``."""

    def register(fn: Handler) -> Handler:
        if name in _handlers and _handlers[name] is not fn:
            raise ValueError(f"two job handlers are registered as {name!r}")
        _handlers[name] = fn
        return fn

    return register


def registered() -> dict[str, Handler]:
    return dict(_handlers)


# A job written as a plain statement: a sale writes several in its transaction.
_RECORD_JOB = Statement(
    'INSERT INTO "outbox_job" ("name", "payload", "dedupe_key", "status", "attempts", "max_attempts", "run_after", '
    '"lock_token", "last_error", "created_at") VALUES ($1, $2, $3, $4, 0, $5, $6, \'\', \'\', $7) RETURNING "id"'
)


async def enqueue(
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    dedupe_key: str | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int = 8,
    using_db=None,
) -> int:
    """Record a job; its id. With ``using_db`` it commits or rolls back with the
    caller's transaction. The same ``dedupe_key`` twice returns the first job."""
    if name not in _handlers:
        raise ValueError(f"no job handler is registered as {name!r}")
    conn = using_db or OutboxJob._meta.db
    if dedupe_key is not None:
        existing = await OutboxJob.filter(dedupe_key=dedupe_key).using_db(using_db).values_list("id", flat=True)
        if existing:
            return existing[0]
    t = now()
    try:
        [row] = await _RECORD_JOB.returning(
            conn, name, json.dumps(payload or {}), dedupe_key, JobStatus.PENDING.value, max_attempts, run_after or t, t,
        )
        return row["id"]
    except IntegrityError:
        if dedupe_key is None or using_db is not None:
            raise  # inside a transaction the caller must decide (PostgreSQL aborted it)
        return (await OutboxJob.get(dedupe_key=dedupe_key)).id


def backoff(attempts: int) -> dt.timedelta:
    """Exponential with full jitter: 15 s, 30 s, 1 min ... capped at 6 h."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))


async def run_job(job_id: int) -> JobStatus | None:
    """Claim and run one job. Returns its new status, or None when it was not
    ours to run (done already, running elsewhere, not due)."""
    token = secrets.token_hex(8)
    t = now()
    claimed = await OutboxJob.filter(
        Q(id=job_id, status=JobStatus.PENDING, run_after__lte=t)
    ).update(status=JobStatus.RUNNING, locked_until=t + LEASE, lock_token=token, attempts=F("attempts") + 1)
    if not claimed:
        return None
    row = await OutboxJob.get(id=job_id)
    handler = _handlers.get(row.name)
    try:
        if handler is None:
            raise LookupError(f"no job handler is registered as {row.name!r} in this process")
        await handler(**row.payload)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
        dead = row.attempts >= row.max_attempts
        wait = backoff(row.attempts)
        if isinstance(exc, RetryLater) and exc.after is not None:
            wait = dt.timedelta(seconds=max(0.0, min(exc.after, BACKOFF_MAX_SECONDS)))
        await OutboxJob.filter(id=job_id, lock_token=token).update(
            status=JobStatus.DEAD if dead else JobStatus.PENDING,
            run_after=now() + wait,
            locked_until=None,
            dispatched_at=None,
            last_error=error,
            finished_at=now() if dead else None,
        )
        log.warning("job %s %s (attempt %d/%d) failed: %s", row.id, row.name, row.attempts, row.max_attempts, error)
        return JobStatus.DEAD if dead else JobStatus.PENDING
    await OutboxJob.filter(id=job_id, lock_token=token).update(
        status=JobStatus.DONE, locked_until=None, finished_at=now(), last_error=""
    )
    return JobStatus.DONE


async def dispatch_due(send: Callable[[int], None], *, limit: int = 500) -> int:
    """Hand due jobs to the broker (``send(job_id)``); recover abandoned ones.
    Returns how many were sent."""
    t = now()
    # A worker died while running these: its lease ran out.
    await OutboxJob.filter(status=JobStatus.RUNNING, locked_until__lt=t).update(
        status=JobStatus.PENDING, locked_until=None, dispatched_at=None
    )
    due = await OutboxJob.filter(
        Q(status=JobStatus.PENDING, run_after__lte=t)
        & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=t - REDISPATCH_AFTER))
    ).order_by("run_after").limit(limit).values_list("id", flat=True)
    if not due:
        return 0
    await OutboxJob.filter(id__in=list(due)).update(dispatched_at=t)
    for n, job_id in enumerate(due):
        try:
            send(job_id)
        except Exception:
            # The broker is down or unreachable: the rest were not handed over.
            # Unmark them so the next sweep sends them as soon as it is back,
            # not REDISPATCH_AFTER later.
            await OutboxJob.filter(id__in=list(due[n:]), dispatched_at=t).update(dispatched_at=None)
            raise
    return len(due)
