"""Per-client query budgets: a leaky bucket per API client, held in the
database so it is shared by every API process.

A bucket holds ``capacity`` points and refills at ``restore_rate`` points a
second. It is stored as one number, the time at which it will be full again
(the generic cell rate algorithm): charging ``c`` points moves that time
``c / restore_rate`` seconds later, and a charge is allowed while the bucket
would not go below empty. Two statements per request (a SELECT and a
conditional UPDATE), one for a refused request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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
    """Take ``cost`` points from ``key``'s bucket if it has them: a read and a
    conditional update (compare-and-set on the stored time), whatever the
    bucket's state, so concurrent charges from several processes never both
    spend the same points."""
    t = time.time() if at is None else at
    per_point = 1.0 / restore_rate
    window = capacity * per_point
    for _ in range(5):
        row = await QueryBudget.get_or_none(key=key)
        if row is None:
            # A new client: its bucket starts full, minus this charge (two statements,
            # as always). Two first requests at once may both insert: one is ignored,
            # which lets one query through uncharged.
            full_at = t + cost * per_point
            await QueryBudget.bulk_create([QueryBudget(key=key, full_at=full_at)], ignore_conflicts=True)
            return Charge(True, cost, _points_left(full_at, t, capacity, restore_rate), capacity, restore_rate)
        full_at = max(row.full_at, t) + cost * per_point
        if full_at - t > window + 1e-9:
            left = _points_left(row.full_at, t, capacity, restore_rate)
            return Charge(False, cost, left, capacity, restore_rate, retry_after=(cost - left) * per_point)
        if await QueryBudget.filter(id=row.id, full_at=row.full_at).update(full_at=full_at):
            return Charge(True, cost, _points_left(full_at, t, capacity, restore_rate), capacity, restore_rate)
    # Lost the race five times in a row: let the query through rather than fail it.
    return Charge(True, cost, 0, capacity, restore_rate)


def _points_left(full_at: float, t: float, capacity: int, restore_rate: float) -> int:
    return max(0, int(capacity - (full_at - t) * restore_rate + 0.01))  # float noise of epoch seconds
