"""Jobs: the outbox, the embedded worker, and real brokers with worker processes."""

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import jobs_for_tests  # noqa: F401  (registers the test handlers)
from leadwire.core import db as lwdb
from leadwire.core.jobs import enqueue, outbox, run_job
from leadwire.core.jobs.models import JobStatus, OutboxJob
from leadwire.core.models.identity import LoginFailure

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip

HERE = Path(__file__).resolve().parent


async def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_enqueue_is_idempotent_by_dedupe_key(db):
    a = await enqueue("test_write_marker", {"path": "/dev/null"}, dedupe_key="k1")
    b = await enqueue("test_write_marker", {"path": "/dev/null"}, dedupe_key="k1")
    assert a == b and await OutboxJob.all().count() == 1
    with pytest.raises(ValueError):
        await enqueue("no_such_job")


async def test_failures_back_off_then_die(db):
    row = await enqueue("test_always_fails", {"message": "nope"}, max_attempts=3)
    for attempt in (1, 2, 3):
        await OutboxJob.filter(id=row).update(run_after=outbox.now())  # skip the wait
        status = await run_job(row)
        r = await OutboxJob.get(id=row)
        assert r.attempts == attempt and "RuntimeError: nope" in r.last_error
        if attempt < 3:
            assert status == JobStatus.PENDING and r.run_after > outbox.now()
    assert status == JobStatus.DEAD and r.finished_at is not None
    assert await run_job(row) is None  # dead stays dead


async def test_one_claim_at_a_time_and_done_is_done(db, tmp_path):
    marker = tmp_path / "m.txt"
    row = await enqueue("test_write_marker", {"path": str(marker)})
    results = await asyncio.gather(*(run_job(row) for _ in range(5)))
    assert results.count(JobStatus.DONE) == 1 and results.count(None) == 4
    assert marker.read_text() == "done\n"


async def test_sweeper_recovers_a_job_whose_worker_died(db):
    row = await enqueue("test_write_marker", {"path": "/dev/null"})
    # As if a worker claimed it and was killed: running, lease expired.
    await OutboxJob.filter(id=row).update(status=JobStatus.RUNNING, locked_until=outbox.now() - dt.timedelta(seconds=1))
    sent = []
    assert await outbox.dispatch_due(sent.append) == 1 and sent == [row]
    assert (await OutboxJob.get(id=row)).status == JobStatus.PENDING
    assert await outbox.dispatch_due(sent.append) == 0  # not re-sent while its message is in flight


async def test_embedded_worker_runs_jobs_in_process(db, settings, tmp_path):
    from leadwire.core.jobs.embedded import start_embedded_worker

    worker = await start_embedded_worker(settings)
    try:
        marker = tmp_path / "embedded.txt"
        rows = [await enqueue("test_write_marker", {"path": str(marker), "text": str(i)}) for i in range(5)]
        worker.wake.set()

        async def all_done():
            return await OutboxJob.filter(id__in=rows, status=JobStatus.DONE).count() == 5

        await wait_for(all_done, what="embedded jobs")
        assert sorted(marker.read_text().split()) == ["0", "1", "2", "3", "4"]
        # housekeeping is scheduled once per hour, whatever the number of sweeps
        assert await OutboxJob.filter(name="purge_expired_credentials").count() == 1
    finally:
        await worker.stop()


async def test_purge_expired_credentials(db):
    from leadwire.core.jobs.builtin import purge_expired_credentials

    old = await LoginFailure.create(email="a@example.com", ip="1.1.1.1")
    await LoginFailure.filter(id=old.id).update(created_at=outbox.now() - dt.timedelta(days=2))
    await LoginFailure.create(email="b@example.com", ip="1.1.1.1")
    await purge_expired_credentials()
    await purge_expired_credentials()  # idempotent
    assert await LoginFailure.all().values_list("email", flat=True) == ["b@example.com"]


# -- real brokers, worker processes -------------------------------------------------------

BROKERS = {
    "redis": "LEADWIRE_TEST_REDIS_URL",
    "rabbitmq": "LEADWIRE_TEST_RABBITMQ_URL",
}


def _start_worker(database_url: str, broker_url: str, queue: str, lease_seconds: int = 60, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "LEADWIRE_DATABASE_URL": database_url,
        "LEADWIRE_BROKER_URL": broker_url,
        "LEADWIRE_SECRET_KEY": "w" * 40,
        "LEADWIRE_JOB_MODULES": "jobs_for_tests",
        "LEADWIRE_JOB_QUEUE": queue,
        "LEADWIRE_JOB_LEASE_SECONDS": str(lease_seconds),
        "PYTHONPATH": str(HERE),
        **extra_env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "leadwire", "worker", "--processes", "1", "--threads", "2"],
        env=env, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture(params=sorted(BROKERS))
async def broker_world(request, tmp_path):
    broker_url = os.environ.get(BROKERS[request.param], "")
    if not broker_url:
        service_skip(f"{request.param} broker suite: set {BROKERS[request.param]}")
    if POSTGRES_URL:
        database_url = POSTGRES_URL.replace("{}", "jobs_{}").format(uuid.uuid4().hex[:10])
    else:
        database_url = f"sqlite://{tmp_path / 'jobs.sqlite3'}?busy_timeout=20000"
    async with separate_database(database_url, create=database_url.startswith("postgres")):
        await lwdb.migrate()
        yield database_url, broker_url, f"lw-test-{uuid.uuid4().hex[:8]}"
    if database_url.startswith("postgres"):
        await drop_postgres_database(database_url)


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""


async def test_worker_process_runs_jobs_from_the_broker(broker_world, tmp_path):
    database_url, broker_url, queue = broker_world
    marker = tmp_path / "broker.txt"
    rows = [await enqueue("test_write_marker", {"path": str(marker), "text": str(i)}) for i in range(20)]
    proc = _start_worker(database_url, broker_url, queue)
    try:
        async def all_done():
            return await OutboxJob.filter(id__in=rows, status=JobStatus.DONE).count() == 20

        await wait_for(all_done, timeout=40, what="jobs run by the worker process")
    finally:
        output = _stop(proc)
    assert sorted(marker.read_text().split(), key=int) == [str(i) for i in range(20)], output
    assert proc.returncode == 0, output


async def test_killed_worker_loses_no_job(broker_world, tmp_path):
    """kill -9 while the job runs; a new worker completes it, exactly once."""
    database_url, broker_url, queue = broker_world
    gate, marker, started = tmp_path / "gate", tmp_path / "marker", tmp_path / "started"
    row = await enqueue("test_block_then_mark", {"gate": str(gate), "marker": str(marker), "started": str(started)})
    first = _start_worker(database_url, broker_url, queue, lease_seconds=2)
    try:
        await wait_for(lambda: asyncio.sleep(0, started.exists()), timeout=40, what="the job to start")
        first.kill()  # SIGKILL: no clean-up at all
        first.wait(timeout=10)
        assert (await OutboxJob.get(id=row)).status == JobStatus.RUNNING
        gate.write_text("open")
        second = _start_worker(database_url, broker_url, queue, lease_seconds=2)
        try:
            async def done():
                return (await OutboxJob.get(id=row)).status == JobStatus.DONE

            await wait_for(done, timeout=40, what="the job to complete after the crash")
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert marker.read_text() == "completed\n"
    assert (await OutboxJob.get(id=row)).attempts == 2


async def test_jobs_the_broker_refused_are_sent_again_at_the_next_sweep(db):
    """A broker that is down refuses the send: those jobs must not wait
    REDISPATCH_AFTER (minutes) once it is back (found by tests/test_crashes.py)."""
    rows = [await enqueue("test_write_marker", {"path": "/dev/null", "text": str(i)}) for i in range(3)]
    sent = []

    def broker_down_after_one(job_id):
        if sent:
            raise ConnectionError("broker down")
        sent.append(job_id)

    with pytest.raises(ConnectionError):
        await outbox.dispatch_due(broker_down_after_one)
    assert await OutboxJob.filter(dispatched_at__isnull=True).count() == 2
    assert await outbox.dispatch_due(sent.append) == 2  # the broker is back: sent at once
    assert sorted(sent) == sorted(rows)
