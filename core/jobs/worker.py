"""`leadwire worker`: dramatiq worker processes on Redis or RabbitMQ.

Each process runs dramatiq's AsyncIO middleware (one event-loop thread for
all async actors), opens the ORM on that loop before the worker boots and
closes it after, and runs an outbox sweeper there too. ``--processes N``
starts N such processes and stops them together on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import AsyncIO, Middleware

from leadwire.core import db
from leadwire.core.jobs import outbox
from leadwire.core.jobs.builtin import schedule_periodic
from leadwire.core.settings import Settings

log = logging.getLogger("leadwire.worker")
SWEEP_SECONDS = 0.5
JOB_MODULES = (
    "leadwire.core.jobs.builtin", "leadwire.core.delivery", "leadwire.core.payments", "leadwire.core.autocharge",
    "leadwire.core.accounts_closing",
    "leadwire.core.workspace.entry", "leadwire.core.workspace.imports",
)


def import_job_modules() -> None:
    """The built-in job modules plus LEADWIRE_JOB_MODULES (comma-separated)."""
    extra = [m.strip() for m in os.environ.get("LEADWIRE_JOB_MODULES", "").split(",") if m.strip()]
    for module in (*JOB_MODULES, *extra):
        importlib.import_module(module)


class _Database(Middleware):
    """Open the ORM and start the sweeper on dramatiq's event-loop thread."""

    def __init__(self, settings: Settings, send):
        self.settings, self.send, self.sweeper = settings, send, None

    def before_worker_boot(self, broker, worker):
        loop_thread = get_event_loop_thread()
        loop_thread.run_coroutine(db.init_db(self.settings, global_fallback=True))
        self.sweeper = asyncio.run_coroutine_threadsafe(self._sweep(), loop_thread.loop)

    async def _sweep(self) -> None:
        while True:
            try:
                await schedule_periodic()
                await outbox.dispatch_due(self.send)
            except Exception:
                db.log_failure(log, "outbox sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)

    def before_worker_shutdown(self, broker, worker):
        if self.sweeper is not None:
            self.sweeper.cancel()
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            from leadwire.core import http

            loop_thread.run_coroutine(http.close())
            loop_thread.run_coroutine(db.close_db())


def _run_one(settings: Settings, threads: int) -> int:
    from leadwire.core.jobs.broker import configure_broker

    import_job_modules()
    actor_ref: list[dramatiq.Actor] = []
    broker, actor = configure_broker(settings, AsyncIO(), _Database(settings, lambda job_id: actor_ref[0].send(job_id)))
    actor_ref.append(actor)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    log.info("worker %d ready (%d threads, queue %s)", os.getpid(), threads, actor.queue_name)
    print(f"leadwire worker {os.getpid()} ready", flush=True)
    stop.wait()
    worker.stop(timeout=10_000)
    broker.close()
    return 0


def run_worker(settings: Settings, *, processes: int, threads: int) -> int:
    if processes <= 1:
        return _run_one(settings, threads)
    children = [
        subprocess.Popen([sys.executable, "-m", "leadwire", "worker", "--processes", "1", "--threads", str(threads)])
        for _ in range(processes)
    ]

    def forward(signum, _frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    codes = [child.wait() for child in children]
    return max(codes)
