"""Per-client query budgets: a leaky bucket per API client, held in the
database so it is shared by every API process.

A bucket holds ``capacity`` points and refills at ``restore_rate`` points a
second. It is stored as one number, the time at which it will be full again
(the generic cell rate algorithm): charging ``c`` points moves that time
``c / restore_rate`` seconds later, and a charge is allowed while the bucket
would not go below empty. A charge is one conditional UPDATE that computes
the new time from the stored one (so concurrent charges from any number of
processes queue on the row instead of racing and retrying); only a refused
charge or a new client reads or inserts as well. On PostgreSQL the table is
unlogged (migration 0011): a charge does not wait for the WAL flush.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from leadwire.core.db import Statement
from leadwire.core.models.identity import QueryBudget


@dataclass(frozen=True)
class Charge:
    allowed: bool
    cost: int
    remaining: int  # points left after this charge (or now, when refused)
    capacity: int
    restore_rate: float
    retry_after: float = 0.0  # seconds until the refused charge would fit


# max(full_at, now) + cost, and the charge only while that stays within the
# window. CASE rather than GREATEST/MAX, CAST rather than ::float8: the same
# SQL on both databases.
_CHARGE = Statement(
    'UPDATE "query_budget" SET "full_at" = (CASE WHEN "full_at" > {t} THEN "full_at" ELSE {t} END) + {c} '
    'WHERE "key" = $3 AND (CASE WHEN "full_at" > {t} THEN "full_at" ELSE {t} END) + {c} - {t} <= {w} '
    'RETURNING "full_at"'.format(
        t="CAST($1 AS DOUBLE PRECISION)", c="CAST($2 AS DOUBLE PRECISION)", w="CAST($4 AS DOUBLE PRECISION)")
)


async def charge(key: str, cost: int, *, capacity: int, restore_rate: float, at: float | None = None) -> Charge:
    """Take ``cost`` points from ``key``'s bucket if it has them: one
    conditional update, so concurrent charges from several processes never
    both spend the same points."""
    t = time.time() if at is None else at
    per_point = 1.0 / restore_rate
    window = capacity * per_point
    conn = QueryBudget._meta.db
    for _ in range(3):
        rows = await _CHARGE.returning(conn, float(t), cost * per_point, key, window + 1e-9)
        if rows:
            full_at = float(rows[0]["full_at"])
            return Charge(True, cost, _points_left(full_at, t, capacity, restore_rate), capacity, restore_rate)
        row = await QueryBudget.get_or_none(key=key)
        if row is None:
            # A new client: its bucket starts full. Two first requests at once both
            # insert and one is ignored; then both charge the one row.
            await QueryBudget.bulk_create([QueryBudget(key=key, full_at=t)], ignore_conflicts=True)
            continue
        if max(row.full_at, t) + cost * per_point - t <= window + 1e-9:
            continue  # the row was inserted (by a first request at the same time) after our update: charge it
        left = _points_left(row.full_at, t, capacity, restore_rate)
        return Charge(False, cost, left, capacity, restore_rate, retry_after=max(0.0, (cost - left) * per_point))
    # Still racing after three tries: let the query through rather than fail it.
    return Charge(True, cost, 0, capacity, restore_rate)


def _points_left(full_at: float, t: float, capacity: int, restore_rate: float) -> int:
    return min(capacity, max(0, int(capacity - (full_at - t) * restore_rate + 0.01)))  # float noise of epoch seconds
