"""Lead intake over HTTP on PostgreSQL: the submitLead mutation (validate,
route among 10,000 active campaigns, charge, outbox) with one and with two API
processes, beside the same machine's ceiling for a bare starlette endpoint that
inserts one row with asyncpg in a transaction — both driven by the same load
generator in the same run.

    .venv/bin/python bench/intake_bench.py [--postgres postgres://postgres@127.0.0.1:5432/bench_{}]
        [--campaigns 10000] [--seconds 10] [--concurrency 32] [--runs 3]

Load comes from wrk (a separate process, one thread, Debian package `wrk`) on
127.0.0.1, bounded in time; a Lua script makes every lead fresh (new phone and
e-mail) and counts any response carrying errors or userErrors as an error.
Results go to bench/results/intake.json.

The API processes run as in production, with a broker named (Redis, a
database of its own, emptied after the run) and so without the embedded job
worker: the figure is intake itself (validate, route, charge, write the
outbox). The jobs a sale leaves (the buyer's workspace entry, deliveries)
stay in the outbox; workers run them in production, measured by
delivery_bench.py. Before, every Leadwire server of the run also ran the
shared outbox's jobs in-process, so the servers not under load took CPU from
the one that was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BROKER_URL = "redis://127.0.0.1:6379/14"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import (  # noqa: E402
    LUA_COMMON, RESULTS, free_port, leadwire_env, machine, round_ratios, side_by_side, spawn, stop, wait_http,
)

SUBMIT = """mutation($i: SubmitLeadInput!) { submitLead(input: $i) { status buyerCount userErrors { field message } } }"""


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


async def run(args) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("this benchmark drives load with wrk: apt-get install wrk")
    url = args.postgres.replace("{}", "intake_{}").format(uuid.uuid4().hex[:8]) if "{}" in args.postgres else args.postgres
    seeded = await seed(url, args.campaigns)
    env = leadwire_env(url, LEADWIRE_BROKER_URL=BROKER_URL)
    results: dict = {}
    processes: list = []
    try:
        # The ceiling and both Leadwire set-ups run at once (idle when not under
        # load), so that the rounds can alternate between them.
        port = free_port()
        ceiling = spawn(
            [sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--log-level", "warning"],
            "ceiling", cwd=HERE, env={**env, "CEILING_DATABASE_URL": url.replace("postgres://", "postgresql://", 1)})
        processes.append(ceiling)
        wait_http(f"http://127.0.0.1:{port}/health", ceiling)
        targets = {"ceiling_bare_insert": (f"http://127.0.0.1:{port}/insert", insert_script())}
        script = lead_script(seeded["products"], seeded["zips"], seeded["key"])
        for n in (1, 2):
            port = free_port()
            server = spawn(
                [sys.executable, "-m", "leadwire", "serve", "--port", str(port), "--workers", str(n),
                 "--log-level", "warning"], f"intake-server-{n}", cwd=RESULTS, env=env)
            processes.append(server)
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            check_one_lead(f"http://127.0.0.1:{port}/graphql", seeded)
            targets[f"submit_lead_{n}_process"] = (f"http://127.0.0.1:{port}/graphql", script)
        results = side_by_side(targets, seconds=args.seconds, connections=args.concurrency, runs=args.runs)
        for n in (1, 2):
            results[f"submit_lead_{n}_process"]["fraction_of_ceiling"] = round_ratios(
                results, f"submit_lead_{n}_process", "ceiling_bare_insert")
        results["outcomes"] = await outcomes(url)
    finally:
        for proc in processes:
            stop(proc)
        from conftest import drop_postgres_database

        await drop_postgres_database(url)
        import redis

        redis.Redis.from_url(BROKER_URL).flushdb()
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
    parser.add_argument("--runs", type=int, default=3, help="rounds; each figure is their median")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    out = {"benchmark": "lead intake over HTTP (PostgreSQL)", "campaigns": args.campaigns,
           "concurrency": args.concurrency, "seconds": args.seconds, "runs": args.runs, "machine": machine(),
           "results": results}
    (RESULTS / "intake.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
