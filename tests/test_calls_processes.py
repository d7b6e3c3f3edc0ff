"""Simultaneous calls answered by two OS processes (two API servers on one
database) against campaigns that take one call at a time: the concurrency cap
lives in the database, so it holds across processes. PostgreSQL and a SQLite file."""

import asyncio
import sys
import uuid
from pathlib import Path

import httpx

from leadwire.core import db as lwdb
from leadwire.core.calls import numbers, providers
from leadwire.core.calls.numbers import TrackingNumberChanges
from leadwire.core.calls.providers import InstalledProvider
from leadwire.core.models.calls import AttemptStatus, CallAttempt
from leadwire.core.models.marketplace import Campaign, CampaignLeadTypes
from leadwire.core.settings import Secret
from leadwire.plugins.builtin.twilio_voice import TwilioVoice

from conftest import POSTGRES_URL, drop_postgres_database, separate_database, service_skip
from loopback import free_port
from market import Market
from test_calls import TOKEN, TRACKING, Phone, dialled

HERE = Path(__file__).resolve().parent
CALLS = 12


async def _seed() -> list[tuple[int, str]]:
    await lwdb.migrate()
    market = await Market().setup()
    providers.install([InstalledProvider(TwilioVoice(), "twilio_voice", {"auth_token": Secret(TOKEN)})])
    try:
        await numbers.create_tracking_number(market.operator, number=TRACKING, provider="twilio",
                                             changes=TrackingNumberChanges(product_id=market.local.id))
    finally:
        providers.install([])
    offer = await market.offer(market.local, 3000, exclusive=True)
    out = []
    for phone in ("+13135550191", "+13135550192"):
        _, owner = await market.partner()
        c = await market.campaign(owner, offer, lead_types=CampaignLeadTypes.CALL, buyer_phone=phone, max_concurrent_calls=1)
        out.append((c.id, phone))
    return out


async def _wait_up(http: httpx.AsyncClient, address: str, proc) -> None:
    for _ in range(300):
        if proc.returncode is not None:
            raise AssertionError((await proc.stderr.read()).decode()[-3000:])
        try:
            if (await http.get(f"http://{address}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the call server did not start")


async def _run(url: str) -> None:
    async with separate_database(url, create=url.startswith("postgres")):
        campaigns = await _seed()
    ports = [free_port(), free_port()]
    procs = [
        await asyncio.create_subprocess_exec(sys.executable, str(HERE / "call_server.py"), url, str(port), TOKEN, cwd=HERE,
                                             stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        for port in ports
    ]
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for port, proc in zip(ports, procs):
                await _wait_up(http, f"127.0.0.1:{port}", proc)
            phones = [Phone(http, f"127.0.0.1:{port}") for port in ports]
            answers = await asyncio.gather(*(phones[i % 2].call(f"+1313555{200 + i:04d}") for i in range(CALLS)))
            rang = [dialled(t) for _, t in answers if dialled(t)]
            # Each campaign takes one call at a time: two calls ring, the others hear the fallback.
            assert sorted(rang) == sorted(phone for _, phone in campaigns), rang
            assert sum(t.find("Say") is not None for _, t in answers) == CALLS - 2
            async with separate_database(url):
                for campaign_id, _ in campaigns:
                    assert (await Campaign.get(id=campaign_id)).active_calls == 1
                    assert await CallAttempt.filter(campaign_id=campaign_id, status=AttemptStatus.RINGING).count() == 1
            # Both rings end at once, each through the other process: the lines are free again.
            ringing = [(sid, t) for sid, t in answers if dialled(t)]
            await asyncio.gather(*(phones[(i + 1) % 2].dial_ended(t, sid, "completed", 120) for i, (sid, t) in enumerate(ringing)))
            async with separate_database(url):
                for campaign_id, _ in campaigns:
                    assert (await Campaign.get(id=campaign_id)).active_calls == 0
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


# _db_context: the session's database exists first, so the models are bound back to it after
# this test's own context (conftest._rebind_models_after_test); otherwise a db test run next in
# this worker would use this test's dialect.
async def test_concurrency_cap_across_two_processes_on_postgres(_db_context):
    if not POSTGRES_URL:
        service_skip("multi-process calls on PostgreSQL: set LEADWIRE_TEST_POSTGRES_URL")
    url = POSTGRES_URL.replace("{}", "calls_{}").format(uuid.uuid4().hex[:12])
    try:
        await _run(url)
    finally:
        await drop_postgres_database(url)


async def test_concurrency_cap_across_two_processes_on_a_sqlite_file(tmp_path, _db_context):
    await _run(f"sqlite://{tmp_path / 'calls.sqlite3'}?busy_timeout=20000")
