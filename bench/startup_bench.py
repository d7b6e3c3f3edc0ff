"""Cold start and memory of `leadwire serve`: the time from starting the
process to its first answered GraphQL request, and its resident memory idle
after start and after serving a burst of requests. PostgreSQL, production
settings, one API process; median of several starts.

    .venv/bin/python bench/startup_bench.py [--starts 5] [--postgres postgres://postgres@127.0.0.1:5432/bench_{}]

Results go to bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import RESULTS, free_port, leadwire_env, machine, spawn, spread, stop  # noqa: E402

PROBE = {"query": "{ __typename }"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def migrate(url: str) -> None:
    from tortoise.context import TortoiseContext

    from leadwire.core import db as lwdb

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=True)
        await lwdb.migrate()
        await ctx.connections.get("default").close()


def one_start(url: str, burst: int) -> dict:
    port = free_port()
    started = time.perf_counter()
    proc = spawn([sys.executable, "-m", "leadwire", "serve", "--port", str(port), "--log-level", "warning"],
                 "startup-server", cwd=RESULTS, env=leadwire_env(url))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the server exited: {Path(proc.log_path).read_text()[-2000:]}")
                try:
                    if client.post("/graphql", json=PROBE).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.01)
            cold_start_ms = (time.perf_counter() - started) * 1000
            time.sleep(2)
            idle = rss_mib(proc.pid)
            for _ in range(burst):
                client.post("/graphql", json=PROBE)
            time.sleep(1)
            after = rss_mib(proc.pid)
    finally:
        stop(proc)
    return {"cold_start_ms": cold_start_ms, "idle_rss_mib": idle, "rss_after_burst_mib": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--burst", type=int, default=500, help="requests served before the second reading")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    args = parser.parse_args()
    url = args.postgres.replace("{}", "startup_{}").format(uuid.uuid4().hex[:8])
    asyncio.run(migrate(url))
    try:
        runs = [one_start(url, args.burst) for _ in range(args.starts)]
    finally:
        from conftest import drop_postgres_database

        asyncio.run(drop_postgres_database(url))
    results = {key: spread([r[key] for r in runs]) for key in runs[0]}
    out = {"benchmark": "cold start and memory of leadwire serve (PostgreSQL, one process)", "machine": machine(),
           "starts": args.starts, "burst": args.burst, "results": results, "raw": runs}
    (RESULTS / "startup.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
