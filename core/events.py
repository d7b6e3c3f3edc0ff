"""In-process publish/subscribe of domain events, for live feeds (subscriptions).

Events carry ids only; each subscriber re-reads what it may see through
core.access. Publishing happens after the change is committed, at once to the
subscribers of the process that made the change; the :class:`SaleTailer`
running in every server process reads new sales from the database, so a
sale made by another API process (or a worker) reaches this process's
subscribers too, a fraction of a second later.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum


log = logging.getLogger("leadwire.events")


class LeadEventKind(str, Enum):
    SOLD = "sold"  # a new lead in the buyer's account (the live dashboard feed)
    ASSIGNED = "assigned"


@dataclass(frozen=True)
class LeadEvent:
    kind: LeadEventKind
    lead_id: int
    account_id: int
    sale_id: int | None = None


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[LeadEvent]] = set()
        self._queue_size = queue_size
        # Sales already published here, so the tailer does not repeat them.
        self._published_sales: deque[int] = deque(maxlen=10_000)
        self._published_set: set[int] = set()

    def already_published(self, sale_id: int) -> bool:
        return sale_id in self._published_set

    def publish(self, *events: LeadEvent) -> None:
        for event in events:
            if event.sale_id is not None:
                if len(self._published_sales) == self._published_sales.maxlen:
                    self._published_set.discard(self._published_sales[0])
                self._published_sales.append(event.sale_id)
                self._published_set.add(event.sale_id)
        for queue in list(self._subscribers):
            for event in events:
                if queue.full():
                    # A subscriber that stopped reading must not hold memory or
                    # block publishers: drop its oldest event.
                    queue.get_nowait()
                queue.put_nowait(event)

    async def subscribe(self, account_id: int) -> AsyncIterator[LeadEvent]:
        queue: asyncio.Queue[LeadEvent] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                event = await queue.get()
                if event.account_id == account_id:
                    yield event
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


bus = EventBus()


class SaleTailer:
    """Publishes sales committed by other processes. Reads ``lead_sale`` by id
    with a small look-back (ids can commit slightly out of order)."""

    LOOKBACK = 200

    def __init__(self, target: EventBus, interval: float = 0.25):
        self.bus, self.interval, self.last_id = target, interval, 0

    async def start_position(self) -> None:
        from leadwire.core.models.marketplace import LeadSale

        newest = await LeadSale.all().order_by("-id").first().values_list("id", flat=True)
        self.last_id = newest or 0

    async def poll_once(self) -> int:
        from leadwire.core.models.marketplace import LeadSale

        rows = await LeadSale.filter(id__gt=max(0, self.last_id - self.LOOKBACK)).order_by("id").limit(5000).values_list(
            "id", "buyer_lead_id", "account_id"
        )
        fresh = [
            LeadEvent(LeadEventKind.SOLD, buyer_lead_id, account_id, sale_id)
            for sale_id, buyer_lead_id, account_id in rows
            if not self.bus.already_published(sale_id)
        ]
        if rows:
            self.last_id = max(self.last_id, rows[-1][0])
        if fresh:
            self.bus.publish(*fresh)
        return len(fresh)

    async def run(self) -> None:
        await self.start_position()
        while True:
            try:
                await self.poll_once()
            except Exception:  # the database may be briefly unavailable
                from leadwire.core import db

                db.log_failure(log, "sale tailer poll failed")
            await asyncio.sleep(self.interval)
