"""In-process publish/subscribe of domain events, for live feeds (subscriptions).

Events carry ids only; each subscriber re-reads what it may see through
core.access. Publishing happens after the change is committed. This bus
reaches the subscribers of the process that made the change; a cross-process
transport (PostgreSQL LISTEN/NOTIFY or the broker) plugs in behind
``publish`` for multi-process deployments.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum


class LeadEventKind(str, Enum):
    SOLD = "sold"  # a new lead in the buyer's account (the live dashboard feed)
    ASSIGNED = "assigned"


@dataclass(frozen=True)
class LeadEvent:
    kind: LeadEventKind
    lead_id: int
    account_id: int


class EventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[LeadEvent]] = set()
        self._queue_size = queue_size

    def publish(self, *events: LeadEvent) -> None:
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
