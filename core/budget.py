"""Per-client query budgets: a leaky bucket per API client, held in the
database so it is shared by every API process.

A bucket holds ``capacity`` points and refills at ``restore_rate`` points a
second. It is stored as one number, the time at which it will be full again
(the generic cell rate algorithm): charging ``c`` points moves that time
``c / restore_rate`` seconds later, and a charge is allowed while the bucket
would not go below empty. Usually one conditional UPDATE per request (two
when the client is spending faster than the bucket refills).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tortoise.expressions import F

from leadwire.core.models.identity import QueryBudget


@dataclass(frozen=True)
class Charge:
    allowed: bool
    cost: int
    remaining: int  # points left after this charge (or now, when refused)
    capacity: int
    restore_rate: float
    retry_after: float = 0.0  # seconds until the refused charge would fit


async def charge(key: str, cost: int, *, capacity: int, restore_rate: float, at: float | None = None) -> Charge:
    """Take ``cost`` points from ``key``'s bucket if it has them."""
    t = time.time() if at is None else at
    per_point = 1.0 / restore_rate
    step = cost * per_point
    window = capacity * per_point
    for _ in range(3):
        # A full (or idle) bucket: start from now.
        if await QueryBudget.filter(key=key, full_at__lte=t).update(full_at=t + step):
            return Charge(True, cost, capacity - cost, capacity, restore_rate)
        # A partly spent one: only if the charge still fits.
        if await QueryBudget.filter(key=key, full_at__gt=t, full_at__lte=t + window - step).update(
            full_at=F("full_at") + step
        ):
            row = await QueryBudget.get_or_none(key=key)
            full_at = row.full_at if row else t + step
            return Charge(True, cost, _points_left(full_at, t, capacity, restore_rate), capacity, restore_rate)
        row = await QueryBudget.get_or_none(key=key)
        if row is None:
            await QueryBudget.bulk_create([QueryBudget(key=key, full_at=0.0)], ignore_conflicts=True)
            continue
        if row.full_at <= t + window - step:
            continue  # it changed under us: try again
        left = _points_left(row.full_at, t, capacity, restore_rate)
        return Charge(False, cost, left, capacity, restore_rate, retry_after=(cost - left) * per_point)
    # Three lost races in a row: let the query through rather than fail it.
    return Charge(True, cost, 0, capacity, restore_rate)


def _points_left(full_at: float, t: float, capacity: int, restore_rate: float) -> int:
    return max(0, int(capacity - (full_at - t) * restore_rate))
