"""Concurrency storms on PostgreSQL: two real API processes and a real worker
on a real broker, thousands of leads submitted at once over HTTP (repeated
idempotency keys mixed in) against small balances, tight caps, exclusive and
shared offers, while partners pause, resume and edit filters, the operator
records payments and partners return leads. Afterwards every promise is
checked exactly (tests/storm.py: check_invariants).

CI size: LEADWIRE_STORM_LEADS (default 1000) leads on Redis, a third of that on
RabbitMQ (with a hanging receiver). The heavy run is the same test with more leads:

    LEADWIRE_STORM_LEADS=20000 LEADWIRE_TEST_POSTGRES_URL=... LEADWIRE_TEST_REDIS_URL=... \\
        .venv/bin/pytest -n 0 -s tests/test_storms.py -k redis
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid

import pytest

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip
from loopback import serve_asgi
from storm import Processes, Receiver, check_invariants, process_env, seed, settle, storm

pytestmark = pytest.mark.xdist_group("storms")

STORM_LEADS = int(os.environ.get("LEADWIRE_STORM_LEADS", "1000"))
BROKERS = {"redis": "LEADWIRE_TEST_REDIS_URL", "rabbitmq": "LEADWIRE_TEST_RABBITMQ_URL"}


def need(broker: str) -> str:
    if not POSTGRES_URL:
        service_skip("storms run on PostgreSQL only (row locks across processes): set LEADWIRE_TEST_POSTGRES_URL")
    url = os.environ.get(BROKERS[broker], "")
    if not url:
        service_skip(f"storms need a real {broker} broker: set {BROKERS[broker]}")
    return url


@contextlib.asynccontextmanager
async def storm_world(tmp_path, broker_url: str, *, apis: int = 2, workers: int = 1, proxy_url=None,
                      api_env: dict | None = None, env: dict | None = None):
    """Seed a fresh PostgreSQL database, start the receiver, the API processes
    and the workers; yields (world, processes, receiver). ``proxy_url`` maps
    the database URL the processes use (a proxy in front of it)."""
    from leadwire.core import delivery, industries, payments
    from leadwire.plugins.manager import load_plugins

    url = POSTGRES_URL.replace("{}", "storm_{}").format(uuid.uuid4().hex[:12])
    plugins = tmp_path / "plugins.toml"
    plugins.write_text("[plugin.webhook_channel]\ntimeout_seconds = 2.0\n")
    load_plugins(plugins)
    receiver = Receiver()
    procs = None
    try:
        async with serve_asgi(receiver.app) as address:
            async with separate_database(url, create=True):
                world = await seed(url, address)
                procs = Processes(process_env(proxy_url(url) if proxy_url else url, broker_url,
                                              f"lw-storm-{uuid.uuid4().hex[:8]}", plugins, **(env or {})),
                                  tmp_path, api_env)
                for i in range(apis):
                    procs.start_api(i)
                for i in range(workers):
                    procs.start_worker(i)
                try:
                    await procs.wait_ready()
                    yield world, procs, receiver
                finally:
                    receiver.release.set()
                    procs.stop_all()
    finally:
        industries.install([])
        delivery.install([])
        payments.install([])
        await drop_postgres_database(url)


@pytest.mark.parametrize("broker", sorted(BROKERS))
async def test_storm(broker, tmp_path):
    """On RabbitMQ, one buyer's endpoint also hangs for the whole storm: its
    attempts time out (2 s here) and are retried later, while every other
    buyer's deliveries arrive (no worker starvation: it gets more deliveries
    than the worker has threads)."""
    from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus

    broker_url = need(broker)
    leads = STORM_LEADS if broker == "redis" else max(100, STORM_LEADS // 3)
    hang = broker == "rabbitmq"
    t0 = time.monotonic()
    async with storm_world(tmp_path, broker_url) as (world, procs, receiver):
        hanging = next(c for c in world.campaigns if c["index"] == 6)  # the shared buyer that can take the most
        if hang:
            receiver.hanging.add(hanging["index"])
        t1 = time.monotonic()
        load, done = await storm(world, procs, leads, seed=20261125)
        t2 = time.monotonic()
        assert not done.failed, done.failed[:5]
        # The partners and the operator really did act during the storm.
        assert done.done["pause"] and done.done["edit filter"] and done.done["record payment"], done
        stuck = set(await Delivery.filter(sale__campaign_id=hanging["id"]).values_list("id", flat=True)) if hang else set()
        await settle(procs=procs, timeout=60 + leads / 20, ignore_delivery_ids=stuck)
        t3 = time.monotonic()
        figures = await check_invariants(world, load, receiver, hanging_deliveries=stuck)
        assert figures["sales"] and figures["exclusive_sales"] and figures["retries_with_same_key"]
        if hang:
            assert len(stuck) > 4 and figures["deliveries"] > len(stuck)
            for d in await Delivery.filter(id__in=stuck):
                assert d.status == DeliveryStatus.PENDING and d.next_attempt_at is not None  # retried later
                attempts = await DeliveryAttempt.filter(delivery_id=d.id)
                assert attempts and all(a.outcome in (AttemptOutcome.RETRY, AttemptOutcome.IN_PROGRESS) for a in attempts)
                assert any("no answer" in a.error or "timed out" in a.error.lower() for a in attempts), [a.error for a in attempts]
    figures.update(broker=broker, seconds=round(time.monotonic() - t0, 1), set_up=round(t1 - t0, 1),
                   storm_seconds=round(t2 - t1, 1), settle_seconds=round(t3 - t2, 1), hanging_deliveries=len(stuck),
                   chaos=dict(done.done), refused=dict(done.refused))
    print("STORM", json.dumps(figures))
