"""Crash tests on PostgreSQL: storms (tests/storm.py) while processes die and
services go away, then every promise checked exactly, plus: nothing accepted
was lost and nothing was done twice.

- kill -9 of an API process and of a worker at random (seeded) points, N
  trials (LEADWIRE_CRASH_TRIALS, default 2; LEADWIRE_CRASH_LEADS leads each),
  restarted; the lead source retries a failed request with the same key;
- the broker down for a while (a redis-server of our own on a spare port,
  stopped and started): deliveries wait in the outbox, then drain;
- the database "restarting" mid-storm (a TCP proxy of ours between the
  processes and PostgreSQL, cut then restored): requests fail cleanly (503,
  a clear message, no traceback, nothing half-written), then succeed;
- a delivery receiver that hangs: attempts time out, the other deliveries
  keep flowing (tested in the RabbitMQ variant below).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import POSTGRES_URL
from loopback import free_port
from storm import Load, TcpProxy, check_invariants, settle, storm
from test_storms import need, storm_world

pytestmark = pytest.mark.xdist_group("storms")

TRIALS = int(os.environ.get("LEADWIRE_CRASH_TRIALS", "2"))
CRASH_LEADS = int(os.environ.get("LEADWIRE_CRASH_LEADS", "150"))
SEED = int(os.environ.get("LEADWIRE_CRASH_SEED", "7"))


async def test_kill_api_and_worker_processes_mid_storm(tmp_path):
    broker_url = need("redis")
    t0 = time.monotonic()
    kills: list[str] = []
    async with storm_world(tmp_path, broker_url, workers=2) as (world, procs, receiver):
        total = Load()
        for trial in range(TRIALS):
            async def faults(rng, trial=trial):
                # One API process and one worker each die at a random moment of the storm, and come back.
                async def kill_api():
                    await asyncio.sleep(rng.uniform(0.5, 4))
                    i = rng.randrange(len(procs.apis))
                    procs.kill_api(i)
                    kills.append(f"trial {trial}: API {i}")
                    await asyncio.sleep(rng.uniform(0.3, 2))
                    procs.start_api(i)
                    await procs.wait_ready()

                async def kill_worker():
                    await asyncio.sleep(rng.uniform(0.5, 5))
                    i = rng.randrange(len(procs.workers))
                    procs.kill_worker(i)
                    kills.append(f"trial {trial}: worker {i}")
                    await asyncio.sleep(rng.uniform(0.5, 2))
                    procs.start_worker(i)

                await asyncio.gather(kill_api(), kill_worker())

            load, done = await storm(world, procs, CRASH_LEADS, seed=SEED * 1000 + trial, retry=True, faults=faults,
                                     tolerate_transport=True, first_lead=trial * CRASH_LEADS)
            assert not done.failed, done.failed[:5]
            total.merge(load)
        await settle(procs=procs, timeout=120)
        figures = await check_invariants(world, total, receiver, crashes=True)
    assert len(kills) == 2 * TRIALS
    figures.update(trials=TRIALS, kills=kills, seconds=round(time.monotonic() - t0, 1))
    print("CRASHES", json.dumps(figures))


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


async def test_broker_down_then_database_restart(tmp_path):
    """Our own redis-server stops for a while (deliveries wait in the outbox,
    then drain), then the database connection is cut mid-storm and restored
    (requests fail cleanly, then succeed)."""
    need("redis")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
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
    try:
        async with storm_world(tmp_path, f"redis://127.0.0.1:{port}/0",
                               proxy_url=lambda url: url.replace(host_port, f"127.0.0.1:{proxy.port}")) as (world, procs, receiver):
            # 1. The broker goes down; leads keep coming and selling; their deliveries wait in the outbox.
            redis.terminate()
            redis.wait(10)
            load, done = await storm(world, procs, 120, seed=SEED, tolerate_transport=True)
            assert not done.failed, done.failed[:5]
            await asyncio.sleep(2)
            waiting = await Delivery.filter(status=DeliveryStatus.PENDING).count()
            assert waiting == await Delivery.all().count() > 0 and not receiver.hits
            assert await OutboxJob.filter(name="deliver", status=JobStatus.PENDING).count() == waiting
            down_for = round(time.monotonic() - t0, 1)
            redis = _redis(port, tmp_path)  # back: everything drains
            await settle(procs=procs, timeout=60)
            assert set(receiver.processed) == set(await Delivery.all().values_list("idempotency_key", flat=True))

            # 2. The database "restarts" in the middle of a storm.
            async def restart_database(rng):
                await asyncio.sleep(rng.uniform(1, 3))
                await proxy.cut()
                await asyncio.sleep(3)
                await proxy.start()

            load2, done2 = await storm(world, procs, 150, seed=SEED + 1, retry=True, faults=restart_database,
                                       tolerate_transport=True, first_lead=1000)
            assert not done2.failed, done2.failed[:5]
            # While it was away, requests failed cleanly: a 503 with a clear message, never a traceback.
            failures = load2.failure_samples
            assert failures, "the cut did not reach any request"
            for status, text in failures:
                assert status in (None, 503), (status, text)
                assert "Traceback" not in text and "asyncpg" not in text and "tortoise" not in text.lower(), text
                if status == 503:
                    assert "database" in text.lower(), text
            load.merge(load2)
            await settle(procs=procs, timeout=90)
            figures = await check_invariants(world, load, receiver, crashes=True)
    finally:
        await proxy.stop()
        redis.terminate()
        redis.wait(10)
    figures.update(broker_down_deliveries_waiting=waiting, database_cut_failed_requests=len(failures),
                   seconds=round(time.monotonic() - t0, 1), broker_down_phase_seconds=down_for)
    print("OUTAGES", json.dumps(figures))


async def test_a_hanging_receiver_starves_no_worker(tmp_path):
    """One buyer's endpoint never answers: its attempts time out (2 s here) and
    are retried later; every other buyer's deliveries arrive meanwhile (RabbitMQ)."""
    broker_url = need("rabbitmq")
    from leadwire.core.models.delivery import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus

    t0 = time.monotonic()
    async with storm_world(tmp_path, broker_url) as (world, procs, receiver):
        hanging = next(c for c in world.campaigns if not c["exclusive"] and c["caps"] == {} and c["index"] == 4)
        receiver.hanging.add(hanging["index"])
        load, done = await storm(world, procs, 150, seed=SEED + 2)
        assert not done.failed, done.failed[:5]
        stuck = set(await Delivery.filter(sale__campaign_id=hanging["id"]).values_list("id", flat=True))
        await settle(procs=procs, timeout=60, ignore_delivery_ids=stuck)
        figures = await check_invariants(world, load, receiver, hanging_deliveries=stuck)
        assert stuck and figures["deliveries"] > len(stuck)
        for d in await Delivery.filter(id__in=stuck):
            assert d.status == DeliveryStatus.PENDING and d.next_attempt_at is not None  # retried later
            attempts = await DeliveryAttempt.filter(delivery_id=d.id)
            assert attempts and all(a.outcome in (AttemptOutcome.RETRY, AttemptOutcome.IN_PROGRESS) for a in attempts)
            assert any("no answer within" in a.error or "timed out" in a.error.lower() for a in attempts), [a.error for a in attempts]
    figures.update(hanging_deliveries=len(stuck), seconds=round(time.monotonic() - t0, 1))
    print("HANGING", json.dumps(figures))
