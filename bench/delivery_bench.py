"""Deliveries per second through dramatiq on Redis, with one and with two
`leadwire worker` processes, to a local webhook receiver — beside the same
receiver's own ceiling (wrk straight at it), in the same run.

    .venv/bin/python bench/delivery_bench.py [--deliveries 3000] [--threads 8]
        [--postgres postgres://postgres@127.0.0.1:5432/bench_{}] [--redis redis://127.0.0.1:6379/0]

Each delivery is the real path: the outbox sweeper hands the job to Redis, a
worker claims it, the built-in webhook channel signs the JSON and POSTs it,
the attempt and the outcome are written back. The sales and their pending
deliveries are written in bulk first, exactly as routing writes them. The
rate is measured between 10% and 90% delivered (steady state), and over the
whole batch. Results go to bench/results/delivery.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import shutil
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import LUA_COMMON, free_port, machine, output_of, spawn, spread, stop, wait_http, wrk  # noqa: E402

WEBHOOK_SECRET = "bench-webhook-secret-0123456789"


def receiver_ceiling_script() -> str:
    return """CHECK_BODY = false
function request()
  return wrk.format(nil, nil, nil, '{"event": "lead.sold", "lead": {"first_name": "Bench"}}')
end
""" + LUA_COMMON


async def seed(url: str, receiver: str, n: int) -> None:
    """A funded partner, one campaign with the webhook channel, and ``n`` sales
    with a pending delivery and its outbox job each."""
    from tortoise.context import TortoiseContext

    from leadwire.core import db as lwdb
    from leadwire.core.delivery import MAX_ATTEMPTS, new_idempotency_key
    from leadwire.core.identity import now
    from leadwire.core.jobs.models import OutboxJob
    from leadwire.core.models.delivery import Delivery
    from leadwire.core.models.identity import Account, AccountKind
    from leadwire.core.models.leads import Lead, LeadOrigin, MarketStatus
    from leadwire.core.models.marketplace import Campaign, Industry, LeadSale, Offer, Product

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=True)
        await lwdb.migrate()
        operator = await Account.create(kind=AccountKind.OPERATOR, name="Marketplace")
        partner = await Account.create(kind=AccountKind.PARTNER, name="Bench Movers", approved_at=now())
        industry = await Industry.create(schema_key="moving", name="Moving")
        product = await Product.create(industry=industry, name="Local moving")
        offer = await Offer.create(product=product, name="Shared", price_minor=2500)
        campaign = await Campaign.create(
            account=partner, offer=offer, product=product, name="Bench", time_zone="America/Detroit",
            channels={"webhook": {"url": f"http://{receiver}/hook", "secret": WEBHOOK_SECRET}},
        )
        common = dict(industry_id=industry.id, product_id=product.id, postal_code="48165", city="New Hudson",
                      state="MI", data={"move_size": "studio", "move_date": "2026-12-20"})
        await Lead.bulk_create([
            Lead(account_id=operator.id, origin=LeadOrigin.MARKETPLACE, first_name="Bench", last_name=f"M{i}",
                 phone=f"+1313555{i % 10000:04d}", market_status=MarketStatus.SOLD, sale_count=1, **common)
            for i in range(n)
        ], batch_size=2000)
        await Lead.bulk_create([
            Lead(account_id=partner.id, origin=LeadOrigin.MARKETPLACE, first_name="Bench", last_name=f"B{i}",
                 phone=f"+1313555{i % 10000:04d}", **common)
            for i in range(n)
        ], batch_size=2000)
        market_ids = await Lead.filter(account_id=operator.id).order_by("id").values_list("id", flat=True)
        buyer_ids = await Lead.filter(account_id=partner.id).order_by("id").values_list("id", flat=True)
        await LeadSale.bulk_create([
            LeadSale(lead_id=m, buyer_lead_id=b, campaign_id=campaign.id, account_id=partner.id, price_minor=2500,
                     currency="USD", exclusive=False, campaign_revision=1)
            for m, b in zip(market_ids, buyer_ids)
        ], batch_size=2000)
        sales = await LeadSale.all().order_by("id").values_list("id", "buyer_lead_id")
        await Delivery.bulk_create([
            Delivery(sale_id=s, account_id=partner.id, buyer_lead_id=b, channel="webhook",
                     idempotency_key=new_idempotency_key(), max_attempts=MAX_ATTEMPTS)
            for s, b in sales
        ], batch_size=2000)
        ids = await Delivery.all().order_by("id").values_list("id", flat=True)
        t = dt.datetime.now(dt.timezone.utc)
        await OutboxJob.bulk_create([
            OutboxJob(name="deliver", payload={"delivery_id": i}, run_after=t, max_attempts=MAX_ATTEMPTS + 4)
            for i in ids
        ], batch_size=2000)
        await ctx.connections.get("default").close()


async def progress(url: str) -> tuple[int, int, int]:
    """(delivered, failed, pending) right now."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1).split("?")[0])
    try:
        rows = dict(await conn.fetch("SELECT status, count(*) FROM delivery GROUP BY status"))
    finally:
        await conn.close()
    return rows.get("delivered", 0), rows.get("failed", 0), rows.get("pending", 0)


async def run_workers(url: str, redis: str, processes: int, threads: int, n: int, env: dict) -> dict:
    worker_env = {**env, "LEADWIRE_BROKER_URL": redis, "LEADWIRE_JOB_QUEUE": f"bench-{uuid.uuid4().hex[:6]}"}
    started = time.perf_counter()
    proc = spawn(
        [sys.executable, "-m", "leadwire", "worker", "--processes", str(processes), "--threads", str(threads)],
        f"delivery-worker-{processes}", cwd=RESULTS, env=worker_env,
    )
    marks: dict[str, float] = {}
    deadline = started + 600
    try:
        while time.perf_counter() < deadline:
            delivered, failed, _ = await progress(url)
            now_s = time.perf_counter() - started
            for name, share in (("t10", 0.1), ("t90", 0.9), ("t100", 1.0)):
                if name not in marks and delivered + failed >= share * n:
                    marks[name] = now_s
            if "t100" in marks:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {output_of(proc)}")
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the deliveries did not finish within 600 s")
    finally:
        stop(proc)
    delivered, failed, pending = await progress(url)
    return {
        "processes": processes, "threads_per_process": threads, "deliveries": n, "delivered": delivered,
        "failed": failed, "pending": pending,
        "steady_per_second": round(0.8 * n / (marks["t90"] - marks["t10"]), 1),
        "overall_per_second": round(n / marks["t100"], 1),
        "seconds_incl_start_up": round(marks["t100"], 2),
    }


async def run(args) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("this benchmark measures the receiver's ceiling with wrk: apt-get install wrk")
    port = free_port()
    receiver = spawn(
        [sys.executable, "-m", "uvicorn", "receiver_app:app", "--port", str(port), "--log-level", "warning"],
        "receiver", cwd=HERE)
    raw: dict[str, list[dict]] = {"receiver_ceiling": [], "workers_1": [], "workers_2": []}
    databases = []
    try:
        wait_http(f"http://127.0.0.1:{port}/count", receiver)
        target = f"http://127.0.0.1:{port}/hook"
        wrk(target, receiver_ceiling_script(), 2, args.connections)
        plugins = RESULTS / "delivery-plugins.toml"
        plugins.write_text("[plugin.webhook_channel]\ntimeout_seconds = 10.0\n")
        # Rounds: the receiver's ceiling, then one and two worker processes; the
        # fractions are taken within each round.
        for _ in range(args.runs):
            ceiling = wrk(target, receiver_ceiling_script(), args.seconds, args.connections)
            raw["receiver_ceiling"].append(ceiling)
            print("receiver ceiling", ceiling, flush=True)
            for processes in (1, 2):
                url = args.postgres.replace("{}", "delivery_{}").format(uuid.uuid4().hex[:8])
                databases.append(url)
                await seed(url, f"127.0.0.1:{port}", args.deliveries)
                env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")},
                       "LEADWIRE_DATABASE_URL": url, "LEADWIRE_SECRET_KEY": secrets.token_hex(24),
                       "LEADWIRE_ENV": "production", "LEADWIRE_PLUGINS_FILE": str(plugins), "LEADWIRE_DB_POOL_MAX": "16",
                       # The receiver is on loopback, which the SSRF guard refuses by default.
                       "LEADWIRE_ALLOW_PRIVATE_NETWORKS": "true"}
                r = await run_workers(url, args.redis, processes, args.threads, args.deliveries, env)
                r["fraction_of_receiver_ceiling"] = r["steady_per_second"] / ceiling["per_second"]
                raw[f"workers_{processes}"].append(r)
                print(f"{processes} worker process(es)", r, flush=True)
    finally:
        stop(receiver)
        from conftest import drop_postgres_database

        for url in databases:
            await drop_postgres_database(url)
    results: dict = {"receiver_ceiling": {"per_second": spread([r["per_second"] for r in raw["receiver_ceiling"]]),
                                          "raw": raw["receiver_ceiling"]}}
    for name in ("workers_1", "workers_2"):
        rs = raw[name]
        results[name] = {
            "steady_per_second": spread([r["steady_per_second"] for r in rs]),
            "fraction_of_receiver_ceiling": spread([r["fraction_of_receiver_ceiling"] for r in rs], 4),
            "delivered": sum(r["delivered"] for r in rs), "failed": sum(r["failed"] for r in rs),
            "pending": sum(r["pending"] for r in rs), "deliveries": sum(r["deliveries"] for r in rs), "raw": rs,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10, help="length of the receiver ceiling run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections for the ceiling run")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", type=int, default=3, help="rounds; each figure is their median")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    out = {"benchmark": "deliveries through dramatiq on Redis to a local webhook receiver",
           "deliveries_per_run": args.deliveries, "runs": args.runs, "machine": machine(), "results": results}
    (RESULTS / "delivery.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
