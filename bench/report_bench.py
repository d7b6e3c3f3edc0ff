"""Reports on 1,000,000 leads in PostgreSQL, through the real server over HTTP:
the partner dashboard and a 30-day campaign report (median of several runs of
the GraphQL query), and the CSV export of all 1,000,000 rows (rows/s, time to
the first byte, and the server process's peak memory while it streams).

    .venv/bin/python bench/report_bench.py [--leads 1000000] [--runs 15]

The data is made by PostgreSQL itself (INSERT ... SELECT FROM generate_series),
not the ORM: one partner that bought every lead through five campaigns over the
last 90 days, its pipeline, returns on 1% of them, 300,000 routing decisions
its campaigns lost, cap counters for today. Results go to bench/results/report.json.
Targets (issue 7): under 200 ms for each query, under 150 MB peak for the export.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from common import free_port, leadwire_env, machine, spawn, stop, wait_http  # noqa: E402

DASHBOARD = """{ partnerDashboard { balance { amountMinor } autoCharge { enabled state }
  today { leadCount spend { amountMinor } } thisWeek { leadCount spend { amountMinor } }
  thisMonth { leadCount spend { amountMinor } } thisMonthByKind { kind leadCount }
  returns { status count amount { amountMinor } } pendingReturns
  campaignStates { running paused outsideSchedule disabled }
  campaigns { campaign { name } state today thisWeek thisMonth dailyCap weeklyCap monthlyCap }
  missed { reason leadCount } } }"""
CAMPAIGN = """query($c: ID!, $f: Date!, $t: Date!) { campaignPerformance(campaignId: $c, from: $f, to: $t) {
  timeZone leadCount spend { amountMinor } averagePrice { amountMinor } returns { status count amount { amountMinor } }
  missed { reason leadCount } days { day leadCount spend { amountMinor } returned missed } } }"""
EXPORT = """mutation { createLeadExport(input: {}) { export { url expiresAt } userErrors { message } } }"""
MISSED = ["cap", "schedule", "balance", "outranked", "field_filter", "paused"]


async def seed(url: str, n: int) -> dict:
    from strawberry import relay
    from tortoise.context import TortoiseContext

    from leadwire.core import auth, db as lwdb, identity
    from leadwire.core.access import Viewer
    from leadwire.core.identity import now
    from leadwire.core.models.identity import Account, AccountKind, Membership
    from leadwire.core.models.marketplace import Campaign, Industry, Offer, Product
    from leadwire.core.workspace.setup import ensure_workspace, stages_of

    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=True)
        await lwdb.migrate()
        await Account.create(kind=AccountKind.OPERATOR, name="Marketplace")
        account, owner = await identity.create_account(
            kind=AccountKind.PARTNER, name="Bench Movers", owner_email="owner@bench.example", owner_name="Owner",
            owner_password="bench password 1",
        )
        await Account.filter(id=account.id).update(approved_at=now(), balance_minor=10_000_000)
        viewer = Viewer.from_membership(await Membership.get(id=owner.id).select_related("person", "account"))
        _, token = await auth.create_api_token(viewer, name="bench")
        industry = await Industry.create(schema_key="moving", name="Moving")
        product = await Product.create(industry=industry, name="Local moving")
        offer = await Offer.create(product=product, name="Shared", price_minor=2500)
        campaigns = [await Campaign.create(account=account, offer=offer, product=product, name=f"Campaign {i}",
                                           daily_cap=5000, weekly_cap=30000, monthly_cap=100000) for i in range(5)]
        await ensure_workspace(account.id)
        stages = [s.id for s in await stages_of(account.id)]
        conn = ctx.connections.get("default")
        c_ids = ",".join(str(c.id) for c in campaigns)
        started = time.monotonic()
        # Leads: created evenly over the last 90 days (ids ascending with time), on the three stages.
        await conn.execute_script(f"""
            INSERT INTO lead (account_id, assignee_id, origin, first_name, last_name, email, phone, postal_code, city,
              state, created_at, industry_id, product_id, data, sale_count, sold_exclusively, request_hash, consent_text,
              consent_ip, consent_user_agent, consent_page_url, stage_id, outcome, value_minor, awaiting_assignment)
            SELECT {account.id}, {owner.id}, 'marketplace', 'Bench', 'L' || g, 'l' || g || '@example.com',
              '+1313' || lpad((g % 10000000)::text, 7, '0'), '48165', 'New Hudson',
              (ARRAY['MI','OH','IN','IL','WI'])[1 + g % 5],
              now() - interval '90 days' + (g * (interval '90 days' / {n})), {industry.id}, {product.id},
              '{{"move_size": "studio", "move_date": "2026-12-15"}}', 0, false, '', '', '', '', '',
              (ARRAY[{stages[0]},{stages[1]},{stages[2]}])[1 + g % 3],
              CASE WHEN g % 3 = 2 THEN (CASE WHEN g % 2 = 0 THEN 'won' ELSE 'lost' END) END,
              (g % 100) * 1000, false
            FROM generate_series(1, {n}) g
        """)
        await conn.execute_script(f"""
            INSERT INTO lead_sale (lead_id, buyer_lead_id, campaign_id, account_id, price_minor, currency, exclusive,
              campaign_revision, sold_at)
            SELECT id, id, (ARRAY[{c_ids}])[1 + id % 5], {account.id}, 2500, 'USD', false, 1, created_at
            FROM lead WHERE account_id = {account.id}
        """)
        await conn.execute_script(f"""
            INSERT INTO return_request (sale_id, account_id, buyer_lead_id, reason, note, status, amount_minor, currency,
              requested_at, due_at, evidence, review_note)
            SELECT s.id, s.account_id, s.buyer_lead_id, 'no_working_phone', '',
              (ARRAY['pending','approved','declined'])[1 + s.id % 3], s.price_minor, 'USD',
              s.sold_at + interval '1 day', s.sold_at + interval '11 days', '[]', ''
            FROM lead_sale s WHERE s.id % 100 = 0
        """)
        await conn.execute_script(f"""
            INSERT INTO routing_decision (lead_id, campaign_id, outcome, detail, price_minor, decided_at)
            SELECT l.id, (ARRAY[{c_ids}])[1 + (l.id / 3) % 5],
              (ARRAY['{"','".join(MISSED)}'])[1 + l.id % {len(MISSED)}], '', 2500, l.created_at
            FROM lead l WHERE l.account_id = {account.id} AND l.id % 10 < 3
        """)
        for c in campaigns:
            for period in _periods(c.time_zone):
                await conn.execute_query(
                    "INSERT INTO cap_counter (campaign_id, period, count) VALUES ($1, $2, $3)", [c.id, period, 1000])
        # Statistics and the visibility map, as autovacuum keeps them on a live database (without the
        # map, PostgreSQL cannot answer from an index alone).
        await conn.execute_script("VACUUM ANALYZE")
        loaded = time.monotonic() - started
        await conn.close()
    return {"token": token, "campaign": str(relay.GlobalID("Campaign", str(campaigns[0].id))), "load_seconds": loaded}


def _periods(time_zone: str) -> list[str]:
    import datetime as dt
    from zoneinfo import ZoneInfo

    local = dt.datetime.now(ZoneInfo(time_zone))
    return [f"d:{local.date().isoformat()}", "w:{}-W{:02d}".format(*local.isocalendar()[:2]),
            f"m:{local.year}-{local.month:02d}"]


def rss_of(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of a process, bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def timed_query(client: httpx.Client, query: str, variables: dict, runs: int) -> dict:
    times = []
    for i in range(runs + 2):
        t = time.perf_counter()
        body = client.post("/graphql", json={"query": query, "variables": variables}).json()
        elapsed = time.perf_counter() - t
        assert "errors" not in body, body
        if i >= 2:  # two warm-up runs (parser and validation caches, connection pool)
            times.append(elapsed * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1), "runs": runs}


def export(client: httpx.Client, pid: int) -> dict:
    url = client.post("/graphql", json={"query": EXPORT}).json()["data"]["createLeadExport"]["export"]["url"]
    before, _ = rss_of(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_of(pid)[0])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = rows = 0
    first = None
    t = time.perf_counter()
    with client.stream("GET", url, timeout=600) as r:
        assert r.status_code == 200, r.read()
        for chunk in r.iter_bytes():
            if first is None:
                first = time.perf_counter() - t
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - t
    done.set()
    sampler.join()
    return {"rows": rows - 1, "bytes": size, "seconds": round(elapsed, 1), "rows_per_second": round((rows - 1) / elapsed),
            "first_byte_ms": round(first * 1000, 1), "server_rss_before_mb": round(before / 2**20, 1),
            "server_rss_peak_mb": round(peak[0] / 2**20, 1), "server_rss_growth_mb": round((peak[0] - before) / 2**20, 1)}


async def run(args) -> dict:
    url = args.postgres.replace("{}", "report_{}").format(uuid.uuid4().hex[:8])
    seeded = await seed(url, args.leads)
    print("seeded", args.leads, "leads in", round(seeded["load_seconds"]), "s", flush=True)
    env = leadwire_env(url)
    results: dict = {"load_seconds": round(seeded["load_seconds"], 1)}
    try:
        port = free_port()
        server = spawn([sys.executable, "-m", "leadwire", "serve", "--port", str(port), "--log-level", "warning"],
                       "report-leadwire", cwd=RESULTS, env=env)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            headers = {"Authorization": f"Bearer {seeded['token']}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
                import datetime as dt

                results["partner_dashboard"] = timed_query(client, DASHBOARD, {}, args.runs)
                print("partner dashboard", results["partner_dashboard"], flush=True)
                to = dt.date.today()
                v = {"c": seeded["campaign"], "f": (to - dt.timedelta(days=29)).isoformat(), "t": to.isoformat()}
                results["campaign_30_days"] = timed_query(client, CAMPAIGN, v, args.runs)
                check = client.post("/graphql", json={"query": CAMPAIGN, "variables": v}).json()["data"]
                results["campaign_30_days"]["leads_in_report"] = check["campaignPerformance"]["leadCount"]
                print("campaign 30 days", results["campaign_30_days"], flush=True)
                results["csv_export"] = export(client, server.pid)
                print("csv export", results["csv_export"], flush=True)
        finally:
            stop(server)
    finally:
        from conftest import drop_postgres_database

        await drop_postgres_database(url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/bench_{}")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    out = {"benchmark": "reports on PostgreSQL over HTTP", "leads": args.leads,
           "machine": machine(),
           "results": results}
    (RESULTS / "report.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
