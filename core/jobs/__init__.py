"""Background jobs: a database outbox executed by dramatiq (see outbox.py)."""

from leadwire.core.jobs.outbox import enqueue, job, run_job

__all__ = ["enqueue", "job", "run_job"]
