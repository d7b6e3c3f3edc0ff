"""Events plugins receive through the ``leadwire_lead_*`` hooks: plain values,
fired after the change committed, in the process that made it. They are
notifications (at most once, best effort): a plugin that must not miss one
reconciles from the GraphQL API, where the sale is the official record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class LeadReceived:
    lead_id: int  # the marketplace lead (operator's account)
    industry_key: str
    product_id: int
    source_id: int | None
    duplicate: bool  # kept as a duplicate, not offered for sale
    received_at: dt.datetime


@dataclass(frozen=True)
class LeadSold:
    sale_id: int
    lead_id: int  # the marketplace lead
    buyer_lead_id: int  # the buyer's own copy
    campaign_id: int
    account_id: int  # the buyer
    price_minor: int
    currency: str
    exclusive: bool
    sold_at: dt.datetime


@dataclass(frozen=True)
class ReturnDecided:
    return_id: int
    sale_id: int
    buyer_lead_id: int
    account_id: int  # the partner that returned the lead
    approved: bool  # True: amount_minor was credited to the partner's balance
    reason: str  # the return reason's code, e.g. "no_working_phone"
    amount_minor: int
    currency: str
    note: str  # the operator's note, shown to the partner
    decided_at: dt.datetime
