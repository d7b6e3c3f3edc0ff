"""Shared pieces of the reports: periods in a time zone, day buckets, the lead-kind dimension."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.expressions import Case, Q, RawSQL, When

from leadwire.core.errors import DomainError, ErrorCode
from leadwire.core.models.leads import Lead
from leadwire.core.workspace.pipeline import MAX_REPORT_DAYS, local_day_bounds

__all__ = ["MAX_REPORT_DAYS", "local_day_bounds", "check_period", "day_bucket", "zone", "KIND_FIELD", "DEFAULT_KIND"]

MAX_SERIES_DAYS = 366

# Calls vs web: when leads get a kind (the calls capability adds one), the
# reports group by it; until then every lead is a web lead.
KIND_FIELD = "kind" if "kind" in Lead._meta.fields_map else None
DEFAULT_KIND = "web"


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError.single(field, ErrorCode.INVALID, f"Unknown time zone {name!r}.") from None


def check_period(start: dt.date, end: dt.date, *, max_days: int = MAX_REPORT_DAYS, field: str = "to") -> None:
    if end < start:
        raise DomainError.single(field, ErrorCode.INVALID, "The period ends before it starts.")
    if (end - start).days + 1 > max_days:
        raise DomainError.single(field, ErrorCode.INVALID, f"A report covers at most {max_days} days.")


def day_starts(start: dt.date, end: dt.date, time_zone: str) -> list[dt.datetime]:
    """The UTC instant each local day of [start, end] begins, plus the end of the last."""
    tz = ZoneInfo(time_zone)
    days = (end - start).days + 1
    return [
        dt.datetime.combine(start + dt.timedelta(days=i), dt.time(0), tzinfo=tz).astimezone(dt.timezone.utc)
        for i in range(days + 1)
    ]


def day_bucket(field: str, bounds: list[dt.datetime]):
    """A SQL expression giving the index of the local day an instant falls in
    (bounds from :func:`day_starts`; the rows are already within them), so that
    GROUP BY makes a daily series in any time zone, daylight saving included, on
    SQLite and PostgreSQL alike. A binary tree of CASEs: about log2(days)
    comparisons per row, not one per day."""

    def between(lo: int, hi: int):
        if lo == hi:
            return literal(lo)
        mid = (lo + hi + 1) // 2
        return Case(When(Q(**{f"{field}__lt": bounds[mid]}), then=between(lo, mid - 1)), default=between(mid, hi))

    return between(0, len(bounds) - 2)


def literal(i: int) -> RawSQL:
    """An integer written into the SQL (a parameter would be typed text by PostgreSQL in a CASE)."""
    return RawSQL(str(int(i)))
