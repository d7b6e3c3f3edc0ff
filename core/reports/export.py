"""Downloading the lead history: a one-time link, then a CSV streamed page by page.

``create_export`` checks the filter and stores a ReportExport (the token's
hash, who asked, the filter, 10 minutes of validity). The link
``/exports/<token>`` is served by a plain HTTP route (schema.reports.http):
the requester must be signed in as the same user; the row is claimed by one
conditional update (so a link works once, even with two clicks at once);
the rows are then read with the requester's visibility as it is at that
moment, in keyset pages of ``PAGE_SIZE`` leads (one query for the leads and
their names, one for their sales, one for their returns), each page written
and sent before the next is read. Memory stays flat whatever the size and
the header goes out at once.

Spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice), so a
spreadsheet shows it as text instead of running it. Phone numbers (E.164,
``+1...``) are text cells too and therefore read ``'+1...``. Numbers Leadwire
writes itself (ids, amounts) are left alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
from collections.abc import AsyncIterator
from enum import Enum
from zoneinfo import ZoneInfo

from leadwire.core.access import Viewer
from leadwire.core.auth import token_hash
from leadwire.core.identity import now
from leadwire.core.models.marketplace import LeadSale
from leadwire.core.models.reports import ReportExport
from leadwire.core.models.returns import ReturnRequest
from leadwire.core.reports.history import HistoryFilter, history_queryset

LINK_TTL = dt.timedelta(minutes=10)
PAGE_SIZE = 1000
TOKEN_PREFIX = "lw_exp_"


class ExportFormat(str, Enum):
    CSV = "csv"


class ClaimRefused(Exception):
    """Why a link cannot be used (the HTTP route answers 404 or 410 with the message)."""

    def __init__(self, message: str, gone: bool = False):
        super().__init__(message)
        self.gone = gone


async def create_export(viewer: Viewer, f: HistoryFilter, fmt: ExportFormat = ExportFormat.CSV) -> tuple[str, ReportExport]:
    history_queryset(viewer, f)  # refuses a bad filter now, not when the link is used
    # The user's old links go (used or not, they are dead), so the table stays small.
    await ReportExport.filter(membership_id=viewer.membership_id, expires_at__lt=now()).delete()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = await ReportExport.create(
        token_hash=token_hash(token), membership_id=viewer.membership_id, format=fmt.value, lead_filter=f.to_json(),
        expires_at=now() + LINK_TTL,
    )
    return token, row


async def claim(token: str, viewer: Viewer) -> tuple[HistoryFilter, ExportFormat]:
    """Use the link once. Another user's link is refused without being used up."""
    h = token_hash(token) if token.startswith(TOKEN_PREFIX) else ""
    t = now()
    claimed = await ReportExport.filter(
        token_hash=h, membership_id=viewer.membership_id, used_at__isnull=True, expires_at__gt=t
    ).update(used_at=t)
    row = await ReportExport.get_or_none(token_hash=h) if h else None
    if row is None or row.membership_id != viewer.membership_id:
        raise ClaimRefused("No such export: ask for a new download link.")
    if not claimed:
        if row.used_at is not None:
            raise ClaimRefused("This download link was already used: ask for a new one.", gone=True)
        raise ClaimRefused("This download link has expired (links last 10 minutes): ask for a new one.", gone=True)
    return HistoryFilter.from_json(row.lead_filter), ExportFormat(row.format)


_DANGEROUS_FIRST = frozenset("=+-@\t\r")


def neutralise(value: str) -> str:
    """A text cell a spreadsheet would run as a formula, made plain text."""
    return "'" + value if value and value[0] in _DANGEROUS_FIRST else value


COLUMNS = [
    "id", "created_at", "first_name", "last_name", "email", "phone", "postal_code", "city", "state", "origin",
    "industry", "product", "source", "market_status", "stage", "status", "lost_reason", "closed_at", "value_minor",
    "currency", "assignee", "campaign", "price_minor", "price_currency", "sold_at", "return_status", "data",
]
_LEAD_VALUES = (
    "id", "created_at", "first_name", "last_name", "email", "phone", "postal_code", "city", "state", "origin",
    "industry__name", "product__name", "source__name", "market_status", "stage__name", "outcome", "lost_reason__name",
    "closed_at", "value_minor", "account__currency", "assignee__person__name", "data",
)


def _text(v) -> str:
    if v is None:
        return ""
    if not isinstance(v, str) or isinstance(v, Enum):
        v = str(getattr(v, "value", v))
    return "'" + v if v and v[0] in _DANGEROUS_FIRST else v


async def _raw(q) -> list[tuple]:
    """The rows of a values_list query as the driver returns them: tortoise's own
    cell-by-cell conversion took a third of an export's time. The query is still
    built by tortoise from the access queryset; only reading it is done here."""
    q._choose_db_if_not_chosen()
    q._make_query()
    _, rows = await q._db.execute_query(*q.query.get_parameterized_sql())
    return [tuple(r) for r in rows]


def _when(v) -> dt.datetime | None:
    """A timestamp as the driver gives it (SQLite: text)."""
    if v is None or isinstance(v, dt.datetime):
        return v
    t = dt.datetime.fromisoformat(v)
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _json(v) -> str:
    if not v:
        return ""
    if isinstance(v, str):
        return "" if v in ("{}", "null") else neutralise(v)
    return neutralise(json.dumps(v, ensure_ascii=False, separators=(",", ":"))) if v else ""


async def stream_csv(viewer: Viewer, f: HistoryFilter) -> AsyncIterator[bytes]:
    """The history as CSV (UTF-8 with a BOM, so spreadsheets read accents), newest first."""
    tz = ZoneInfo(viewer.time_zone)
    local = lambda t: t.astimezone(tz).isoformat() if t else ""  # noqa: E731
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(COLUMNS)
    yield ("\ufeff" + buf.getvalue()).encode()
    qs = history_queryset(viewer, f)
    last_id = None
    while True:
        page_qs = qs if last_id is None else qs.filter(id__lt=last_id)
        rows = await _raw(page_qs.order_by("-id").limit(PAGE_SIZE).values_list(*_LEAD_VALUES))
        if not rows:
            return
        ids = [r[0] for r in rows]
        last_id = ids[-1]
        sales, returns = {}, {}
        if not viewer.is_operator:
            # The page's purchases and returns: the owner's, within the page's id range (two
            # index range scans; a list of 1,000 ids cost more to build than to run). Rows of
            # leads outside the page are only looked up by id, never written.
            # For a user who sees part of the account only, the range could hold many
            # leads of others: their page's ids are listed instead.
            if viewer.is_owner:
                lo, hi = min(ids[0], ids[-1]), max(ids[0], ids[-1])
                page = dict(account_id=viewer.account_id, buyer_lead_id__gte=lo, buyer_lead_id__lte=hi)
            else:
                page = dict(account_id=viewer.account_id, buyer_lead_id__in=ids)
            sales = {
                s[0]: s
                for s in await LeadSale.filter(**page).values_list(
                    "buyer_lead_id", "campaign__name", "price_minor", "currency", "sold_at")
            }
            returns = dict(await ReturnRequest.filter(**page).values_list("buyer_lead_id", "status"))
        buf.seek(0)
        buf.truncate()
        for (lead_id, created_at, first_name, last_name, email, phone, postal_code, city, state, origin, industry,
             product, source, market_status, stage, outcome, lost_reason, closed_at, value_minor, currency, assignee,
             data) in rows:
            _, campaign, price_minor, price_currency, sold_at = sales.get(lead_id) or (None, None, "", "", None)
            out.writerow([
                lead_id, local(_when(created_at)), _text(first_name), _text(last_name), _text(email), _text(phone),
                _text(postal_code), _text(city), _text(state), _text(origin), _text(industry), _text(product),
                _text(source), _text(market_status), _text(stage), _text(outcome or "open"), _text(lost_reason),
                local(_when(closed_at)), value_minor, currency, _text(assignee), _text(campaign), price_minor, price_currency,
                local(sold_at), _text(returns.get(lead_id)),
                _json(data),
            ])
        full = len(rows) == PAGE_SIZE
        del rows, sales, returns
        yield buf.getvalue().encode()
        if not full:
            return
