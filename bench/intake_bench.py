"""Lead intake over HTTP on PostgreSQL: the submitLead mutation (validate,
route among 10,000 active campaigns, charge, outbox) with one and with two API
processes, beside the same machine's ceiling for a bare starlette endpoint that
inserts one row with asyncpg in a transaction — both driven by the same load
generator in the same run.

    .venv/bin/python bench/intake_bench.py [--postgres postgres://postgres@127.0.0.1:5432/bench_{}]
        [--campaigns 10000] [--seconds 10] [--concurrency 32]

Load comes from wrk (a separate process, one thread, Debian package `wrk`) on
127.0.0.1, bounded in time; a Lua script makes every lead fresh (new phone and
e-mail) and counts any response carrying errors or userErrors as an error.
Results go to bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

SUBMIT = """mutation($i: SubmitLeadInput!) { submitLead(input: $i) { status buyerCount userErrors { field message } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed(url: str, n_campaigns: int) -> dict:
    from leadwire.core import auth, industries
    from leadwire.core import db as lwdb
    from leadwire.core.access import Viewer
    from leadwire.core.models.identity import LeadSource, Membership
    from leadwire.integrations import geodata
    from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES
    from routing_bench import build
    from strawberry import relay
    from tortoise.context import TortoiseContext

    industries.install(BUILTIN_INDUSTRIES)
    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=True)
        built = await build(n_campaigns, random.Random(7))
        owner = await Membership.get(account_id=built["operator"].id).select_related("person", "account")
        source = await LeadSource.create(account=built["operator"], name="Bench source")
        _, key = await auth.create_lead_source_key(Viewer.from_membership(owner), source.id)
        await ctx.connections.get("default").close()
    # Leads land where campaigns are dense (the same states the campaigns' homes are drawn from).
    zips = [z for z in geodata.all_zip_codes() if geodata.lookup(z).state in ("MI", "OH", "NY", "CA", "TX", "FL")]
    return {"key": key, "products": [str(relay.GlobalID("Product", str(p.id))) for p in built["products"]],
            "zips": random.Random(3).sample(zips, 400)}


LUA_COMMON = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
bad = 0
sample = ""
function response(status, headers, body)
  if status ~= 200 and status ~= 201 then bad = bad + 1; sample = body; return end
  if CHECK_BODY and (string.find(body, '"errors"', 1, true) or string.find(body, '"userErrors":[{', 1, true)) then
    bad = bad + 1; sample = body
  end
end
function done(summary, latency, requests)
  local b, s = 0, ""
  for _, t in ipairs(threads) do b = b + t:get("bad"); local ts = t:get("sample"); if ts ~= "" then s = ts end end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bad_responses": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "sample_bad": %q}\n',
    summary.requests, summary.duration, b, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, string.sub(s, 1, 300)))
end
"""


def lead_script(products: list[str], zips: list[str], key: str) -> str:
    """A wrk script that posts a fresh, valid lead every request (new phone and e-mail each time, so the
    duplicate window does not turn the run into duplicate handling)."""
    template = json.dumps({
        "query": SUBMIT,
        "variables": {"i": {
            "productId": "@PRODUCT@", "firstName": "Bench", "lastName": "Lead@N@",
            "phone": "+1@AREA@@LINE@", "email": "bench@N@.@RAND@@example.com", "postalCode": "@ZIP@",
            "consent": {"text": "I agree to be contacted.", "ip": "198.51.100.1"},
            "data": {"from_zip": "@ZIP@", "to_zip": "@TOZIP@", "move_date": "2026-12-20", "move_size": "studio"},
        }},
    })
    lua_list = lambda xs: "{" + ",".join(f'"{x}"' for x in xs) + "}"
    return f"""CHECK_BODY = true
local products = {lua_list(products)}
local zips = {lua_list(zips)}
local areas = {{"313", "734", "216", "212", "213", "713", "305"}}
local template = {json.dumps(template)}
wrk.headers["Authorization"] = "Bearer {key}"
local n = 0
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
function request()
  n = n + 1
  local z = zips[math.random(#zips)]
  local body = template:gsub("@(%u+)@", {{
    PRODUCT = products[math.random(#products)], N = tostring(n), AREA = areas[math.random(#areas)],
    LINE = tostring(math.random(2000000, 9999999)), RAND = tostring(math.random(1, 1000000000)),
    ZIP = z, TOZIP = zips[math.random(#zips)],
  }})
  return wrk.format(nil, nil, nil, body)
end
""" + LUA_COMMON


def insert_script() -> str:
    return """CHECK_BODY = false
function request()
  return wrk.format(nil, nil, nil, '{"a": "' .. string.rep("x", 40) .. '", "b": ' .. math.random(1000) .. '}')
end
""" + LUA_COMMON


def wrk(url: str, script: str, seconds: float, connections: int) -> dict:
    """Run wrk (one load thread, a separate process) for a bounded time and read its summary."""
    path = RESULTS / "load.lua"
    path.write_text(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(path), url],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    raw = json.loads(line[len("WRK_RESULT "):])
    result = {
        "requests": raw["requests"], "errors": raw["bad_responses"] + raw["socket_errors"],
        "per_second": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1), "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1), "max_ms": round(raw["max_us"] / 1000, 1),
    }
    if result["errors"]:
        result["sample_error"] = raw["sample_bad"]
    return result


def spawn(args: list[str], log_name: str, **kwargs) -> subprocess.Popen:
    """A server or worker process whose output goes to bench/results/<log_name>.log
    (a pipe nobody reads would fill up and stall it)."""
    log = (RESULTS / f"{log_name}.log").open("w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, **kwargs)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


def output_of(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text()[-3000:]  # type: ignore[attr-defined]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {output_of(proc)}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def run(args) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("this benchmark drives load with wrk: apt-get install wrk")
    url = args.postgres.replace("{}", "intake_{}").format(uuid.uuid4().hex[:8]) if "{}" in args.postgres else args.postgres
    seeded = await seed(url, args.campaigns)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")},
           "LEADWIRE_DATABASE_URL": url, "LEADWIRE_SECRET_KEY": "b" * 40, "LEADWIRE_ENV": "production",
           "LEADWIRE_DB_POOL_MAX": "16"}
    results: dict[str, dict] = {}
    try:
        # The ceiling first: the same load generator against a bare one-row insert.
        port = free_port()
        ceiling = spawn(
            [sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--log-level", "warning"],
            "ceiling", cwd=HERE, env={**env, "CEILING_DATABASE_URL": url.replace("postgres://", "postgresql://", 1)})
        try:
            wait_http(f"http://127.0.0.1:{port}/health", ceiling)
            target = f"http://127.0.0.1:{port}/insert"
            wrk(target, insert_script(), 2, args.concurrency)  # warm-up
            results["ceiling_bare_insert"] = wrk(target, insert_script(), args.seconds, args.concurrency)
            print("ceiling", results["ceiling_bare_insert"], flush=True)
        finally:
            stop(ceiling)
        script = lead_script(seeded["products"], seeded["zips"], seeded["key"])
        for processes in (1, 2):
            port = free_port()
            server = spawn(
                [sys.executable, "-m", "leadwire", "serve", "--port", str(port), "--workers", str(processes),
                 "--log-level", "warning"], f"intake-server-{processes}", cwd=RESULTS, env=env)
            try:
                wait_http(f"http://127.0.0.1:{port}/healthz", server)
                target = f"http://127.0.0.1:{port}/graphql"
                check_one_lead(target, seeded)
                wrk(target, script, 2, args.concurrency)  # warm-up
                r = wrk(target, script, args.seconds, args.concurrency)
                r["fraction_of_ceiling"] = round(r["per_second"] / results["ceiling_bare_insert"]["per_second"], 3)
                results[f"submit_lead_{processes}_process"] = r
                print(f"{processes} process(es)", r, flush=True)
            finally:
                stop(server)
        results["outcomes"] = await outcomes(url)
    finally:
        from conftest import drop_postgres_database

        await drop_postgres_database(url)
    return results


def check_one_lead(url: str, seeded: dict) -> None:
    """One request by hand before the load, so a broken body fails loudly instead of measuring errors."""
    z = seeded["zips"][0]
    body = {"query": SUBMIT, "variables": {"i": {
        "productId": seeded["products"][0], "firstName": "Check", "lastName": "Lead", "phone": "+13135550123",
        "email": "check@example.com", "postalCode": z, "consent": {"text": "I agree.", "ip": "198.51.100.1"},
        "data": {"from_zip": z, "to_zip": z, "move_date": "2026-12-20", "move_size": "studio"}}}}
    r = httpx.post(url, json=body, headers={"authorization": f"Bearer {seeded['key']}"}, timeout=30)
    payload = r.json()
    if r.status_code != 200 or "errors" in payload or payload["data"]["submitLead"]["userErrors"]:
        raise RuntimeError(f"submitLead refused the benchmark's lead: {r.status_code} {r.text[:500]}")


async def outcomes(url: str) -> dict:
    """What the load did, read back from the database: leads by market status and sales made."""
    from leadwire.core import db as lwdb
    from leadwire.core.models.leads import Lead
    from leadwire.core.models.marketplace import LeadSale
    from tortoise.context import TortoiseContext
    from tortoise.functions import Count

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url))
        rows = await Lead.all().group_by("market_status").annotate(n=Count("id")).values("market_status", "n")
        sales = await LeadSale.all().count()
        await ctx.connections.get("default").close()
    return {"leads_by_status": {str(r["market_status"]): r["n"] for r in rows}, "sales": sales}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    out = {"benchmark": "lead intake over HTTP (PostgreSQL)", "campaigns": args.campaigns,
           "concurrency": args.concurrency, "seconds": args.seconds,
           "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
           "results": results}
    (RESULTS / "intake.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
