"""The storm harness shared by tests/test_storms.py and tests/test_crashes.py.

A throwaway PostgreSQL database seeded through the real services (a moving
product with a shared and an exclusive offer, partners with small balances and
tight daily/weekly/monthly caps, each campaign delivering by signed webhook),
real API processes (uvicorn subprocesses) and real dramatiq worker processes
on a real broker, a webhook receiver on loopback that counts every request and
de-duplicates by Idempotency-Key, and a load generator that submits leads over
HTTP with the lead-source key (repeated idempotency keys mixed in) while
partners pause, resume and edit filters, the operator records payments and
partners return leads, all over GraphQL.

:func:`check_invariants` then asserts, exactly, every promise the marketplace
makes; it returns figures for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry import relay

from loopback import free_port, serve_asgi

HERE = Path(__file__).resolve().parent
SECRET = "whsec-storm-0123456789abcdef"
SHARED_PRICE, EXCLUSIVE_PRICE, MAX_BUYERS = 1000, 4000, 3
# (balance, caps) per buyer: small balances and tight caps, so the storm runs into both.
SHARED_BUYERS = [
    (3000, {"daily_cap": 2}), (5000, {"weekly_cap": 4}), (8000, {"monthly_cap": 6}),
    (20000, {"daily_cap": 9, "weekly_cap": 8}), (2000, {}), (0, {}), (15000, {"daily_cap": 12}), (6000, {}),
]
EXCLUSIVE_BUYERS = [(12000, {"daily_cap": 2}), (9000, {}), (30000, {"weekly_cap": 5, "monthly_cap": 7})]
MOVE_SIZES = ("studio", "1_bedroom", "2_bedrooms", "3_bedrooms", "4_bedrooms")
ZIPS = ("48165", "48104", "48103", "48197", "48108")

SUBMIT = """mutation($i: SubmitLeadInput!) { submitLead(input: $i) {
  leadId status buyerCount replayed userErrors { field code message } } }"""


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


# -- the webhook receiver --------------------------------------------------------------------


class Receiver:
    """Counts every request by Idempotency-Key and processes each key once.
    Campaigns listed in ``hanging`` never answer (until the test ends)."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.processed: dict[str, int] = {}  # key -> campaign index
        self.hanging: set[int] = set()
        self.hung = 0
        self.release = asyncio.Event()
        self.app = Starlette(routes=[Route("/hook/{n:int}", self.hook, methods=["POST"])])

    async def hook(self, request: Request):
        n = request.path_params["n"]
        key = request.headers.get("idempotency-key", "")
        await request.body()
        self.hits[key] += 1
        if n in self.hanging:
            self.hung += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 300)
            return JSONResponse({"late": True}, 503)
        self.processed.setdefault(key, n)  # de-duplicate by idempotency key
        return JSONResponse({"ok": True})


# -- a TCP proxy we can cut (the database "restarting" under the app) ---------------------------


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.AbstractServer | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port, reuse_address=True)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}

    async def cut(self) -> None:
        """Like a database restart: every connection drops, new ones are refused."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.links):
            w.transport.abort()
        self.links.clear()

    async def stop(self) -> None:
        await self.cut()


# -- processes -------------------------------------------------------------------------------


class Processes:
    """API processes (uvicorn) and worker processes (`leadwire worker`), each
    restartable on the same port / with the same settings."""

    def __init__(self, env: dict[str, str], workdir: Path, api_env: dict[str, str] | None = None):
        self.env, self.workdir, self.api_env = env, workdir, api_env or {}
        self.apis: dict[int, subprocess.Popen] = {}
        self.ports: dict[int, int] = {}
        self.workers: dict[int, subprocess.Popen] = {}
        self.logs: list[Path] = []
        self._n = itertools.count()

    def _spawn(self, args: list[str], name: str, env: dict[str, str]) -> subprocess.Popen:
        path = self.workdir / f"{name}-{next(self._n)}.log"
        self.logs.append(path)
        log = path.open("w")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=self.workdir, env=env)

    def start_api(self, i: int) -> None:
        port = self.ports.setdefault(i, free_port())
        self.apis[i] = self._spawn(
            [sys.executable, "-m", "uvicorn", "leadwire.app:app_from_environment", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--lifespan", "on", "--no-access-log"],
            f"api{i}", {**self.env, **self.api_env})

    def start_worker(self, i: int) -> None:
        self.workers[i] = self._spawn(
            [sys.executable, "-m", "leadwire", "worker", "--processes", "1", "--threads", "4"], f"worker{i}", self.env)

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            for i, port in self.ports.items():
                while True:
                    proc = self.apis[i]
                    if proc.poll() is not None:
                        raise AssertionError(f"API process {i} exited: {self.tail()}")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise AssertionError(f"API process {i} did not answer: {self.tail()}")
                    await asyncio.sleep(0.1)

    def kill_api(self, i: int) -> None:
        self.apis[i].kill()  # SIGKILL: no clean-up at all
        self.apis[i].wait(10)

    def kill_worker(self, i: int) -> None:
        self.workers[i].kill()
        self.workers[i].wait(10)

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}/graphql" for p in self.ports.values()]

    def tail(self, chars: int = 4000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-chars:]}" for p in self.logs if p.exists())

    def stop_all(self) -> None:
        procs = [*self.apis.values(), *self.workers.values()]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


def process_env(database_url: str, broker_url: str, queue: str, plugins_file: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADWIRE_")},
        "LEADWIRE_DATABASE_URL": database_url,
        "LEADWIRE_BROKER_URL": broker_url,
        "LEADWIRE_JOB_QUEUE": queue,
        "LEADWIRE_SECRET_KEY": "s" * 40,
        "LEADWIRE_ENV": "production",
        "LEADWIRE_PLUGINS_FILE": str(plugins_file),
        "LEADWIRE_DB_POOL_MAX": "10",
        # A killed worker's jobs come back after its lease; a lead whose request
        # died is routed by the safety net after this delay.
        "LEADWIRE_JOB_LEASE_SECONDS": "6",
        "LEADWIRE_ROUTE_SAFETY_DELAY_SECONDS": "10",
        "LEADWIRE_DELIVERY_TIMEOUT_SECONDS": "2",
        # The storm's one lead source sends far more than a source's default
        # query budget allows (docs/security.md): the storm is about money and
        # exactly-once, not throttling, so the bucket is made large (still charged).
        # The webhook receiver is on loopback, which the SSRF guard refuses by default.
        "LEADWIRE_ALLOW_PRIVATE_NETWORKS": "true",
        "LEADWIRE_QUERY_BUDGET": "100000000",
        "LEADWIRE_QUERY_BUDGET_RESTORE_RATE": "10000000",
        **extra,
    }


# -- the seeded world -------------------------------------------------------------------------


@dataclass
class World:
    url: str
    source_key: str
    operator_token: str
    product_gid: str
    campaigns: list[dict]  # id, account_id, token, exclusive, price, caps, index
    receiver_address: str

    @property
    def account_ids(self) -> list[int]:
        return [c["account_id"] for c in self.campaigns]


async def seed(url: str, receiver_address: str) -> World:
    """Run inside ``separate_database(url, create=True)`` with the plugins loaded."""
    from leadwire.core import auth, campaigns, db as lwdb, ledger
    from leadwire.core.campaigns import CampaignChanges
    from leadwire.core.models.identity import AccountKind
    from leadwire.core.models.ledger import EntryKind
    from tortoise.transactions import in_transaction

    from factories import make_account

    await lwdb.migrate()
    _, operator = await make_account("Marketplace", kind=AccountKind.OPERATOR)
    moving = await campaigns.create_industry(operator, schema_key="moving")
    product = await campaigns.create_product(operator, industry_id=moving.id, name="Local moving", max_buyers=MAX_BUYERS)
    shared = await campaigns.create_offer(operator, product_id=product.id, name="Shared", price_minor=SHARED_PRICE,
                                          exclusive=False, default_daily_cap=None)
    exclusive = await campaigns.create_offer(operator, product_id=product.id, name="Exclusive",
                                             price_minor=EXCLUSIVE_PRICE, exclusive=True, default_daily_cap=None)
    source = await auth.create_lead_source(operator, name="Storm source")
    _, source_key = await auth.create_lead_source_key(operator, source.id)
    _, operator_token = await auth.create_api_token(operator, name="storm operator")
    made = []
    buyers = [(shared, b) for b in SHARED_BUYERS] + [(exclusive, b) for b in EXCLUSIVE_BUYERS]
    for index, (offer, (balance, caps)) in enumerate(buyers):
        account, owner = await make_account()
        if balance:
            async with in_transaction() as conn:
                await ledger.credit(account.id, balance, EntryKind.DEPOSIT, "storm seed", conn)
        c = await campaigns.activate_offer(owner, offer.id)
        clear = tuple(k for k in ("daily_cap", "weekly_cap", "monthly_cap") if k not in caps)
        await campaigns.update_campaign(owner, c.id, CampaignChanges(
            schedule=[], clear_caps=clear, filter_enabled=True, field_filters={"move_size": "studio"},
            channels={"webhook": {"url": f"http://{receiver_address}/hook/{index}", "secret": SECRET}}, **caps,
        ))
        _, token = await auth.create_api_token(owner, name="storm partner")
        made.append({"id": c.id, "account_id": account.id, "token": token, "exclusive": offer.exclusive,
                     "price": offer.price_minor, "caps": caps, "index": index})
    return World(url, source_key, operator_token, gid("Product", product.id), made, receiver_address)


# -- load -------------------------------------------------------------------------------------


@dataclass
class Send:
    lead: int  # index of the lead (its body)
    key: str | None
    status: int | None = None
    lead_id: str | None = None
    market_status: str | None = None
    buyer_count: int | None = None
    replayed: bool | None = None
    error: str = ""
    attempts: int = 0
    finished_at: float = 0.0


def lead_body(n: int, key: str | None, rng: random.Random) -> dict:
    z, to = rng.choice(ZIPS), rng.choice(ZIPS)
    return {"query": SUBMIT, "variables": {"i": {
        "productId": "@PRODUCT@", "firstName": "Storm", "lastName": f"Lead{n}",
        "phone": f"+1734{2000000 + n}", "email": f"storm{n}@example.com", "postalCode": z,
        "consent": {"text": "I agree to be contacted.", "ip": "198.51.100.7"},
        "data": {"from_zip": z, "to_zip": to, "move_date": "2026-12-20", "move_size": rng.choice(MOVE_SIZES)},
        "idempotencyKey": key,
    }}}


@dataclass
class Load:
    sends: list[Send] = field(default_factory=list)
    bodies: dict[int, dict] = field(default_factory=dict)
    failures_seen: int = 0  # requests that failed (connection refused, reset, 5xx) and were retried
    failure_samples: list[tuple[int | None, str]] = field(default_factory=list)  # (HTTP status, body) of each

    def merge(self, other: "Load") -> None:
        self.sends += other.sends
        self.bodies.update(other.bodies)
        self.failures_seen += other.failures_seen
        self.failure_samples += other.failure_samples


async def submit_storm(world: World, urls: list[str], n_leads: int, rng: random.Random, *, concurrency: int = 24,
                       repeat_fraction: float = 0.12, keyless_fraction: float = 0.1, retry: bool = False,
                       retry_for: float = 90.0, first_lead: int = 0) -> Load:
    """Submit ``n_leads`` leads at once (bounded by ``concurrency``), a share of
    them sent again with the same idempotency key, some at the same moment and
    some later. With ``retry``, a request that fails (its API process died) is
    sent again, same key, to another process, as a careful lead source would."""
    load = Load()
    order: list[Send] = []
    for n in range(first_lead, first_lead + n_leads):
        key = None if rng.random() < keyless_fraction and not retry else f"storm-{uuid.uuid4().hex[:16]}"
        body = lead_body(n, key, rng)
        body["variables"]["i"]["productId"] = world.product_gid
        load.bodies[n] = body
        order.append(Send(n, key))
    repeats = []
    for s in order:
        if s.key and rng.random() < repeat_fraction:
            for _ in range(rng.choice((1, 1, 2))):
                repeats.append(Send(s.lead, s.key))
    # Repeats land anywhere from "at the same moment" to "much later".
    for r in repeats:
        first = next(i for i, s in enumerate(order) if s.lead == r.lead)
        order.insert(rng.randint(first, min(len(order), first + rng.choice((1, 5, 200)))), r)
    load.sends = order
    gate = asyncio.Semaphore(concurrency)
    headers = {"authorization": f"Bearer {world.source_key}"}

    async def one(s: Send, http: httpx.AsyncClient) -> None:
        async with gate:
            deadline = time.monotonic() + retry_for
            while True:
                s.attempts += 1
                url = urls[rng.randrange(len(urls))]
                try:
                    r = await http.post(url, json=load.bodies[s.lead], headers=headers)
                    s.status = r.status_code
                    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                    payload = (body.get("data") or {}).get("submitLead") if isinstance(body, dict) else None
                    if r.status_code == 200 and payload and not body.get("errors") and not payload["userErrors"]:
                        s.lead_id, s.market_status = payload["leadId"], payload["status"]
                        s.buyer_count, s.replayed = payload["buyerCount"], payload["replayed"]
                        s.error = ""
                        break
                    s.error = r.text[:500]
                except httpx.HTTPError as exc:
                    s.status, s.error = None, f"{type(exc).__name__}: {exc}"
                load.failure_samples.append((s.status, s.error))
                if not retry or time.monotonic() > deadline:
                    break
                load.failures_seen += 1
                await asyncio.sleep(0.2)
            s.finished_at = time.monotonic()

    # A pooled connection is dropped after 2 s idle: uvicorn closes idle ones at
    # 5 s, httpx's default is also 5 s, and a request sent on a connection the
    # server is closing at that moment gets no answer (a ReadError seen once in CI).
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2,
                          keepalive_expiry=2.0)
    # Generous: on a shared 2-core machine a queued request can wait long; a time-out is not what is tested.
    async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10), limits=limits) as http:
        await asyncio.gather(*(one(s, http) for s in order))
    return load


# -- partners and the operator meanwhile ---------------------------------------------------------


@dataclass
class Chaos:
    done: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # userErrors: a valid "no"
    failed: list[str] = field(default_factory=list)  # transport errors / GraphQL errors


async def gql(http: httpx.AsyncClient, url: str, token: str, query: str, variables: dict) -> dict:
    r = await http.post(url, json={"query": query, "variables": variables}, headers={"authorization": f"Bearer {token}"})
    if r.status_code != 200:
        raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


PAUSE = "mutation($i: CampaignInput!) { pauseCampaign(input: $i) { userErrors { code message } } }"
RESUME = "mutation($i: CampaignInput!) { resumeCampaign(input: $i) { userErrors { code message } } }"
UPDATE = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { userErrors { code message } } }"
RECORD = "mutation($i: RecordManualPaymentInput!) { recordManualPayment(input: $i) { userErrors { code message } } }"
RETURN = "mutation($i: RequestReturnInput!) { requestReturn(input: $i) { returnRequest { id } userErrors { code message } } }"
REVIEW = "mutation($i: ReviewReturnInput!) { reviewReturn(input: $i) { userErrors { code message } } }"


async def chaos(world: World, urls: list[str], rng: random.Random, stop: asyncio.Event, *, tolerate_transport: bool = False) -> Chaos:
    """Partners pause/resume and edit filters, the operator records payments
    (manual gateway) and reviews returns partners request, until ``stop``."""
    from leadwire.core.models.marketplace import LeadSale

    out = Chaos()
    paused: set[int] = set()

    async def act(name: str, http, token, query, variables) -> dict | None:
        try:
            data = await gql(http, urls[rng.randrange(len(urls))], token, query, variables)
        except (httpx.HTTPError, RuntimeError) as exc:
            if tolerate_transport and (isinstance(exc, httpx.HTTPError) or "HTTP 5" in str(exc) or "HTTP 503" in str(exc)):
                out.refused[f"{name}: unavailable"] += 1
                return None
            out.failed.append(f"{name}: {exc}")
            return None
        payload = next(iter(data.values()))
        if payload["userErrors"]:
            out.refused[f"{name}: {payload['userErrors'][0]['code']}"] += 1
        else:
            out.done[name] += 1
        return payload

    async def partners(http) -> None:
        while not stop.is_set():
            c = rng.choice(world.campaigns)
            roll = rng.random()
            if roll < 0.35:
                if c["id"] in paused:
                    await act("resume", http, c["token"], RESUME, {"i": {"campaignId": gid("Campaign", c["id"])}})
                    paused.discard(c["id"])
                else:
                    await act("pause", http, c["token"], PAUSE, {"i": {"campaignId": gid("Campaign", c["id"])}})
                    paused.add(c["id"])
            else:
                size = rng.choice(MOVE_SIZES[:3])
                await act("edit filter", http, c["token"], UPDATE, {"i": {"campaignId": gid("Campaign", c["id"]),
                                                                         "fieldFilters": {"move_size": size}}})
            await asyncio.sleep(rng.uniform(0.05, 0.2))

    async def funds(http) -> None:
        while not stop.is_set():
            c = rng.choice(world.campaigns)
            await act("record payment", http, world.operator_token, RECORD, {"i": {
                "accountId": gid("Account", c["account_id"]), "amountMinor": rng.choice((1000, 2000, 4000)),
                "method": "BANK_TRANSFER", "reference": f"WIRE-{uuid.uuid4().hex[:10]}"}})
            await asyncio.sleep(rng.uniform(0.3, 0.8))

    async def returns(http) -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(0.2, 0.5))
            sales = await LeadSale.all().order_by("-id").limit(50).values("buyer_lead_id", "account_id")
            if not sales:
                continue
            sale = rng.choice(sales)
            token = next(c["token"] for c in world.campaigns if c["account_id"] == sale["account_id"])
            payload = await act("request return", http, token, RETURN, {"i": {
                "leadId": gid("Lead", sale["buyer_lead_id"]), "reason": "NO_WORKING_PHONE", "note": "storm"}})
            if payload and payload.get("returnRequest"):
                approve = rng.random() < 0.6
                await act("review return", http, world.operator_token, REVIEW, {"i": {
                    "returnId": payload["returnRequest"]["id"], "decision": "APPROVE" if approve else "DECLINE",
                    "note": "checked in the storm"}})

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(keepalive_expiry=2.0)) as http:
        await asyncio.gather(partners(http), partners(http), funds(http), returns(http))
    return out


async def replenish(world: World, urls: list[str], amount_minor: int = 20_000) -> None:
    """Between phases: every campaign resumed on its widest filter, every buyer
    topped up (over the API, as partners and the operator would), so the next
    phase sells again (capped buyers stay capped; the uncapped ones buy)."""
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(keepalive_expiry=2.0)) as http:
        for c in world.campaigns:
            campaign = gid("Campaign", c["id"])
            for token, query, variables in (
                (c["token"], RESUME, {"i": {"campaignId": campaign}}),
                (c["token"], UPDATE, {"i": {"campaignId": campaign, "fieldFilters": {"move_size": "studio"}}}),
                (world.operator_token, RECORD, {"i": {"accountId": gid("Account", c["account_id"]), "amountMinor": amount_minor,
                                                      "method": "BANK_TRANSFER", "reference": f"TOPUP-{uuid.uuid4().hex[:10]}"}}),
            ):
                await gql(http, urls[0], token, query, variables)


async def storm(world: World, procs: Processes, n_leads: int, seed: int, *, retry: bool = False,
                faults=None, tolerate_transport: bool = False, first_lead: int = 0) -> tuple[Load, Chaos]:
    """The load and the chaos together; ``faults`` (a coroutine function taking
    the random generator) runs alongside, e.g. killing processes."""
    rng = random.Random(seed)
    stop = asyncio.Event()
    chaos_task = asyncio.create_task(chaos(world, procs.urls(), random.Random(rng.random()), stop,
                                           tolerate_transport=tolerate_transport))
    fault_task = asyncio.create_task(faults(random.Random(rng.random()))) if faults else None
    try:
        load = await submit_storm(world, procs.urls(), n_leads, random.Random(rng.random()), retry=retry,
                                  first_lead=first_lead)
        if fault_task is not None:
            await fault_task
    finally:
        stop.set()
        done = await chaos_task
    return load, done


# -- settling and checking --------------------------------------------------------------------


async def settle(timeout: float = 120, *, ignore_delivery_ids: set[int] = frozenset(), procs: Processes | None = None) -> None:
    """Wait until every job has run and every delivery has arrived."""
    from leadwire.core.jobs.models import JobStatus, OutboxJob
    from leadwire.core.models.delivery import Delivery, DeliveryStatus
    from leadwire.core.models.leads import Lead, MarketStatus

    deadline = time.monotonic() + timeout
    while True:
        pending = await Delivery.filter(status=DeliveryStatus.PENDING).exclude(id__in=list(ignore_delivery_ids) or [0]).count()
        received = await Lead.filter(market_status=MarketStatus.RECEIVED).count()
        # settle_payment is a later no-op check of payments that settled at once (manual); deliveries are counted above.
        jobs = await OutboxJob.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING]).exclude(
            name__in=["deliver", "settle_payment"]).count()
        if not pending and not received and not jobs:
            return
        if os.environ.get("LEADWIRE_STORM_DEBUG"):
            rows = await OutboxJob.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING]).values_list(
                "name", "status", "run_after", "dispatched_at", "attempts")
            print("SETTLE", pending, received, Counter((r[0], r[1], r[4], r[2] > datetime.datetime.now(datetime.timezone.utc), r[3] is None) for r in rows))
            await asyncio.sleep(2)
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {timeout} s: {pending} deliveries pending, {received} leads "
                                 f"not routed, {jobs} other jobs open\n{procs.tail() if procs else ''}")
        await asyncio.sleep(0.25)


async def check_invariants(world: World, load: Load, receiver: Receiver, *, crashes: bool = False,
                           hanging_deliveries: set[int] = frozenset()) -> dict:
    """Every promise, exactly. Returns figures."""
    from leadwire.core import ledger
    from leadwire.core.models.delivery import Delivery, DeliveryStatus
    from leadwire.core.models.leads import Lead, MarketStatus
    from leadwire.core.models.ledger import EntryKind, LedgerEntry
    from leadwire.core.models.marketplace import Campaign, CapCounter, LeadSale
    from leadwire.core.routing import cap_periods

    # Money: every balance is its ledger sum, never negative; every charge is one sale's.
    report = await ledger.verify()
    assert report.ok, [p.describe() for p in report.problems]
    for account_id in world.account_ids:
        assert (await ledger.balances(account_id)).balance_minor >= 0
    sales = await LeadSale.all().values("id", "lead_id", "campaign_id", "account_id", "price_minor", "exclusive",
                                        "buyer_lead_id", "sold_at")
    charges = await LedgerEntry.filter(kind=EntryKind.LEAD_CHARGE).values("sale_id", "amount_minor", "account_id")
    assert sorted(c["sale_id"] for c in charges) == sorted(s["id"] for s in sales)
    by_sale = {s["id"]: s for s in sales}
    for c in charges:
        s = by_sale[c["sale_id"]]
        assert c["amount_minor"] == -s["price_minor"] and c["account_id"] == s["account_id"]

    from leadwire.core.models.money import Payment, PaymentStatus

    from leadwire.core.jobs.models import JobStatus, OutboxJob

    # A payment is deposited, or (its request died between recording and settling it) waits for its safety net.
    for p in await Payment.exclude(status=PaymentStatus.SUCCEEDED).values("id", "status"):
        assert crashes and p["status"] == PaymentStatus.PENDING, p
        assert await OutboxJob.exists(dedupe_key=f"settle_payment:{p['id']}", status=JobStatus.PENDING), p

    # Caps: never exceeded, counted by the sales themselves (not only the counters).
    campaigns = {c.id: c for c in await Campaign.filter(id__in=[c["id"] for c in world.campaigns])}
    per_period: Counter[tuple[int, str]] = Counter()
    for s in sales:
        for key, _ in cap_periods(campaigns[s["campaign_id"]], s["sold_at"]):
            per_period[(s["campaign_id"], key)] += 1
    for (campaign_id, key), count in per_period.items():
        c = campaigns[campaign_id]
        cap = {"d": c.daily_cap, "w": c.weekly_cap, "m": c.monthly_cap}[key[0]]
        assert count <= cap, (campaign_id, key, count, cap)
    for row in await CapCounter.all().values("campaign_id", "period", "count"):
        assert row["count"] == per_period[(row["campaign_id"], row["period"])], row

    # Exclusive sold once, shared within the product's maximum; lead rows agree with the sales.
    sales_by_lead: dict[int, list[dict]] = defaultdict(list)
    for s in sales:
        sales_by_lead[s["lead_id"]].append(s)
    source_leads = await Lead.filter(source_id__isnull=False).values(
        "id", "market_status", "sale_count", "sold_exclusively", "idempotency_key")
    for lead in source_leads:
        mine = sales_by_lead.get(lead["id"], [])
        assert lead["sale_count"] == len(mine) <= MAX_BUYERS, (lead, mine)
        assert len({s["campaign_id"] for s in mine}) == len(mine)
        if any(s["exclusive"] for s in mine):
            assert len(mine) == 1 and lead["sold_exclusively"], (lead, mine)
        status = MarketStatus(lead["market_status"])
        assert status != MarketStatus.RECEIVED, f"lead {lead['id']} accepted but never routed"
        assert (status == MarketStatus.SOLD) == bool(mine), (lead, mine)

    # Deliveries: one per sale and channel, each completed, each processed once by the receiver.
    deliveries = await Delivery.all().values("id", "sale_id", "status", "idempotency_key", "channel", "attempts")
    assert sorted(d["sale_id"] for d in deliveries) == sorted(by_sale), "a sale without its delivery (or two)"
    done_keys = set()
    for d in deliveries:
        if d["id"] in hanging_deliveries:
            continue
        assert d["status"] == DeliveryStatus.DELIVERED, d
        done_keys.add(d["idempotency_key"])
    assert set(receiver.processed) - {d["idempotency_key"] for d in deliveries} == set()
    assert done_keys <= set(receiver.processed)
    if not crashes:
        # Nobody died: every delivery reached the receiver exactly once.
        assert all(receiver.hits[k] == 1 for k in done_keys), {k: receiver.hits[k] for k in done_keys if receiver.hits[k] != 1}

    # Intake: every accepted lead exists; an idempotency key made one lead, and every retry got the first result.
    accepted = [s for s in load.sends if s.lead_id]
    unanswered = [s for s in load.sends if not s.lead_id]
    assert not unanswered, [(s.status, s.error) for s in unanswered[:5]]
    db_ids = {lead["id"] for lead in source_leads}
    by_key: dict[str, list[Send]] = defaultdict(list)
    for s in accepted:
        assert int(relay.GlobalID.from_id(s.lead_id).node_id) in db_ids
        if s.key:
            by_key[s.key].append(s)
    keys_in_db = Counter(lead["idempotency_key"] for lead in source_leads if lead["idempotency_key"])
    for key, answers in by_key.items():
        assert keys_in_db[key] == 1, (key, keys_in_db[key])
        assert len({a.lead_id for a in answers}) == 1, answers
        firsts = [a for a in answers if not a.replayed]
        assert len(firsts) <= 1 and (crashes or len(firsts) == 1), answers
        if firsts:
            # A retry answered after the first answer shows the first result (returns never change a lead's sales).
            first = firsts[0]
            for a in answers:
                if a is not first and a.finished_at > first.finished_at and a.market_status != "RECEIVED":
                    assert (a.market_status, a.buyer_count) == (first.market_status, first.buyer_count), (first, a)
    keyless = [s for s in accepted if not s.key]
    assert len(source_leads) == len(by_key) + len(keyless), "a lead stored twice, or one stored without an answer"
    return {
        "leads": len(load.bodies), "requests": len(load.sends), "retries_with_same_key": len(load.sends) - len(load.bodies),
        "failed_requests_retried": load.failures_seen, "sales": len(sales),
        "exclusive_sales": sum(1 for s in sales if s["exclusive"]), "deliveries": len(deliveries),
        "receiver_requests": sum(receiver.hits.values()),
        # Requests the receiver dropped as repeats of a key it had processed (a delivery re-sent after a kill).
        "receiver_repeats_dropped": sum(n - 1 for k, n in receiver.hits.items() if k in receiver.processed),
        "lost": 0, "done_twice": 0,  # every check above passed: nothing lost, nothing done twice
    }
