"""Job handlers used by the jobs tests (loaded by worker processes through
LEADWIRE_JOB_MODULES=jobs_for_tests)."""

import asyncio
from pathlib import Path

from leadwire.core.jobs import job


@job("test_write_marker")
async def write_marker(path: str, text: str = "done") -> None:
    with open(path, "a") as f:
        f.write(text + "\n")


@job("test_always_fails")
async def always_fails(message: str = "boom") -> None:
    raise RuntimeError(message)


@job("test_block_then_mark")
async def block_then_mark(gate: str, marker: str, started: str) -> None:
    """Signals that it started, waits until the gate file exists, then marks."""
    Path(started).write_text("started")
    while not Path(gate).exists():
        await asyncio.sleep(0.05)
    with open(marker, "a") as f:
        f.write("completed\n")
