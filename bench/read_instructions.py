"""Instructions per "latest 50 leads" request, counted by valgrind: the A/B
measure for code changes on a machine whose speed wanders.

On this project's 2-core VMs the same pure-Python loop takes from 0.28 to 0.50 s
from one run to the next, so CPU times of two versions measured minutes apart
differ by more than most changes do. valgrind's callgrind counts the
instructions the Python process executes, which do not depend on what else
the machine is doing. The request runs through the ASGI app in-process (as
read_bench.py's CPU figure), against PostgreSQL; the database server's own
work is not counted. The process is run twice, with few and with many
requests after the same warm-up, and the difference is divided by the extra
requests, so start-up and imports cancel out.

    apt-get install valgrind
    .venv/bin/python bench/read_instructions.py [--requests 100] [--leads 2000]

Compare two versions by running it on each (e.g. a `git worktree` of the old
commit put first on PYTHONPATH as `leadwire`). Takes ~6 minutes (valgrind runs
Python ~50x slower). Writes bench/results/read_instructions.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import RESULTS, leadwire_env, machine  # noqa: E402
from read_bench import LATEST_50, seed  # noqa: E402

WARM_UP = 50
BASE_REQUESTS = 10


async def drive(url: str, token: str, requests: int) -> None:
    """The measured process: warm up, then ``requests`` latest-50 requests."""
    import httpx

    os.environ.update(leadwire_env(url))
    from leadwire.app import create_app
    from leadwire.core.settings import load_settings

    app = create_app(load_settings())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(WARM_UP + requests):
                r = await client.post("/graphql", json={"query": LATEST_50},
                                      headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200 and len(r.json()["data"]["leads"]["edges"]) == 50, r.text[:300]


def count(url: str, token: str, requests: int) -> int:
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "--drive",
         url, token, str(requests)],
        capture_output=True, text=True, timeout=1800,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"valgrind run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--drive":
        asyncio.run(drive(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="the extra requests of the second run")
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("this benchmark counts instructions with valgrind: apt-get install valgrind")
    url = args.postgres.replace("{}", "instr_{}").format(uuid.uuid4().hex[:8])
    seeded = asyncio.run(seed(url, args.leads))
    try:
        few = count(url, seeded["token"], BASE_REQUESTS)
        many = count(url, seeded["token"], BASE_REQUESTS + args.requests)
    finally:
        from conftest import drop_postgres_database

        asyncio.run(drop_postgres_database(url))
    per_request = (many - few) / args.requests
    out = {"benchmark": "instructions per latest-50 request, in-process (valgrind callgrind)",
           "leads": args.leads, "requests": args.requests, "instructions_per_request": round(per_request),
           "runs": {"few": few, "many": many}, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "read_instructions.json").write_text(json.dumps(out, indent=2))
    print(f"{per_request / 1e6:.2f} million instructions per request")


if __name__ == "__main__":
    main()
