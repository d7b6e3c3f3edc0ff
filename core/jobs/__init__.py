"""Background jobs: a database outbox executed by dramatiq (see outbox.py)."""

from leadwire.core.jobs.outbox import RetryLater, enqueue, job, run_job

__all__ = ["RetryLater", "enqueue", "job", "run_job"]
