"""Routing one lead, in-process, against 1,000 / 10,000 / 100,000 active campaigns.

    .venv/bin/python bench/routing_bench.py [--sizes 1000,10000,100000] [--leads 300]
                                            [--database sqlite|postgres://...] [--runs 3]

Campaigns are spread over the US the way partners set them up: a third by
state, a third by a ZIP list around their office, a third by ZIP + radius
(10-40 miles), over 10 products; a third of the partners' schedules and caps
would refuse at any given time. Each lead is a real ZIP drawn by population of
ZIP codes. The figure is the wall time of ``route_lead`` (candidate lookup by
index, rule checks, atomic sales, the routing trace), median and p99, with the
cost ratio between sizes. Results go to bench/results/routing-<database>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from leadwire.core import db as lwdb
from leadwire.core import industries, routing
from leadwire.core.identity import now
from leadwire.core.models.identity import Account, AccountKind, Membership, Person
from leadwire.core.models.leads import Lead, MarketStatus
from leadwire.core.models.marketplace import (
    Campaign,
    CampaignArea,
    GeoMode,
    Industry,
    Offer,
    Product,
)
from leadwire.integrations import geodata
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES
from tortoise.context import TortoiseContext

PRODUCTS = 10
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, spread  # noqa: E402


async def build(n_campaigns: int, rng: random.Random) -> dict:
    """Rows straight into the tables (bulk), shaped exactly as the services write them."""
    await lwdb.migrate()
    operator = await Account.create(kind=AccountKind.OPERATOR, name="Marketplace")
    moving = await Industry.create(schema_key="moving", name="Moving")
    products = [await Product.create(industry=moving, name=f"Product {i}", max_buyers=4) for i in range(PRODUCTS)]
    offers = [
        await Offer.create(product=p, name="Shared", price_minor=rng.choice([1500, 2000, 2500, 3000]), exclusive=False)
        for p in products
    ]
    zips = geodata.all_zip_codes()
    n_accounts = max(10, n_campaigns // 5)
    accounts = [
        Account(kind=AccountKind.PARTNER, name=f"Partner {i}", balance_minor=10_000_000, approved_at=now())
        for i in range(n_accounts)
    ]
    await Account.bulk_create(accounts, batch_size=2000)
    account_ids = await Account.filter(kind=AccountKind.PARTNER).values_list("id", flat=True)
    person = await Person.create(email="bench@example.com", name="Bench", password_hash="x")
    await Membership.create(account=operator, person=person, tree_path="/1/", owner_slot=1)
    # Every partner has its owner, as sign-up makes it: a bought lead enters the
    # owner's pipeline (a job written with the sale).
    await Person.bulk_create([Person(email=f"owner{i}@bench.example", name=f"Owner {i}", password_hash="x")
                              for i in range(n_accounts)], batch_size=2000)
    person_ids = await Person.filter(email__startswith="owner").order_by("id").values_list("id", flat=True)
    await Membership.bulk_create([
        Membership(account_id=account_id, person_id=person_id, tree_path=f"/b{i}/", owner_slot=1)
        for i, (account_id, person_id) in enumerate(zip(account_ids, person_ids))
    ], batch_size=2000)

    campaigns, area_plan = [], []
    for i in range(n_campaigns):
        offer = offers[i % PRODUCTS]
        home = geodata.lookup(rng.choice(zips))
        mode = (GeoMode.STATES, GeoMode.ZIP_LIST, GeoMode.ZIP_RADIUS)[i % 3]
        schedule = [] if rng.random() < 0.67 else [{"day": d, "start": "09:00", "end": "17:00"} for d in range(5)]
        c = Campaign(
            account_id=account_ids[i % len(account_ids)], offer_id=offer.id, product_id=offer.product_id,
            name=f"C{i}", time_zone=home.time_zone or "America/New_York", geo_mode=mode, matches_anywhere=False,
            schedule=schedule, daily_cap=rng.choice([None, None, 5, 20, 100]),
        )
        if mode == GeoMode.STATES:
            c.states = [home.state]
            areas = [f"s:{home.state}"]
        elif mode == GeoMode.ZIP_LIST:
            near = geodata.zips_within(home.zip_code, 15)[:25]
            c.zip_codes = near
            areas = [f"z:{z}" for z in near]
        else:
            c.radius_zip, c.radius_miles = home.zip_code, rng.choice([10, 20, 30, 40])
            areas = [f"z:{z}" for z in geodata.zips_within(home.zip_code, c.radius_miles)]
        campaigns.append(c)
        area_plan.append((offer.product_id, areas))
    await Campaign.bulk_create(campaigns, batch_size=2000)
    ids = await Campaign.all().order_by("id").values_list("id", flat=True)
    batch = []
    for cid, (product_id, areas) in zip(ids, area_plan):
        batch.extend(CampaignArea(campaign_id=cid, product_id=product_id, area=a) for a in areas)
        if len(batch) > 20_000:
            await CampaignArea.bulk_create(batch, batch_size=5000)
            batch = []
    if batch:
        await CampaignArea.bulk_create(batch, batch_size=5000)
    return {"operator": operator, "moving": moving, "products": products}


async def measure(built: dict, n_leads: int, rng: random.Random) -> tuple[list[float], dict[str, list[float]]]:
    zips = geodata.all_zip_codes()
    timings: list[float] = []
    phases: dict[str, list[float]] = {"decide_ms": [], "sell_ms": [], "trace_ms": [], "candidates": [], "sales": []}
    for i in range(n_leads):
        place = geodata.lookup(rng.choice(zips))
        product = rng.choice(built["products"])
        lead = await Lead.create(
            account_id=built["operator"].id, industry_id=built["moving"].id, product_id=product.id,
            first_name="Bench", last_name=str(i), phone=f"+1313555{i % 10000:04d}", postal_code=place.zip_code,
            city=place.city, state=place.state, data={"move_type": "local", "move_size": "studio"},
            market_status=MarketStatus.RECEIVED,
        )
        t0 = time.perf_counter()
        result = await routing.route_lead(lead.id)
        timings.append((time.perf_counter() - t0) * 1000)
        for key, value in result.timings.items():
            phases[key].append(value)
        phases["candidates"].append(len(result.decisions))
        phases["sales"].append(len(result.sold_to))
    return timings, phases


async def run_size(n: int, n_leads: int, database: str, runs: int = 3) -> dict:
    rng = random.Random(n)
    if database == "sqlite":
        path = RESULTS / f"routing-{n}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite://{path}"
    else:
        url = database.replace("{}", "bench_{}").format(uuid.uuid4().hex[:10])
    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=not url.startswith("sqlite"))
        t0 = time.perf_counter()
        built = await build(n, rng)
        build_s = time.perf_counter() - t0
        areas = await CampaignArea.all().count()
        await measure(built, 20, rng)  # warm caches
        run_medians: list[float] = []
        timings: list[float] = []
        phases: dict[str, list[float]] = {}
        for _ in range(runs):
            run_timings, run_phases = await measure(built, n_leads, rng)
            run_medians.append(statistics.median(run_timings))
            timings += run_timings
            for key, values in run_phases.items():
                phases.setdefault(key, []).extend(values)
        if not url.startswith("sqlite"):
            await ctx.connections.get("default").close()
    if not url.startswith("sqlite"):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from conftest import drop_postgres_database

        await drop_postgres_database(url)
    q = statistics.quantiles(timings, n=100)
    return {
        "campaigns": n, "campaign_area_rows": areas, "leads": n_leads, "build_seconds": round(build_s, 1),
        "median_ms": round(statistics.median(timings), 3), "p99_ms": round(q[98], 3),
        # The median of each run of ``leads`` leads, with their spread.
        "run_medians_ms": spread(run_medians, 3),
        "mean_ms": round(statistics.fmean(timings), 3),
        # deciding = candidate lookup + every rule + ranking (what grows with campaigns);
        # selling = the atomic sale transactions (about 8 statements per buyer).
        "decide_median_ms": round(statistics.median(phases["decide_ms"]), 3),
        "decide_p99_ms": round(statistics.quantiles(phases["decide_ms"], n=100)[98], 3),
        "sell_median_ms": round(statistics.median(phases["sell_ms"]), 3),
        "trace_median_ms": round(statistics.median(phases["trace_ms"]), 3),
        "candidates_per_lead": round(statistics.fmean(phases["candidates"]), 1),
        "sales_per_lead": round(statistics.fmean(phases["sales"]), 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a postgres URL with {} for the db name")
    parser.add_argument("--runs", type=int, default=3, help="runs of --leads leads per size")
    args = parser.parse_args()
    industries.install(BUILTIN_INDUSTRIES)
    RESULTS.mkdir(exist_ok=True)
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        row = await run_size(n, args.leads, args.database, args.runs)
        rows.append(row)
        print(json.dumps(row), flush=True)
    for key in ("median_ms", "decide_median_ms"):
        base = rows[0][key]
        for row in rows:
            row[f"{key}_ratio_to_smallest"] = round(row[key] / base, 2)
    out = {
        "benchmark": "routing one lead in-process",
        "database": "sqlite" if args.database == "sqlite" else "postgres",
        "machine": machine(),
        "at": now().isoformat(),
        "results": rows,
    }
    database = "sqlite" if args.database == "sqlite" else "postgres"
    (RESULTS / f"routing-{database}.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
