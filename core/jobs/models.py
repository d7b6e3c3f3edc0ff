"""The outbox: every job still to do, recorded in the database."""

from __future__ import annotations

from enum import Enum

from tortoise import fields
from tortoise.models import Model


class JobStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # failed max_attempts times; kept for the operator


class OutboxJob(Model):
    """One job. Written in the same transaction as the change that needs it, so
    a crash can lose neither; ids only in the payload, never secrets."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100)  # the registered handler
    payload = fields.JSONField(default=dict)
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)
    status = fields.CharEnumField(JobStatus, max_length=16, default=JobStatus.PENDING)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    run_after = fields.DatetimeField()
    dispatched_at = fields.DatetimeField(null=True)  # last handed to the broker
    locked_until = fields.DatetimeField(null=True)  # the running worker's lease
    lock_token = fields.CharField(max_length=32, default="")
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_job"
        indexes = (("status", "run_after"),)
