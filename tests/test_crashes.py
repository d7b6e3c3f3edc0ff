"""Crash tests on PostgreSQL: storms (tests/storm.py) while processes die and
services go away, then every promise checked exactly, plus: nothing accepted
was lost and nothing was done twice. One world (database, two API processes,
two workers on a redis-server of our own, a TCP proxy of ours in front of
PostgreSQL), three phases:

1. kill -9 of an API process and of a worker at random (seeded) points of
   each storm, N trials (LEADWIRE_CRASH_TRIALS, default 2, of
   LEADWIRE_CRASH_LEADS leads, default 100), restarted after a moment; the
   lead source retries a failed request with the same idempotency key;
2. the broker down for a while (our redis-server stopped, then started):
   leads keep selling, their deliveries wait in the outbox, then drain;
3. the database "restarting" mid-storm (the proxy cuts every connection and
   refuses new ones for 3 s): requests fail cleanly (503, a clear message, no
   traceback, nothing half-written), then succeed.

The hanging delivery receiver is in tests/test_storms.py (RabbitMQ variant).
The shared services (PostgreSQL 5432, Redis 6379, RabbitMQ 5672) are never
stopped.

    LEADWIRE_CRASH_TRIALS=20 LEADWIRE_CRASH_LEADS=500 .venv/bin/pytest -n 0 -s tests/test_crashes.py
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import POSTGRES_URL, service_skip
from loopback import free_port
from storm import Load, TcpProxy, check_invariants, replenish, settle, storm
from test_storms import need, storm_world

pytestmark = pytest.mark.xdist_group("storms")

TRIALS = int(os.environ.get("LEADWIRE_CRASH_TRIALS", "2"))
CRASH_LEADS = int(os.environ.get("LEADWIRE_CRASH_LEADS", "100"))
SEED = int(os.environ.get("LEADWIRE_CRASH_SEED", "7"))


def _redis(port: int, workdir) -> subprocess.Popen:
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


async def test_kill_processes_stop_the_broker_restart_the_database(tmp_path):
    need("redis")  # the shared one is not used: a PostgreSQL-and-broker suite all the same
    if shutil.which("redis-server") is None:
        service_skip("crash test: redis-server is not installed (it starts its own broker to stop and restart)")
    from leadwire.core.jobs.models import JobStatus, OutboxJob
    from leadwire.core.models.delivery import Delivery, DeliveryStatus

    t0 = time.monotonic()
    port = free_port()
    redis = _redis(port, tmp_path)
    await _wait_port(port)
    host_port = POSTGRES_URL.split("@", 1)[1].split("/", 1)[0]
    host, _, pg_port = host_port.partition(":")
    proxy = TcpProxy(host, int(pg_port or 5432))
    await proxy.start()
    total = Load()
    kills: list[str] = []
    phases: dict[str, float] = {}
    try:
        async with storm_world(tmp_path, f"redis://127.0.0.1:{port}/0", workers=2,
                               proxy_url=lambda url: url.replace(host_port, f"127.0.0.1:{proxy.port}")) as (world, procs, receiver):
            # 1. kill -9, N trials.
            t = time.monotonic()
            for trial in range(TRIALS):
                async def faults(rng, trial=trial):
                    async def kill_api():
                        await asyncio.sleep(rng.uniform(0.2, 1.5))
                        i = rng.randrange(len(procs.apis))
                        procs.kill_api(i)
                        kills.append(f"trial {trial}: API {i}")
                        await asyncio.sleep(rng.uniform(0.3, 2))
                        procs.start_api(i)
                        await procs.wait_ready()

                    async def kill_worker():
                        await asyncio.sleep(rng.uniform(0.2, 2))
                        i = rng.randrange(len(procs.workers))
                        procs.kill_worker(i)
                        kills.append(f"trial {trial}: worker {i}")
                        await asyncio.sleep(rng.uniform(0.5, 2))
                        procs.start_worker(i)

                    await asyncio.gather(kill_api(), kill_worker())

                load, done = await storm(world, procs, CRASH_LEADS, seed=SEED * 1000 + trial, retry=True,
                                         faults=faults, tolerate_transport=True, first_lead=trial * CRASH_LEADS)
                assert not done.failed, done.failed[:5]
                total.merge(load)
            assert len(kills) == 2 * TRIALS
            await settle(procs=procs, timeout=120)
            await check_invariants(world, total, receiver, crashes=True)
            phases["kills"] = round(time.monotonic() - t, 1)

            # 2. The broker goes down; leads keep coming and selling; their deliveries wait in the outbox.
            t = time.monotonic()
            await replenish(world, procs.urls())
            before = set(await Delivery.all().values_list("id", flat=True))
            hits_before = sum(receiver.hits.values())
            redis.terminate()
            redis.wait(10)
            load, done = await storm(world, procs, CRASH_LEADS, seed=SEED + 1, first_lead=10_000)
            assert not done.failed, done.failed[:5]
            await asyncio.sleep(2)
            new = await Delivery.exclude(id__in=list(before) or [0]).values_list("id", "status")
            waiting = len(new)
            assert new and all(status == DeliveryStatus.PENDING for _, status in new), new
            assert sum(receiver.hits.values()) == hits_before
            assert await OutboxJob.filter(name="deliver", status=JobStatus.PENDING).count() == waiting
            redis = _redis(port, tmp_path)  # back: everything drains
            await settle(procs=procs, timeout=60)
            total.merge(load)
            await check_invariants(world, total, receiver, crashes=True)
            phases["broker_down"] = round(time.monotonic() - t, 1)

            # 3. The database "restarts" in the middle of a storm.
            t = time.monotonic()

            await replenish(world, procs.urls())

            async def restart_database(rng):
                await asyncio.sleep(rng.uniform(0.2, 0.8))
                await proxy.cut()
                await asyncio.sleep(3)
                await proxy.start()

            load, done = await storm(world, procs, 3 * CRASH_LEADS, seed=SEED + 2, retry=True, faults=restart_database,
                                     tolerate_transport=True, first_lead=20_000)
            assert not done.failed, done.failed[:5]
            # While it was away, requests failed cleanly: a 503 with a clear message, never a traceback.
            failures = load.failure_samples
            assert failures, "the cut did not reach any request"
            for status, text in failures:
                assert status in (None, 503), (status, text)
                assert "Traceback" not in text and "asyncpg" not in text and "tortoise" not in text.lower(), text
                if status == 503:
                    assert "database is unavailable" in text, text
            total.merge(load)
            await settle(procs=procs, timeout=120)
            figures = await check_invariants(world, total, receiver, crashes=True)
            phases["database_restart"] = round(time.monotonic() - t, 1)
            tracebacks = procs.tail(10**7).count("Traceback")
    finally:
        await proxy.stop()
        redis.terminate()
        redis.wait(10)
    figures.update(trials=TRIALS, kills=kills, broker_down_deliveries_waiting=waiting,
                   database_cut_failed_requests=len(failures), seconds=round(time.monotonic() - t0, 1),
                   phase_seconds=phases, tracebacks_in_process_logs=tracebacks)
    print("CRASHES", json.dumps(figures))
