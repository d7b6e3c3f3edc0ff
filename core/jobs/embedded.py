"""The in-process worker of the embedded default (no LEADWIRE_BROKER_URL).

A dramatiq worker on a stub broker runs inside the server process; its
threads run the async actor on the server's own event loop (STACK-NOTES
recipe), beside the ORM's connections. A sweeper task on that loop hands due
outbox rows to it.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import dramatiq
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.middleware import Middleware

from leadwire.core import db
from leadwire.core.jobs import outbox
from leadwire.core.jobs.broker import configure_broker
from leadwire.core.settings import Settings

log = logging.getLogger("leadwire.jobs")
SWEEP_SECONDS = 0.5


class _ServerLoop(EventLoopThread):
    """Dramatiq's event-loop handle pointing at a loop that is already running
    (the server's); never started as a thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        threading.Thread.__init__(self, daemon=True)
        self.loop = loop
        self.logger = log
        self.interrupt_check_ival = 0.1


class _UseServerLoop(Middleware):
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop

    def before_worker_boot(self, broker, worker):
        set_event_loop_thread(_ServerLoop(self.loop))

    def after_worker_shutdown(self, broker, worker):
        set_event_loop_thread(None)


class EmbeddedWorker:
    def __init__(self, worker: dramatiq.Worker, sweeper: asyncio.Task, wake: asyncio.Event):
        self._worker, self._sweeper, self.wake = worker, sweeper, wake

    async def stop(self) -> None:
        self._sweeper.cancel()
        try:
            await self._sweeper
        except asyncio.CancelledError:
            pass
        # Worker.stop joins threads that may be waiting on this loop: run it off-loop.
        await asyncio.to_thread(self._worker.stop, 5000)


async def start_embedded_worker(settings: Settings, *, threads: int = 4) -> EmbeddedWorker:
    """Start the in-process worker and its sweeper; call from the server's lifespan."""
    loop = asyncio.get_running_loop()
    broker, actor = configure_broker(settings, _UseServerLoop(loop))
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    wake = asyncio.Event()

    from leadwire.core.jobs.builtin import schedule_periodic
    from leadwire.core.jobs.worker import import_job_modules

    import_job_modules()

    async def sweep() -> None:
        while True:
            try:
                await schedule_periodic()
                await outbox.dispatch_due(lambda job_id: actor.send(job_id))
            except Exception:  # the database may be briefly unavailable: try again
                db.log_failure(log, "outbox sweep failed")
            try:
                await asyncio.wait_for(wake.wait(), SWEEP_SECONDS)
            except asyncio.TimeoutError:
                pass
            wake.clear()

    return EmbeddedWorker(worker, asyncio.create_task(sweep(), name="leadwire-outbox-sweeper"), wake)
