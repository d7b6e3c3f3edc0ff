"""Every benchmark, one command: builds its own data, runs each benchmark with
its ceilings and peer beside it, and writes one results table.

    .venv/bin/python bench/run.py [--quick] [--only routing,intake,read,reports,delivery,startup]

With --only, the steps not run keep their results from the last summary.
Needs PostgreSQL and Redis on 127.0.0.1 (as the test suite's PostgreSQL pass
does), wrk (`apt-get install wrk`) and, for the PostGraphile peer, npm (the
first run installs PostGraphile and Node 22 into bench/peer/). Writes
bench/results/summary.json and bench/results/summary.md (figures, ceilings,
ratios, targets, and the machine), plus each benchmark's own JSON and logs.
Takes about 15 minutes on 2 cores; --quick about 5 (smaller data, shorter
runs: for checking the machinery, not for publishing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import RESULTS, machine  # noqa: E402


def steps(quick: bool) -> dict[str, tuple[list[str], str]]:
    py = sys.executable
    if quick:
        return {
            "routing": ([py, "routing_bench.py", "--sizes", "1000,10000", "--leads", "50", "--runs", "2"],
                        "routing-sqlite.json"),
            "intake": ([py, "intake_bench.py", "--campaigns", "2000", "--seconds", "3", "--runs", "2"], "intake.json"),
            "read": ([py, "read_bench.py", "--leads", "20000", "--seconds", "3", "--runs", "2"], "read.json"),
            "reports": ([py, "report_bench.py", "--leads", "100000", "--runs", "3"], "report.json"),
            "delivery": ([py, "delivery_bench.py", "--deliveries", "500", "--runs", "1", "--seconds", "3"],
                         "delivery.json"),
            "startup": ([py, "startup_bench.py", "--starts", "2", "--burst", "100"], "startup.json"),
        }
    return {
        "routing": ([py, "routing_bench.py", "--sizes", "1000,100000", "--leads", "100", "--runs", "3"],
                    "routing-sqlite.json"),
        "intake": ([py, "intake_bench.py", "--campaigns", "10000", "--seconds", "5", "--runs", "3"], "intake.json"),
        "read": ([py, "read_bench.py", "--leads", "100000", "--seconds", "5", "--runs", "3"], "read.json"),
        "reports": ([py, "report_bench.py", "--leads", "1000000", "--runs", "9"], "report.json"),
        "delivery": ([py, "delivery_bench.py", "--deliveries", "2000", "--runs", "2", "--seconds", "5"],
                     "delivery.json"),
        "startup": ([py, "startup_bench.py", "--starts", "5"], "startup.json"),
    }


def fmt(x, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}"


def med(d: dict | None, digits: int = 1) -> str:
    """'median (min–max)' of a spread."""
    if not d:
        return "—"
    if d.get("runs", 1) == 1:
        return fmt(d["median"], digits)
    return f"{fmt(d['median'], digits)} ({fmt(d['min'], digits)}–{fmt(d['max'], digits)})"


def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "not measured"
    met = value >= target if higher_is_better else value <= target
    if met:
        return "met"
    gap = (target / value if higher_is_better else value / target) if value else float("inf")
    return f"missed ({gap:,.1f}× off)"


def rows_from(results: dict) -> list[tuple[str, str, str, str, str]]:
    """(figure, measured, beside it, target, verdict) rows for the table."""
    rows: list[tuple[str, str, str, str, str]] = []
    routing = results.get("routing", {}).get("results")
    if routing:
        small, large = routing[0], routing[-1]
        rows.append((f"Routing one lead in-process, {large['campaigns']:,} campaigns (SQLite), median ms",
                     f"{med(large['run_medians_ms'], 2)}; p99 {fmt(large['p99_ms'], 1)}",
                     f"{large['candidates_per_lead']} candidates, {large['sales_per_lead']} sales per lead",
                     "< 2 ms", verdict(large["run_medians_ms"]["median"], 2, False)))
        ratio = large["median_ms"] / small["median_ms"]
        rows.append((f"Routing cost {large['campaigns']:,} vs {small['campaigns']:,} campaigns", f"{ratio:.2f}×",
                     f"{fmt(small['median_ms'], 2)} ms at {small['campaigns']:,}", "< 3×", verdict(ratio, 3, False)))
    intake = results.get("intake", {}).get("results")
    if intake:
        ceiling = intake["ceiling_bare_insert"]
        for n in (1, 2):
            r = intake.get(f"submit_lead_{n}_process")
            if not r:
                continue
            frac = r["fraction_of_ceiling"]["median"]
            rows.append((f"Lead intake over HTTP (submitLead, 10k campaigns), {n} API process(es), leads/s",
                         f"{med(r['per_second'])}; p99 {med(r['p99_ms'])} ms; errors {r['errors']}",
                         f"bare insert ceiling {med(ceiling['per_second'])}/s; ratio {frac:.3f}",
                         "≥ 0.5 of ceiling, p99 < 50 ms", verdict(frac, 0.5, True)))
    read = results.get("read", {}).get("results")
    if read:
        ratios = read.get("ratios", {})
        rows.append(("HTTP ceiling: bare starlette constant JSON, req/s", med(read["bare_constant_json"]["per_second"]),
                     "", "", ""))
        rows.append(("Read ceiling: bare starlette + asyncpg latest 50, req/s",
                     med(read["bare_asyncpg_latest_50"]["per_second"]), "", "", ""))
        if "postgraphile_latest_50" in read:
            rows.append(("Peer: PostGraphile latest 50, req/s", med(read["postgraphile_latest_50"]["per_second"]),
                         f"{ratios['postgraphile_vs_bare_asyncpg']['median']:.2f} of the asyncpg ceiling", "", ""))
        for key, r in read.items():
            if not key.startswith("leadwire_graphql_latest_50_"):
                continue
            n = key.rsplit("_", 2)[1]
            vs_peer = ratios.get(f"{key}_vs_postgraphile", {}).get("median")
            vs_ceiling = ratios[f"{key}_vs_bare_asyncpg"]["median"]
            rows.append((f"Latest 50 leads GraphQL, {n} API process(es), req/s",
                         f"{med(r['per_second'])}; p50 {med(r['p50_ms'])} ms",
                         f"{fmt(vs_peer, 3)} of PostGraphile, {vs_ceiling:.3f} of asyncpg ceiling",
                         "≥ 1× PostGraphile, ≥ 0.5 of ceiling",
                         verdict(vs_peer, 1, True) + "; " + verdict(vs_ceiling, 0.5, True)))
        cpu = read.get("in_process_cpu")
        if cpu:
            rows.append(("Latest 50 leads, CPU per request in-process (ASGI, lowest of runs), ms",
                         fmt(cpu["latest_50_ms"], 2),
                         f"`{{ __typename }}` {fmt(cpu['typename_ms'], 2)} ms (client and bare route "
                         f"{fmt(cpu['client_and_bare_route_ms'], 2)} ms taken off both)", "", ""))
    reports = results.get("reports", {}).get("results")
    if reports:
        leads = results["reports"].get("leads", 0)
        for key, label in (("partner_dashboard", "Partner dashboard"), ("campaign_30_days", "30-day campaign report")):
            r = reports.get(key)
            if r:
                rows.append((f"{label} at {leads:,} leads (HTTP, one at a time), ms",
                             f"{fmt(r['median_ms'])} ({fmt(r['min_ms'])}–{fmt(r['max_ms'])})", "",
                             "< 200 ms", verdict(r["median_ms"], 200, False)))
        e = reports.get("csv_export")
        if e:
            rows.append((f"CSV export of {e['rows']:,} rows: server memory peak MB",
                         f"{fmt(e['server_rss_peak_mb'])} (+{fmt(e['server_rss_growth_mb'])})",
                         f"{fmt(e['rows_per_second'], 0)} rows/s, first byte {fmt(e['first_byte_ms'])} ms",
                         "< 150 MB", verdict(e["server_rss_peak_mb"], 150, False)))
    delivery = results.get("delivery", {}).get("results")
    if delivery:
        ceiling = delivery["receiver_ceiling"]["per_second"]
        for n in (1, 2):
            r = delivery.get(f"workers_{n}")
            if r:
                rows.append((f"Deliveries through dramatiq on Redis, {n} worker process(es), per s",
                             f"{med(r['steady_per_second'])}; {r['delivered']} delivered, {r['failed']} failed",
                             f"receiver ceiling {med(ceiling)}/s; ratio {r['fraction_of_receiver_ceiling']['median']:.4f}",
                             "reported", ""))
    startup = results.get("startup", {}).get("results")
    if startup:
        rows.append(("Cold start of leadwire serve to first answer, ms", med(startup["cold_start_ms"], 0), "",
                     "reported", ""))
        rows.append(("Server memory idle after start / after a burst, MiB",
                     f"{med(startup['idle_rss_mib'])} / {med(startup['rss_after_burst_mib'])}", "", "reported", ""))
    return rows


def markdown(summary: dict) -> str:
    m = summary["machine"]
    lines = [
        f"# Leadwire benchmarks, {summary['finished_at']}",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['arch']}, Python {m['python']}, "
        f"PostgreSQL {m['postgresql']}; load average at start {m['load_average_at_start']}. "
        f"Mode: {'quick' if summary['quick'] else 'full'}. Each figure is the median of several runs with "
        "(min–max); each ratio is taken within a round.",
        "",
        "| figure | measured | beside it | target | verdict |",
        "|---|---:|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows_from(summary["results"])]
    lines += ["", "Step times: " + ", ".join(f"{k} {v:.0f} s" for k, v in summary["seconds"].items())]
    measured = summary.get("measured_at", {})
    if len(set(measured.values())) > 1:
        lines += ["", "Measured at: " + ", ".join(f"{k} {v}" for k, v in sorted(measured.items()))]
    if summary["failed"]:
        lines += ["", "FAILED steps: " + ", ".join(summary["failed"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and shorter runs")
    parser.add_argument("--only", help="comma-separated steps (default: all)")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    plan = steps(args.quick)
    chosen = args.only.split(",") if args.only else list(plan)
    unknown = set(chosen) - set(plan)
    if unknown:
        sys.exit(f"unknown steps: {', '.join(sorted(unknown))} (known: {', '.join(plan)})")
    summary: dict = {"quick": args.quick, "machine": machine(), "results": {}, "seconds": {}, "failed": [],
                     "measured_at": {}}
    previous = RESULTS / "summary.json"
    if args.only and previous.exists():
        # Steps not run this time keep their last results (and say when they were measured).
        old = json.loads(previous.read_text())
        if old.get("quick") == args.quick:
            for name in set(old.get("results", {})) - set(chosen):
                summary["results"][name] = old["results"][name]
                summary["seconds"][name] = old["seconds"].get(name, 0)
                summary["measured_at"][name] = old.get("measured_at", {}).get(name, old.get("finished_at", ""))
    for name in chosen:
        command, output = plan[name]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        with (RESULTS / f"{name}.out").open("w") as log:
            done = subprocess.run(command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT)
        summary["seconds"][name] = time.perf_counter() - started
        if done.returncode != 0:
            summary["failed"].append(name)
            print(f"   FAILED (exit {done.returncode}): see bench/results/{name}.out", flush=True)
            continue
        summary["results"][name] = json.loads((RESULTS / output).read_text())
        summary["measured_at"][name] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        print(f"   done in {summary['seconds'][name]:.0f} s", flush=True)
    summary["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
    (RESULTS / "summary.md").write_text(markdown(summary))
    print((RESULTS / "summary.md").read_text())
    if summary["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
