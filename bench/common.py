"""What every benchmark shares: processes on loopback, wrk as the load
generator, medians with their spread, and side-by-side runs whose ratios are
taken within the same round (absolute rates on a shared machine drift; a
ratio of two things measured back to back drifts much less)."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, script: str, seconds: float, connections: int) -> dict:
    """Run wrk (one load thread, a separate process) for a bounded time and read its summary."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"load-{os.getpid()}.lua"
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


def spread(values: list[float], digits: int = 1) -> dict:
    """Median of several runs with the lowest and highest beside it."""
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "runs": len(values)}


def side_by_side(targets: dict[str, tuple[str, str]], *, seconds: float, connections: int, runs: int,
                 warmup: float = 2) -> dict:
    """Load each target in turn, ``runs`` rounds, every round in the same order;
    per target the median rate, p50 and p99 with their spread, and the raw runs.
    Ratios between targets should be taken per round (``round_ratios``)."""
    for url, script in targets.values():
        wrk(url, script, warmup, connections)
    raw: dict[str, list[dict]] = {name: [] for name in targets}
    for _ in range(runs):
        for name, (url, script) in targets.items():
            r = wrk(url, script, seconds, connections)
            raw[name].append(r)
            print(f"  {name}: {r['per_second']}/s p50 {r['p50_ms']} ms p99 {r['p99_ms']} ms errors {r['errors']}",
                  flush=True)
    return {name: {
        "per_second": spread([r["per_second"] for r in rs]),
        "p50_ms": spread([r["p50_ms"] for r in rs]),
        "p99_ms": spread([r["p99_ms"] for r in rs]),
        "errors": sum(r["errors"] for r in rs),
        "requests": sum(r["requests"] for r in rs),
        **({"sample_error": next(r["sample_error"] for r in rs if "sample_error" in r)}
           if any("sample_error" in r for r in rs) else {}),
        "raw": rs,
    } for name, rs in raw.items()}


def round_ratios(measured: dict, subject: str, reference: str) -> dict:
    """subject / reference throughput, round by round: the median and spread."""
    pairs = zip(measured[subject]["raw"], measured[reference]["raw"])
    return spread([s["per_second"] / r["per_second"] for s, r in pairs if r["per_second"]], 3)


def spawn(args: list[str], log_name: str, **kwargs) -> subprocess.Popen:
    """A server or worker process whose output goes to bench/results/<log_name>.log
    (a pipe nobody reads would fill up and stall it)."""
    RESULTS.mkdir(exist_ok=True)
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


def leadwire_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like Leadwire process for a benchmark."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")},
            "LEADWIRE_DATABASE_URL": database_url, "LEADWIRE_SECRET_KEY": "b" * 40, "LEADWIRE_ENV": "production",
            "LEADWIRE_DB_POOL_MAX": "16", **extra}


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory_gib = None
    try:
        kib = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")))
        memory_gib = round(kib / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    postgres = ""
    try:
        postgres = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": memory_gib, "arch": platform.machine(),
            "python": platform.python_version(), "postgresql": postgres,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
