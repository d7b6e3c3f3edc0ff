"""dramatiq wiring: the broker named by LEADWIRE_BROKER_URL (Redis or
RabbitMQ), or a stub broker whose worker lives in the server process, and the
one actor that runs outbox jobs.

The broker is always chosen explicitly (``dramatiq.set_broker``) before the
actor is declared: left to itself, dramatiq picks RabbitMQ whenever pika is
importable.
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.stub import StubBroker

from leadwire.core.jobs import outbox
from leadwire.core.settings import Settings

ACTOR_NAME = "leadwire_run_outbox_job"
UNAVAILABLE_RETRY_MS = 3000


def queue_name() -> str:
    # Separate deployments (or test runs) sharing a broker use separate queues.
    return os.environ.get("LEADWIRE_JOB_QUEUE", "leadwire")


def configure_broker(settings: Settings, *middleware) -> tuple[dramatiq.Broker, dramatiq.Actor]:
    from dramatiq.middleware import default_middleware

    stack = [m() for m in default_middleware] + list(middleware)
    if settings.broker_url is None:
        broker: dramatiq.Broker = StubBroker(middleware=stack)
    else:
        url = settings.broker_url.reveal()
        if url.startswith(("redis://", "rediss://")):
            from dramatiq.brokers.redis import RedisBroker

            broker = RedisBroker(url=url, middleware=stack, namespace=f"dramatiq-{queue_name()}")
        else:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            broker = RabbitmqBroker(url=url, middleware=stack)
    dramatiq.set_broker(broker)

    async def run_outbox_job(job_id: int) -> None:
        try:
            await outbox.run_job(job_id)
        except Exception as exc:
            from leadwire.core import db

            if not db.unavailable(exc):
                raise
            # The database went away before the job was claimed (or its outcome
            # recorded): try this message again shortly, instead of leaving the
            # row to the sweeper's re-dispatch minutes later (found by the crash tests).
            actor.send_with_options(args=(job_id,), delay=UNAVAILABLE_RETRY_MS)

    # Retries belong to the outbox (backoff, dead state, recorded errors), not
    # to the message: a failed message is simply dropped and the row re-sent.
    actor = dramatiq.actor(
        run_outbox_job, actor_name=ACTOR_NAME, queue_name=queue_name(), broker=broker, max_retries=0,
        time_limit=int(outbox.LEASE.total_seconds() * 1000),
    )
    return broker, actor
