"""Answering call webhooks, in-process: the inbound call (store the lead, rank
the campaigns, take a concurrent-call slot, answer <Dial>) and the end of a
ring (free the slot; answered for 120 s: the sale, ledger debit and trace).

    .venv/bin/python bench/calls_bench.py [--campaigns 200] [--calls 300] [--database sqlite|postgres://...]

Signatures are computed and checked as for real webhooks. The figures are
wall times per webhook, median and p99; results go to bench/results/calls.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from tortoise.context import TortoiseContext

from leadwire.core import db as lwdb
from leadwire.core import industries
from leadwire.core.calls import providers, ringing
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.identity import now
from leadwire.core.models.calls import TrackingNumber
from leadwire.core.models.identity import Account, AccountKind
from leadwire.core.models.marketplace import Campaign, CampaignLeadTypes, Industry, Offer, Product
from leadwire.core.settings import Secret
from leadwire.integrations import twilio_voice
from leadwire.plugins.builtin.industries import BUILTIN_INDUSTRIES
from leadwire.plugins.builtin.twilio_voice import TwilioVoice
from leadwire.plugins.telephony import WebhookRequest

TOKEN = "bench-token"
BASE = "https://leads.example.com"
RESULTS = Path(__file__).resolve().parent / "results"


async def build(n: int) -> None:
    await lwdb.migrate()
    operator = await Account.create(kind=AccountKind.OPERATOR, name="Marketplace")
    moving = await Industry.create(schema_key="moving", name="Moving")
    product = await Product.create(industry=moving, name="Local moving", max_buyers=4)
    await TrackingNumber.create(account=operator, number="+13135550199", provider="twilio", industry=moving, product=product)
    for i in range(n):
        offer = await Offer.create(product=product, name="Calls", price_minor=2000 + 10 * (i % 50), exclusive=True)
        account = await Account.create(kind=AccountKind.PARTNER, name=f"P{i}", approved_at=now(), balance_minor=10_000_000)
        await Campaign.create(account=account, offer=offer, product=product, name=f"C{i}", lead_types=CampaignLeadTypes.CALL,
                              buyer_phone=f"+1313556{i:04d}", max_concurrent_calls=1000, schedule=[])


def request(path: str, params: dict) -> WebhookRequest:
    url = BASE + path
    return WebhookRequest(url=url, params=params, headers={"x-twilio-signature": twilio_voice.compute_signature(TOKEN, url, params)},
                          plugin_config=providers.provider("twilio").plugin_config)


async def run(calls: int) -> dict:
    installed = providers.provider("twilio")
    voice, dial = [], []
    for i in range(calls):
        sid = f"CA{i:032x}"
        t0 = time.perf_counter()
        answer = await ringing.handle(installed, "voice", request("/telephony/twilio/voice", {
            "CallSid": sid, "From": f"+1313555{i % 10000:04d}", "To": "+13135550199"}), BASE)
        t1 = time.perf_counter()
        action = answer.body.split('action="', 1)[1].split('"', 1)[0]
        attempt = int(action.rsplit("/", 1)[1])
        await ringing.handle(installed, "dial", request(action.removeprefix(BASE), {
            "CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "120"}), BASE, attempt_id=attempt)
        t2 = time.perf_counter()
        voice.append((t1 - t0) * 1000)
        dial.append((t2 - t1) * 1000)

    def stats(xs):
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs), 2), "p99_ms": round(xs[int(len(xs) * 0.99) - 1], 2)}

    return {"inbound_call": stats(voice), "ring_answered_and_billed": stats(dial)}


async def _drop(url: str) -> None:
    import asyncpg
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = await asyncpg.connect(parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    industries.install(BUILTIN_INDUSTRIES)
    providers.install([InstalledProvider(TwilioVoice(), "twilio_voice", {"auth_token": Secret(TOKEN)})])
    if args.database == "sqlite":
        url = f"sqlite://{tempfile.mkdtemp()}/calls.sqlite3"
    else:
        url = args.database.replace("{}", "calls_bench_{}").format(uuid.uuid4().hex[:10])
    async with TortoiseContext() as ctx:
        await ctx.init(config=lwdb.tortoise_config(url), _create_db=not url.startswith("sqlite"))
        await build(args.campaigns)
        result = {"database": url.split(":", 1)[0], "campaigns": args.campaigns, "calls": args.calls, **await run(args.calls),
                  "machine": platform.platform()}
    if not url.startswith("sqlite"):
        await _drop(url)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "calls.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
